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
                ["--binary", "-Itb", "--top-module", bench, "-Mdir", work] + Self.verilatorOptimization + ["-j", "2"]
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

    /// Verilator's own optimizations in full, and the C++ at -O2 instead of its default -Os: the whole-network
    /// bench runs about a third faster (LeNet-5, 2,000 images) and the builds take no longer (measured for
    /// issue 24; threads made it slower).
    public static let verilatorOptimization = ["-O3", "-MAKEFLAGS", "OPT_FAST=-O2"]

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
