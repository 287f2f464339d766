import EDAFlows
import Foundation
import TestSupport

/// Runs a self-checking bench under Icarus Verilog (iverilog -g2012 + vvp) or Verilator 5 (--binary), in a
/// working directory that holds its $readmemh files. Both are declared dependencies (`make deps`).
enum Simulator: String, CaseIterable {
    case icarus, verilator

    struct Run {
        var status: Int32
        var output: String
    }

    /// Builds `top` from `sources` with the given defines and runs it in `directory`.
    func run(top: String, sources: [String], defines: [String: String], in directory: URL) throws -> Run {
        // Benches include their helpers (testbench/*.svh) from the testbench folder.
        let flags =
            defines.sorted { $0.key < $1.key }.map { "-D\($0.key)=\($0.value)" } + [
                "-I" + repository.appendingPathComponent("testbench").path
            ]
        switch self {
        case .icarus:
            let binary = directory.appendingPathComponent("\(top).vvp").path
            let build = try execute("iverilog", ["-g2012", "-s", top, "-o", binary] + flags + sources, in: directory)
            guard build.status == 0 else { return build }
            return try execute("vvp", ["-n", binary], in: directory)
        case .verilator:
            let objects = directory.appendingPathComponent("obj_\(top)").path
            // The C++ unoptimized: these benches run a few thousand cycles, so the build is what takes time
            // (approxrtl sim's options for a short run).
            let build = try execute(
                "verilator",
                ["--binary", "--top-module", top, "-Mdir", objects, "-j", "2"]
                    + EDAFlows.Simulator.verilatorOptions(level: 0) + flags
                    + sources,
                in: directory)
            guard build.status == 0 else { return build }
            return try execute(objects + "/V\(top)", [], in: directory)
        }
    }

    private func execute(_ tool: String, _ arguments: [String], in directory: URL) throws -> Run {
        let result = try runProcess(tool, arguments, in: directory)
        return Run(status: result.status, output: result.output)
    }
}

/// The repository root (rtl/ and testbench/ live there).
let repository = repositoryRoot()
