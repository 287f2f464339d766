import GoldenModel
import Quantization

/// What one weighted layer stores and computes per image, before and after compression, counted from the model
/// (the operations are those the reuse form of the golden model performs, ReusePlan).
public struct LayerMetrics: Codable, Equatable, Sendable {
    public var name: String
    /// "none", "linear", "quadratic" or "swc".
    public var method: String
    /// Output values per image (channels x output pixels) and multiply-accumulates of the dense layer.
    public var outputs: Int
    public var macs: Int
    /// Multiply-accumulates over the taps a circuit must compute: `macs` less M4's taps outside the kernel windows.
    public var liveMacs: Int
    /// Parameters counted the papers' way: every stored number (weights or coefficients, scales and codes,
    /// biases), the permutation excluded.
    public var paramsBefore: Int
    public var paramsAfter: Int
    /// Honest storage: all bits, the permutation and segment boundaries included (biases at accumulator width).
    public var storageBitsBefore: Int
    public var storageBitsAfter: Int
    /// Bits of the permutation and segment boundaries inside `storageBitsAfter`.
    public var permutationBits: Int
    /// Full-width multiplications (weight x activation before; coefficient or scale multiplies after).
    public var multipliesBefore: Int
    public var multipliesAfter: Int
    /// Multiplications by small constants that remain: M1's rank steps in non-contiguous parts, SWC codes that
    /// are not powers of two (b-bit products).
    public var smallMultiplies: Int
    /// SWC codes of magnitude 2, 4, ...: shifts (codes of magnitude 1 cost nothing).
    public var shifts: Int
    public var additionsBefore: Int
    public var additionsAfter: Int
    /// Repetition: the most distinct nonzero weights of any computed output channel, and per image the multiplies
    /// of the factored form (each output multiplies the sums of the inputs that share a weight once per distinct
    /// weight: UCNN's factorized dot product, the accelerator's factored lanes; its additions are the MACs').
    public var distinctWeights: Int = 0
    public var factoredMultiplies: Int = 0
}

public struct ModelMetrics: Codable, Equatable, Sendable {
    public var layers: [LayerMetrics]
    public var total: LayerMetrics

    /// Parameter reduction the papers' way (before / after).
    public var paramReduction: Double { Double(total.paramsBefore) / Double(max(total.paramsAfter, 1)) }
    /// Storage reduction in bits, permutation included.
    public var storageReduction: Double { Double(total.storageBitsBefore) / Double(max(total.storageBitsAfter, 1)) }
    /// Share of the full-width multiplications that are gone.
    public var multipliesEliminated: Double {
        1 - Double(total.multipliesAfter) / Double(max(total.multipliesBefore, 1))
    }
    /// Share of multiplications of any kind (small ones included) and additions that are gone.
    public var operationsSaved: Double {
        let before = total.multipliesBefore + total.additionsBefore
        let after = total.multipliesAfter + total.smallMultiplies + total.additionsAfter
        return 1 - Double(after) / Double(max(before, 1))
    }

    public init(_ model: QuantizedModel) throws {
        layers = try model.layers.filter { $0.kind == .conv2d || $0.kind == .dense }.map {
            try LayerMetrics($0, weightBits: model.weightBits)
        }
        var sum = LayerMetrics(
            name: "total", method: "", outputs: 0, macs: 0, liveMacs: 0, paramsBefore: 0, paramsAfter: 0,
            storageBitsBefore: 0,
            storageBitsAfter: 0, permutationBits: 0, multipliesBefore: 0, multipliesAfter: 0, smallMultiplies: 0,
            shifts: 0, additionsBefore: 0, additionsAfter: 0)
        for l in layers {
            sum.outputs += l.outputs; sum.macs += l.macs; sum.liveMacs += l.liveMacs
            sum.paramsBefore += l.paramsBefore; sum.paramsAfter += l.paramsAfter
            sum.storageBitsBefore += l.storageBitsBefore; sum.storageBitsAfter += l.storageBitsAfter
            sum.permutationBits += l.permutationBits
            sum.multipliesBefore += l.multipliesBefore; sum.multipliesAfter += l.multipliesAfter
            sum.smallMultiplies += l.smallMultiplies; sum.shifts += l.shifts
            sum.additionsBefore += l.additionsBefore; sum.additionsAfter += l.additionsAfter
            sum.distinctWeights = max(sum.distinctWeights, l.distinctWeights)
            sum.factoredMultiplies += l.factoredMultiplies
        }
        sum.method = Set(layers.map(\.method)).sorted().joined(separator: "+")
        total = sum
    }
}

/// Bits to tell `n` things apart.
func bitsFor(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount }

extension LayerMetrics {
    init(_ layer: QuantizedModel.Layer, weightBits: Int) throws {
        let numbers = try layer.numbers()
        let shape = numbers.shape
        let count = shape.reduce(1, *), channels = shape[0], fan = count / channels
        let pixels = layer.kind == .conv2d ? layer.shape[1] * layer.shape[2] : 1
        let accBits = numbers.accumulatorBits
        name = layer.name
        outputs = channels * pixels
        macs = outputs * fan
        // M4: only the taps inside each channel's window are computed; M3: an approximated channel computes none
        // and costs one multiply-accumulate per source instead.
        let features = layer.approximatedFeatures
        let approximated = features?.channels ?? []
        let combinationMacs = features?.features.reduce(0) { $0 + $1.sources.count } ?? 0
        let live = (0..<channels).reduce(0) { sum, c in
            guard !approximated.contains(c) else { return sum }
            if let sizes = layer.kernelSizes, shape.count == 4 { return sum + shape[1] * sizes[c] * sizes[c] }
            return sum + fan
        }
        liveMacs = (live + combinationMacs) * pixels
        var reductions: [String] = []
        if layer.kernelSizes != nil { reductions.append("kernel") }
        if features != nil { reductions.append("feature") }
        let combinationBits = combinationMacs * (features?.coefficientBits ?? 0)
        paramsBefore = count + channels
        storageBitsBefore = count * weightBits + channels * (layer.compression?.originalAccumulatorBits ?? accBits)
        multipliesBefore = macs
        additionsBefore = macs
        permutationBits = 0
        smallMultiplies = 0
        shifts = 0
        let distinct = (0..<channels).filter { !approximated.contains($0) }.map {
            Set(numbers.weights[($0 * fan)..<(($0 + 1) * fan)].filter { $0 != 0 }).count
        }
        distinctWeights = distinct.max() ?? 0
        factoredMultiplies = distinct.reduce(0, +) * pixels
        guard let compression = layer.compression else {
            method = reductions.isEmpty ? "none" : reductions.joined(separator: "+")
            (paramsAfter, storageBitsAfter, multipliesAfter, additionsAfter) = (
                live + combinationMacs + channels,
                live * weightBits + combinationBits + channels * accBits,
                liveMacs, liveMacs
            )
            return
        }
        method = ([compression.method.rawValue] + reductions).joined(separator: "+")
        let plan = ReusePlan(compression, weightShape: shape)
        let (multiplies, small, additions, shiftCount) = Self.operations(plan)
        multipliesAfter = (multiplies + combinationMacs) * pixels
        smallMultiplies = small * pixels
        additionsAfter = (additions + combinationMacs) * pixels
        shifts = shiftCount * pixels
        switch try compression.form() {
        case .sorted(let m1):
            let groups = m1.groups
            let coefficients = groups.reduce(0) { $0 + $1.segments.reduce(0) { $0 + $1.coefficients.count } }
            paramsAfter = coefficients + channels + combinationMacs
            permutationBits = groups.reduce(0) {
                $0 + $1.order.count * bitsFor($1.order.count) + $1.segments.count * bitsFor($1.order.count + 1)
            }
            storageBitsAfter =
                coefficients * m1.coefficientBits + permutationBits + channels * accBits + combinationBits
        case .scaled(let m2):
            // Approximated channels store no codes or scale.
            let computed = channels - approximated.count
            paramsAfter = computed * fan + 2 * computed + approximated.count + combinationMacs
            storageBitsAfter =
                computed * fan * m2.codeBits + computed * m2.scaleBits + channels * accBits
                + combinationBits
        }
    }

    /// Per image pixel, the reuse form's operations: coefficient multiplies, small (constant or b-bit) multiplies,
    /// additions, and shifts (power-of-two codes).
    static func operations(_ plan: ReusePlan) -> (multiplies: Int, small: Int, additions: Int, shifts: Int) {
        var multiplies = 0, small = 0, additions = 0, shiftCount = 0
        for channel in plan.channels {
            switch channel {
            case .sorted(let parts):
                for part in parts {
                    let ops = part.operations(degree: plan.degree)
                    multiplies += ops.coefficientMultiplies; small += ops.constantMultiplies; additions += ops.additions
                }
            case .scaled(let scale, let codes):
                let used = codes.filter { $0 != 0 }
                if scale != 0 && !used.isEmpty {
                    multiplies += 1
                    additions += used.count
                    small +=
                        used.filter {
                            let m = abs($0); return m & (m - 1) != 0
                        }.count
                    shiftCount +=
                        used.filter {
                            let m = abs($0); return m > 1 && m & (m - 1) == 0
                        }.count
                }
            }
        }
        return (multiplies, small, additions, shiftCount)
    }
}
