import Datasets
import Foundation
import NetworkIR
import OnnxImport
import Quantization
import Training

/// What fine-tuning leaves besides the compressed model: the fine-tuned float graph, the model re-quantized from
/// it (what the result is compressed from), and the record the result carries.
public struct FineTuningProduct {
    public var graph: Graph
    public var quantized: QuantizedModel
    public var record: QuantizedModel.FineTuningRecord
}

/// Approximation-aware fine-tuning around a weight approximation (M1, M2): the approximation is applied, the float
/// model the quantized one came from is trained under its structure, re-quantized alike and approximated again
/// (FineTuning.run). The float graph and the re-quantized model are left in the context.
public struct FineTunedApproximation: ModelTransform {
    public var approximation: any WeightApproximation
    public var options = FineTuneOptions()
    /// Fine-tune on the first N training images only.
    public var limit: Int?
    /// The name the re-quantized model records as its source (where the caller writes the fine-tuned graph).
    public var source: String
    /// The name of the model this is applied to, for the record.
    public var from: String

    public init(
        _ approximation: any WeightApproximation, epochs: Int, learningRate: Float, m1Mode: Projection.Mode,
        limit: Int?,
        source: String, from: String
    ) throws {
        guard epochs > 0, learningRate > 0, limit.map({ $0 > 0 }) ?? true else {
            throw TransformError("--finetune, --lr and --limit must be positive")
        }
        self.approximation = approximation
        options.epochs = epochs
        options.learningRate = learningRate
        options.m1Mode = m1Mode
        (self.limit, self.source, self.from) = (limit, source, from)
    }

    public var name: String { approximation.name }
    public var summary: String { approximation.summary }
    /// How M1 layers kept their structure: the M1 mode; M2 always trains straight through.
    var mode: Projection.Mode {
        if case .scalingWeights = approximation.method { return .straightThrough }
        return options.m1Mode
    }

    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        let compressed = try approximation.apply(model, context: context)
        guard FileManager.default.fileExists(atPath: model.source) else {
            throw TransformError(
                "fine-tuning needs the float model \(model.source) that the quantized model was made from")
        }
        let graph = try model.sourceGraph()
        var train = try context.trainingImages()
        if let limit { train = train.prefix(limit) }
        let epochs = options.epochs
        let tuned = try FineTuning.run(
            graph: graph, quantized: model, compressed: compressed, method: approximation.method, train: train,
            source: source, options: options, maxAccumulatorBits: approximation.maxAccumulatorBits
        ) { event in
            guard case .batch(let epoch, let batch, let batches, let loss, let accuracy) = event else { return }
            context.progress(
                "fine-tune \(epoch)/\(epochs)", batch, batches,
                String(format: "loss %.4f  acc %.2f%%", loss, 100 * accuracy))
        }
        let record = QuantizedModel.FineTuningRecord(
            from: from, epochs: epochs, learningRate: Double(options.learningRate), mode: mode.rawValue)
        context.fineTuned = FineTuningProduct(graph: tuned.graph, quantized: tuned.quantized, record: record)
        var result = tuned.compressed
        result.fineTuning = record
        return result
    }
}
