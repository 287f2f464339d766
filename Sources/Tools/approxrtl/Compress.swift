import Accelerator
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
        abstract: "Compress a quantized model's weights with M1 (constant, linear, quadratic) or M2 (swc).",
        discussion: """
            Retraining-free: the weights of the quantized model are approximated as they are. The result is a model \
            file of the same format (docs/formats.md) that stores coefficients or scaling-weight codes instead of \
            weight codes; `eval`, `report` and the golden model read it like any quantized model.
            """)

    @Argument(help: "The quantized model (.q.json).") var model: String
    @OptionGroup var settings: MethodSettings
    @Option(help: "Compress only these layers (comma-separated names; default: every conv and dense layer).")
    var layers: String?
    @Option(help: "Largest accumulator width allowed (default: the model's).") var maxAccBits: Int?
    @Option(
        help:
            "Approximation-aware fine-tuning for this many epochs on the training images (default: none, retraining-free). Also writes OUTPUT.finetuned.onnx and OUTPUT.finetuned.q.json."
    ) var finetune: Int?
    @Option(help: "Fine-tuning learning rate (Adam; default 1e-4, and 1e-3 for slim, which retrains reduced kernels).")
    var lr: Float?
    @Option(help: "How fine-tuning keeps M1 layers on their structure: straight-through or reproject (projected SGD).")
    var finetuneMode = Projection.Mode.straightThrough
    @Option(help: "Folder with the dataset's IDX files, for fine-tuning (default: \(FashionMNIST.defaultDirectory)).")
    var data: String?
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
            var transform = try Transforms.make(settings.resolved(layers: layers, maxAccumulatorBits: maxAccBits))
            // Fine-tuning also writes the fine-tuned float graph and the model re-quantized from it beside the output.
            let base =
                output.hasSuffix(".c.json")
                ? String(output.dropLast(7)) : output.hasSuffix(".json") ? String(output.dropLast(5)) : output
            let (onnxPath, quantizedPath) = (base + ".finetuned.onnx", base + ".finetuned.q.json")
            if let epochs = finetune {
                for path in [onnxPath, quantizedPath] where FileManager.default.fileExists(atPath: path) && !force {
                    throw CLIError("\(path) exists; pass --force to overwrite it")
                }
                if var search = transform as? BudgetSearchTransform {
                    // Every step of the search is fine-tuned before the budget judges it.
                    guard epochs > 0, (lr ?? 1) > 0, limit.map({ $0 > 0 }) ?? true else {
                        throw CLIError("--finetune, --lr and --limit must be positive")
                    }
                    var options = FineTuneOptions()
                    (options.epochs, options.learningRate) = (epochs, lr ?? 1e-3)
                    search.fineTuning = (options, limit, onnxPath, model)
                    transform = search
                } else {
                    guard let approximation = transform as? any WeightApproximation else {
                        throw CLIError(
                            "--finetune applies to linear, quadratic, swc and slim, not --method \(settings.method)")
                    }
                    transform = try FineTunedApproximation(
                        approximation, epochs: epochs, learningRate: lr ?? 1e-4, m1Mode: finetuneMode, limit: limit,
                        source: onnxPath, from: model)
                }
            }
            if var search = transform as? BudgetSearchTransform {
                if let folder = settings.valData { search.validation.images = try ImageDataset.readIDX(folder: folder) }
                warnAboutValidation(search.validation, source: quantized.source)
                transform = search
            }
            let bars = ProgressBars(quiet: json)
            let context = TransformContext(
                training: { try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory) },
                progress: bars.update, note: bars.note)
            let start = Date()
            var result = try transform.apply(quantized, context: context)
            result.compressedFrom = model
            // The fine-tuned files are staged now and put in place with the output, so an interrupted run
            // leaves none of the three.
            var staged = [StagedFile]()
            if let tuned = context.fineTuned {
                let floatSource = FileReference.relative(quantized.source, toFolderOf: onnxPath)
                staged.append(
                    try StagedFile(
                        OnnxExporter.serialized(
                            tuned.graph,
                            docString:
                                "Fine-tuned by approxrtl compress --finetune \(tuned.record.epochs) from \(floatSource)",
                            metadata: [("approxrtl.finetuned_from", floatSource)]), to: onnxPath, force: force))
                staged.append(
                    try StagedFile(
                        tuned.quantized.encoded(for: quantizedPath, staged: [onnxPath]), to: quantizedPath, force: force
                    ))
                result.compressedFrom = quantizedPath
            }
            do {
                try writeResult(
                    result, quantized: quantized, context: context, transform: transform, start: start,
                    staged: Set(staged.map(\.path)))
            } catch {
                for file in staged { file.discard() }
                throw error
            }
            for file in staged { try file.commit() }
        }
    }

    /// Writes the output and reports it: the search's report, or the per-layer metrics.
    private func writeResult(
        _ result: QuantizedModel, quantized: QuantizedModel, context: TransformContext, transform: any ModelTransform,
        start: Date, staged: Set<String>
    ) throws {
        if let search = context.search {
            try reportSearch(
                search, quantized: quantized, result: result, seconds: Date().timeIntervalSince(start), staged: staged)
        } else if transform is ReduceKernels || transform is ApproximateFeatures {
            try writeAndReport(
                result, staged: staged,
                summary: { metrics in
                    String(
                        format: "multiply-accumulates: %d -> %d (%.1f%% saved)", metrics.total.macs,
                        metrics.total.liveMacs,
                        100 * (1 - Double(metrics.total.liveMacs) / Double(max(metrics.total.macs, 1))))
                })
        } else {
            try writeAndReport(result, staged: staged, summary: metricsSummary)
        }
    }

    /// Writes the result and prints its per-layer metrics (or one JSON object), then `summary`'s line.
    func writeAndReport(_ result: QuantizedModel, staged: Set<String> = [], summary: (ModelMetrics) -> String) throws {
        try writeOutput(result.encoded(for: output, staged: staged), to: output, force: force)
        let metrics = try ModelMetrics(result)
        if json {
            try printJSON([
                "model": model, "output": output, "method": settings.description, "metrics": jsonObject(metrics),
            ])
        } else {
            print("\(model) -> \(output) (\(settings.description))")
            print(metricsTable(metrics))
            print(summary(metrics))
        }
    }
}

extension Compress {
    /// Warns (on standard error) when the search's validation images may be among those the float model at
    /// `source` trained on, from the metadata `approxrtl train` records.
    func warnAboutValidation(_ validation: ValidationSplit, source: String) {
        let metadata = (try? OnnxImporter.parse(data: Data(contentsOf: URL(fileURLWithPath: source)), name: source))
            .map { Dictionary($0.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }) }
        if let warning = validation.provenanceWarning(metadata: metadata, model: source) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
    }

    /// Writes the budget search's result and prints what it applied, its validation and test top-1 (or one JSON
    /// object).
    func reportSearch(
        _ outcome: BudgetSearch.Outcome, quantized: QuantizedModel, result: QuantizedModel, seconds: Double,
        staged: Set<String>
    ) throws {
        let directory = data ?? FashionMNIST.defaultDirectory
        try writeOutput(result.encoded(for: output, staged: staged), to: output, force: force)
        let metrics = try ModelMetrics(result)
        let test = try FashionMNIST.load(split: .test, directory: directory)
        let before = 100 * (try Accuracy.integer(quantized, on: test))
        let after = 100 * (try Accuracy.integer(result, on: test))
        let saved = 1 - Double(metrics.total.liveMacs) / Double(max(metrics.total.macs, 1))
        let cost = try settings.resolved().cost
        let costs = try cost.map { (try $0.measure(quantized), try $0.measure(result)) }
        if json {
            var costFields: [String: Any] = [:]
            if let cost, let costs {
                costFields = ["cost": cost.name, "cost_before": costs.0, "cost_after": costs.1]
            }
            try printJSON(
                costFields.merging([
                    "model": model, "output": output, "method": settings.description, "budget": settings.budget,
                    "reductions": settings.reductions,
                    "validation_top1_before": outcome.baselineTop1,
                    "validation_top1_after": outcome.steps.last?.validationTop1 ?? outcome.baselineTop1,
                    "test_top1_before": before, "test_top1_after": after, "macs": metrics.total.macs,
                    "macs_after": metrics.total.liveMacs,
                    "steps": outcome.steps.map { step -> [String: Any] in
                        var entry: [String: Any] = [
                            "layer": step.layer, "channel": step.channel, "kind": step.kind.rawValue,
                            "macs_saved": step.macsSaved, "validation_top1": step.validationTop1,
                        ]
                        if let size = step.kernelSize { entry["kernel_size"] = size }
                        if let sources = step.sources { entry["sources"] = sources }
                        if let channels = step.channels { entry["channels"] = channels }
                        if let saved = step.costSaved { entry["cost_saved"] = saved }
                        return entry
                    }, "evaluations": outcome.evaluations, "seconds": seconds,
                ]) { a, _ in a })
            return
        }
        print("\(model) -> \(output) (\(settings.description))")
        let reduced = Dictionary(grouping: outcome.steps, by: \.layer).map { layer, steps in
            let kernels = steps.filter { $0.kind == .kernel }, features = steps.filter { $0.kind == .feature }
            // A step of a group reduces all its channels.
            let sizes = Dictionary(grouping: kernels, by: { $0.kernelSize ?? 0 }).sorted { $0.key > $1.key }
                .map { "\($0.value.reduce(0) { $0 + ($1.channels?.count ?? 1) }) to \($0.key)x\($0.key)" }
            let approximated = features.reduce(0) { $0 + ($1.channels?.count ?? 1) }
            return "\(layer): "
                + (sizes + (features.isEmpty ? [] : ["\(approximated) approximated"])).joined(separator: ", ")
        }.sorted()
        print(
            "applied \(outcome.steps.count) steps (\(outcome.evaluations) validation runs, \(Int(seconds.rounded())) s): \(reduced.isEmpty ? "none" : reduced.joined(separator: ", "))"
        )
        print(
            String(
                format:
                    "multiply-accumulates: %d -> %d (%.1f%% saved); validation top-1 %.2f%% -> %.2f%% on %d images; test top-1 %.2f%% -> %.2f%% (%+.2f points) on %d images",
                metrics.total.macs, metrics.total.liveMacs, 100 * saved, outcome.baselineTop1,
                outcome.steps.last?.validationTop1 ?? outcome.baselineTop1,
                settings.valCount, before, after, after - before, test.count))
        if let cost, let costs {
            print(
                String(
                    format: "%@: %d -> %d (%.2fx)", cost.name, costs.0, costs.1,
                    Double(costs.1) / Double(max(costs.0, 1))
                ))
        }
    }

}

/// The method and its settings, shared by `compress` and the single settings of `sweep`: TransformSettings as
/// options.
struct MethodSettings: ParsableArguments {
    @Option(
        help:
            "constant, linear or quadratic (M1, sorted-weight approximation; constant: one value per segment, which the accelerator's factored lanes multiply once), swc (M2, scaling weights), kernel (M4), feature (M3) or slim (the budget search over M3 and M4)."
    ) var method: String
    @Option(help: "M1: segments per group.") var segments = 16
    @Option(help: "M1: group of weights sorted together: layer, channel or kernel.") var group = Grouping.layer
    @Option(help: "M1: segment boundaries: optimal (dynamic programming) or equal.") var boundaries = Boundaries.optimal
    @Option(help: "M1: coefficient width in bits.") var coefBits = 16
    @Option(help: "M2: code book of the scaling weights: uniform or pow2.") var codebook = Codebook.uniform
    @Option(help: "M2: scaling-weight code width in bits, sign included.") var codeBits = 4
    @Option(help: "M2: width of the per-filter scale (MAW) in bits.") var scaleBits = 12
    @Option(help: "M2: prune scaling weights with |w| / MAW below this.") var threshold = 0.0
    @Option(help: "M4 (--method kernel): the centred window each convolution keeps.") var kernelSize = 3
    @Flag(help: "M4: crop the kernels instead of refitting them by least squares on calibration windows.") var crop =
        false
    @Option(help: "M3 (--method feature): channels approximated in each convolution, the least sensitive first.")
    var features = 1
    @Option(help: "M3: computed channels each approximated channel combines.") var sources = 4
    @Option(help: "M3: width of the combination coefficients in bits.") var featureBits = 8
    @Option(help: "M3, M4: training images whose windows calibrate the fits.") var calibCount = 200
    @Option(help: "slim: the accuracy budget in integer top-1 points on the validation images.") var budget = 1.0
    @Option(
        help:
            "slim: validation images, the first N of those held out in training (kept apart from calibration and test)."
    ) var valCount = 5000
    @Option(
        help:
            "slim: the seed the model was trained with (`approxrtl train --seed`; the bundled models: 1): it picks the held-out images."
    ) var valSeed: UInt64 = 1
    @Option(help: "slim: how many training images were held out (`approxrtl train --validation`).") var valHeldOut =
        5000
    @Option(
        help:
            "slim: validation images of your own instead: a folder with one IDX images file and one IDX labels file (the first --val-count of them)."
    ) var valData: String?
    @Option(
        help:
            "slim: validate on the last N training images instead (a split made when training elsewhere; a warning says the model does not record it)."
    ) var valSplit: Int?
    @Option(help: "slim: standard errors of the measured loss added before the budget check (0: the plain loss).")
    var margin = 1.0
    @Option(help: "slim: the reductions the search may apply: kernel (M4), feature (M3), comma-separated.")
    var reductions = "kernel,feature"
    @Option(
        help:
            "slim: what a step saves: macs (multiply-accumulates, channel by channel) or cycles (the accelerator's compute cycles per image at --tn with the kernel and feature extensions, in steps of Tn channels: it saves a cycle only when a whole tile is reduced)."
    ) var cost = "macs"
    @Option(help: "slim --cost cycles: the accelerator's lanes, Tn.") var tn = 16

    /// The settings as the library takes them; `layers` is a comma-separated list of names.
    func resolved(layers: String? = nil, maxAccumulatorBits: Int? = nil) throws -> TransformSettings {
        try checkRanges()
        var s = TransformSettings(method: method)
        s.layers = layers.map { $0.split(separator: ",").map(String.init) }
        s.maxAccumulatorBits = maxAccumulatorBits
        (s.segments, s.grouping, s.boundaries, s.coefficientBits) = (segments, group, boundaries, coefBits)
        (s.codebook, s.codeBits, s.scaleBits, s.threshold) = (codebook, codeBits, scaleBits, threshold)
        (s.kernelSize, s.crop, s.features, s.sources, s.featureBits) = (
            kernelSize, crop, features, sources, featureBits
        )
        (s.calibrationCount, s.budget, s.margin) = (calibCount, budget, margin)
        (s.validation.count, s.validation.heldOut, s.validation.seed) = (valCount, valHeldOut, valSeed)
        guard valData == nil || valSplit == nil else { throw CLIError("--val-data and --val-split exclude each other") }
        s.validation.lastImages = valSplit
        switch cost {
        case "macs": break
        case "cycles":
            guard (2...64).contains(tn) else { throw CLIError("--tn must be 2 to 64, not \(tn)") }
            s.cost = Self.cycles(tn: tn)
            s.group = tn
        default: throw CLIError("--cost takes macs or cycles, not '\(cost)'")
        }
        s.reductions = try reductions.split(separator: ",").map {
            guard let kind = BudgetSearch.Kind(rawValue: String($0)) else {
                throw CLIError("--reductions takes kernel and/or feature, not '\($0)'")
            }
            return kind
        }
        return s
    }

    /// Every number within what the methods can use; the message names the option and its range.
    private func checkRanges() throws {
        try checkOptionRanges([
            ("--segments", segments, 1...4096), ("--coef-bits", coefBits, 2...32), ("--code-bits", codeBits, 2...8),
            ("--scale-bits", scaleBits, 2...32), ("--kernel-size", kernelSize, 1...65536),
            ("--features", features, 1...65536), ("--sources", sources, 1...65536),
            ("--feature-bits", featureBits, 2...32),
            ("--calib-count", calibCount, 1...1_000_000), ("--val-count", valCount, 1...1_000_000),
            ("--val-held-out", valHeldOut, 0...1_000_000), ("--val-split", valSplit ?? 1, 1...1_000_000),
        ])
        guard budget >= 0, margin >= 0, (0...1).contains(threshold) else {
            throw CLIError("--budget and --margin must not be negative, --threshold must lie in 0...1")
        }
    }

    /// The accelerator's compute cycles per image at `tn` (the cycle model the RTL is checked against), with the
    /// extensions a slimmed model runs on.
    static func cycles(tn: Int) -> BudgetSearch.Cost {
        let config = AcceleratorConfig(tn: tn, kernelTiles: true, featureUnit: true)
        return BudgetSearch.Cost(name: "accelerator cycles at Tn \(tn)") {
            try NetworkCompiler.compile($0, config: config).computeCycles
        }
    }

    /// The method's settings in words (its transform's summary).
    var description: String { (try? Transforms.make(resolved()).summary) ?? method }
}

extension Grouping: ExpressibleByArgument {}
extension Boundaries: ExpressibleByArgument {}
extension Codebook: ExpressibleByArgument {}
extension Projection.Mode: ExpressibleByArgument {}

/// Progress bars on a terminal for long work (quiet with --json, in CI, or when stderr is not a terminal): a new
/// bar for each phase.
final class ProgressBars {
    let quiet: Bool
    var bar: Progress?
    init(quiet: Bool) { self.quiet = quiet }

    func update(_ phase: String, _ done: Int, _ total: Int, _ detail: String) {
        guard !quiet else { return }
        if bar?.label != phase {
            bar?.finish()
            bar = Progress(phase, total: total)
        }
        bar?.update(done, detail)
        if done == total { bar?.finish(); bar = nil }
    }

    /// A line above the bar (a terminal only).
    func note(_ text: String) {
        guard !quiet else { return }
        (bar ?? Progress("", total: 0)).note(text)
    }
}

/// The per-layer table of `compress` and `report`.
func metricsTable(_ metrics: ModelMetrics) -> String {
    let rows = (metrics.layers + [metrics.total]).map { l -> [String] in
        [
            l.name, l.method, "\(l.paramsBefore)", "\(l.paramsAfter)",
            String(format: "%.1fx", ratio(l.paramsBefore, l.paramsAfter)),
            "\(l.storageBitsBefore)", "\(l.storageBitsAfter)",
            String(format: "%.2fx", ratio(l.storageBitsAfter, l.storageBitsBefore)),
            "\(l.multipliesBefore)", "\(l.multipliesAfter)", "\(l.smallMultiplies)", "\(l.additionsBefore)",
            "\(l.additionsAfter)", "\(l.distinctWeights)", "\(l.factoredMultiplies)",
        ]
    }
    return table(
        [
            "layer", "method", "params", "after", "reduction", "bits", "after", "after/before", "mults", "after",
            "small mults",
            "adds", "after", "distinct/out", "factored mults",
        ], rows, rightAligned: Set(2...14))
}

func metricsSummary(_ metrics: ModelMetrics) -> String {
    let t = metrics.total
    return String(
        format: """
            parameters (papers' count, permutation excluded): %.1fx fewer; honest storage: %d -> %d bits (%.2fx the original, \
            %d bits of them permutation and segment boundaries); full multiplications eliminated: %.1f%%; multiplications \
            and additions: %@%.1f%% (%d small-constant multiplies and %d shifts remain)
            """, metrics.paramReduction, t.storageBitsBefore, t.storageBitsAfter, 1 / metrics.storageReduction,
        t.permutationBits,
        100 * metrics.multipliesEliminated, metrics.operationsSaved >= 0 ? "-" : "+",
        100 * abs(metrics.operationsSaved),
        t.smallMultiplies, t.shifts)
}

func ratio(_ a: Int, _ b: Int) -> Double { Double(a) / Double(max(b, 1)) }

/// A Codable value as a JSON object for `printJSON`.
func jsonObject<T: Encodable>(_ value: T) throws -> Any {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try JSONSerialization.jsonObject(with: encoder.encode(value))
}
