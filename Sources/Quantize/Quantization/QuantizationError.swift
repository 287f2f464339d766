/// Why a model cannot be quantized or a quantized model file is not valid; names the layer and the reason.
public struct QuantizationError: Error, CustomStringConvertible, Equatable {
    public var layer: String
    public var reason: String

    public init(layer: String, _ reason: String) {
        self.layer = layer
        self.reason = reason
    }

    public var description: String { "layer '\(layer)': \(reason)" }
}
