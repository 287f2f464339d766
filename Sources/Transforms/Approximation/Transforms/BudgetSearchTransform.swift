import Datasets
import Foundation
import NetworkIR
import Quantization
import Training

/// Which images the search validates on: by default the first `count` of the `heldOut` training images that
/// `approxrtl train --seed seed` held out (the bundled models: 5,000 with seed 1), so that neither training nor
/// calibration saw them; with `lastImages` the first `count` of the last N training images (a split the user made
/// when training elsewhere); with `images` the first `count` of images of the user's own (`--val-data`). Calibration
/// and fine-tuning never take validation images.
public struct ValidationSplit: Sendable, Equatable {
    public var count = 5000
    public var heldOut = 5000
    public var seed: UInt64 = 1
    /// `--val-split N`: the last N training images.
    public var lastImages: Int? = nil
    /// `--val-data DIR`: validation images apart from the training set.
    public var images: ImageDataset? = nil
    public init() {}

    public static func == (a: ValidationSplit, b: ValidationSplit) -> Bool {
        (a.count, a.heldOut, a.seed, a.lastImages) == (b.count, b.heldOut, b.seed, b.lastImages)
            && a.images?.pixels == b.images?.pixels && a.images?.labels == b.images?.labels
    }

    /// Indices of the training images that are validation candidates (none with images of their own).
    func excluded(_ train: ImageDataset) throws -> [Int] {
        if images != nil { return [] }
        if let lastImages {
            guard lastImages >= 1, lastImages < train.count else {
                throw TransformError(
                    "--val-split must lie in 1...\(train.count - 1) (the training images less at least one), not \(lastImages)"
                )
            }
            return Array((train.count - lastImages)..<train.count)
        }
        guard count >= 1, count <= heldOut, heldOut < train.count else {
            throw TransformError(
                "--val-count must lie in 1...--val-held-out (\(heldOut)), which must be fewer than the \(train.count) training images"
            )
        }
        return Trainer.heldOut(count: train.count, validation: heldOut, seed: seed)
    }

    /// The training images less the validation candidates (what fine-tuning may train on).
    public func kept(_ train: ImageDataset) throws -> ImageDataset {
        let excluded = Set(try self.excluded(train))
        return train.select(Array((0..<train.count).filter { !excluded.contains($0) }))
    }

    /// Calibration images (the first `calibrationCount` training images that are no validation candidates) and
    /// validation images.
    public func split(_ train: ImageDataset, calibrationCount: Int) throws -> (
        calibration: ImageDataset, validation: ImageDataset
    ) {
        guard count >= 1 else { throw TransformError("--val-count must be at least 1, not \(count)") }
        let held = try excluded(train)
        let excluded = Set(held)
        let calibration = train.select(
            Array((0..<train.count).lazy.filter { !excluded.contains($0) }.prefix(calibrationCount)))
        if let images {
            guard images.count >= 1 else { throw TransformError("--val-data holds no images") }
            return (calibration, images.prefix(min(count, images.count)))
        }
        return (calibration, train.select(Array(held.prefix(count))))
    }

    /// Why the validation images may have been seen in training, judged from the float model's metadata
    /// (approxrtl train records its seed and held-out count), or nil when they were held out or are the user's
    /// own. `model` names the float model in the message.
    public func provenanceWarning(metadata: [String: String]?, model: String) -> String? {
        if images != nil { return nil }
        let advice = "the budget may hold on them and not on unseen images: pass --val-data with images it never saw"
        if let lastImages {
            return
                "\(model) does not record that the last \(lastImages) training images were held out of its training; \(advice)"
        }
        guard let metadata, let trained = metadata["approxrtl.seed"] else {
            return
                "\(model) does not record how it was trained (approxrtl train records its held-out images), so the \(count) validation images may be among those it trained on; \(advice)"
        }
        // Models trained before the count was recorded held out train's default unless the command said otherwise.
        let recorded =
            metadata["approxrtl.validation"].flatMap(Int.init)
            ?? (metadata["approxrtl.validation_top1"] != nil
                && !(metadata["approxrtl.command"] ?? "").contains("--validation") ? 5000 : 0)
        guard trained == "\(seed)", recorded == heldOut else {
            return
                "\(model) held out \(recorded) training images with seed \(trained), not \(heldOut) with seed \(seed) (--val-held-out, --val-seed), so the validation images may be among those it trained on; \(advice)"
        }
        return nil
    }
}

/// The accuracy-budget search over M3 and M4, channel by channel (BudgetSearch); its record is left in the
/// context.
public struct BudgetSearchTransform: ModelTransform {
    public var options: BudgetSearch.Options
    public var validation: ValidationSplit
    public var calibrationCount: Int
    /// Fine-tuning between steps (nil: retraining-free) on the first `limit` training images kept out of validation
    /// (nil: all), the name the re-quantized model records as its source, and the name of the model this is
    /// applied to, for the record.
    public var fineTuning: (options: FineTuneOptions, limit: Int?, source: String, from: String)?

    public init(_ settings: TransformSettings) throws {
        guard !settings.reductions.isEmpty else { throw TransformError("--reductions takes kernel and/or feature") }
        options = BudgetSearch.Options(budget: settings.budget)
        options.sources = settings.sources
        options.margin = settings.margin
        options.coefficientBits = settings.featureBits
        options.layers = settings.layers
        options.kinds = settings.reductions
        (options.cost, options.group) = (settings.cost, settings.group)
        (validation, calibrationCount) = (settings.validation, settings.calibrationCount)
    }

    public var name: String { "slim" }
    public var summary: String {
        "budget search within \(options.budget) points (\(options.kinds.map(\.rawValue).joined(separator: ",")) \(options.group > 1 ? "in steps of \(options.group) channels" : "per channel"), saving \(options.cost?.name ?? "multiply-accumulates"); M4 refit, M3 from \(options.sources) channels with \(options.coefficientBits)-bit coefficients, fitted on \(calibrationCount) training images)"
    }

    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        let (calibration, validation) = try self.validation.split(
            context.trainingImages(), calibrationCount: calibrationCount)
        var refine: (graph: Graph, refine: BudgetSearch.Refine)? = nil
        // What the fine-tuned graphs are quantized on: the original model's calibration images.
        let requantization = fineTuning == nil ? nil : try context.trainingImages().prefix(model.calibration.images)
        if let fineTuning {
            guard FileManager.default.fileExists(atPath: model.source) else {
                throw TransformError(
                    "fine-tuning needs the float model \(model.source) that the quantized model was made from")
            }
            // The search's validation images stay out of training, so the budget is still measured on unseen images.
            let tuner = SlimFineTuner(
                options: fineTuning.options,
                train: try self.validation.kept(try context.trainingImages()).prefix(fineTuning.limit ?? .max),
                calibration: calibration, requantization: requantization!, source: fineTuning.source,
                sources: options.sources,
                coefficientBits: options.coefficientBits)
            var round = 0
            let epochs = fineTuning.options.epochs
            refine = (
                try model.sourceGraph(),
                { trial, graph in
                    round += 1
                    return try tuner.run(graph: graph, quantized: model, slimmed: trial) { event in
                        guard case .batch(let epoch, let batch, let batches, let loss, let accuracy) = event else {
                            return
                        }
                        context.progress(
                            "fine-tune step \(round), epoch \(epoch)/\(epochs)", batch, batches,
                            String(format: "loss %.4f  acc %.2f%%", loss, 100 * accuracy))
                    }
                }
            )
        }
        let outcome = try BudgetSearch.run(
            model, options: options, calibration: calibration.pixels, calibrationCount: calibration.count,
            validation: validation.pixels, labels: validation.labels, refine: refine, progress: context.progress,
            note: context.note)
        context.search = outcome
        var result = outcome.model
        if let fineTuning, let graph = outcome.graph, !outcome.steps.isEmpty {
            let record = QuantizedModel.FineTuningRecord(
                from: fineTuning.from, epochs: fineTuning.options.epochs,
                learningRate: Double(fineTuning.options.learningRate), mode: Projection.Mode.reproject.rawValue)
            let requantized = try Quantizer.quantize(
                graph, calibration: requantization!, source: fineTuning.source,
                options: FineTuning.quantizationOptions(like: model))
            context.fineTuned = FineTuningProduct(graph: graph, quantized: requantized, record: record)
            result.fineTuning = record
        }
        return result
    }
}
