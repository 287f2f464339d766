import Datasets
import Foundation
import NetworkIR
import Quantization
import Training

/// Which training images the search validates on: the first `count` of the `heldOut` that `approxrtl train --seed
/// seed` held out (the bundled models: 5,000 with seed 1), so that neither training nor calibration saw them.
public struct ValidationSplit: Sendable, Equatable {
    public var count = 5000
    public var heldOut = 5000
    public var seed: UInt64 = 1
    public init() {}

    /// The training images less the held-out ones (what fine-tuning may train on).
    public func kept(_ train: ImageDataset) -> ImageDataset {
        let excluded = Set(Trainer.heldOut(count: train.count, validation: heldOut, seed: seed))
        return train.select(Array((0..<train.count).filter { !excluded.contains($0) }))
    }

    /// Calibration images (the first `calibrationCount` not held out) and validation images.
    public func split(_ train: ImageDataset, calibrationCount: Int) throws -> (
        calibration: ImageDataset, validation: ImageDataset
    ) {
        guard count >= 1, count <= heldOut, heldOut < train.count else {
            throw TransformError(
                "--val-count must lie in 1...--val-held-out (\(heldOut)), which must be fewer than the \(train.count) training images"
            )
        }
        let held = Trainer.heldOut(count: train.count, validation: heldOut, seed: seed)
        let excluded = Set(held)
        let calibration = train.select(
            Array((0..<train.count).lazy.filter { !excluded.contains($0) }.prefix(calibrationCount)))
        return (calibration, train.select(Array(held.prefix(count))))
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
                train: self.validation.kept(try context.trainingImages()).prefix(fineTuning.limit ?? .max),
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
            validation: validation.pixels, labels: validation.labels, refine: refine
        ) { context.progress($0, $1, $2, "") }
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
