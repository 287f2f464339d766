import Quantization

/// M2, scaling-weight convolution (retraining-free): per output channel a high-precision scale and one b-bit
/// code per weight (ScalingWeightCompressor).
public struct ScalingWeightApproximation: WeightApproximation {
    public var options = ScalingWeightOptions()
    public var layers: [String]?
    public var maxAccumulatorBits: Int?

    public init(_ settings: TransformSettings) throws {
        options.codebook = settings.codebook
        options.codeBits = settings.codeBits
        options.scaleBits = settings.scaleBits
        options.threshold = settings.threshold
        (layers, maxAccumulatorBits) = (settings.layers, settings.maxAccumulatorBits)
    }

    public var name: String { "swc" }
    public var method: Method { .scalingWeights(options) }
    public var summary: String {
        "swc \(options.codebook.rawValue) \(options.codeBits)-bit codes, \(options.scaleBits)-bit scales, threshold \(options.threshold)"
    }
}
