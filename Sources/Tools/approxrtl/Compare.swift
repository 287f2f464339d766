import ArgumentParser
import EDAFlows
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Compare accelerator handoff folders side by side: cycles, utilization, multipliers, buffers, resources, accuracy.",
        discussion: """
            Reads each folder's report.json (written by approxrtl generate --arch diannao, sim and synth). Ratios are \
            against the first folder. Cycles are compute cycles per image; bit-exact says every simulated image matched \
            the golden model under every simulator that ran; sim s is the wall time of the largest simulation.
            """)

    @Argument(help: "Accelerator folders (approxrtl generate --arch diannao -o DIR).") var directories: [String]
    @Flag(help: "A Markdown table.") var markdown = false

    func run() throws {
        try reportingErrors {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let reports = try directories.map { directory -> HandoffReport.Report in
                let url = URL(fileURLWithPath: directory).appendingPathComponent("report.json")
                guard let data = try? Data(contentsOf: url) else {
                    throw CLIError("\(directory): no report.json (generate it with approxrtl generate --arch diannao)")
                }
                do { return try decoder.decode(HandoffReport.Report.self, from: data) } catch let error as DecodingError
                {
                    throw CLIError("\(url.path): not a handoff report (\(error.field))")
                }
            }
            guard let base = reports.first else { throw CLIError("give at least one folder") }
            func ratio(_ a: Double, _ b: Double) -> String { b == 0 ? "-" : String(format: "%.2fx", a / b) }
            func cells(_ r: HandoffReport.Report) -> Int? { r.synthesis.first { $0.target == .ice40 }?.luts }
            var header = [
                "design", "model", "extensions", "Tn", "multipliers", "compute cycles", "vs first", "utilization",
                "MACs", "SB bits",
                "vs first", "adders", "FF bits", "LUT4 (ice40)", "LUT4 (ecp5)", "DSP", "Fmax MHz", "latency us",
                "images/s",
                "images", "bit-exact", "top-1", "sim s",
            ]
            var rows = zip(directories, reports).map { directory, r -> [String] in
                let d = r.design
                let macs = d.layers.map(\.macs).reduce(0, +)
                let ideal = Double(macs) / Double(d.config.tn * d.config.tn)
                let generic = r.synthesis.first { $0.target == .generic } ?? r.synthesis.first
                let images = r.simulations.map(\.images).max() ?? 0
                let exact =
                    r.simulations.isEmpty
                    ? "not run" : r.simulations.allSatisfy { $0.failed == 0 && $0.passed == $0.images } ? "yes" : "NO"
                let best = r.simulations.max { $0.images < $1.images }
                return [
                    (directory as NSString).lastPathComponent, d.model, d.extensions, "\(d.config.tn)",
                    d.stepMultipliers > 0 ? "\(d.multipliers) + \(d.stepMultipliers) small" : "\(d.multipliers)",
                    "\(d.computeCycles)",
                    ratio(Double(d.computeCycles), Double(base.design.computeCycles)),
                    String(format: "%.1f%%", 100 * ideal / Double(d.computeCycles)),
                    "\(macs)", "\(d.weightBufferBits)",
                    ratio(Double(d.weightBufferBits), Double(base.design.weightBufferBits)),
                    generic.map { "\($0.adders)" } ?? "-", generic.map { "\($0.flipFlopBits)" } ?? "-",
                    cells(r).map(String.init) ?? "-",
                    r.routed?.resource("LUT4").map { "\($0.used)" } ?? "-",
                    r.routed?.resource("DSP").map { "\($0.used)" } ?? "-",
                    r.speed.map { String(format: "%.1f", $0.fmaxMHz) } ?? "-",
                    r.speed.map { String(format: "%.1f", $0.latencyMicroseconds) } ?? "-",
                    r.speed.map { String(format: "%.0f", $0.imagesPerSecond) } ?? "-",
                    "\(images)", exact,
                    best.map { String(format: "%.2f%%", 100 * Double($0.correct) / Double(max(1, $0.images))) } ?? "-",
                    best.map { String(format: "%.0f", $0.wallSeconds) } ?? "-",
                ]
            }
            // Mapped LUTs only when some folder was synthesized for iCE40; routed figures only when one was routed on ECP5.
            var unused = reports.contains(where: { cells($0) != nil }) ? [] : ["LUT4 (ice40)"]
            if !reports.contains(where: { $0.routed != nil }) {
                unused += ["LUT4 (ecp5)", "DSP", "Fmax MHz", "latency us", "images/s"]
            }
            for name in unused {
                guard let column = header.firstIndex(of: name) else { continue }
                header.remove(at: column)
                rows = rows.map {
                    var row = $0; row.remove(at: column); return row
                }
            }
            if markdown {
                print("| " + header.joined(separator: " | ") + " |")
                print("|" + header.map { _ in "---" }.joined(separator: "|") + "|")
                for row in rows { print("| " + row.joined(separator: " | ") + " |") }
            } else {
                print(table(header, rows, rightAligned: Set(3..<header.count).subtracting([header.count - 3])))
            }
        }
    }
}
