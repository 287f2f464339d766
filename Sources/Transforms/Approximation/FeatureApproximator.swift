import Foundation
import GoldenModel
import Quantization

/// M3, feature approximation (DESIGN.md section 2), on one convolution of a quantized model: an output channel
/// j stops computing its taps and becomes a least-squares combination of m computed channels of the same layer,
/// pre-activation, F_j ~ sum_k a_jk F_k + b_j, fitted on calibration images. The sources are the m most
/// independent other channels (FeatureRanking, QR with column pivoting of the filter matrix). The real
/// combination is then quantized (docs/arithmetic.md section 9) and recorded in `approximatedFeatures`.
public enum FeatureApproximator {
    /// One approximated channel in real numbers: coefficients on the sources' pre-activations and a bias.
    public struct RealFeature: Sendable {
        public var channel: Int
        public var sources: [Int]
        public var coefficients: [Double]
        public var bias: Double
        /// ||F_j - estimate|| / ||F_j - mean F_j|| on the calibration samples.
        public var residual: Double
    }

    /// The calibration pre-activations of a layer's computed channels: `values[s * channels + c]` in real
    /// units (accumulator times 2^(weight exponent + input exponent)), for up to `sampleLimit` output pixels
    /// spread over `images` calibration images.
    public struct Samples: Sendable {
        public var values: [Double]
        public var channels: Int
        public var count: Int { values.count / max(channels, 1) }
    }

    public static func samples(
        _ model: QuantizedModel, layer name: String, pixels: [UInt8], images: Int, sampleLimit: Int = 4000
    ) throws -> Samples {
        let layer = try convolution(model, name)
        let numbers = try layer.numbers()
        let (codes, exponents, bias) = (numbers.weights, numbers.exponents, numbers.bias)
        let channels = exponents.count, fan = codes.count / channels
        let golden = try GoldenModel(model)
        let function = try LayerFunction(model: model, layer: name)
        let tensors = golden.layerInputs(of: name, pixels: pixels, count: images)
        let inputShape = golden.inputShape(of: layer)
        let total = images * function.pixels, step = max(1, total / sampleLimit)
        let scale = (0..<channels).map { pow(2, Double(exponents[$0] + layer.inputExponent)) }
        let approximated = layer.approximatedFeatures?.channels ?? []
        var values: [Double] = []
        values.reserveCapacity((total / step + 1) * channels)
        for sample in stride(from: 0, to: total, by: step) {
            let window = function.window(
                of: tensors[sample / function.pixels], inputShape: inputShape, pixel: sample % function.pixels)
            var accumulators = [Int](repeating: 0, count: channels)
            for c in 0..<channels where !approximated.contains(c) {
                var acc = bias[c]
                for k in 0..<fan where window[k] != 0 { acc += codes[c * fan + k] * window[k] }
                accumulators[c] = acc
            }
            // Approximated channels hold what they compute now (their sources are computed channels).
            for feature in layer.approximatedFeatures?.features ?? [] {
                var acc = bias[feature.channel]
                for (a, k) in zip(feature.coefficients, feature.sources) { acc += a * accumulators[k] }
                accumulators[feature.channel] = acc
            }
            for c in 0..<channels { values.append(Double(accumulators[c]) * scale[c]) }
        }
        return Samples(values: values, channels: channels)
    }

    /// The sources of channel `j`: the `m` most independent channels other than `j` that are computed and not in
    /// `excluded` (the channels being approximated), by the QR ranking of the layer's real weights.
    public static func sources(of j: Int, m: Int, order: [Int], excluded: Set<Int>) -> [Int] {
        Array(order.filter { $0 != j && !excluded.contains($0) }.prefix(m))
    }

    /// The QR ranking of a layer's channels from their real weights (approximated ones, all-zero, come last).
    public static func ranking(_ layer: QuantizedModel.Layer) throws -> (order: [Int], pivots: [Double]) {
        let numbers = try layer.numbers()
        let (codes, exponents) = (numbers.weights, numbers.exponents)
        let fan = codes.count / exponents.count
        let real = codes.indices.map { Double(codes[$0]) * pow(2, Double(exponents[$0 / fan])) }
        return FeatureRanking.rank(weights: real, features: exponents.count)
    }

    /// Channels `chosen` of convolution `name` approximated from `m` sources each, fitted on `samples` (from
    /// `samples(_:layer:...)` on the same model). Channels already approximated keep their record and are never
    /// sources; a channel that is already some feature's source cannot be approximated.
    public static func approximate(
        _ model: QuantizedModel, layer name: String, channels chosen: [Int], m: Int, samples: Samples,
        coefficientBits: Int = 8
    ) throws -> (model: QuantizedModel, features: [RealFeature]) {
        var layer = try convolution(model, name)
        guard layer.compression == nil else {
            throw QuantizationError(
                layer: name,
                "feature approximation comes before weight approximation (M1/M2): the layer is already compressed")
        }
        let channels = try layer.numbers().channels
        let existing = layer.approximatedFeatures
        let approximated = existing?.channels ?? []
        let pinned = Set(existing?.features.flatMap(\.sources) ?? [])
        guard !chosen.isEmpty, Set(chosen).count == chosen.count, chosen.allSatisfy({ (0..<channels).contains($0) })
        else {
            throw QuantizationError(
                layer: name, "channels \(chosen) must be distinct output channels (0..<\(channels))")
        }
        if let j = chosen.first(where: { approximated.contains($0) || pinned.contains($0) }) {
            throw QuantizationError(
                layer: name, "channel \(j) is already approximated or is the source of an approximated channel")
        }
        guard m >= 1, m < channels - approximated.count - chosen.count + 1 else {
            throw QuantizationError(
                layer: name,
                "\(m) sources per feature is more than the \(channels - approximated.count - chosen.count) computed channels left"
            )
        }
        if let bits = existing?.coefficientBits, bits != coefficientBits {
            throw QuantizationError(
                layer: name, "the layer's approximated features use \(bits)-bit coefficients, not \(coefficientBits)")
        }
        let order = try ranking(layer).order
        let excluded = approximated.union(chosen)
        let fits = chosen.map { j in
            let kept = sources(of: j, m: m, order: order, excluded: excluded)
            let fit = FeatureApproximation.fit(samples.values, features: samples.channels, target: j, kept: kept)
            return RealFeature(
                channel: j, sources: kept, coefficients: fit.coefficients, bias: fit.bias, residual: fit.residual)
        }
        // The old record in real numbers, with the new features, quantized together.
        var real = try existing.map { try realFeatures($0, layer: layer) } ?? []
        real += fits
        var codes = try layer.numbers().weights
        let fan = codes.count / channels
        for j in chosen { for k in 0..<fan { codes[j * fan + k] = 0 } }
        layer.weights = codes
        var (exponents, bias) = (try layer.numbers().exponents, try layer.numbers().bias)
        try layer.quantizeFeatures(
            real, coefficientBits: coefficientBits, effectiveWeights: codes, exponents: &exponents, bias: &bias,
            in: model, maxAccumulatorBits: model.maxAccumulatorBits)
        let range = model.inputRange(of: layer)
        try layer.settle(
            effectiveWeights: codes, exponents: exponents, bias: bias, inputLow: range.low, inputHigh: range.high,
            maxAccumulatorBits: model.maxAccumulatorBits)
        var result = model
        result.layers[result.layers.firstIndex { $0.name == name }!] = layer
        try result.validate()
        return (result, fits)
    }

    /// The `count` channels of convolution `name` that the other channels reproduce best (lowest data-driven
    /// sensitivity: relative residual against the m most independent others), approximated together.
    public static func approximateLeastSensitive(
        _ model: QuantizedModel, layer name: String, count: Int, m: Int, pixels: [UInt8], images: Int,
        coefficientBits: Int = 8
    ) throws -> (model: QuantizedModel, features: [RealFeature]) {
        let layer = try convolution(model, name)
        let samples = try samples(model, layer: name, pixels: pixels, images: images)
        let taken = (layer.approximatedFeatures?.channels ?? []).union(
            layer.approximatedFeatures?.features.flatMap(\.sources) ?? [])
        let order = try ranking(layer).order
        let residuals = FeatureApproximation.sensitivity(samples.values, features: samples.channels, order: order, m: m)
        let chosen = (0..<samples.channels).filter { !taken.contains($0) }.sorted {
            (residuals[$0], $0) < (residuals[$1], $1)
        }.prefix(count)
        guard chosen.count == count else {
            throw QuantizationError(
                layer: name, "only \(chosen.count) channels can still be approximated, not \(count)")
        }
        return try approximate(
            model, layer: name, channels: Array(chosen).sorted(), m: m, samples: samples,
            coefficientBits: coefficientBits)
    }

    /// Every channel of convolution `name`: its position in the QR order (0: most independent), the pivot it was
    /// picked with, and its sensitivity (relative residual from the `m` most independent others on calibration
    /// pixels); an approximated channel has sensitivity 0 and comes last in the order.
    public static func rankFeatures(_ model: QuantizedModel, layer name: String, m: Int, pixels: [UInt8], images: Int)
        throws
        -> [(channel: Int, position: Int, pivot: Double, sensitivity: Double)]
    {
        let layer = try convolution(model, name)
        let channels = layer.shape[0]
        guard m >= 1, m < channels else {
            throw QuantizationError(layer: name, "--sources must lie in 1..<\(channels)")
        }
        let (order, pivots) = try ranking(layer)
        let samples = try samples(model, layer: name, pixels: pixels, images: images)
        let residuals = FeatureApproximation.sensitivity(samples.values, features: channels, order: order, m: m)
        return (0..<channels).map { c in
            let position = order.firstIndex(of: c)!
            return (c, position, pivots[position], residuals[c])
        }
    }

    /// A record's combinations in real numbers: a = A * 2^(E_j - e_k), b = B_j * 2^(E_j + input exponent).
    static func realFeatures(_ record: ApproximatedFeatures, layer: QuantizedModel.Layer) throws -> [RealFeature] {
        let numbers = try layer.numbers()
        let (exponents, bias) = (numbers.exponents, numbers.bias)
        return record.features.map { f in
            let e = exponents[f.channel]
            return RealFeature(
                channel: f.channel, sources: f.sources,
                coefficients: zip(f.coefficients, f.sources).map { Double($0) * pow(2, Double(e - exponents[$1])) },
                bias: Double(bias[f.channel]) * pow(2, Double(e + layer.inputExponent)), residual: 0)
        }
    }

    static func convolution(_ model: QuantizedModel, _ name: String) throws -> QuantizedModel.Layer {
        guard let layer = model.layers.first(where: { $0.name == name }) else {
            throw QuantizationError(layer: name, "no layer of this name")
        }
        guard layer.kind == .conv2d, !(layer.logits ?? false), layer.weightShape != nil else {
            throw QuantizationError(
                layer: name,
                "feature approximation applies to convolutions (not the logits), this is a \(layer.kind.rawValue) layer"
            )
        }
        return layer
    }
}

extension QuantizedModel.Layer {
    /// Records `features` (real combinations) as M3 codes for the sources' `exponents`: per feature the finest
    /// exponent E_j at which every coefficient A = a * 2^(e_k - E_j) fits `coefficientBits` and the accumulator
    /// bound fits `maxAccumulatorBits`; its bias becomes B = b / 2^(E_j + input exponent), rounded.
    mutating func quantizeFeatures(
        _ features: [FeatureApproximator.RealFeature], coefficientBits: Int, effectiveWeights codes: [Int],
        exponents: inout [Int], bias: inout [Int], in model: QuantizedModel, maxAccumulatorBits: Int
    ) throws {
        guard (2...24).contains(coefficientBits) else {
            throw QuantizationError(layer: name, "coefficient bits must lie in 2...24")
        }
        let limit = (1 << (coefficientBits - 1)) - 1
        let range = model.inputRange(of: self)
        approximatedFeatures = nil
        // The sources' intervals: computed channels, from their weights.
        let (lows, highs) = accumulatorRanges(
            effectiveWeights: codes, bias: bias, inputLow: range.low, inputHigh: range.high)
        var recorded: [ApproximatedFeatures.Feature] = []
        for f in features.sorted(by: { $0.channel < $1.channel }) {
            let magnitude = zip(f.coefficients, f.sources).map { abs($0) * pow(2, Double(exponents[$1])) }.max() ?? 0
            var e = magnitude > 0 ? FixedPoint.exponent(forMagnitude: magnitude, limit: limit) : exponents[f.sources[0]]
            while true {
                let a = zip(f.coefficients, f.sources).map {
                    min(max(FixedPoint.code($0 * pow(2, Double(exponents[$1])), exponent: e), -limit), limit)
                }
                let b = FixedPoint.code(f.bias, exponent: e + inputExponent)
                var low = b, high = b
                for (code, k) in zip(a, f.sources) {
                    low += min(code * lows[k], code * highs[k]); high += max(code * lows[k], code * highs[k])
                }
                if FixedPoint.width(low: low, high: high) <= maxAccumulatorBits {
                    exponents[f.channel] = e
                    bias[f.channel] = b
                    recorded.append(.init(channel: f.channel, sources: f.sources, coefficients: a))
                    break
                }
                // Coarser coefficients shrink the bound; give up once they are all zero.
                guard a.contains(where: { $0 != 0 }) else {
                    throw QuantizationError(
                        layer: name,
                        "approximated channel \(f.channel) does not fit \(maxAccumulatorBits) accumulator bits",
                        exceedsAccumulator: true)
                }
                e += 1
            }
        }
        approximatedFeatures = ApproximatedFeatures(coefficientBits: coefficientBits, features: recorded)
    }
}
