import GoldenModel
import Quantization
import Verilog

/// The reuse array for a compressed layer (docs/arithmetic.md section 7, docs/rtl.md "Layer units").
///
/// Work is split in steps, one output channel per step, in two stages that overlap: in step s the **scan** of
/// every lane runs over channel s's members, adders only (M1: suffix sums S, J and for quadratics R, Q in
/// descending rank order, the permutation being the address sequence of the member ROM; M2: the inner sum of
/// code * x), and writes each part's moments into one bank of the lane's moment memory; meanwhile the **pool**
/// of `multipliers` coefficient multipliers takes channel s-1's moments from the other bank:
/// acc = bias + sum over parts of C0*X + C1*J + C2*Q (M2: bias + scale * inner sum), then requantizes. A step
/// lasts max(ScanLength + 2, Walk + 3) cycles (ScanLength: the weights per channel, the fan-in unless M4 cut it), Walk = (Lanes / Multipliers) * Parts * Terms the pool's products per
/// multiplier; a batch takes (Channels + 1) steps.
struct ReuseArray {
    let numbers: LayerNumbers
    let lanes: Int
    let multipliers: Int
    let name: String

    /// How the scan forms its moments.
    enum Scan {
        /// M1 with every part's ranks contiguous: additions only.
        case contiguous(degree: Int)
        /// M1 with gaps between a channel's ranks (layer groups): J += d * S, Q += e * S with ROM constants.
        case gapped(degree: Int, dWidth: Int, eWidth: Int)
        /// M2: inner sum of code * x with b-bit codes.
        case uniform(codeWidth: Int)
        /// M2 with power-of-two codes: shifts of x.
        case powerOfTwo(exponentWidth: Int)
    }

    struct Layout {
        var scan: Scan
        /// Parts (segment pieces) per channel, padded to the largest; coefficient terms per part.
        var parts: Int
        var terms: Int
        var coefficientWidth: Int
        /// Member ROM words (M1) or code ROM words (M2), channel-major, in scan order.
        var scanWords: [Int]
        var scanWidth: Int
        /// Coefficients (M1: C0, C1[, C2] per part) or scales (M2), channel-major; padding parts are absent.
        var coefficients: [Int?]
        /// Some channel has fewer parts than `parts`: the coefficient word carries a present bit, so that the pool
        /// never multiplies a moment slot that this channel did not write.
        var padded: Bool { coefficients.contains(nil) }
        /// Width of each moment (M1: X, J[, Q]; M2: the inner sum) and, for contiguous quadratics, of the running
        /// sums R and Q' = sum R: the smallest that holds its bound over every part (docs/rtl.md), at most the
        /// accumulator width (where wrapping is allowed anyway).
        var momentWidths: [Int]
        /// Members each channel's scan walks: the fan-in, or fewer after M4 (the taps outside the windows are not
        /// weights); every channel the same.
        var scanLength: Int
        var runningWidths: (r: Int, qPrime: Int) = (0, 0)
    }

    static func layout(_ numbers: LayerNumbers) throws -> Layout {
        guard let plan = numbers.plan, let compression = numbers.compression else {
            throw GeneratorError(
                layer: numbers.layer.name,
                "the layer is not compressed; --arch reuse needs a layer compressed with linear, quadratic or swc")
        }
        switch compression.method {
        case .linear, .quadratic: return try sortedLayout(numbers, plan: plan, compression: compression)
        case .swc: return scaledLayout(numbers, plan: plan, compression: compression)
        }
    }

    /// What the sorted parts of an M1 layer need: parts per channel, whether every part's ranks are contiguous,
    /// the largest rank steps d and e, the longest part and the highest rank.
    struct RankStatistics {
        var parts = 1, contiguous = true, maxD = 0, maxE = 0, longest = 1, highestRank = 0

        init(_ plan: ReusePlan) {
            for channel in plan.channels {
                guard case .sorted(let list) = channel else { continue }
                parts = max(parts, list.count)
                for part in list {
                    contiguous = contiguous && part.contiguous
                    longest = max(longest, part.inputs.count)
                    highestRank = max(highestRank, part.offsets.last ?? 0)
                    for u in part.offsets.indices {
                        let j = part.offsets[u], previous = u > 0 ? part.offsets[u - 1] : 0
                        maxD = max(maxD, j - previous); maxE = max(maxE, j * j - previous * previous)
                    }
                }
            }
        }
    }

    /// M1: member words in scan order, coefficients per part, and the moments' widths from their bounds.
    static func sortedLayout(_ numbers: LayerNumbers, plan: ReusePlan, compression: Compression) throws -> Layout {
        let degree = plan.degree
        let stats = RankStatistics(plan)
        let addressBits = unsignedBits(numbers.fan - 1), slotBits = unsignedBits(stats.parts - 1)
        let dWidth = unsignedBits(stats.maxD), eWidth = degree == 2 ? unsignedBits(stats.maxE) : 0
        let scan: Scan =
            stats.contiguous ? .contiguous(degree: degree) : .gapped(degree: degree, dWidth: dWidth, eWidth: eWidth)
        let extra = stats.contiguous ? 0 : dWidth + eWidth
        let (words, coefficients, scanLength) = try memberWords(numbers, plan: plan, stats: stats, dWidth: dWidth)
        // Bounds with T members per part, ranks up to j, inputs up to m in magnitude: |X| <= T m; the running
        // J = sum d_u S_u <= j T m; contiguous R_u <= T^2 m, Q' = sum R_u <= T^3 m, Q = 2 Q' - J;
        // gapped Q = sum e_u S_u <= j^2 T m.
        let m = numbers.inputMagnitude, t = stats.longest, j = max(stats.highestRank, 1)
        let acc = numbers.accumulatorWidth
        var widths = [boundWidth(t * m, acc), boundWidth(j * t * m, acc)]
        var layout = Layout(
            scan: scan, parts: stats.parts, terms: degree + 1, coefficientWidth: compression.coefficientBits ?? 16,
            scanWords: words, scanWidth: addressBits + 2 + slotBits + extra, coefficients: coefficients,
            momentWidths: [],
            scanLength: scanLength)
        if degree == 2 {
            if stats.contiguous {
                widths.append(boundWidth(2 * t * t * t * m + j * t * m, acc))
                layout.runningWidths = (boundWidth(t * t * m, acc), boundWidth(t * t * t * m, acc))
            } else {
                widths.append(boundWidth(j * j * t * m, acc))
            }
        }
        layout.momentWidths = widths
        return layout
    }

    /// The member ROM ({rank steps, slot, last, first, input address} per member, descending rank within each
    /// part), the coefficients per part slot (nil where a channel has fewer parts), and the members per channel.
    static func memberWords(_ numbers: LayerNumbers, plan: ReusePlan, stats: RankStatistics, dWidth: Int) throws
        -> (words: [Int], coefficients: [Int?], scanLength: Int)
    {
        let degree = plan.degree
        let addressBits = unsignedBits(numbers.fan - 1), slotBits = unsignedBits(stats.parts - 1)
        var words: [Int] = [], coefficients: [Int?] = []
        var scanLength = 0
        for (c, channel) in plan.channels.enumerated() {
            guard case .sorted(let list) = channel else { continue }
            var members = 0
            for (slot, part) in list.enumerated() {
                // Descending rank: the suffix sums grow from the top of the segment down.
                for u in stride(from: part.inputs.count - 1, through: 0, by: -1) {
                    let j = part.offsets[u], previous = u > 0 ? part.offsets[u - 1] : 0
                    var word = part.inputs[u]
                    word |= (u == part.inputs.count - 1 ? 1 : 0) << addressBits
                    word |= (u == 0 ? 1 : 0) << (addressBits + 1)
                    word |= slot << (addressBits + 2)
                    if !stats.contiguous {
                        word |= (j - previous) << (addressBits + 2 + slotBits)
                        if degree == 2 {
                            word |= (j * j - previous * previous) << (addressBits + 2 + slotBits + dWidth)
                        }
                    }
                    words.append(word)
                    members += 1
                }
            }
            if c == 0 { scanLength = members }
            guard members == scanLength else {
                throw GeneratorError(
                    layer: numbers.layer.name,
                    "channel \(c) has \(members) weights, channel 0 \(scanLength): the reuse array needs every channel alike"
                )
            }
            for slot in 0..<stats.parts {
                for t in 0...degree { coefficients.append(slot < list.count ? list[slot].coefficients[t] : nil) }
            }
        }
        return (words, coefficients, scanLength)
    }

    /// M2: the codes (or, with power-of-two codes, {zero, negative, exponent} words) and one scale per channel.
    static func scaledLayout(_ numbers: LayerNumbers, plan: ReusePlan, compression: Compression) -> Layout {
        var codes: [Int] = [], scales: [Int?] = []
        for channel in plan.channels {
            guard case .scaled(let scale, let list) = channel else { continue }
            codes += list
            scales.append(scale)
        }
        let scaleWidth = compression.scaleBits ?? 12
        if compression.codebook == .pow2 {
            // {zero, negative, exponent}: the code is 0, or +-2^exponent.
            let exponentWidth = unsignedBits(codes.map { $0 == 0 ? 0 : abs($0).trailingZeroBitCount }.max() ?? 0)
            let words = codes.map { code in
                code == 0
                    ? 1 << (exponentWidth + 1) : (code < 0 ? 1 << exponentWidth : 0) | abs(code).trailingZeroBitCount
            }
            return Layout(
                scan: .powerOfTwo(exponentWidth: exponentWidth), parts: 1, terms: 1, coefficientWidth: scaleWidth,
                scanWords: words, scanWidth: exponentWidth + 2, coefficients: scales,
                momentWidths: [innerWidth(codes, numbers)], scanLength: numbers.fan)
        }
        let codeWidth = signedBits(codes.min() ?? 0, codes.max() ?? 0)
        return Layout(
            scan: .uniform(codeWidth: codeWidth), parts: 1, terms: 1, coefficientWidth: scaleWidth,
            scanWords: codes, scanWidth: codeWidth, coefficients: scales, momentWidths: [innerWidth(codes, numbers)],
            scanLength: numbers.fan)
    }

    /// Signed width holding -bound ... bound, at most `limit`.
    static func boundWidth(_ bound: Int, _ limit: Int) -> Int { min(limit, FixedPoint.width(low: -bound, high: bound)) }

    /// M2's inner sum: |sum code * x| <= sum |code| * m over the worst channel.
    static func innerWidth(_ codes: [Int], _ numbers: LayerNumbers) -> Int {
        var worst = 0
        for c in 0..<numbers.channels {
            worst = max(worst, codes[(c * numbers.fan)..<((c + 1) * numbers.fan)].reduce(0) { $0 + abs($1) })
        }
        return boundWidth(worst * numbers.inputMagnitude, numbers.accumulatorWidth)
    }
}
