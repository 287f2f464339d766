import Quantization

/// M1, sorted-weight constant, linear or quadratic approximation (retraining-free): every weighted layer, or the
/// chosen ones, stores its groups' segments instead of its codes (SortedWeightCompressor). Constant segments are
/// stored as linear ones with C1 = 0.
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

    public var name: String {
        switch options.degree {
        case .constant: return "constant"
        case .linear: return "linear"
        case .quadratic: return "quadratic"
        }
    }
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
