import Datasets
import Quantization

/// One step of a compression flow, in the manner of qonnx's `Transformation.apply(model) -> model` and hls4ml's
/// passes: it takes the model value and returns a new one (the input is never changed). Each method (M1 to M4),
/// the budget search and fine-tuning is a transform in a file of its own; a `Flow` is a list of them; `compress`,
/// `sweep` and the search compose them alike. New methods register in `Transforms.catalog`.
public protocol ModelTransform: Sendable {
    /// The `--method` name.
    var name: String { get }
    /// The settings in words (the `compress` line, sweep rows).
    var summary: String { get }
    func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel
}

/// What transforms need beyond the model (the training images, a progress report) and what they leave for the
/// caller to write or print (fine-tuning's float graph and re-quantized model, the search's record).
public final class TransformContext {
    private let loadTraining: () throws -> ImageDataset
    private var training: ImageDataset?
    /// Long work reports its phase, the work done, the total and a detail (a loss, say).
    public var progress: (_ phase: String, _ done: Int, _ total: Int, _ detail: String) -> Void
    /// A line about a decision (a step applied or refused), printed above the progress bar on a terminal.
    public var note: (String) -> Void
    /// Fine-tuning's products, when a flow fine-tuned.
    public var fineTuned: FineTuningProduct?
    /// The budget search's record, when a flow searched.
    public var search: BudgetSearch.Outcome?

    public init(
        training: @escaping () throws -> ImageDataset,
        progress: @escaping (String, Int, Int, String) -> Void = { _, _, _, _ in },
        note: @escaping (String) -> Void = { _ in }
    ) {
        loadTraining = training
        self.progress = progress
        self.note = note
    }

    /// The training images (data-driven fits, the search's validation split, fine-tuning), read once.
    public func trainingImages() throws -> ImageDataset {
        if let training { return training }
        let loaded = try loadTraining()
        training = loaded
        return loaded
    }
}

/// Transforms applied in order.
public struct Flow: ModelTransform {
    public var transforms: [any ModelTransform]
    public init(_ transforms: [any ModelTransform]) { self.transforms = transforms }
    public var name: String { transforms.map(\.name).joined(separator: "+") }
    public var summary: String { transforms.map(\.summary).joined(separator: ", then ") }

    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        try transforms.reduce(model) { try $1.apply($0, context: context) }
    }
}
