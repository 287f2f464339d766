import Quantization

/// M1, sorted-weight linear or quadratic approximation (retraining-free): every weighted layer, or the chosen
/// ones, stores its groups' segments instead of its codes (SortedWeightCompressor).
public struct SortedWeightApproximation: WeightApproximation {
    public var options = SortedWeightOptions()
    public var layers: [String]?
    public var maxAccumulatorBits: Int?

    public init(_ settings: TransformSettings, degree: PolynomialDegree) throws {
        guard settings.segments >= 1 else { throw TransformError("--segments must be at least 1") }
        options.degree = degree
        options.grouping = settings.grouping
        options.boundaries = settings.boundaries
        options.segments = settings.segments
        options.coefficientBits = settings.coefficientBits
        (layers, maxAccumulatorBits) = (settings.layers, settings.maxAccumulatorBits)
    }

    public var name: String { options.degree == .linear ? "linear" : "quadratic" }
    public var method: Method { .sortedWeights(options) }
    public var summary: String {
        "\(name), \(options.segments) \(options.boundaries.rawValue) segments per \(options.grouping.rawValue), \(options.coefficientBits)-bit coefficients"
    }
}

/// A weight approximation (M1 or M2): applied by ModelCompressor to every weighted layer or the chosen ones, and
/// fine-tunable (FineTunedApproximation).
public protocol WeightApproximation: ModelTransform {
    var method: Method { get }
    var layers: [String]? { get }
    var maxAccumulatorBits: Int? { get }
}

extension WeightApproximation {
    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        try ModelCompressor.compress(model, method: method, layers: layers, maxAccumulatorBits: maxAccumulatorBits)
    }
}
