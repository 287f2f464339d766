import Approximation
import ArgumentParser
import Datasets
import Foundation
import Quantization

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a quantized model with a grid of settings and measure each on the test set.",
        discussion: """
            Writes DIR/sweep.json (every setting: metrics and integer top-1), DIR/sweep.md (the table, the best \
            setting of each method within --budget points of the uncompressed integer top-1) and the Pareto fronts \
            DIR/pareto-params.svg (accuracy vs the papers' parameter reduction) and DIR/pareto-multiplies.svg \
            (accuracy vs full multiplications eliminated). Retraining-free: every setting compresses the model as it is.
            """)

    @Argument(help: "The quantized model (.q.json).") var model: String?
    @Option(
        help:
            "Instead of sweeping, render DIR's sweep.md and plots again from its sweep.json (with this --budget and --title)."
    ) var replot: String?
    @Option(help: "Methods to sweep (comma-separated): linear, quadratic, swc.") var methods = "linear,quadratic,swc"
    @Option(help: "M1: segment counts (comma-separated).") var segments = "4,8,16,32,64"
    @Option(help: "M1: segment counts for layer groups (default: --segments).") var layerSegments: String?
    @Option(help: "M1: segment counts for channel groups (default: --segments).") var channelSegments: String?
    @Option(help: "M1: segment counts for kernel groups (default: --segments).") var kernelSegments: String?
    @Option(help: "M1: groupings (comma-separated): layer, channel, kernel.") var groups = "layer,channel"
    @Option(help: "M1: boundary rules (comma-separated): optimal, equal.") var boundaries = "optimal"
    @Option(help: "M1: coefficient widths (comma-separated).") var coefBits = "16"
    @Option(help: "M2: code books (comma-separated): uniform, pow2.") var codebooks = "uniform,pow2"
    @Option(help: "M2: code widths (comma-separated).") var codeBits = "3,4,5"
    @Option(help: "M2: pruning thresholds (comma-separated).") var thresholds = "0"
    @Option(help: "M2: scale width.") var scaleBits = 12
    @Option(
        help: "Largest accumulator width allowed (default: the model's); settings that need more are listed as refused."
    ) var maxAccBits: Int?
    @Option(help: "Accuracy budget in top-1 points for the best-setting summary.") var budget = 1.0
    @Option(help: "Fine-tune every setting for this many epochs before measuring it (default: none, retraining-free).")
    var finetune: Int?
    @Option(help: "Fine-tuning learning rate (Adam).") var lr: Float = 1e-4
    @Option(help: "Fine-tune on the first N training images only.") var trainLimit: Int?
    @Option(help: "Title of the summary (default: the model file name).") var title: String?
    @Option(help: "The dataset (fashion-mnist).") var dataset = "fashion-mnist"
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(help: "Evaluate on the first N test images only.") var limit: Int?
    @Option(name: .shortAndLong, help: "Output folder.") var output: String?
    @Flag(help: "Replace the output folder's sweep files if they exist.") var force = false

    /// The grid: one transform per combination of the listed settings.
    func grid() throws -> [any ModelTransform] {
        func list(_ text: String) -> [String] {
            text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        func values<T>(_ text: String, _ flag: String, _ parse: (String) -> T?) throws -> [T] {
            try list(text).map {
                guard let v = parse($0) else { throw CLIError("\(flag): '\($0)' is not a valid value") }; return v
            }
        }
        var result: [TransformSettings] = []
        for method in list(methods) {
            var s = TransformSettings(method: method)
            s.maxAccumulatorBits = maxAccBits
            switch method {
            case "linear", "quadratic":
                for group in try values(groups, "--groups", Grouping.init) {
                    let counts =
                        [Grouping.layer: layerSegments, .channel: channelSegments, .kernel: kernelSegments][group]!
                        ?? segments
                    for cut in try values(boundaries, "--boundaries", Boundaries.init) {
                        for bits in try values(coefBits, "--coef-bits", { Int($0) }) {
                            for count in try values(counts, "--\(group.rawValue)-segments", { Int($0) }) {
                                (s.grouping, s.boundaries, s.coefficientBits, s.segments) = (group, cut, bits, count)
                                result.append(s)
                            }
                        }
                    }
                }
            case "swc":
                s.scaleBits = scaleBits
                for book in try values(codebooks, "--codebooks", Codebook.init) {
                    for bits in try values(codeBits, "--code-bits", { Int($0) }) {
                        for threshold in try values(thresholds, "--thresholds", { Double($0) }) {
                            (s.codebook, s.codeBits, s.threshold) = (book, bits, threshold)
                            result.append(s)
                        }
                    }
                }
            default:
                throw CLIError("--methods: unknown method '\(method)' (linear, quadratic, swc)")
            }
        }
        // A bad value in the grid is refused before any work starts.
        return try result.map(Transforms.make)
    }

    func run() throws {
        try reportingErrors {
            if let replot {
                let path = (replot as NSString).appendingPathComponent("sweep.json")
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CLIError("cannot read \(path)")
                }
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                var result: SweepResult
                do { result = try decoder.decode(SweepResult.self, from: data) } catch {
                    throw CLIError("\(path) is not a sweep result: \(error)")
                }
                result.budget = budget
                try write(result, to: replot)
                return
            }
            guard let model, let output else {
                throw CLIError("sweep needs the quantized model and -o DIR (or --replot DIR)")
            }
            let grid = try self.grid()
            if !force,
                let existing = Sweep.files(in: output).first(where: { FileManager.default.fileExists(atPath: $0) })
            {
                throw CLIError("\(existing) exists; pass --force to overwrite it")
            }
            let quantized = try QuantizedModel.load(path: model)
            let images = try Accuracy.testImages(dataset: dataset, data: data, limit: limit)
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let baseline = try Accuracy.integer(quantized, on: images)
            let float = try Accuracy.float(path: quantized.source, on: images)
            let progress = Progress("sweep", total: grid.count)
            var rows: [SweepRow] = []
            let context = TransformContext(training: {
                try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory)
            })
            for (index, setting) in grid.enumerated() {
                progress.update(index, setting.summary)
                do {
                    var transform = setting
                    if let epochs = finetune, let approximation = setting as? any WeightApproximation {
                        transform = try FineTunedApproximation(
                            approximation, epochs: epochs, learningRate: lr, m1Mode: .straightThrough,
                            limit: trainLimit, source: quantized.source, from: model)
                    }
                    let compressed = try transform.apply(quantized, context: context)
                    let metrics = ModelMetrics(compressed)
                    let top1 = try Accuracy.integer(compressed, on: images)
                    rows.append(
                        SweepRow(
                            setting: setting.summary, method: setting.name, integerTop1: top1,
                            loss: 100 * (baseline - top1),
                            paramReduction: metrics.paramReduction, storageReduction: metrics.storageReduction,
                            multipliesEliminated: metrics.multipliesEliminated,
                            operationsSaved: metrics.operationsSaved,
                            smallMultiplies: metrics.total.smallMultiplies, refused: nil))
                } catch let error as QuantizationError {
                    rows.append(
                        SweepRow(
                            setting: setting.summary, method: setting.name, integerTop1: nil, loss: nil,
                            paramReduction: nil,
                            storageReduction: nil, multipliesEliminated: nil, operationsSaved: nil,
                            smallMultiplies: nil,
                            refused: "\(error)"))
                }
            }
            progress.update(grid.count)
            progress.finish()
            let result = SweepResult(
                model: model, title: title, source: quantized.source,
                images: images.count, floatTop1: float, integerTop1: baseline, budget: budget, finetuneEpochs: finetune,
                rows: rows)
            try write(result, to: output)
        }
    }

    static func files(in folder: String) -> [String] {
        ["sweep.json", "sweep.md", "pareto-params.svg", "pareto-multiplies.svg"].map {
            (folder as NSString).appendingPathComponent($0)
        }
    }

    /// Writes the sweep's four files (docs/formats.md) and prints the summary.
    func write(_ result: SweepResult, to folder: String) throws {
        var result = result
        if let title { result.title = title }
        let files = Sweep.files(in: folder)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeOutput(encoder.encode(result), to: files[0], force: true)
        try writeOutput(Data(result.markdown().utf8), to: files[1], force: true)
        try writeOutput(
            Data(
                result.plot(
                    x: \.paramReduction, label: "M1 parameter reduction (papers' count, log scale)",
                    logScale: true, methods: ["linear", "quadratic"]
                ).utf8), to: files[2], force: true)
        try writeOutput(
            Data(
                result.plot(
                    x: \.multipliesEliminated, label: "full multiplications eliminated",
                    logScale: false, methods: ["linear", "quadratic", "swc"]
                ).utf8), to: files[3], force: true)
        print(result.headline())
        print("wrote \(files.joined(separator: ", "))")
    }
}

struct SweepRow: Codable {
    var setting: String
    var method: String
    var integerTop1: Double?
    /// Points of integer top-1 lost against the uncompressed model (negative: gained).
    var loss: Double?
    var paramReduction: Double?
    var storageReduction: Double?
    var multipliesEliminated: Double?
    var operationsSaved: Double?
    var smallMultiplies: Int?
    var refused: String?
}

struct SweepResult: Codable {
    var model: String
    var title: String?
    var source: String
    var images: Int
    var floatTop1: Double?
    var integerTop1: Double
    var budget: Double
    /// Every row was fine-tuned for this many epochs (nil: retraining-free).
    var finetuneEpochs: Int?
    var rows: [SweepRow]

    /// The heading of the summaries: the title, or the model's file name.
    var name: String { title ?? (model as NSString).lastPathComponent }

    var training: String {
        finetuneEpochs.map { "with \($0) epochs of approximation-aware fine-tuning" } ?? "retraining-free"
    }

    /// The row with the largest `key` among those within the budget; among equals the one that saves more
    /// operations overall (e.g. the narrower SWC codes), then the one that loses less.
    func best(_ methods: Set<String>, by key: KeyPath<SweepRow, Double?>) -> SweepRow? {
        func rank(_ row: SweepRow) -> (Double, Double, Double) {
            (
                (row[keyPath: key] ?? 0).rounded(toPlaces: 6), (row.operationsSaved ?? 0).rounded(toPlaces: 6),
                -(row.loss ?? 0)
            )
        }
        return rows.filter { methods.contains($0.method) && ($0.loss ?? .infinity) <= budget + 1e-9 }.max {
            rank($0) < rank($1)
        }
    }

    func describe(_ row: SweepRow?) -> String {
        guard let row, let top1 = row.integerTop1, let loss = row.loss else { return "no setting within the budget" }
        let operations = row.operationsSaved ?? 0
        return String(
            format:
                "%@: top-1 %.2f%% (%+.2f points), parameters %.1fx fewer (papers' count), honest storage %.2fx the original bits, full multiplications %.1f%% fewer, multiplications + additions %.1f%% %@",
            row.setting, 100 * top1, -loss, row.paramReduction ?? 0, 1 / (row.storageReduction ?? 1),
            100 * (row.multipliesEliminated ?? 0), 100 * abs(operations), operations >= 0 ? "fewer" : "more")
    }

    func headline() -> String {
        let float = floatTop1.map { String(format: "%.2f%%", 100 * $0) } ?? "unknown"
        return """
            \(name), \(training), on \(images) test images: float top-1 \(float), integer top-1 \(String(format: "%.2f%%", 100 * integerTop1)) before compression; within \(budget) points of it:
            - M1, most parameter reduction: \(describe(best(["linear", "quadratic"], by: \.paramReduction)))
            - M1, most operations saved: \(describe(best(["linear", "quadratic"], by: \.operationsSaved)))
            - M2, most multiplications eliminated: \(describe(best(["swc"], by: \.multipliesEliminated)))
            """
    }

    /// This model's best settings beside the papers' figures (DESIGN.md section 5).
    func comparison() -> [String] {
        func cell(_ row: SweepRow?, _ text: (SweepRow) -> String) -> String {
            guard let row, let loss = row.loss else { return "none within the budget" }
            return text(row) + String(format: ", top-1 %+.2f points (%@)", -loss, row.setting)
        }
        let m1 = best(["linear", "quadratic"], by: \.paramReduction)
        let ops = best(["linear", "quadratic"], by: \.operationsSaved)
        let swc = best(["swc"], by: \.multipliesEliminated)
        return [
            "| figure | paper | approxrtl, \(training), within \(budget) points |",
            "|---|---|---|",
            "| parameter reduction, linear approximation (papers' count) | 21.8x on LeNet/Fashion-MNIST with retraining (IEEE Access 2022); ~198.6x retraining-free on CIFAR-10 (ISCAS 2025) | "
                + cell(m1) {
                    String(
                        format: "%.1fx (honest storage: %.2fx the original bits)", $0.paramReduction ?? 0,
                        1 / ($0.storageReduction ?? 1))
                } + " |",
            "| multiplications eliminated, SWC | >90% (ISCAS 2022) | "
                + cell(swc) {
                    String(
                        format: "%.1f%% (%d small b-bit products remain per image)",
                        100 * ($0.multipliesEliminated ?? 0), $0.smallMultiplies ?? 0)
                } + " |",
            "| operations of the M1 reuse form | 54% fewer adders + multipliers than row-stationary hardware (IEEE Access 2022; a circuit count, for the RTL generators) | "
                + cell(ops) {
                    String(
                        format:
                            "full multiplications -%.1f%%, multiplications + additions %@%.1f%% (the suffix sums add about one addition per weight)",
                        100 * ($0.multipliesEliminated ?? 0), ($0.operationsSaved ?? 0) > 0 ? "-" : "+",
                        100 * abs($0.operationsSaved ?? 0))
                } + " |",
        ]
    }

    func markdown() -> String {
        var lines =
            ["### \(name), \(training)", "", headline(), ""] + comparison() + [
                "",
                "| setting | integer top-1 | loss (points) | params, papers' count | storage bits, honest | full mults eliminated | mults + adds saved | small mults left |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
        for row in rows {
            if let refused = row.refused {
                lines.append("| \(row.setting) | refused: \(refused) | | | | | | |")
                continue
            }
            lines.append(
                String(
                    format: "| %@ | %.2f%% | %.2f | %.1fx fewer | %.2fx the original | %.1f%% | %.1f%% | %d |",
                    row.setting, 100 * row.integerTop1!, row.loss!,
                    row.paramReduction!, 1 / row.storageReduction!, 100 * row.multipliesEliminated!,
                    100 * row.operationsSaved!,
                    row.smallMultiplies!))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Integer top-1 against one saving, every setting of `methods` a dot (colour by method), the Pareto front
    /// as a line, the uncompressed model and the budget as horizontal lines. Settings more than 6 points below
    /// the uncompressed model sit on the bottom edge as triangles.
    func plot(x key: KeyPath<SweepRow, Double?>, label: String, logScale: Bool, methods: [String]) -> String {
        let points = rows.compactMap { row -> (x: Double, y: Double, method: String)? in
            guard methods.contains(row.method), let x = row[keyPath: key], let y = row.integerTop1, !logScale || x > 0
            else { return nil }
            return (logScale ? log10(x) : 100 * x, 100 * y, row.method)
        }
        let (width, height, left, bottom, top, right) = (720.0, 440.0, 64.0, 52.0, 64.0, 24.0)
        let baseline = 100 * integerTop1
        let xs = points.map(\.x)
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1)
        if logScale {
            (x0, x1) = (min(0, x0), x1 + 0.05)
        } else {
            (x0, x1) = (floor(x0 / 10) * 10, min(100, ceil(x1 / 10) * 10))
        }
        if x1 <= x0 { x1 = x0 + 1 }
        let y1 = ceil(max(points.map(\.y).max() ?? baseline, baseline) + 0.3)
        let y0 = floor(max(points.map(\.y).min() ?? baseline - 2, baseline - 6))
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double { height - bottom - (max(y, y0) - y0) / (y1 - y0) * (height - bottom - top) }
        let colours = ["linear": "#1f77b4", "quadratic": "#2ca02c", "swc": "#d62728"]
        var svg = [
            String(
                format:
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">",
                width, height),
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(Int(left))\" y=\"20\" font-size=\"15\">\(name), \(training)</text>",
            "<text x=\"\(Int(left))\" y=\"38\" fill=\"#444\">integer top-1 on \(images) test images against \(label)</text>",
        ]
        for (i, method) in methods.enumerated() where points.contains(where: { $0.method == method }) {
            svg.append(
                String(
                    format: "<circle cx=\"%.1f\" cy=\"52\" r=\"4\" fill=\"%@\"/><text x=\"%.1f\" y=\"56\">%@</text>",
                    left + 6 + Double(i) * 90, colours[method] ?? "black", left + 14 + Double(i) * 90, method))
        }
        // Grid and ticks.
        var xTicks: [(Double, String)] = []
        if logScale {
            for decade in 0...4 {
                for m in [1.0, 2.0, 5.0] {
                    let v = m * pow(10, Double(decade))
                    if log10(v) >= x0 - 1e-9 && log10(v) <= x1 { xTicks.append((log10(v), String(format: "%.0fx", v))) }
                }
            }
        } else {
            xTicks = stride(from: x0, through: x1 + 1e-9, by: (x1 - x0) > 40 ? 20 : 10).map {
                ($0, String(format: "%.0f%%", $0))
            }
        }
        for (x, text) in xTicks {
            svg.append(
                String(
                    format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", px(x), top,
                    px(x), height - bottom))
            svg.append(
                String(
                    format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>", px(x), height - bottom + 16,
                    text))
        }
        let yStep = (y1 - y0) > 8 ? 2.0 : 1.0
        for y in stride(from: y0, through: y1 + 1e-9, by: yStep) {
            svg.append(
                String(
                    format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>", left, py(y),
                    width - right, py(y)))
            svg.append(
                String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f%%</text>", left - 6, py(y) + 4, y))
        }
        svg.append(
            String(
                format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>",
                left, top, width - left - right, height - top - bottom))
        svg.append(
            String(
                format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>", (left + width - right) / 2,
                height - 12, label))
        for (y, dash, text) in [
            (baseline, "", "uncompressed"),
            (baseline - budget, " stroke-dasharray=\"5 4\"", String(format: "-%.1f points", budget)),
        ] {
            svg.append(
                String(
                    format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"gray\"%@/>", left, py(y),
                    width - right, py(y), dash))
            svg.append(String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"gray\">%@</text>", left + 4, py(y) - 4, text))
        }
        // Pareto front: no other point has both more saving and more accuracy.
        let front = points.filter { p in !points.contains { $0.x >= p.x && $0.y >= p.y && ($0.x > p.x || $0.y > p.y) } }
            .sorted { $0.x < $1.x }
        if front.count > 1 {
            svg.append(
                "<polyline fill=\"none\" stroke=\"black\" stroke-width=\"1.5\" points=\""
                    + front.map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ") + "\"/>")
        }
        for p in points {
            let colour = colours[p.method] ?? "black"
            if p.y < y0 {
                let (cx, cy) = (px(p.x), py(y0))
                svg.append(
                    String(
                        format: "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"%@\"/>", cx - 5, cy - 8,
                        cx + 5, cy - 8, cx, cy, colour))
            } else {
                svg.append(
                    String(
                        format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%@\" fill-opacity=\"0.8\"/>", px(p.x),
                        py(p.y), colour))
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        let scale = pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
