import Quantization

/// A compressed layer laid out for its reuse form (docs/arithmetic.md section 7): what the golden model runs,
/// and what the metrics count. Channel c's accumulator is
///
///     M1:  acc_c = b_c + sum over parts (C0 * X + C1 * J + C2 * Q),   X = sum x, J = sum j*x, Q = sum j^2*x
///     M2:  acc_c = b_c + scale_c * sum_k code_k * x_k
///
/// where a part is the members of one segment that feed channel c, x their inputs and j their rank offsets in
/// the segment. All of it is exact integer arithmetic: the result equals the dense product with the
/// approximated weights.
public struct ReusePlan: Sendable {
    /// The members of one segment that feed one channel, ranks ascending.
    public struct Part: Sendable {
        public var coefficients: [Int]
        /// Input positions (index into the channel's fan-in: im2col row or input feature), by rank.
        public var inputs: [Int]
        /// Rank offsets j of the members within their segment, ascending.
        public var offsets: [Int]
        /// True when the offsets are 0, 1, 2, ...: the moments then need additions only (suffix sums).
        public var contiguous: Bool

        public init(coefficients: [Int], inputs: [Int], offsets: [Int], contiguous: Bool) {
            self.coefficients = coefficients; self.inputs = inputs; self.offsets = offsets; self.contiguous = contiguous
        }
    }

    public enum Channel: Sendable {
        case sorted([Part])
        case scaled(scale: Int, codes: [Int])
    }

    public var channels: [Channel]
    public var degree: Int

    public init(_ compression: Compression, weightShape: [Int]) {
        let channels = weightShape[0], fan = weightShape.reduce(1, *) / channels
        switch compression.method {
        case .linear, .quadratic:
            degree = compression.method == .linear ? 1 : 2
            var parts = [[Part]](repeating: [], count: channels)
            for group in compression.groups ?? [] {
                for segment in group.segments {
                    // Members of this segment, split by the channel they feed (ranks stay ascending).
                    var byChannel = [Int: Part]()
                    for j in 0..<segment.count {
                        let index = group.order[segment.start + j]
                        byChannel[
                            index / fan,
                            default: Part(coefficients: segment.coefficients, inputs: [], offsets: [], contiguous: true)
                        ]
                        .append(input: index % fan, offset: j)
                    }
                    for (c, part) in byChannel.sorted(by: { $0.key < $1.key }) { parts[c].append(part) }
                }
            }
            self.channels = parts.map { .sorted($0) }
        case .swc:
            degree = 0
            let scales = compression.scales ?? [], codes = compression.codes ?? []
            self.channels = (0..<channels).map {
                .scaled(scale: scales[$0], codes: Array(codes[($0 * fan)..<(($0 + 1) * fan)]))
            }
        }
    }
}

extension ReusePlan.Part {
    mutating func append(input: Int, offset: Int) {
        contiguous = contiguous && offset == offsets.count
        inputs.append(input)
        offsets.append(offset)
    }

    /// Adds C0*X + C1*J + C2*Q of this part to `acc[0 ..< lanes]`, for `lanes` independent evaluations (the
    /// output pixels of a convolution; 1 for a dense layer): input k of lane p is `row(k)[p]`.
    ///
    /// The moments are accumulated the way the hardware does, from the highest rank down: a running suffix sum
    /// S_u = sum_{t >= u} x_t, then J = sum_u d_u * S_u and Q = sum_u e_u * S_u with d_u and e_u the steps of j and
    /// j^2 between consecutive members. Contiguous parts (d_u = 1) use additions only, Q through the second-order
    /// suffix sums (Q = 2 * sum_u T_u - J, T_u = sum_{v >= u} S_v). Wrapping arithmetic: the final accumulator
    /// fits its width, so any intermediate overflow cancels. `scratch` holds 4 * lanes values.
    @inline(__always)
    public func accumulate<T: FixedWidthInteger>(
        degree: Int, lanes: Int, row: (Int) -> UnsafePointer<T>,
        into acc: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>
    ) {
        let sum = scratch, first = scratch + lanes, running = scratch + 2 * lanes, second = scratch + 3 * lanes
        scratch.update(repeating: 0, count: 4 * lanes)
        let last = inputs.count - 1
        if contiguous {
            var u = last
            while u >= 1 {
                let x = row(inputs[u])
                if degree == 2 {
                    for p in 0..<lanes {
                        sum[p] &+= x[p]; first[p] &+= sum[p]; running[p] &+= sum[p]; second[p] &+= running[p]
                    }
                } else {
                    for p in 0..<lanes { sum[p] &+= x[p]; first[p] &+= sum[p] }
                }
                u -= 1
            }
            let x = row(inputs[0])
            for p in 0..<lanes { sum[p] &+= x[p] }
            if degree == 2 { for p in 0..<lanes { second[p] = 2 &* second[p] &- first[p] } }
        } else {
            var u = last
            while u >= 0 {
                let x = row(inputs[u])
                let j = offsets[u], previous = u > 0 ? offsets[u - 1] : 0
                let d = T(truncatingIfNeeded: j - previous), e = T(truncatingIfNeeded: j * j - previous * previous)
                for p in 0..<lanes {
                    sum[p] &+= x[p]; first[p] &+= d &* sum[p]
                    if degree == 2 { second[p] &+= e &* sum[p] }
                }
                u -= 1
            }
        }
        let c0 = T(truncatingIfNeeded: coefficients[0]), c1 = T(truncatingIfNeeded: coefficients[1])
        let c2 = degree == 2 ? T(truncatingIfNeeded: coefficients[2]) : 0
        for p in 0..<lanes { acc[p] &+= c0 &* sum[p] &+ c1 &* first[p] &+ c2 &* second[p] }
    }

    /// Operations of one evaluation of the part, as `moments` performs them (every addition into a running sum
    /// counts, the first one too, as the dense baseline counts its `fan` additions into the bias): additions,
    /// multiplications by the step constants d_u, e_u other than 0 and 1 (none for contiguous parts), the
    /// coefficient multiplies and the additions that combine them (nonzero coefficients only).
    public func operations(degree: Int) -> (additions: Int, constantMultiplies: Int, coefficientMultiplies: Int) {
        let t = inputs.count
        let used = coefficients.prefix(degree + 1).filter { $0 != 0 }.count
        if contiguous {
            return ((degree == 2 ? 4 * t - 2 : 2 * t - 1) + used, 0, used)
        }
        var additions = t, constants = 0
        for u in 0..<t {
            let j = offsets[u], previous = u > 0 ? offsets[u - 1] : 0
            for step in degree == 2 ? [j - previous, j * j - previous * previous] : [j - previous] where step != 0 {
                additions += 1
                if step != 1 { constants += 1 }
            }
        }
        return (additions + used, constants, used)
    }
}

extension ReusePlan.Channel {
    /// Adds this channel's products (without the bias) to `acc[0 ..< lanes]`; input k of lane p is `row(k)[p]`.
    /// M2: the inner sum of code * x (shifts and adds in hardware), then one multiply by the scale.
    @inline(__always)
    public func accumulate<T: FixedWidthInteger>(
        degree: Int, lanes: Int, row: (Int) -> UnsafePointer<T>,
        into acc: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>
    ) {
        switch self {
        case .sorted(let parts):
            for part in parts { part.accumulate(degree: degree, lanes: lanes, row: row, into: acc, scratch: scratch) }
        case .scaled(let scale, let codes):
            let inner = scratch
            inner.update(repeating: 0, count: lanes)
            for (k, code) in codes.enumerated() where code != 0 {
                let x = row(k), w = T(truncatingIfNeeded: code)
                for p in 0..<lanes { inner[p] &+= w &* x[p] }
            }
            let m = T(truncatingIfNeeded: scale)
            for p in 0..<lanes { acc[p] &+= m &* inner[p] }
        }
    }
}
