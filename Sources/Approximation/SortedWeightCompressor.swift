import Foundation
import Quantization

/// Which weights form one M1 group.
public enum Grouping: String, Sendable, CaseIterable {
    /// All weights of the layer.
    case layer
    /// The weights of one output channel (a dense layer's row).
    case channel
    /// One kernel: the kH x kW weights of one (output, input) channel pair; a dense row counts as one kernel.
    case kernel
}

public struct SortedWeightOptions: Sendable {
    public var degree: PolynomialDegree = .linear
    /// Segments per group (fewer when a group has fewer weights).
    public var segments = 16
    public var grouping: Grouping = .layer
    public var boundaries: Boundaries = .optimal
    /// Width of every coefficient; the coefficient exponent is the finest at which they all fit.
    public var coefficientBits = 16
    /// Segment sizes to reuse instead of choosing boundaries: layer name -> per group, the sizes in rank order
    /// (fine-tuning keeps the structure it trained under).
    public var segmentCounts: [String: [[Int]]]? = nil
    public init() {}
}

/// Method M1 on a quantized layer: its weight codes (as the real values code * 2^f) are grouped, sorted and fitted
/// by integer polynomials in rank. The layer then stores the groups instead of the codes, and its exponents,
/// biases, accumulator width and shifts follow from the coefficient exponent (docs/arithmetic.md section 7).
public enum SortedWeightCompressor {
    public static func compress(_ layer: QuantizedModel.Layer, in model: QuantizedModel, options: SortedWeightOptions,
                                maxAccumulatorBits: Int) throws -> QuantizedModel.Layer {
        guard let shape = layer.weightShape, let codes = layer.weights, let exponents = layer.weightExponents, let bias = layer.bias else {
            throw QuantizationError(layer: layer.name, "only an uncompressed conv2d or dense layer can be compressed")
        }
        guard options.segments >= 1, (2...24).contains(options.coefficientBits) else {
            throw QuantizationError(layer: layer.name, "segments must be at least 1 and coefficient bits lie in 2...24")
        }
        let channels = shape[0], fan = codes.count / channels
        // Groups as lists of flat weight indices, and the channels whose exponent each group's coefficients share.
        let kernelSize = layer.kind == .conv2d ? shape[2] * shape[3] : fan
        var groups: [[Int]] = []
        switch options.grouping {
        case .layer: groups = [Array(0..<codes.count)]
        case .channel: groups = (0..<channels).map { Array(($0 * fan)..<(($0 + 1) * fan)) }
        case .kernel: groups = stride(from: 0, to: codes.count, by: kernelSize).map { Array($0..<($0 + kernelSize)) }
        }
        // One coefficient exponent per channel: per layer for layer groups, else per channel (the kernels of a
        // channel share its accumulator, so they share its exponent too).
        let domains: [[Int]] = options.grouping == .layer ? [Array(0..<channels)] : (0..<channels).map { [$0] }
        var newExponents = exponents
        let limit = (1 << (options.coefficientBits - 1)) - 1
        var fitted = [WeightGroup]()
        var groupsOfChannel = [[Int]](repeating: [], count: channels)
        for (g, members) in groups.enumerated() { groupsOfChannel[members[0] / fan].append(g) }
        var fits = [SortedWeightFit?](repeating: nil, count: groups.count)
        for domain in domains {
            // Real weight magnitudes of the domain, in units of 2^finest.
            let finest = domain.map { exponents[$0] }.min()!
            func value(_ i: Int) -> Double { Double(codes[i]) * pow(2, Double(exponents[i / fan] - finest)) }
            let peak = domain.flatMap { c in (c * fan)..<((c + 1) * fan) }.map { abs(value($0)) }.max() ?? 0
            // The finest exponent at which the coefficients fit; coarser if a fit overshoots the width.
            var exponent = finest + FixedPoint.exponent(forMagnitude: peak, limit: limit)
            let domainGroups = domain.flatMap { groupsOfChannel[$0] }
            while true {
                let factor = pow(2, Double(finest - exponent))
                var fitsWidth = true
                for g in domainGroups {
                    let values = groups[g].map { value($0) * factor }
                    let fit: SortedWeightFit
                    if let counts = options.segmentCounts?[layer.name]?[g] {
                        guard counts.reduce(0, +) == values.count, counts.allSatisfy({ $0 > 0 }) else {
                            throw QuantizationError(layer: layer.name, "the given segment sizes do not cover group \(g)")
                        }
                        fit = SortedWeightFit.fit(values, counts: counts, degree: options.degree)
                    } else {
                        fit = SortedWeightFit.fit(values, segments: options.segments, degree: options.degree, boundaries: options.boundaries)
                    }
                    fits[g] = fit
                    if fit.segments.contains(where: { $0.coefficients.contains { abs($0) > limit } }) { fitsWidth = false; break }
                }
                if fitsWidth { break }
                exponent += 1
            }
            for c in domain { newExponents[c] = exponent }
        }
        for (g, members) in groups.enumerated() {
            let fit = fits[g]!
            fitted.append(WeightGroup(order: fit.order.map { members[$0] }, segments: fit.segments))
        }
        var compression = Compression(method: options.degree == .linear ? .linear : .quadratic)
        compression.group = options.grouping.rawValue
        compression.coefficientBits = options.coefficientBits
        compression.groups = fitted
        return try finish(layer, compression: compression, oldExponents: exponents, newExponents: newExponents, bias: bias,
                          model: model, maxAccumulatorBits: maxAccumulatorBits)
    }

    /// Stores `compression` in place of the codes, moves the biases to the new exponents (exact when finer,
    /// rounded half away from zero when coarser) and settles widths and shifts.
    static func finish(_ layer: QuantizedModel.Layer, compression: Compression, oldExponents: [Int], newExponents: [Int], bias: [Int],
                       model: QuantizedModel, maxAccumulatorBits: Int) throws -> QuantizedModel.Layer {
        var result = layer
        var compression = compression
        compression.originalAccumulatorBits = layer.accumulatorBits
        result.weights = nil
        result.compression = compression
        let newBias = zip(bias, zip(oldExponents, newExponents)).map { b, e in
            e.1 <= e.0 ? b << (e.0 - e.1) : FixedPoint.code(Double(b), exponent: e.1 - e.0)
        }
        let range = model.inputRange(of: layer)
        try result.settle(effectiveWeights: result.effectiveWeights!, exponents: newExponents, bias: newBias,
                          inputLow: range.low, inputHigh: range.high, maxAccumulatorBits: maxAccumulatorBits)
        return result
    }
}
