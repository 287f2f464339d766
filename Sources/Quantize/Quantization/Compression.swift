/// How a compressed weighted layer stores its weights instead of plain codes (docs/arithmetic.md section 7,
/// docs/formats.md). A compressed layer has `compression` and no `weights`: the numbers exist once, and the
/// approximated weight codes (`effectiveWeights`) are derived from them exactly.
public struct Compression: Codable, Equatable, Sendable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// M1 with linear or quadratic segments.
        case linear, quadratic
        /// M2: scaling-weight convolution.
        case swc
    }

    public var method: Method

    // M1: the grouping, the coefficient width, and per group the permutation and the segments.
    public var group: Grouping? = nil
    public var coefficientBits: Int? = nil
    public var groups: [WeightGroup]? = nil

    // M2: the code book, the width of the scaling-weight codes and of the per-filter
    // scale, the pruning threshold that was applied (on |w| / MAW), the scale codes (one per output channel)
    // and the scaling-weight codes (one per weight, IR order).
    public var codebook: Codebook? = nil
    public var codeBits: Int? = nil
    public var scaleBits: Int? = nil
    public var threshold: Double? = nil
    public var scales: [Int]? = nil
    public var codes: [Int]? = nil

    /// The accumulator width of the layer before compression (for the storage comparison of the report).
    public var originalAccumulatorBits: Int? = nil

    public init(method: Method) { self.method = method }

    /// Polynomial degree of an M1 method.
    public var degree: Int? {
        switch method {
        case .linear: 1
        case .quadratic: 2
        case .swc: nil
        }
    }
}

/// Which weights form one M1 group (`group` in the model file).
public enum Grouping: String, Codable, Sendable, CaseIterable {
    /// All weights of the layer.
    case layer
    /// The weights of one output channel (a dense layer's row).
    case channel
    /// One kernel: the kH x kW weights of one (output, input) channel pair; a dense row counts as one kernel.
    case kernel
}

/// The code book of M2's scaling weights (`codebook` in the model file).
public enum Codebook: String, Codable, Sendable, CaseIterable {
    /// Signed integers up to 2^(b-1) - 1: small b-bit products.
    case uniform
    /// Zero or a signed power of two up to 2^(2^(b-1) - 2): shifts only.
    case pow2
}

/// One M1 group: `order[rank]` is the flat index (IR order of the layer's weights) of the weight with that rank,
/// ascending; the segments cut the ranks into contiguous runs.
public struct WeightGroup: Codable, Equatable, Sendable {
    public var order: [Int]
    public var segments: [Segment]

    public init(order: [Int], segments: [Segment]) {
        self.order = order; self.segments = segments
    }
}

/// A run of consecutive ranks `start ..< start + count` and its integer coefficients `[C0, C1]` or
/// `[C0, C1, C2]`: the approximated weight code at rank `start + j` is exactly `C0 + C1*j + C2*j*j`.
public struct Segment: Codable, Equatable, Sendable {
    public var start: Int
    public var count: Int
    public var coefficients: [Int]

    public init(start: Int, count: Int, coefficients: [Int]) {
        self.start = start; self.count = count; self.coefficients = coefficients
    }

    @inlinable
    public func value(at j: Int) -> Int {
        var v = coefficients[0] + coefficients[1] * j
        if coefficients.count > 2 { v += coefficients[2] * j * j }
        return v
    }
}

extension Compression {
    /// The largest magnitude of a power-of-two SWC code of `bits` bits: a sign and an index for 0, 1, 2, ...
    public static func largestPowerOfTwoCode(bits: Int) -> Int { 1 << ((1 << (bits - 1)) - 2) }

    /// Whether `code` belongs to the SWC code book.
    public func isCode(_ code: Int) -> Bool {
        guard let bits = codeBits else { return false }
        if codebook == .pow2 {
            let m = abs(code)
            return m == 0 || (m & (m - 1) == 0 && m <= Compression.largestPowerOfTwoCode(bits: bits))
        }
        return abs(code) <= (1 << (bits - 1)) - 1
    }

    /// The approximated weight codes in IR order (`count` weights, `channels` output channels).
    public func effectiveWeights(count: Int, channels: Int) -> [Int] {
        var weights = [Int](repeating: 0, count: count)
        switch method {
        case .linear, .quadratic:
            for group in groups ?? [] {
                for segment in group.segments {
                    for j in 0..<segment.count { weights[group.order[segment.start + j]] = segment.value(at: j) }
                }
            }
        case .swc:
            let fan = count / max(channels, 1)
            let scales = self.scales ?? [], codes = self.codes ?? []
            for i in 0..<min(count, codes.count) where i / fan < scales.count {
                weights[i] = scales[i / fan] * codes[i]
            }
        }
        return weights
    }
}

extension QuantizedModel.Layer {
    /// The weight codes the layer computes with: the stored codes, or those its compression defines.
    public var effectiveWeights: [Int]? {
        if let compression, let shape = weightShape {
            return compression.effectiveWeights(count: shape.reduce(1, *), channels: shape[0])
        }
        return weights
    }

    /// Sets the accumulator width and shifts of a weighted layer from its effective weight codes, exponents and
    /// biases (the logits also get their common exponent and range), reading inputs in `low ... high`; refuses a
    /// width over `maxAccumulatorBits`. The quantizer and the compressors both finish a layer with this.
    public mutating func settle(
        effectiveWeights codes: [Int], exponents: [Int], bias: [Int], inputLow: Int, inputHigh: Int,
        maxAccumulatorBits: Int, limitName: String = "--max-acc-bits"
    ) throws {
        let channels = exponents.count
        let (lows, highs) = accumulatorRanges(
            effectiveWeights: codes, bias: bias, inputLow: inputLow, inputHigh: inputHigh)
        let accBits = FixedPoint.width(low: lows.min() ?? 0, high: highs.max() ?? 0)
        guard accBits <= maxAccumulatorBits else {
            throw QuantizationError(
                layer: name,
                "the accumulator needs \(accBits) bits (range \(lows.min() ?? 0)...\(highs.max() ?? 0)), more than \(limitName) \(maxAccumulatorBits)",
                exceedsAccumulator: true)
        }
        weightExponents = exponents
        self.bias = bias
        accumulatorBits = accBits
        if logits ?? false {
            let common = exponents.min()! + inputExponent
            let shifts = exponents.map { common - ($0 + inputExponent) }
            var low = Int.max, high = Int.min
            for c in 0..<channels {
                low = min(low, lows[c] << -shifts[c]); high = max(high, highs[c] << -shifts[c])
            }
            guard FixedPoint.width(low: low, high: high) <= maxAccumulatorBits else {
                throw QuantizationError(
                    layer: name,
                    "aligned logits need \(FixedPoint.width(low: low, high: high)) bits, more than \(limitName) \(maxAccumulatorBits)",
                    exceedsAccumulator: true)
            }
            self.shifts = shifts
            outputExponent = common
            (outputLow, outputHigh) = (low, high)
        } else {
            shifts = exponents.map { requantizedExponent - ($0 + inputExponent) }
        }
    }

    /// The exponent the accumulators are requantized to: the output's, or with a fused activation table its
    /// input's.
    public var requantizedExponent: Int {
        kind == .activation ? inputExponent : activation?.inputExponent ?? outputExponent
    }
}

extension QuantizedModel.Layer {
    /// The interval bound of every output channel's accumulator (docs/arithmetic.md section 3): the bias plus, per
    /// tap, the extreme products of the weight code with the input range; for an M3 channel, its bias plus the
    /// extreme products of each coefficient with its source's interval.
    public func accumulatorRanges(effectiveWeights codes: [Int], bias: [Int], inputLow: Int, inputHigh: Int) -> (
        lows: [Int], highs: [Int]
    ) {
        let channels = bias.count, fan = codes.count / max(channels, 1)
        var lows = [Int](repeating: 0, count: channels), highs = [Int](repeating: 0, count: channels)
        for c in 0..<channels {
            var low = bias[c], high = bias[c]
            for k in 0..<fan {
                // Saturating: a file's numbers may be absurd, and a saturated bound fits no accumulator.
                let q = codes[c * fan + k]
                let (a, b) = (FixedPoint.saturatingMultiply(q, inputLow), FixedPoint.saturatingMultiply(q, inputHigh))
                low = FixedPoint.saturatingAdd(low, min(a, b))
                high = FixedPoint.saturatingAdd(high, max(a, b))
            }
            lows[c] = low; highs[c] = high
        }
        for feature in approximatedFeatures?.features ?? [] where feature.channel < channels {
            var low = bias[feature.channel], high = low
            for (a, k) in zip(feature.coefficients, feature.sources) where k < channels {
                let (x, y) = (FixedPoint.saturatingMultiply(a, lows[k]), FixedPoint.saturatingMultiply(a, highs[k]))
                low = FixedPoint.saturatingAdd(low, min(x, y))
                high = FixedPoint.saturatingAdd(high, max(x, y))
            }
            lows[feature.channel] = low; highs[feature.channel] = high
        }
        return (lows, highs)
    }
}

extension QuantizedModel {
    /// The code range of what `layer` reads (the image's 0...255, or the producing layer's output range).
    public func inputRange(of layer: Layer) -> (low: Int, high: Int) {
        if layer.input == input.name { return (input.low, input.high) }
        let source = layers.first { $0.name == layer.input }!
        return (source.outputLow, source.outputHigh)
    }
}
