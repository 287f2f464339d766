import Quantization

/// M3, feature approximation: each chosen convolution (default: every one but the logits) computes its `count`
/// least sensitive channels as combinations of `sources` others (FeatureApproximator).
public struct ApproximateFeatures: ModelTransform {
    public var count: Int
    public var sources: Int
    public var coefficientBits: Int
    public var layers: [String]?
    public var calibrationCount: Int

    public init(_ settings: TransformSettings) {
        (count, sources, coefficientBits) = (settings.features, settings.sources, settings.featureBits)
        (layers, calibrationCount) = (settings.layers, settings.calibrationCount)
    }

    public var name: String { "feature" }
    public var summary: String {
        "feature approximation of \(count) channels per convolution from \(sources) others, \(coefficientBits)-bit coefficients, fitted on \(calibrationCount) training images"
    }

    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        let names = layers ?? model.layers.filter { $0.kind == .conv2d && !($0.logits ?? false) }.map(\.name)
        guard !names.isEmpty else { throw TransformError("the model has no convolution to approximate features in") }
        let calibration = try context.trainingImages().prefix(calibrationCount)
        var result = model
        for name in names {
            result = try FeatureApproximator.approximateLeastSensitive(
                result, layer: name, count: count, m: sources, pixels: calibration.pixels,
                images: calibration.count, coefficientBits: coefficientBits
            ).model
        }
        return result
    }
}
