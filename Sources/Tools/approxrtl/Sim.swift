import ArgumentParser
import EDAFlows
import Foundation
import LayerGenerator

struct Sim: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a generated design's self-checking bench under Icarus Verilog or Verilator.",
        discussion:
            "Exits non-zero unless every output matched the golden model; the full simulator log is in DIR/build/<simulator>.log."
    )

    @Argument(help: "The design folder (approxrtl generate -o DIR).") var directory: String
    @Option(help: "iverilog or verilator; both when omitted.") var simulator: String?
    @Option(help: "Run the first N of the bench's images (vectors for a layer unit) only.") var images: Int?
    @Flag(help: "Dump waveforms to DIR/wave.vcd.") var wave = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingErrors {
            if let images, images < 1 { throw CLIError("--images must be at least 1, not \(images)") }
            let simulators: [Simulator]
            if let simulator {
                guard let chosen = Simulator(rawValue: simulator) else {
                    throw CLIError("--simulator must be iverilog or verilator, not '\(simulator)'")
                }
                simulators = [chosen]
            } else {
                simulators = Simulator.allCases
            }
            let folder = URL(fileURLWithPath: directory)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("design.json").path) else {
                throw CLIError("\(directory) is not a design folder (no design.json)")
            }
            let design = try DesignFolder.load(folder)
            var results: [[String: Any]] = []
            var allOK = true
            for sim in simulators {
                let outcome: Simulator.Outcome
                let start = Date()
                do { outcome = try sim.run(directory: folder, wave: wave, count: images) } catch {
                    throw CLIError("\(sim.rawValue) could not run: \(error.localizedDescription)")
                }
                var summary = ""
                if design.kind == "accelerator" {
                    // The handoff report keeps what each simulator measured.
                    let images = outcome.passed + outcome.failed
                    let measured = HandoffReport.simulation(
                        outcome, images: images, seconds: Date().timeIntervalSince(start))
                    try HandoffReport.record(measured, in: folder)
                    summary = String(
                        format: "; top-1 %.2f%%, %d compute cycles per image%@, %.1f s",
                        100 * Double(measured.correct) / Double(max(1, images)),
                        measured.computeCyclesPerImage,
                        measured.intervalCycles.map { ", streamed one per \($0) cycles" } ?? "",
                        measured.wallSeconds)
                }
                try Data(outcome.log.utf8).write(to: folder.appendingPathComponent("build/\(sim.rawValue).log"))
                allOK = allOK && outcome.ok
                results.append([
                    "simulator": sim.rawValue, "passed": outcome.passed, "failed": outcome.failed,
                    "cycles": outcome.cycles ?? -1, "ok": outcome.ok,
                ])
                if !json {
                    let verdict = outcome.ok ? "ok" : "FAILED"
                    print(
                        "\(sim.rawValue): \(outcome.passed) passed, \(outcome.failed) failed, \(outcome.cycles.map { "\($0) cycles" } ?? "no cycle count")\(summary) - \(verdict)"
                    )
                    if !outcome.ok {
                        // The tail of the log says why (a build error, a mismatch, a timeout).
                        print(
                            outcome.log.split(separator: "\n", omittingEmptySubsequences: false).suffix(25).joined(
                                separator: "\n"))
                    }
                }
            }
            if json { try printJSON(["design": directory, "runs": results]) }
            if !allOK { throw ExitCode(1) }
        }
    }
}
