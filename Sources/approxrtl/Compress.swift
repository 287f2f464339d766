import Approximation
import ArgumentParser
import Datasets
import Foundation
import NetworkIR
import GoldenModel
import OnnxExport
import OnnxImport
import Training
import Quantization

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a quantized model's weights with M1 (linear, quadratic) or M2 (swc).",
        discussion: """
            Retraining-free: the weights of the quantized model are approximated as they are. The result is a model \
            file of the same format (docs/formats.md) that stores coefficients or scaling-weight codes instead of \
            weight codes; `eval`, `report` and the golden model read it like any quantized model.
            """)

    @Argument(help: "The quantized model (.q.json).") var model: String
    @OptionGroup var settings: MethodSettings
    @Option(help: "Compress only these layers (comma-separated names; default: every conv and dense layer).") var layers: String?
    @Option(help: "Largest accumulator width allowed (default: the model's).") var maxAccBits: Int?
    @Option(help: "Approximation-aware fine-tuning for this many epochs on the training images (default: none, retraining-free). Also writes OUTPUT.finetuned.onnx and OUTPUT.finetuned.q.json.") var finetune: Int?
    @Option(help: "Fine-tuning learning rate (Adam).") var lr: Float = 1e-4
    @Option(help: "How fine-tuning keeps M1 layers on their structure: straight-through or reproject (projected SGD).") var finetuneMode = "straight-through"
    @Option(help: "Folder with the dataset's IDX files, for fine-tuning (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(help: "Fine-tune on the first N training images only.") var limit: Int?
    @Option(name: .shortAndLong, help: "Where to write the compressed model (.c.json).") var output: String
    @Flag(help: "Overwrite the output if it exists.") var force = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        try reportingErrors {
            if FileManager.default.fileExists(atPath: output) && !force {
                throw CLIError("\(output) exists; pass --force to overwrite it")
            }
            let quantized = try QuantizedModel.load(path: model)
            if settings.method == "slim" {
                try slim(quantized)
                return
            }
            if settings.method == "kernel" || settings.method == "feature" {
                var reduced = try settings.method == "kernel" ? reduceKernels(quantized) : approximateFeatures(quantized)
                reduced.compressedFrom = model
                try writeAndReport(reduced, summary: { metrics in
                    String(format: "multiply-accumulates: %d -> %d (%.1f%% saved)", metrics.total.macs, metrics.total.liveMacs,
                           100 * (1 - Double(metrics.total.liveMacs) / Double(max(metrics.total.macs, 1))))
                })
                return
            }
            let method = try settings.resolved()
            var compressed = try ModelCompressor.compress(quantized, method: method,
                                                          layers: layers.map { $0.split(separator: ",").map(String.init) },
                                                          maxAccumulatorBits: maxAccBits)
            compressed.compressedFrom = model
            if let epochs = finetune {
                let base = output.hasSuffix(".c.json") ? String(output.dropLast(7)) : output.hasSuffix(".json") ? String(output.dropLast(5)) : output
                let (onnxPath, quantizedPath) = (base + ".finetuned.onnx", base + ".finetuned.q.json")
                for path in [onnxPath, quantizedPath] where FileManager.default.fileExists(atPath: path) && !force {
                    throw CLIError("\(path) exists; pass --force to overwrite it")
                }
                let tuned = try FineTune.run(quantized: quantized, compressed: compressed, method: method, epochs: epochs, learningRate: lr,
                                             data: data, limit: limit, source: onnxPath, maxAccumulatorBits: maxAccBits, quiet: json,
                                             m1Mode: finetuneMode)
                try writeOutput(OnnxExporter.serialized(tuned.graph, docString: "Fine-tuned by approxrtl compress --finetune \(epochs) from \(quantized.source)",
                                                        metadata: [("approxrtl.finetuned_from", quantized.source)]), to: onnxPath, force: force)
                try writeOutput(tuned.quantized.encoded(), to: quantizedPath, force: force)
                compressed = tuned.compressed
                compressed.compressedFrom = quantizedPath
                compressed.fineTuning = tuned.record(from: model)
            }
            try writeAndReport(compressed, summary: metricsSummary)
        }
    }

    /// Writes the result and prints its per-layer metrics (or one JSON object), then `summary`'s line.
    func writeAndReport(_ result: QuantizedModel, summary: (ModelMetrics) -> String) throws {
        try writeOutput(result.encoded(), to: output, force: force)
        let metrics = ModelMetrics(result)
        if json {
            try printJSON(["model": model, "output": output, "method": settings.description, "metrics": jsonObject(metrics)])
        } else {
            print("\(model) -> \(output) (\(settings.description))")
            print(metricsTable(metrics))
            print(summary(metrics))
        }
    }
}

extension Compress {
    /// The accuracy-budget search: validation on training images the model was not trained on (the ones
    /// `approxrtl train --seed S` held out), calibration on others, then the test set.
    func slim(_ quantized: QuantizedModel) throws {
        let directory = data ?? FashionMNIST.defaultDirectory
        let train = try FashionMNIST.load(split: .train, directory: directory)
        guard settings.valCount >= 1, settings.valCount <= settings.valHeldOut, settings.valHeldOut < train.count else {
            throw CLIError("--val-count must lie in 1...--val-held-out (\(settings.valHeldOut)), which must be fewer than the \(train.count) training images")
        }
        let heldOut = Trainer.heldOut(count: train.count, validation: settings.valHeldOut, seed: settings.valSeed)
        let excluded = Set(heldOut)
        let calibration = train.select(Array((0..<train.count).lazy.filter { !excluded.contains($0) }.prefix(settings.calibCount)))
        let validation = train.select(Array(heldOut.prefix(settings.valCount)))
        var options = BudgetSearch.Options(budget: settings.budget)
        options.sources = settings.sources
        options.margin = settings.margin
        options.coefficientBits = settings.featureBits
        options.layers = layers.map { $0.split(separator: ",").map(String.init) }
        options.kinds = try settings.reductions.split(separator: ",").map {
            guard let kind = BudgetSearch.Kind(rawValue: String($0)) else { throw CLIError("--reductions takes kernel and/or feature, not '\($0)'") }
            return kind
        }
        let start = Date()
        var bar = Progress("budget search", total: 1)
        let outcome = try BudgetSearch.run(quantized, options: options, calibration: calibration.pixels, calibrationCount: calibration.count,
                                           validation: validation.pixels, labels: validation.labels) { phase, done, total in
            if bar.label != "budget search, " + phase { bar.finish(); bar = Progress("budget search, " + phase, total: total) }
            bar.update(done)
        }
        bar.finish()
        let seconds = Date().timeIntervalSince(start)
        var result = outcome.model
        result.compressedFrom = model
        try writeOutput(result.encoded(), to: output, force: force)
        let metrics = ModelMetrics(result)
        let test = try FashionMNIST.load(split: .test, directory: directory)
        let before = 100 * (try Accuracy.integer(quantized, on: test))
        let after = 100 * (try Accuracy.integer(result, on: test))
        let saved = 1 - Double(metrics.total.liveMacs) / Double(max(metrics.total.macs, 1))
        if json {
            try printJSON(["model": model, "output": output, "method": settings.description, "budget": settings.budget, "reductions": settings.reductions,
                           "validation_top1_before": outcome.baselineTop1, "validation_top1_after": outcome.steps.last?.validationTop1 ?? outcome.baselineTop1,
                           "test_top1_before": before, "test_top1_after": after, "macs": metrics.total.macs, "macs_after": metrics.total.liveMacs,
                           "steps": outcome.steps.map { step -> [String: Any] in
                               var entry: [String: Any] = ["layer": step.layer, "channel": step.channel, "kind": step.kind.rawValue,
                                                           "macs_saved": step.macsSaved, "validation_top1": step.validationTop1]
                               if let size = step.kernelSize { entry["kernel_size"] = size }
                               if let sources = step.sources { entry["sources"] = sources }
                               return entry
                           }, "evaluations": outcome.evaluations, "seconds": seconds])
            return
        }
        print("\(model) -> \(output) (\(settings.description))")
        let reduced = Dictionary(grouping: outcome.steps, by: \.layer).map { layer, steps in
            let kernels = steps.filter { $0.kind == .kernel }, features = steps.filter { $0.kind == .feature }
            let sizes = Dictionary(grouping: kernels.compactMap(\.kernelSize), by: { $0 }).sorted { $0.key > $1.key }.map { "\($0.value.count) to \($0.key)x\($0.key)" }
            return "\(layer): " + (sizes + (features.isEmpty ? [] : ["\(features.count) approximated"])).joined(separator: ", ")
        }.sorted()
        print("applied \(outcome.steps.count) steps (\(outcome.evaluations) validation runs, \(Int(seconds.rounded())) s): \(reduced.isEmpty ? "none" : reduced.joined(separator: ", "))")
        print(String(format: "multiply-accumulates: %d -> %d (%.1f%% saved); validation top-1 %.2f%% -> %.2f%% on %d images; test top-1 %.2f%% -> %.2f%% (%+.2f points) on %d images",
                     metrics.total.macs, metrics.total.liveMacs, 100 * saved, outcome.baselineTop1, outcome.steps.last?.validationTop1 ?? outcome.baselineTop1,
                     settings.valCount, before, after, after - before, test.count))
    }

    /// M4 on the chosen convolutions (default: every convolution whose kernel is larger than --kernel-size).
    func reduceKernels(_ quantized: QuantizedModel) throws -> QuantizedModel {
        let size = settings.kernelSize
        let names = layers.map { $0.split(separator: ",").map(String.init) }
            ?? quantized.layers.filter { $0.kind == .conv2d && ($0.kernel?.first ?? 0) > size }.map(\.name)
        guard !names.isEmpty else { throw CLIError("no convolution has a kernel larger than \(size)x\(size)") }
        let train = try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory).prefix(settings.calibCount)
        var result = quantized
        for name in names {
            result = try KernelReducer.reduce(result, layer: name, size: size, pixels: train.pixels, images: train.count, refit: !settings.crop)
        }
        return result
    }
}

extension Compress {
    /// M3 on the chosen convolutions (default: every convolution but the logits): each approximates its --features
    /// least sensitive channels from --sources others.
    func approximateFeatures(_ quantized: QuantizedModel) throws -> QuantizedModel {
        let names = layers.map { $0.split(separator: ",").map(String.init) }
            ?? quantized.layers.filter { $0.kind == .conv2d && !($0.logits ?? false) }.map(\.name)
        guard !names.isEmpty else { throw CLIError("the model has no convolution to approximate features in") }
        let train = try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory).prefix(settings.calibCount)
        var result = quantized
        for name in names {
            result = try FeatureApproximator.approximateLeastSensitive(result, layer: name, count: settings.features, m: settings.sources,
                                                                       pixels: train.pixels, images: train.count, coefficientBits: settings.featureBits).model
        }
        return result
    }
}

/// The method and its settings, shared by `compress` and the single settings of `sweep`.
struct MethodSettings: ParsableArguments {
    @Option(help: "linear or quadratic (M1, sorted-weight approximation), or swc (M2, scaling weights).") var method: String
    @Option(help: "M1: segments per group.") var segments = 16
    @Option(help: "M1: group of weights sorted together: layer, channel or kernel.") var group = "layer"
    @Option(help: "M1: segment boundaries: optimal (dynamic programming) or equal.") var boundaries = "optimal"
    @Option(help: "M1: coefficient width in bits.") var coefBits = 16
    @Option(help: "M2: code book of the scaling weights: uniform or pow2.") var codebook = "uniform"
    @Option(help: "M2: scaling-weight code width in bits, sign included.") var codeBits = 4
    @Option(help: "M2: width of the per-filter scale (MAW) in bits.") var scaleBits = 12
    @Option(help: "M2: prune scaling weights with |w| / MAW below this.") var threshold = 0.0
    @Option(help: "M4 (--method kernel): the centred window each convolution keeps.") var kernelSize = 3
    @Flag(help: "M4: crop the kernels instead of refitting them by least squares on calibration windows.") var crop = false
    @Option(help: "M3 (--method feature): channels approximated in each convolution, the least sensitive first.") var features = 1
    @Option(help: "M3: computed channels each approximated channel combines.") var sources = 4
    @Option(help: "M3: width of the combination coefficients in bits.") var featureBits = 8
    @Option(help: "M3, M4: training images whose windows calibrate the fits.") var calibCount = 200
    @Option(help: "slim: the accuracy budget in integer top-1 points on the validation images.") var budget = 1.0
    @Option(help: "slim: validation images, the first N of those held out in training (kept apart from calibration and test).") var valCount = 5000
    @Option(help: "slim: the seed the model was trained with (`approxrtl train --seed`; the bundled models: 1): it picks the held-out images.") var valSeed: UInt64 = 1
    @Option(help: "slim: how many training images were held out (`approxrtl train --validation`).") var valHeldOut = 5000
    @Option(help: "slim: standard errors of the measured loss added before the budget check (0: the plain loss).") var margin = 1.0
    @Option(help: "slim: the reductions the search may apply: kernel (M4), feature (M3), comma-separated.") var reductions = "kernel,feature"

    func resolved() throws -> Method {
        switch method {
        case "linear", "quadratic":
            var options = SortedWeightOptions()
            options.degree = method == "linear" ? .linear : .quadratic
            guard let grouping = Grouping(rawValue: group) else { throw CLIError("--group must be layer, channel or kernel, not '\(group)'") }
            guard let cuts = Boundaries(rawValue: boundaries) else { throw CLIError("--boundaries must be optimal or equal, not '\(boundaries)'") }
            guard segments >= 1 else { throw CLIError("--segments must be at least 1") }
            options.grouping = grouping
            options.boundaries = cuts
            options.segments = segments
            options.coefficientBits = coefBits
            return .sortedWeights(options)
        case "swc":
            var options = ScalingWeightOptions()
            guard let book = Codebook(rawValue: codebook) else { throw CLIError("--codebook must be uniform or pow2, not '\(codebook)'") }
            options.codebook = book
            options.codeBits = codeBits
            options.scaleBits = scaleBits
            options.threshold = threshold
            return .scalingWeights(options)
        case "kernel", "feature", "slim":
            throw CLIError("--method \(method) is a data-driven reduction, not a weight approximation")
        default:
            throw CLIError("--method must be linear, quadratic, swc, kernel, feature or slim, not '\(method)'")
        }
    }

    var description: String {
        switch method {
        case "swc": "swc \(codebook) \(codeBits)-bit codes, \(scaleBits)-bit scales, threshold \(threshold)"
        case "slim": "budget search within \(budget) points (\(reductions) per channel; M4 refit, M3 from \(sources) channels with \(featureBits)-bit coefficients, fitted on \(calibCount) training images)"
        case "feature": "feature approximation of \(features) channels per convolution from \(sources) others, \(featureBits)-bit coefficients, fitted on \(calibCount) training images"
        case "kernel": "kernel size reduction to \(kernelSize)x\(kernelSize), \(crop ? "cropped" : "least-squares refit on \(calibCount) training images")"
        default: "\(method), \(segments) \(boundaries) segments per \(group), \(coefBits)-bit coefficients"
        }
    }
}

/// The per-layer table of `compress` and `report`.
func metricsTable(_ metrics: ModelMetrics) -> String {
    let rows = (metrics.layers + [metrics.total]).map { l -> [String] in
        [l.name, l.method, "\(l.paramsBefore)", "\(l.paramsAfter)", String(format: "%.1fx", ratio(l.paramsBefore, l.paramsAfter)),
         "\(l.storageBitsBefore)", "\(l.storageBitsAfter)", String(format: "%.2fx", ratio(l.storageBitsAfter, l.storageBitsBefore)),
         "\(l.multipliesBefore)", "\(l.multipliesAfter)", "\(l.smallMultiplies)", "\(l.additionsBefore)", "\(l.additionsAfter)"]
    }
    return table(["layer", "method", "params", "after", "reduction", "bits", "after", "after/before", "mults", "after", "small mults",
                  "adds", "after"], rows, rightAligned: Set(2...12))
}

func metricsSummary(_ metrics: ModelMetrics) -> String {
    let t = metrics.total
    return String(format: """
        parameters (papers' count, permutation excluded): %.1fx fewer; honest storage: %d -> %d bits (%.2fx the original, \
        %d bits of them permutation and segment boundaries); full multiplications eliminated: %.1f%%; multiplications \
        and additions: %@%.1f%% (%d small-constant multiplies and %d shifts remain)
        """, metrics.paramReduction, t.storageBitsBefore, t.storageBitsAfter, 1 / metrics.storageReduction, t.permutationBits,
        100 * metrics.multipliesEliminated, metrics.operationsSaved >= 0 ? "-" : "+", 100 * abs(metrics.operationsSaved),
        t.smallMultiplies, t.shifts)
}

func ratio(_ a: Int, _ b: Int) -> Double { Double(a) / Double(max(b, 1)) }

/// A Codable value as a JSON object for `printJSON`.
func jsonObject<T: Encodable>(_ value: T) throws -> Any {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try JSONSerialization.jsonObject(with: encoder.encode(value))
}

/// Approximation-aware fine-tuning as `compress` and `sweep` run it: on the training images of Fashion-MNIST,
/// from the float model the quantized model was made from.
enum FineTune {
    struct Result {
        var graph: Graph
        var quantized: QuantizedModel
        var compressed: QuantizedModel
        var epochs: Int
        var learningRate: Float
        var mode: String

        func record(from: String) -> QuantizedModel.FineTuningRecord {
            .init(from: from, epochs: epochs, learningRate: Double(learningRate), mode: mode)
        }
    }

    static func run(quantized: QuantizedModel, compressed: QuantizedModel, method: Method, epochs: Int, learningRate: Float,
                    data: String?, limit: Int?, source: String, maxAccumulatorBits: Int?, quiet: Bool,
                    m1Mode: String = "straight-through") throws -> Result {
        guard let m1 = Projection.Mode(rawValue: m1Mode) else { throw CLIError("--finetune-mode must be straight-through or reproject, not '\(m1Mode)'") }
        guard epochs > 0, learningRate > 0, limit.map({ $0 > 0 }) ?? true else {
            throw CLIError("--finetune, --lr and --limit must be positive")
        }
        guard FileManager.default.fileExists(atPath: quantized.source) else {
            throw CLIError("fine-tuning needs the float model \(quantized.source) that the quantized model was made from")
        }
        let graph = try OnnxImporter.load(path: quantized.source).graph
        var train: ImageDataset
        do {
            train = try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory)
        } catch let error as DatasetError {
            throw CLIError("fine-tuning needs the training images: \(error)")
        }
        if let limit { train = train.prefix(limit) }
        var options = FineTuneOptions()
        options.epochs = epochs
        options.learningRate = learningRate
        options.m1Mode = m1
        let tuned = try FineTuning.run(graph: graph, quantized: quantized, compressed: compressed, method: method, train: train,
                                       source: source, options: options, maxAccumulatorBits: maxAccumulatorBits) { event in
            guard !quiet, case .batch(let epoch, let batch, let batches, let loss, let accuracy) = event, batch % 8 == 0 || batch == batches else { return }
            let progress = Progress("fine-tune \(epoch)/\(epochs)", total: batches)
            progress.update(batch, String(format: "loss %.4f  acc %.2f%%", loss, 100 * accuracy))
            if batch == batches { progress.finish() }
        }
        let mode: String
        if case .scalingWeights = method { mode = Projection.Mode.straightThrough.rawValue } else { mode = m1.rawValue }
        return Result(graph: tuned.graph, quantized: tuned.quantized, compressed: tuned.compressed, epochs: epochs, learningRate: learningRate, mode: mode)
    }
}
