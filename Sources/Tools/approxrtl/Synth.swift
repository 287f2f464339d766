import ArgumentParser
import EDAFlows
import Foundation

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate the size and speed of generated designs with Yosys (and nextpnr-ice40).",
        discussion: """
            For each design folder: word-level multipliers and adders after Yosys's width reduction, flip-flop and ROM \
            bits; with --target ice40 or ecp5 also the mapped LUTs, flip-flops, carries, block RAMs and hard multipliers, \
            and for ice40 nextpnr's Fmax on an iCE40-HX8K through a registered I/O wrapper (fixed seed). Give the reuse \
            and baseline folders of a layer together to see them side by side. Logs in DIR/build/synth/.
            """)

    @Argument(help: "Design folders (approxrtl generate -o DIR).") var directories: [String]
    @Option(help: "generic, ice40 or ecp5.") var target: String = "ice40"
    @Option(help: "nextpnr seed.") var seed = 1
    @Flag(help: "Skip place and route (no Fmax).") var noPlace = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingErrors {
            guard let chosen = SynthesisTarget(rawValue: target) else { throw CLIError("--target must be generic, ice40 or ecp5, not '\(target)'") }
            let progress = Progress("synth", total: directories.count)
            var reports: [SynthesisReport] = []
            for (i, directory) in directories.enumerated() {
                progress.update(i, directory)
                let folder = URL(fileURLWithPath: directory)
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("design.json").path) else {
                    throw CLIError("\(directory) is not a design folder (no design.json)")
                }
                do {
                    let report = try Synthesis.run(directory: folder, target: chosen, seed: seed, place: !noPlace)
                    if try DesignFolder.load(folder).kind == "accelerator" { try HandoffReport.record(report, in: folder) }
                    reports.append(report)
                } catch let error as SynthesisError {
                    throw CLIError("\(directory): \(error)")
                }
            }
            progress.finish()
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                FileHandle.standardOutput.write(try encoder.encode(reports) + Data("\n".utf8))
                return
            }
            print(Self.table(reports))
            for report in reports where report.note != nil { print("\(report.top): \(report.note!)") }
        }
    }

    static func table(_ reports: [SynthesisReport]) -> String {
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "-" }
        let rows = reports.map { r -> [String] in
            let multipliers = r.multipliers.map { "\($0.count)x\($0.widths.map(String.init).joined(separator: "x"))" }.joined(separator: " ")
            return [r.layer, r.arch, r.method, multipliers.isEmpty ? "0" : multipliers, "\(r.adders) (\(r.adderBits) b)", "\(r.flipFlopBits)",
                    "\(r.romBits)", optional(r.luts), optional(r.flipFlops), optional(r.blockRams),
                    r.fmaxText, String(format: "%.1f", r.computeCyclesPerVector),
                    String(format: "%.1f", r.cyclesPerVector)]
        }
        return approxrtl.table(["layer", "arch", "method", "multipliers", "adders (bits)", "FF bits", "ROM bits", "LUT4", "FF", "BRAM", "Fmax MHz",
                      "compute cyc/vec", "cyc/vec"], rows, rightAligned: Set(4...12))
    }
}
