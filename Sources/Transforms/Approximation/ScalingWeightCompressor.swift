import Foundation
import Quantization

public struct ScalingWeightOptions: Sendable {
    public var codebook: Codebook = .uniform
    /// Width of a scaling-weight code, sign included.
    public var codeBits = 4
    /// Width of the per-filter scale (the MAW divided by the largest code), kept in high precision.
    public var scaleBits = 12
    /// Scaling weights with |w| / MAW below this are pruned to zero.
    public var threshold = 0.0
    public init() {}
}

/// Method M2, scaling-weight convolution, on a quantized layer: per output channel the MAW (largest |w|) is
/// kept in high precision as a scale, and every weight becomes a b-bit code of w / MAW, so
/// acc = scale * sum(code * x) + bias: one full multiply per output (docs/arithmetic.md section 7).
public enum ScalingWeightCompressor {
    public static func compress(
        _ layer: QuantizedModel.Layer, in model: QuantizedModel, options: ScalingWeightOptions,
        maxAccumulatorBits: Int
    ) throws -> QuantizedModel.Layer {
        let (shape, codes, exponents) = try layer.plainWeights()
        guard (2...8).contains(options.codeBits), (2...24).contains(options.scaleBits),
            (0..<1).contains(options.threshold)
        else {
            throw QuantizationError(
                layer: layer.name, "code bits must lie in 2...8, scale bits in 2...24 and the threshold in [0, 1)")
        }
        let channels = shape[0], fan = codes.count / channels
        // The largest code: the whole code range for uniform codes, the top power of two otherwise.
        let top =
            options.codebook == .uniform
            ? (1 << (options.codeBits - 1)) - 1 : Compression.largestPowerOfTwoCode(bits: options.codeBits)
        let scaleLimit = (1 << (options.scaleBits - 1)) - 1
        var scales = [Int](repeating: 0, count: channels)
        var swCodes = [Int](repeating: 0, count: codes.count)
        var newExponents = exponents
        for c in 0..<channels {
            let row = codes[(c * fan)..<((c + 1) * fan)]
            let maw = row.map(abs).max() ?? 0
            guard maw > 0 else { continue }
            // scale * top ~ MAW: the scale is MAW / top in units of 2^f, coded at the finest exponent that fits.
            let real = Double(maw) / Double(top)
            let shift = FixedPoint.exponent(forMagnitude: real, limit: scaleLimit)
            newExponents[c] = exponents[c] + shift
            scales[c] = FixedPoint.code(real, exponent: shift)
            for (k, q) in row.enumerated() {
                let ratio = Double(q) / Double(maw)
                swCodes[c * fan + k] =
                    abs(ratio) < options.threshold ? 0 : code(ratio * Double(top), codebook: options.codebook, top: top)
            }
        }
        var compression = Compression(method: .swc)
        compression.codebook = options.codebook
        compression.codeBits = options.codeBits
        compression.scaleBits = options.scaleBits
        compression.threshold = options.threshold
        compression.scales = scales
        compression.codes = swCodes
        return try layer.replacingWeights(
            with: compression, exponents: newExponents, in: model, maxAccumulatorBits: maxAccumulatorBits)
    }

    /// The code nearest to `v` (in -top ... top): rounded half away from zero, or the nearest of 0 and the powers
    /// of two (the smaller on a tie).
    static func code(_ v: Double, codebook: Codebook, top: Int) -> Int {
        if codebook == .uniform { return Int(v.rounded(.toNearestOrAwayFromZero)) }
        let m = abs(v)
        var best = 0
        var candidate = 1
        while candidate <= top {
            if abs(m - Double(candidate)) < abs(m - Double(best)) { best = candidate }
            candidate <<= 1
        }
        return v < 0 ? -best : best
    }
}
