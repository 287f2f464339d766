import Accelerator
import Foundation

extension Synthesis {
    /// A whole-network accelerator folder through Yosys: the word-level arithmetic (multipliers by operand widths,
    /// adders, flip-flop, ROM and RAM bits), and for ice40 or ecp5 the mapped cells; for ice40 the Fmax bound of
    /// the longest path in cell delays (Yosys sta), and nextpnr-ice40's Fmax when the design fits an iCE40-HX8K (its ports are registered by the core's own stream logic; the image and logit
    /// data paths are not, which the report says). Cycles per vector here are compute cycles per image.
    static func runAccelerator(
        directory: URL, target: SynthesisTarget, seed: Int, place: Bool, placeSeconds: Int,
        ecp5: PlaceAndRouteOptions, progress: (String) -> Void
    ) throws -> SynthesisReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let manifest = try decoder.decode(
            AcceleratorManifest.self, from: Data(contentsOf: directory.appendingPathComponent("design.json")))
        let work = directory.appendingPathComponent("build/synth")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let read = "read_verilog -defer " + manifest.rtl.joined(separator: " ")
        let words =
            "\(read); hierarchy -top \(manifest.top); proc; flatten; opt -full; wreduce; opt_clean; memory -nomap; opt_clean; write_json build/synth/words.json"
        try yosys(words, log: "build/synth/words.log", in: directory)
        let perImage = Double(manifest.computeCycles)
        var report = try wordLevel(
            Data(contentsOf: work.appendingPathComponent("words.json")), top: manifest.top, layer: "network",
            arch: "diannao", method: manifest.extensions, target: target, computeCyclesPerVector: perImage,
            cyclesPerVector: Double(manifest.intervalCycles ?? manifest.computeCycles + manifest.loadCycles))
        switch target {
        case .generic:
            break
        case .ice40:
            try yosys(
                "\(read); hierarchy -top \(manifest.top); synth_ice40 -top \(manifest.top) -json build/synth/ice40.json; tee -q -o build/synth/ice40.stat.json stat -json",
                log: "build/synth/ice40.log", in: directory)
            report.fill(
                try cellCounts(Data(contentsOf: work.appendingPathComponent("ice40.stat.json"))),
                lut: "SB_LUT4", carry: "SB_CARRY", flipFlop: "SB_DFF", blockRam: "SB_RAM40_4K", dsp: "SB_MAC16")
            // Whether or not it fits a part nextpnr can place, the mapped netlist bounds the clock.
            report.cellDelayNs = try cellDelay(in: directory)
            if report.blockRams! > hx8kRams || report.luts! > hx8kCells {
                report.note =
                    "does not fit an iCE40-HX8K (\(report.luts!) LUTs of \(hx8kCells), \(report.blockRams!) block RAMs of \(hx8kRams)): "
                    + "no placed Fmax, only the cell-delay bound"
            } else if place {
                let result = try placeICE40(in: directory, seed: seed, seconds: placeSeconds)
                if let mhz = result.fmaxMHz {
                    report.fmaxMHz = mhz
                } else {
                    report.note =
                        result.status == 124
                        ? "nextpnr-ice40 did not finish within \(placeSeconds) s: no Fmax"
                        : "nextpnr-ice40 did not place and route the design (build/synth/nextpnr.log): no Fmax"
                }
            }
        case .ecp5:
            try placeECP5(
                read, top: manifest.top, in: directory, options: ecp5, place: place, progress: progress, into: &report)
        }
        return report
    }
}
