import Foundation
import LayerGenerator
import Verilog

/// Where `approxrtl synth` maps a design (docs/rtl.md, "Synthesis estimates").
public enum SynthesisTarget: String, Sendable, CaseIterable, Codable {
    /// Technology-independent: Yosys's word-level cells (multipliers, adders, flip-flop and memory bits).
    case generic
    /// Lattice iCE40-HX8K: LUT4s, carries, flip-flops, block RAMs; Fmax from nextpnr-ice40 (fixed seed).
    case ice40
    /// Lattice ECP5 (LFE5U-85F by default): LUT4s, flip-flops, 18x18 multipliers, block RAMs, and routed Fmax,
    /// utilisation and critical path from nextpnr-ecp5 (YoWASP, from PyPI).
    case ecp5
}

/// What Yosys (and nextpnr) found, for one design and target.
public struct SynthesisReport: Codable, Equatable, Sendable {
    public struct Multiplier: Codable, Equatable, Sendable {
        public var widths: [Int]
        public var resultWidth: Int
        public var count: Int
    }

    public var top: String
    public var layer: String
    public var arch: String
    public var method: String
    public var target: SynthesisTarget
    /// Word-level arithmetic after Yosys's width reduction: multipliers (operand widths) and adders/subtractors.
    public var multipliers: [Multiplier]
    public var adders: Int
    public var adderBits: Int
    public var flipFlopBits: Int
    public var romBits: Int
    public var ramBits: Int
    /// Mapped cells (ice40, ecp5): total, LUT4s, flip-flops, carry cells, block RAMs, hard multipliers.
    public var cells: Int?
    public var luts: Int?
    public var flipFlops: Int?
    public var carries: Int?
    public var blockRams: Int?
    public var dsps: Int?
    /// nextpnr's estimate through a registered I/O wrapper, or why there is none.
    public var fmaxMHz: Double?
    /// ice40: the longest path of the mapped netlist in iCE40-HX cell delays only (Yosys `sta`; no routing), and
    /// the clock it would allow: an upper bound on any Fmax the part reaches (docs/accelerator.md, "Fmax").
    public var cellDelayNs: Double?
    public var fmaxBoundMHz: Double? { cellDelayNs.map { 1000 / $0 } }
    /// For tables: nextpnr's Fmax, else "<= bound" from the cell delays, else "-".
    public var fmaxText: String {
        if let fmaxMHz { return String(format: "%.1f", fmaxMHz) }
        if let routed = placeAndRoute?.fmaxMHz { return String(format: "%.1f", routed) }
        return fmaxBoundMHz.map { String(format: "<= %.0f", $0) } ?? "-"
    }
    public var note: String?
    /// ecp5: nextpnr-ecp5's result on the part.
    public var placeAndRoute: PlaceAndRoute?
    public var computeCyclesPerVector: Double
    public var cyclesPerVector: Double

    public var multiplierCount: Int { multipliers.reduce(0) { $0 + $1.count } }

    /// The mapped counts from a family's cell names (flip-flops: every cell type starting with `flipFlop`).
    mutating func fill(
        _ counts: [String: Int], lut: String, carry: String, flipFlop: String, blockRam: String, dsp: String
    ) {
        cells = counts.values.reduce(0, +)
        luts = counts[lut, default: 0]
        carries = counts[carry, default: 0]
        flipFlops = counts.filter { $0.key.hasPrefix(flipFlop) }.values.reduce(0, +)
        blockRams = counts[blockRam, default: 0]
        dsps = counts[dsp, default: 0]
    }
}

public struct SynthesisError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum Synthesis {
    /// nextpnr-ice40 on build/synth/ice40.json for the HX8K, bounded by `seconds` (a design that nearly fills the
    /// device can take it very long): its log (written to build/synth/nextpnr.log), exit status (124: timed out)
    /// and the Fmax it reports.
    static func placeICE40(in directory: URL, seed: Int, seconds: Int) throws
        -> (output: String, status: Int32, fmaxMHz: Double?)
    {
        let result = try runTool(
            "timeout",
            [
                "\(seconds)", "nextpnr-ice40", "--hx8k", "--package", "ct256", "--json", "build/synth/ice40.json",
                "--seed", "\(seed)", "--pcf-allow-unconstrained", "--freq", "12",
            ], in: directory)
        try Data(result.output.utf8).write(to: directory.appendingPathComponent("build/synth/nextpnr.log"))
        let line = result.output.split(separator: "\n").last { $0.contains("Max frequency for clock") }
        let fmax = line?.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        return (result.output, result.status, fmax)
    }

    /// iCE40-HX8K capacity (the part nextpnr places on): logic cells and 4-kbit block RAMs.
    static let hx8kCells = 7680
    static let hx8kRams = 32

    /// Synthesizes (and for ice40 and ecp5 places and routes) the design in `directory`; `ecp5` says on which
    /// part and at which target clock. `progress` hears of each long step.
    public static func run(
        directory: URL, target: SynthesisTarget, seed: Int = 1, place: Bool = true, placeSeconds: Int = 300,
        ecp5: PlaceAndRouteOptions = PlaceAndRouteOptions(), progress: (String) -> Void = { _ in }
    ) throws -> SynthesisReport {
        var ecp5 = ecp5
        ecp5.seed = seed
        if try DesignFolder.load(directory).kind == "accelerator" {
            return try runAccelerator(
                directory: directory, target: target, seed: seed, place: place, placeSeconds: placeSeconds,
                ecp5: ecp5, progress: progress)
        }
        let manifest = try LayerDesign.loadManifest(directory: directory)
        let work = directory.appendingPathComponent("build/synth")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let read = "read_verilog -defer " + manifest.rtl.joined(separator: " ")
        // Word-level pass: the arithmetic as written, after width reduction.
        let words =
            "\(read); hierarchy -top \(manifest.top); proc; flatten; opt -full; wreduce; opt_clean; memory -nomap; opt_clean; write_json build/synth/words.json"
        try yosys(words, log: "build/synth/words.log", in: directory)
        var report = try wordLevel(
            Data(contentsOf: work.appendingPathComponent("words.json")), manifest: manifest, target: target)
        switch target {
        case .generic:
            break
        case .ice40:
            try writeWrapper(manifest, to: work.appendingPathComponent("fmax_wrapper.v"))
            let top = "\(manifest.top)_fmax"
            try yosys(
                "\(read) build/synth/fmax_wrapper.v; hierarchy -top \(top); synth_ice40 -top \(top) -json build/synth/ice40.json; tee -q -o build/synth/ice40.stat.json stat -json",
                log: "build/synth/ice40.log", in: directory)
            report.fill(
                try cellCounts(Data(contentsOf: work.appendingPathComponent("ice40.stat.json"))),
                lut: "SB_LUT4", carry: "SB_CARRY", flipFlop: "SB_DFF", blockRam: "SB_RAM40_4K", dsp: "SB_MAC16")
            if report.blockRams! > hx8kRams || report.luts! > hx8kCells {
                report.note =
                    "does not fit an iCE40-HX8K (\(report.luts!) LUTs of \(hx8kCells), \(report.blockRams!) block RAMs of \(hx8kRams)): no Fmax"
            } else if place {
                let result = try placeICE40(in: directory, seed: seed, seconds: placeSeconds)
                if let mhz = result.fmaxMHz {
                    report.fmaxMHz = mhz
                } else if let cells = logicCells(result.output), cells.used > cells.available {
                    // LUTs and flip-flops pack into logic cells: a design can fit in LUTs and still not in cells.
                    report.note =
                        "does not fit an iCE40-HX8K: \(cells.used) logic cells of \(cells.available) after packing LUTs and flip-flops; no Fmax"
                } else if result.status == 124 {
                    report.note =
                        "nextpnr-ice40 did not finish within \(placeSeconds) s (\(report.luts!) LUTs of \(hx8kCells)): no Fmax"
                } else {
                    report.note = "nextpnr-ice40 did not place and route the design (build/synth/nextpnr.log)"
                }
            }
        case .ecp5:
            // Registered ports, as for ice40: the Fmax is the unit's own paths, not the pads.
            try writeWrapper(manifest, to: work.appendingPathComponent("fmax_wrapper.v"))
            try placeECP5(
                "\(read) build/synth/fmax_wrapper.v", top: "\(manifest.top)_fmax", in: directory, options: ecp5,
                place: place,
                progress: progress, into: &report)
        }
        return report
    }

    /// nextpnr's "ICESTORM_LC: used/ available" utilisation line.
    static func logicCells(_ log: String) -> (used: Int, available: Int)? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("ICESTORM_LC:") }) else { return nil }
        let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return numbers.count >= 2 ? (numbers[0], numbers[1]) : nil
    }

    /// The longest path of `build/synth/ice40.json` (flattened, mapped) in iCE40-HX cell delays (the cell
    /// library's specify blocks), in ns: Yosys `sta` ignores routing, so the path is at least this long on the part.
    static func cellDelay(in directory: URL) throws -> Double? {
        try yosys(
            "read_json build/synth/ice40.json; read_verilog -lib -specify -DICE40_HX +/ice40/cells_sim.v; tee -q -o build/synth/sta.txt sta",
            log: "build/synth/sta.log", in: directory)
        let text = try String(contentsOf: directory.appendingPathComponent("build/synth/sta.txt"), encoding: .utf8)
        // "Latest arrival time in 'top' is 13025:" (picoseconds).
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Latest arrival time in") }),
            let ps = line.split(separator: " ").last.flatMap({
                Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            }), ps > 0
        else {
            return nil
        }
        return ps / 1000
    }

    static func yosys(_ script: String, log: String, in directory: URL) throws {
        let result = try runTool("yosys", ["-q", "-l", log, "-p", script], in: directory)
        guard result.status == 0 else {
            throw SynthesisError(
                message: "yosys failed (\(directory.appendingPathComponent(log).path)):\n" + result.output.suffix(1500))
        }
    }

    /// Multipliers, adders, flip-flop and memory bits from the word-level netlist.
    static func wordLevel(_ json: Data, manifest: DesignManifest, target: SynthesisTarget) throws -> SynthesisReport {
        try wordLevel(
            json, top: manifest.top, layer: manifest.layer, arch: manifest.arch, method: manifest.method,
            target: target,
            computeCyclesPerVector: manifest.computeCyclesPerVector, cyclesPerVector: manifest.cyclesPerVector)
    }

    static func wordLevel(
        _ json: Data, top: String, layer: String, arch: String, method: String, target: SynthesisTarget,
        computeCyclesPerVector: Double, cyclesPerVector: Double
    ) throws -> SynthesisReport {
        guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any],
            let modules = root["modules"] as? [String: Any], let module = modules[top] as? [String: Any],
            let cells = module["cells"] as? [String: Any]
        else {
            throw SynthesisError(message: "yosys wrote no netlist for \(top)")
        }
        func parameter(_ cell: [String: Any], _ name: String) -> Int {
            guard let text = (cell["parameters"] as? [String: Any])?[name] as? String else { return 0 }
            return Int(text, radix: 2) ?? Int(text) ?? 0
        }
        var multipliers: [String: SynthesisReport.Multiplier] = [:]
        var adders = 0, adderBits = 0, flipFlopBits = 0, romBits = 0, ramBits = 0
        for case let cell as [String: Any] in cells.values {
            guard let type = cell["type"] as? String else { continue }
            switch type {
            case "$mul":
                let widths = [parameter(cell, "A_WIDTH"), parameter(cell, "B_WIDTH")].sorted()
                let y = parameter(cell, "Y_WIDTH")
                multipliers["\(widths)-\(y)", default: .init(widths: widths, resultWidth: y, count: 0)].count += 1
            case "$add", "$sub":
                adders += 1
                adderBits += parameter(cell, "Y_WIDTH")
            case "$dff", "$adff", "$dffe", "$adffe", "$sdff", "$sdffe", "$sdffce":
                flipFlopBits += parameter(cell, "WIDTH")
            case "$mem_v2", "$mem":
                let bits = parameter(cell, "WIDTH") * parameter(cell, "SIZE")
                if parameter(cell, "WR_PORTS") == 0 { romBits += bits } else { ramBits += bits }
            default:
                break
            }
        }
        return SynthesisReport(
            top: top, layer: layer, arch: arch, method: method, target: target,
            multipliers: multipliers.values.sorted { $0.widths.lexicographicallyPrecedes($1.widths) },
            adders: adders, adderBits: adderBits, flipFlopBits: flipFlopBits, romBits: romBits, ramBits: ramBits,
            computeCyclesPerVector: computeCyclesPerVector, cyclesPerVector: cyclesPerVector)
    }

    static func cellCounts(_ json: Data) throws -> [String: Int] {
        guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any],
            let modules = root["modules"] as? [String: Any]
        else {
            return [:]
        }
        var counts: [String: Int] = [:]
        for case let module as [String: Any] in modules.values {
            for (type, count) in module["num_cells_by_type"] as? [String: Int] ?? [:] {
                counts[type, default: 0] += count
            }
        }
        return counts
    }

    /// Registers on every port of the unit, so that nextpnr's Fmax is the unit's own register-to-register paths,
    /// not the pads (the handshake is delayed a cycle each way: this wrapper is for timing only).
    static func writeWrapper(_ manifest: DesignManifest, to url: URL) throws {
        let inputs: [(String, Int)] = [
            ("in_tdata", manifest.inputWidth), ("in_tvalid", 1), ("in_tlast", 1), ("out_tready", 1),
        ]
        let outputs: [(String, Int)] = [
            ("out_tdata", manifest.outputWidth), ("out_tvalid", 1), ("out_tlast", 1), ("in_tready", 1),
        ]
        func range(_ bits: Int) -> Verilog.Range? { bits > 1 ? .bits(bits) : nil }
        var items: [Item] = []
        var connections: [(String, Expr)] = [("clk_i", "clk_i"), ("rst_ni", "rst_ni")]
        var registered: [Statement] = []
        for (name, bits) in inputs {
            items.append(.net(Net(.reg, "\(name)_q", range(bits))))
            registered.append(.nonblocking(.name("\(name)_q"), .name("\(name)_i")))
            connections.append(("\(name)_i", .name("\(name)_q")))
        }
        for (name, bits) in outputs {
            items.append(.net(Net(.wire, name, range(bits))))
            items.append(.net(Net(.reg, "\(name)_q", range(bits))))
            registered.append(.nonblocking(.name("\(name)_q"), .name(name)))
            connections.append(("\(name)_o", .name(name)))
        }
        items.append(.clocked(clock: "clk_i", reset: nil, onReset: [], body: registered))
        items.append(.instance(Instance(manifest.top, "u_unit", connections: connections)))
        for (name, _) in outputs { items.append(.assign(.name("\(name)_o"), .name("\(name)_q"))) }
        let ports =
            [Port("clk_i", .input), Port("rst_ni", .input)]
            + inputs.map { Port("\($0.0)_i", .input, range($0.1)) }
            + outputs.map { Port("\($0.0)_o", .output, range($0.1)) }
        let module = Module(
            "\(manifest.top)_fmax",
            comment: "Timing wrapper of \(manifest.top): every port registered (for nextpnr's Fmax only).",
            ports: ports, items: items)
        try VerilogPrinter.print(module).write(to: url, atomically: true, encoding: .utf8)
    }
}
