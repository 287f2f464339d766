import Accelerator
import LayerGenerator
import Foundation

/// report.json and report.html of an accelerator's handoff folder: the design (from design.json), and what
/// `approxrtl sim` and `approxrtl synth` measured, each section replaced when its command runs again.
public enum HandoffReport {
    public struct Simulation: Codable, Equatable, Sendable {
        public var simulator: String
        public var images: Int
        public var passed: Int
        public var failed: Int
        /// Top-1 of the RTL's own logits against the labels.
        public var correct: Int
        public var computeCyclesPerImage: Int
        public var cyclesPerImage: Int
        /// Measured: cycles between one image's start and the next one's (images streamed), and the first
        /// image's cycles from its first pixel to its last logit (nil in reports from before streaming).
        public var intervalCycles: Int? = nil
        public var latencyCycles: Int? = nil
        /// Cycles of each instruction, measured.
        public var layerCycles: [Int]
        public var wallSeconds: Double
    }

    public struct Report: Codable, Sendable {
        public var design: AcceleratorManifest
        public var simulations: [Simulation] = []
        public var synthesis: [SynthesisReport] = []
        public init(design: AcceleratorManifest) { self.design = design }

        /// The ECP5 place and route, when `synth --target ecp5` routed the design.
        public var routed: PlaceAndRoute? {
            synthesis.first { $0.target == .ecp5 }?.placeAndRoute.flatMap { $0.fmaxMHz == nil ? nil : $0 }
        }

        /// Images streamed back to back: the cycles between them and at the routed Fmax an image's latency (first
        /// pixel to last logit) and the images per second (the cycle model; designs from before streaming load,
        /// then compute, one image at a time).
        public var speed: (cycles: Int, fmaxMHz: Double, latencyMicroseconds: Double, imagesPerSecond: Double)? {
            guard let fmax = routed?.fmaxMHz else { return nil }
            let serial = design.computeCycles + design.loadCycles
            let (interval, latency) = (design.intervalCycles ?? serial, design.latencyCycles ?? serial)
            return (interval, fmax, Double(latency) / fmax, fmax * 1e6 / Double(interval))
        }
    }

    /// The bench's figures from its log.
    public static func simulation(_ outcome: Simulator.Outcome, images: Int, seconds: Double) -> Simulation {
        let lines = outcome.log.split(separator: "\n")
        func value(_ prefix: String) -> Int? {
            lines.last { $0.hasPrefix(prefix) }.flatMap { Int($0.split(separator: " ").last!) }
        }
        let correct = lines.last { $0.hasPrefix("accuracy ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        return Simulation(
            simulator: outcome.simulator.rawValue, images: images, passed: outcome.passed, failed: outcome.failed,
            correct: correct,
            computeCyclesPerImage: value("compute cycles ") ?? 0, cyclesPerImage: value("cycles per inference ") ?? 0,
            intervalCycles: value("interval cycles "), latencyCycles: value("latency cycles "),
            layerCycles: lines.filter { $0.hasPrefix("layer ") }.compactMap { Int($0.split(separator: " ").last!) },
            wallSeconds: seconds)
    }

    static func load(_ directory: URL) throws -> Report {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let url = directory.appendingPathComponent("report.json")
        if let data = try? Data(contentsOf: url), let report = try? decoder.decode(Report.self, from: data) {
            return report
        }
        return Report(
            design: try decoder.decode(
                AcceleratorManifest.self, from: Data(contentsOf: directory.appendingPathComponent("design.json"))))
    }

    /// Records a simulation (replacing an earlier one of the same simulator) and rewrites both files.
    public static func record(_ simulation: Simulation, in directory: URL) throws {
        var report = try load(directory)
        report.simulations.removeAll { $0.simulator == simulation.simulator }
        report.simulations.append(simulation)
        report.simulations.sort { $0.simulator < $1.simulator }
        try write(report, to: directory)
    }

    /// Records a synthesis run (replacing an earlier one of the same target) and rewrites both files.
    public static func record(_ synthesis: SynthesisReport, in directory: URL) throws {
        var report = try load(directory)
        report.synthesis.removeAll { $0.target == synthesis.target }
        report.synthesis.append(synthesis)
        report.synthesis.sort { $0.target.rawValue < $1.target.rawValue }
        try write(report, to: directory)
        // The constraints carry the clock the routed design met.
        if synthesis.target == .ecp5, let routed = synthesis.placeAndRoute, let fmax = routed.fmaxMHz {
            try Data(Handoff.constraints(top: report.design.top, met: (routed.part, fmax)).utf8)
                .write(to: directory.appendingPathComponent("constraints.sdc"), options: .atomic)
        }
    }

    public static func write(_ report: Report, to directory: URL) throws {
        for (path, data) in try files(report) {
            try data.write(to: directory.appendingPathComponent(path), options: .atomic)
        }
    }

    /// report.json and report.html of `report` (`generate` writes them with the rest of the folder, atomically).
    public static func files(_ report: Report) throws -> [String: Data] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return ["report.json": try encoder.encode(report) + Data("\n".utf8), "report.html": Data(html(report).utf8)]
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }

    static func row(_ cells: [String], header: Bool = false) -> String {
        "<tr>" + cells.map { header ? "<th>\(escape($0))</th>" : "<td>\(escape($0))</td>" }.joined() + "</tr>"
    }

    /// A readable page: the design, the runs, the resources, and per layer the cycles against the ideal.
    static func html(_ r: Report) -> String {
        let d = r.design
        var page = designSection(d) + simulationSection(r) + resourcesSection(r)
        page += placeAndRouteSection(r)
        page +=
            "<p>Buffers: activations 2 x \(d.activationWords) words (\(d.activationBufferBits) bits), SB \(d.weightWords) words (\(d.weightBufferBits) bits), "
            + "bias/shift \(d.paramWords) words (\(d.paramBufferBits) bits).</p></body></html>\n"
        return page
    }

    /// The design and its cycles per image, per instruction against the ideal.
    static func designSection(_ d: AcceleratorManifest) -> String {
        let totalMacs = d.layers.map(\.macs).reduce(0, +)
        let ideal = Double(totalMacs) / Double(d.config.tn * d.config.tn)
        var page = """
            <!DOCTYPE html><html><head><meta charset="utf-8"><title>\(escape(d.top))</title>
            <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}</style></head><body>
            <h1>\(escape(d.top))</h1>
            <p>\(escape(d.model)) on a DianNao-style accelerator (approxrtl generate --arch diannao): Tn = \(d.config.tn),
            extensions: \(escape(d.extensions)), first layer: \(escape(d.firstLayer)); \(d.multipliers) multipliers\(d.stepMultipliers > 0 ? " (and \(d.stepMultipliers) rank-step multipliers)" : "")\(d.activationTables > 0 ? ", activation tables for \(d.activationTables) layers" : ""),
            \(d.dataWidth)-bit activation lanes, \(d.macArray ? "\(d.weightWidth)-bit weights" : "no MAC array") in \(d.weightBufferBits / max(1, d.weightWords))-bit SB words,
            \(d.accumulatorWidth)-bit accumulators.</p>
            <h2>Cycles per image</h2>
            <p>\(d.computeCycles) compute cycles (ideal \(String(format: "%.0f", ideal)) with every multiplier busy:
            utilization \(String(format: "%.1f%%", 100 * ideal / Double(d.computeCycles)))) and \(d.loadCycles) cycles to load an image\(d.intervalCycles.map { ", which overlaps the previous image's computing: images stream at one per \($0) cycles" } ?? "").
            Multiply-accumulates: \(totalMacs).</p>
            <table>\(row(["instruction", "op", "mapping", "MACs", "steps", "cycles", "ideal", "utilization"], header: true))
            """
        for l in d.layers {
            page += row([
                l.name, l.op, l.mapping ?? "-", "\(l.macs)", "\(l.steps)", "\(l.cycles)",
                String(format: "%.1f", l.idealCycles),
                String(format: "%.1f%%", 100 * l.utilization),
            ])
        }
        page += "</table>\n" + barChart(d.layers.map { ($0.name, Double($0.cycles), $0.idealCycles) })
        return page
    }

    /// What each simulator measured.
    static func simulationSection(_ r: Report) -> String {
        let d = r.design
        var page = ""
        page += "<h2>Simulation</h2>\n"
        if r.simulations.isEmpty {
            page += "<p>Not simulated yet: approxrtl sim DIR.</p>\n"
        } else {
            page +=
                "<table>"
                + row(
                    [
                        "simulator", "images", "passed", "failed", "top-1", "compute cycles", "cycles per image",
                        "wall s",
                    ], header: true)
            for s in r.simulations {
                page += row([
                    s.simulator, "\(s.images)", "\(s.passed)", "\(s.failed)",
                    String(format: "%.2f%%", 100 * Double(s.correct) / Double(max(1, s.images))),
                    "\(s.computeCyclesPerImage)",
                    "\(s.cyclesPerImage)", String(format: "%.1f", s.wallSeconds),
                ])
            }
            page +=
                "</table><p>Every logit of every image is compared with the golden model; an image passes when all match. "
                + "The golden model's own top-1 on the \(d.images) bench images: \(String(format: "%.2f%%", 100 * Double(d.goldenCorrect) / Double(max(1, d.images)))) "
                + "(a bit-exact run over all of them has the same).</p>\n"
        }
        return page
    }

    /// What each synthesis target mapped.
    static func resourcesSection(_ r: Report) -> String {
        var page = ""
        page += "<h2>Resources</h2>\n"
        if r.synthesis.isEmpty {
            page += "<p>Not synthesized yet: approxrtl synth DIR.</p>\n"
        } else {
            page +=
                "<table>"
                + row(
                    [
                        "target", "multipliers", "adders", "FF bits", "ROM bits", "RAM bits", "LUT4", "FF", "BRAM",
                        "Fmax MHz",
                    ], header: true)
            for s in r.synthesis {
                let multipliers = s.multipliers.map {
                    "\($0.count)x(\($0.widths.map(String.init).joined(separator: "x")))"
                }.joined(separator: " ")
                page += row([
                    s.target.rawValue, multipliers.isEmpty ? "0" : multipliers, "\(s.adders)", "\(s.flipFlopBits)",
                    "\(s.romBits)", "\(s.ramBits)",
                    s.luts.map(String.init) ?? "-", s.flipFlops.map(String.init) ?? "-",
                    s.blockRams.map(String.init) ?? "-",
                    s.fmaxText,
                ])
            }
            page +=
                "</table>\n" + r.synthesis.compactMap { $0.note.map { "<p>\(escape($0))</p>" } }.joined(separator: "\n")
            if r.synthesis.contains(where: { $0.cellDelayNs != nil && $0.fmaxMHz == nil }) {
                page +=
                    "<p>Fmax \(escape("<= N")): the clock the longest path allows in iCE40-HX cell delays alone (Yosys sta, no routing), "
                    + "an upper bound; nextpnr measures the real one where the design fits a part it places.</p>\n"
            }
        }
        return page
    }

    /// The ECP5 place and route: part, target and routed clock, latency and throughput at it, resources against
    /// the part, the critical path.
    static func placeAndRouteSection(_ r: Report) -> String {
        guard let p = r.synthesis.first(where: { $0.target == .ecp5 })?.placeAndRoute else { return "" }
        var page = "<h2>Place and route</h2>\n<p>\(escape(p.part)), target \(String(format: "%g", p.targetMHz)) MHz: "
        if let speed = r.speed {
            page += String(
                format:
                    "routed Fmax %.1f MHz (%@). Images streamed: one per %d cycles (%d to compute, %d to load the "
                    + "next meanwhile), %.0f images/s at that clock; %.1f us from an image's first pixel to its last "
                    + "logit.", speed.fmaxMHz, p.meetsTarget ? "met" : "not met", speed.cycles, r.design.computeCycles,
                r.design.loadCycles, speed.imagesPerSecond, speed.latencyMicroseconds)
        } else {
            page += escape(p.note ?? "no Fmax") + "."
        }
        page += String(format: " Yosys and nextpnr-ecp5 took %.0f s.</p>\n", p.seconds)
        if !p.resources.isEmpty {
            page += "<table>" + row(["resource", "used", "of the part", "percent"], header: true)
            for resource in p.resources {
                page += row(
                    [
                        resource.name, "\(resource.used)", "\(resource.available)",
                        String(format: "%.1f%%", resource.percent),
                    ])
            }
            page += "</table>\n"
        }
        if let path = p.criticalPath {
            page +=
                "<p>Critical path, \(String(format: "%.2f", path.delayNs)) ns: from \(escape(path.from)) to \(escape(path.to)), through "
                + escape(path.through.joined(separator: ", ")) + ".</p>\n"
        }
        return page
    }

    /// Horizontal bars: each instruction's cycles, with its ideal cycles marked.
    static func barChart(_ bars: [(String, Double, Double)]) -> String {
        let width = 600.0, rowHeight = 18.0, left = 170.0
        let largest = max(1, bars.map { max($0.1, $0.2) }.max() ?? 1)
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left + width + 80))\" height=\"\(Int(Double(bars.count) * rowHeight + 30))\" font-size=\"11\">"
        for (i, (name, cycles, ideal)) in bars.enumerated() {
            let y = Double(i) * rowHeight + 4
            svg +=
                "<text x=\"\(Int(left - 6))\" y=\"\(Int(y + 12))\" text-anchor=\"end\">\(name.replacingOccurrences(of: "&", with: "&amp;"))</text>"
            svg +=
                "<rect x=\"\(Int(left))\" y=\"\(Int(y))\" width=\"\(String(format: "%.1f", width * cycles / largest))\" height=\"14\" fill=\"#7aa6d8\"/>"
            svg +=
                "<rect x=\"\(Int(left))\" y=\"\(Int(y + 5))\" width=\"\(String(format: "%.1f", width * ideal / largest))\" height=\"4\" fill=\"#c0392b\"/>"
            svg += "<text x=\"\(Int(left + width * cycles / largest + 4))\" y=\"\(Int(y + 12))\">\(Int(cycles))</text>"
        }
        svg +=
            "<text x=\"\(Int(left))\" y=\"\(Int(Double(bars.count) * rowHeight + 22))\">cycles per image (blue) and ideal cycles, MACs / Tn^2 (red)</text></svg>\n"
        return svg
    }
}
