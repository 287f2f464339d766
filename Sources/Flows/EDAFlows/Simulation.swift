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
        let work = "build/\(rawValue)"
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
                ["--binary", "-Itb", "--top-module", bench, "-Mdir", work, "-O1", "-j", "2"]
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

    enum CodingKeys: String, CodingKey { case kind, top, rtl, bench }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decodeIfPresent(String.self, forKey: .kind) ?? "layer"
        top = try c.decode(String.self, forKey: .top)
        rtl = try c.decode([String].self, forKey: .rtl)
        bench = try c.decodeIfPresent(String.self, forKey: .bench) ?? "tb_layer"
    }

    public static func load(_ directory: URL) throws -> DesignFolder {
        try JSONDecoder().decode(
            DesignFolder.self, from: Data(contentsOf: directory.appendingPathComponent("design.json")))
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
