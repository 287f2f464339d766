import Foundation
import Quantization

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
    public static func compress(
        _ layer: QuantizedModel.Layer, in model: QuantizedModel, options: SortedWeightOptions,
        maxAccumulatorBits: Int
    ) throws -> QuantizedModel.Layer {
        let (shape, codes, exponents) = try layer.plainWeights()
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
        // After M4 only the taps inside each channel's window are weights; the others stay zero, outside any group.
        if layer.kernelSizes != nil || layer.approximatedFeatures != nil {
            groups = groups.map { $0.filter(layer.isLive) }.filter { !$0.isEmpty }
        }
        // One coefficient exponent per channel: per layer for layer groups, else per channel (the kernels of a
        // channel share its accumulator, so they share its exponent too).
        let domains: [[Int]] = options.grouping == .layer ? [Array(0..<channels)] : (0..<channels).map { [$0] }
        var newExponents = exponents
        var fitted = [WeightGroup]()
        var groupsOfChannel = [[Int]](repeating: [], count: channels)
        for (g, members) in groups.enumerated() { groupsOfChannel[members[0] / fan].append(g) }
        var fits = [SortedWeightFit?](repeating: nil, count: groups.count)
        for domain in domains {
            // Real weight values of the domain, in units of 2^finest.
            let finest = domain.map { exponents[$0] }.min()!
            let domainGroups = domain.flatMap { groupsOfChannel[$0] }
            for g in domainGroups {
                if let counts = options.segmentCounts?[layer.name]?[g],
                    counts.reduce(0, +) != groups[g].count || counts.contains(where: { $0 <= 0 })
                {
                    throw QuantizationError(layer: layer.name, "the given segment sizes do not cover group \(g)")
                }
            }
            let values = domainGroups.map { g in
                groups[g].map { Double(codes[$0]) * pow(2, Double(exponents[$0 / fan] - finest)) }
            }
            let (exponent, domainFits) = fitDomain(values, bits: options.coefficientBits) { position, scaled in
                if let counts = options.segmentCounts?[layer.name]?[domainGroups[position]] {
                    return SortedWeightFit.fit(scaled, counts: counts, degree: options.degree)
                }
                return SortedWeightFit.fit(
                    scaled, segments: options.segments, degree: options.degree, boundaries: options.boundaries)
            }
            for (g, fit) in zip(domainGroups, domainFits) { fits[g] = fit }
            for c in domain { newExponents[c] = finest + exponent }
        }
        for (g, members) in groups.enumerated() {
            let fit = fits[g]!
            fitted.append(WeightGroup(order: fit.order.map { members[$0] }, segments: fit.segments))
        }
        var compression = Compression(method: options.degree == .quadratic ? .quadratic : .linear)
        compression.group = options.grouping
        compression.coefficientBits = options.coefficientBits
        compression.groups = fitted
        return try layer.replacingWeights(
            with: compression, exponents: newExponents, in: model, maxAccumulatorBits: maxAccumulatorBits)
    }

    /// Fits the groups of one exponent domain (`values` in some unit u) at the finest exponent e at which every
    /// coefficient fits `bits`: the fits are of `values * 2^-e`, so the weights they define are in units of
    /// u * 2^e. Starts where the largest |value| just fits, and coarsens while a fit overshoots.
    static func fitDomain(_ values: [[Double]], bits: Int, fit: (Int, [Double]) -> SortedWeightFit) -> (
        exponent: Int, fits: [SortedWeightFit]
    ) {
        let limit = (1 << (bits - 1)) - 1
        let peak = values.lazy.flatMap { $0 }.map(abs).max() ?? 0
        var exponent = FixedPoint.exponent(forMagnitude: peak, limit: limit)
        while true {
            let scale = pow(2, Double(-exponent))
            var fits: [SortedWeightFit] = []
            for (position, group) in values.enumerated() {
                let candidate = fit(position, group.map { $0 * scale })
                if candidate.segments.contains(where: { $0.coefficients.contains { abs($0) > limit } }) { break }
                fits.append(candidate)
            }
            if fits.count == values.count { return (exponent, fits) }
            exponent += 1
        }
    }
}
