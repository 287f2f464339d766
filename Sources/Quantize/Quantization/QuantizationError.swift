/// Why a model cannot be quantized or a quantized model file is not valid; names the layer and the reason.
public struct QuantizationError: Error, CustomStringConvertible, Equatable {
    public var layer: String
    public var reason: String
    /// The model file the layer was read from, when the error comes from reading one.
    public var file: String? = nil

    public init(layer: String, _ reason: String) {
        self.layer = layer
        self.reason = reason
    }

    public var description: String {
        guard let file else { return "layer '\(layer)': \(reason)" }
        return layer == "file" ? "\(file): \(reason)" : "\(file): layer '\(layer)': \(reason)"
    }
}
