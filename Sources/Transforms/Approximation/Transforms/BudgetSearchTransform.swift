import Datasets
import Quantization
import Training

/// Which training images the search validates on: the first `count` of the `heldOut` that `approxrtl train --seed
/// seed` held out (the bundled models: 5,000 with seed 1), so that neither training nor calibration saw them.
public struct ValidationSplit: Sendable, Equatable {
    public var count = 5000
    public var heldOut = 5000
    public var seed: UInt64 = 1
    public init() {}

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

    public init(_ settings: TransformSettings) throws {
        guard !settings.reductions.isEmpty else { throw TransformError("--reductions takes kernel and/or feature") }
        options = BudgetSearch.Options(budget: settings.budget)
        options.sources = settings.sources
        options.margin = settings.margin
        options.coefficientBits = settings.featureBits
        options.layers = settings.layers
        options.kinds = settings.reductions
        (validation, calibrationCount) = (settings.validation, settings.calibrationCount)
    }

    public var name: String { "slim" }
    public var summary: String {
        "budget search within \(options.budget) points (\(options.kinds.map(\.rawValue).joined(separator: ",")) per channel; M4 refit, M3 from \(options.sources) channels with \(options.coefficientBits)-bit coefficients, fitted on \(calibrationCount) training images)"
    }

    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        let (calibration, validation) = try self.validation.split(
            context.trainingImages(), calibrationCount: calibrationCount)
        let outcome = try BudgetSearch.run(
            model, options: options, calibration: calibration.pixels, calibrationCount: calibration.count,
            validation: validation.pixels, labels: validation.labels
        ) { context.progress($0, $1, $2, "") }
        context.search = outcome
        return outcome.model
    }
}
