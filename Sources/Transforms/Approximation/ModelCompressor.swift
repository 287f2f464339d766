import Quantization

/// One approximation method with its settings.
public enum Method: Sendable {
    case sortedWeights(SortedWeightOptions)
    case scalingWeights(ScalingWeightOptions)
}

/// Applies a weight approximation to the weighted layers of a quantized model and returns the new model (the
/// input is not changed). Every result is validated, so whatever it returns the golden model can run.
public enum ModelCompressor {
    /// Compresses the named layers (all conv2d and dense layers when `layers` is nil). The accumulator limit
    /// defaults to the model's own.
    public static func compress(
        _ model: QuantizedModel, method: Method, layers names: [String]? = nil,
        maxAccumulatorBits: Int? = nil
    ) throws -> QuantizedModel {
        let weighted = model.layers.filter { $0.kind == .conv2d || $0.kind == .dense }.map(\.name)
        let chosen = names ?? weighted
        for name in chosen where !weighted.contains(name) {
            throw QuantizationError(
                layer: name,
                model.layers.contains { $0.name == name }
                    ? "is not a conv2d or dense layer"
                    : "no layer of this name (weighted layers: \(weighted.joined(separator: ", ")))")
        }
        let limit = maxAccumulatorBits ?? model.maxAccumulatorBits
        guard (2...62).contains(limit) else {
            throw QuantizationError(layer: "options", "--max-acc-bits must lie in 2...62")
        }
        var result = model
        result.maxAccumulatorBits = max(model.maxAccumulatorBits, limit)
        for (index, layer) in model.layers.enumerated() where chosen.contains(layer.name) {
            if layer.compression != nil { throw QuantizationError(layer: layer.name, "is already compressed") }
            switch method {
            case .sortedWeights(let options):
                result.layers[index] = try SortedWeightCompressor.compress(
                    layer, in: result, options: options, maxAccumulatorBits: limit)
            case .scalingWeights(let options):
                result.layers[index] = try ScalingWeightCompressor.compress(
                    layer, in: result, options: options, maxAccumulatorBits: limit)
            }
        }
        try result.validate()
        return result
    }
}
