/// Why a model cannot be quantized or a quantized model file is not valid; names the layer and the reason.
public struct QuantizationError: Error, CustomStringConvertible, Equatable {
    public var layer: String
    public var reason: String
    /// The model file the layer was read from, when the error comes from reading one.
    public var file: String? = nil
    /// The numbers are valid but a result cannot be represented in the model's accumulators (a layer or an M3
    /// combination whose bound exceeds max_accumulator_bits): a search can pass over that step, where a request
    /// for it must fail.
    public var exceedsAccumulator = false

    public init(layer: String, _ reason: String, exceedsAccumulator: Bool = false) {
        self.layer = layer
        self.reason = reason
        self.exceedsAccumulator = exceedsAccumulator
    }

    public var description: String {
        guard let file else { return "layer '\(layer)': \(reason)" }
        return layer == "file" ? "\(file): \(reason)" : "\(file): layer '\(layer)': \(reason)"
    }
}
