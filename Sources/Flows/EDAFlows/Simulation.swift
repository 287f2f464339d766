import Foundation
import LayerGenerator

/// The two simulators every generated bench runs under (docs/rtl.md, "Running a design").
public enum Simulator: String, Sendable, CaseIterable {
    case iverilog, verilator

    /// The outcome of one bench run: its counts as the bench printed them, and everything it printed.
    public struct Outcome: Sendable {
        public var simulator: Simulator
        public var passed: Int
        public var failed: Int
        public var cycles: Int?
        /// The bench ran to its verdict, with no failure and exit status 0.
        public var ok: Bool
        public var log: String
    }

    /// Builds and runs the bench of the design folder `directory` (working directory: the folder, so the
    /// $readmemh paths resolve). Build products go to `build/<simulator>/` inside it. `count` runs the first
    /// images (vectors for a layer unit) only, through the bench's plusarg; all of them when nil.
    public func run(directory: URL, wave: Bool = false, count: Int? = nil) throws -> Outcome {
        let folder = try DesignFolder.load(directory)
        let bench = folder.bench
        let plusargs = count.map { ["+\(folder.kind == "accelerator" ? "images" : "vectors")=\($0)"] } ?? []
        let sources = folder.rtl + ["tb/\(bench).sv"]
        let level = Self.compilerLevel(cycles: folder.simulatedCycles(count: count))
        // One build folder per C++ level: make does not see flags, so a short run's -O0 objects would otherwise
        // serve a long run.
        let work = self == .verilator ? "build/verilator/O\(level)" : "build/\(rawValue)"
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent(work), withIntermediateDirectories: true)
        var log = ""
        func step(_ tool: String, _ arguments: [String]) throws -> Int32 {
            let result = try runTool(tool, arguments, in: directory)
            log += "$ \(tool) \(arguments.joined(separator: " "))\n" + result.output
            return result.status
        }
        let defines = wave ? ["-DDUMP"] : []
        var status: Int32
        switch self {
        case .iverilog:
            status = try step(
                "iverilog", ["-g2012", "-Itb", "-s", bench, "-o", "\(work)/\(bench).vvp"] + defines + sources)
            if status == 0 { status = try step("vvp", ["-n", "\(work)/\(bench).vvp"] + plusargs) }
        case .verilator:
            status = try step(
                "verilator",
                ["--binary", "-Itb", "--top-module", bench, "-Mdir", work] + Self.verilatorOptions(level: level)
                    + ["-j", "2"]
                    + (wave ? ["--trace", "-DDUMP"] : []) + sources)
            if status == 0 { status = try step("\(work)/V\(bench)", plusargs) }
        }
        let (passed, failed) = Self.counts(in: log) ?? (0, 0)
        let cycles = log.split(separator: "\n").last { $0.hasPrefix("cycles ") }.flatMap { Int($0.dropFirst(7)) }
        let verdict = Self.counts(in: log) != nil
        return Outcome(
            simulator: self, passed: passed, failed: failed, cycles: cycles,
            ok: status == 0 && verdict && failed == 0 && passed > 0, log: log)
    }

    /// Verilator's options: its own optimizations in full (without them the C++ takes several times as long to
    /// compile), the C++ at `level`, and ccache where it is installed (`make deps` installs it): Verilator's
    /// OBJCACHE hook, so that its runtime library (4-6 s of C++ per build) and any file already compiled, all of
    /// an identical design's, compile once.
    public static func verilatorOptions(level: Int, objectCache: Bool = objectCacheInstalled) -> [String] {
        let levels = level == 0 ? "OPT_FAST=-O0 OPT_GLOBAL=-O0" : "OPT_FAST=-O\(level)"
        return ["-O3", "-MAKEFLAGS", levels + (objectCache ? " OBJCACHE=ccache" : "")]
    }

    /// ccache is on PATH.
    public static let objectCacheInstalled = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        .contains { FileManager.default.isExecutableFile(atPath: "\($0)/ccache") }

    /// The C++ optimization level that gives the shortest build plus run for a run of about `cycles` clock
    /// cycles (nil: unknown, taken as long). Measured on LeNet-5 and VGG-small at Tn = 16 (issue 24): -O0 builds
    /// in 7 s against 11-15 s at -O1 and 17-20 s at -O2 but simulates about 10x slower than -O2; -O1 simulates
    /// 1.2-1.3x slower than -O2. The break-even points are about 230,000 and 10 million cycles; a small layer unit
    /// simulates faster per cycle, so the same bounds are safe for it.
    public static func compilerLevel(cycles: Int?) -> Int {
        guard let cycles else { return 2 }
        return cycles <= 250_000 ? 0 : cycles <= 10_000_000 ? 1 : 2
    }

    /// The bench's "N passed, M failed" line.
    static func counts(in log: String) -> (Int, Int)? {
        for line in log.split(separator: "\n").reversed() {
            let words = line.split(separator: " ")
            if words.count == 4, words[1] == "passed,", words[3] == "failed", let p = Int(words[0]),
                let f = Int(words[2])
            {
                return (p, f)
            }
        }
        return nil
    }
}

/// What every design folder's design.json says about its bench: the RTL in compile order and the bench module
/// (tb/<bench>.sv; layer units, which predate the field, use tb_layer).
public struct DesignFolder: Decodable, Sendable {
    public var kind: String
    public var top: String
    public var rtl: [String]
    public var bench: String
    /// What the bench runs by default and the cycles each item takes, where design.json says (for choosing the
    /// simulator's build options; nothing else depends on them).
    var items: Int?
    var cyclesPerItem: Int?

    enum CodingKeys: String, CodingKey {
        case kind, top, rtl, bench, images, vectors, lanes, fan, channels
        case intervalCycles = "interval_cycles", computeCyclesPerBatch = "compute_cycles_per_batch"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? "layer"
        top = try c.decode(String.self, forKey: .top)
        rtl = try c.decode([String].self, forKey: .rtl)
        bench = try c.decodeIfPresent(String.self, forKey: .bench) ?? "tb_layer"
        func number(_ key: CodingKeys) -> Int? { try? c.decodeIfPresent(Int.self, forKey: key) }
        if kind == "accelerator" {
            items = number(.images)
            cyclesPerItem = number(.intervalCycles)
        } else if let batch = number(.computeCyclesPerBatch), let lanes = number(.lanes), lanes > 0 {
            // docs/rtl.md: a batch of `lanes` vectors computes, and every code goes in or out one per cycle.
            items = number(.vectors)
            let io = (number(.fan) ?? 0).addingReportingOverflow(number(.channels) ?? 0)
            cyclesPerItem = io.overflow ? nil : batch / lanes + io.partialValue
        }
    }

    /// About how many cycles the bench runs for `count` items (all of them when nil), or nil when unknown.
    public func simulatedCycles(count: Int?) -> Int? {
        guard let perItem = cyclesPerItem, let items = count ?? items, perItem >= 0, items >= 0 else { return nil }
        let product = perItem.multipliedReportingOverflow(by: items)
        return product.overflow ? nil : product.partialValue
    }

    /// Reads design.json and checks every name that reaches a simulator's or synthesizer's command line: the RTL
    /// and bench are plain relative file names inside the folder, the top and bench modules plain identifiers.
    public static func load(_ directory: URL) throws -> DesignFolder {
        let file = directory.appendingPathComponent("design.json")
        let design: DesignFolder
        do {
            design = try JSONDecoder().decode(DesignFolder.self, from: Data(contentsOf: file))
        } catch let error as DecodingError {
            throw DesignFolderError(file: file.path, "not a design description (\(error.field))")
        } catch {
            throw DesignFolderError(file: file.path, "cannot be read")
        }
        for (field, name) in [("top", design.top), ("bench", design.bench)] where !isIdentifier(name) {
            throw DesignFolderError(file: file.path, "\(field) '\(name.prefix(80))' is not a Verilog identifier")
        }
        for path in design.rtl {
            guard isPlainRelativePath(path) else {
                throw DesignFolderError(
                    file: file.path,
                    "rtl entry '\(path.prefix(80))' is not a plain relative file name inside the folder")
            }
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent(path).path) else {
                throw DesignFolderError(file: file.path, "rtl entry '\(path)' names no file in the folder")
            }
        }
        return design
    }

    /// Letters, digits and `_`, not starting with a digit.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !CharacterSet.decimalDigits.contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "_") }
    }

    /// Segments of letters, digits, `_`, `-` and `.` joined by `/`: no absolute path, no `..`, no empty or hidden
    /// segment, nothing a shell or a tool's option parser would read as more than a file name.
    static func isPlainRelativePath(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return !path.isEmpty && path.count <= 255
            && segments.allSatisfy { segment in
                !segment.isEmpty && !segment.hasPrefix(".") && !segment.hasPrefix("-")
                    && segment.unicodeScalars.allSatisfy {
                        $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "_-.".unicodeScalars.contains($0))
                    }
            }
    }
}

/// A design folder whose design.json cannot be used; names the file and the field.
public struct DesignFolderError: Error, CustomStringConvertible {
    public var file: String
    public var reason: String
    public init(file: String, _ reason: String) { self.file = file; self.reason = reason }
    public var description: String { "\(file): \(reason)" }
}

extension DecodingError {
    /// The field a decoding error is about, as "missing field x" or "wrong type at x".
    public var field: String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing field '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "wrong type at '\(path(context.codingPath))'"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "invalid value at '\(path(context.codingPath))'"
        @unknown default: return "unreadable"
        }
    }
}

/// Runs a tool (found on PATH through /usr/bin/env) in `directory`, stdout and stderr merged.
public func runTool(_ tool: String, _ arguments: [String], in directory: URL) throws -> (status: Int32, output: String)
{
    let process = Process()
    let local = tool.hasPrefix("build/")
    process.executableURL = local ? directory.appendingPathComponent(tool) : URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = local ? arguments : [tool] + arguments
    process.currentDirectoryURL = directory
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
