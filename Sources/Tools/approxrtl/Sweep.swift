import Approximation
import ArgumentParser
import Datasets
import EDAFlows
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
            guard budget >= 0, lr > 0 else { throw CLIError("--budget must not be negative, --lr must be positive") }
            if let replot {
                let path = (replot as NSString).appendingPathComponent("sweep.json")
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CLIError("cannot read \(path)")
                }
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                var result: SweepResult
                do { result = try decoder.decode(SweepResult.self, from: data) } catch {
                    throw CLIError(
                        "\(path) is not a sweep result (\((error as? DecodingError)?.field ?? "unreadable"))")
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
            let float = try Accuracy.float(of: quantized, on: images)
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
                    let metrics = try ModelMetrics(compressed)
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
                model: model, title: title, source: FileReference.forDisplay(quantized.source),
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
