import Foundation
import NetworkIR

/// A piecewise-linear activation on codes (docs/arithmetic.md section 10): the integer form of Sigmoid, Tanh,
/// LeakyRelu, HardSigmoid and Clip, and what NFU-3's activation table holds.
///
/// For a pre-activation code `x` (exponent `inputExponent`), the segment is `k = #{ j : x >= breakpoints[j] }`
/// and the output code is `clamp((slopes[k] * x + intercepts[k]) >> shift, -2^(A-1), 2^(A-1) - 1)` (the layer's
/// output exponent). The intercepts already hold the rounding constant `2^(shift-1)`.
public struct PiecewiseLinear: Codable, Equatable, Sendable {
    /// The float function it stands for (for the record; the numbers below define the arithmetic).
    public var function: String
    /// Exponent of the codes `x` the table reads.
    public var inputExponent: Int
    /// Ascending codes, one fewer than the segments.
    public var breakpoints: [Int]
    public var slopes: [Int]
    public var intercepts: [Int]
    public var shift: Int
    /// Signed widths that hold every slope and every intercept (what a circuit stores).
    public var slopeBits: Int
    public var interceptBits: Int

    public init(function: String, inputExponent: Int, breakpoints: [Int], slopes: [Int], intercepts: [Int], shift: Int)
    {
        self.function = function; self.inputExponent = inputExponent
        self.breakpoints = breakpoints; self.slopes = slopes; self.intercepts = intercepts; self.shift = shift
        slopeBits = FixedPoint.width(low: slopes.min() ?? 0, high: slopes.max() ?? 0)
        interceptBits = FixedPoint.width(low: intercepts.min() ?? 0, high: intercepts.max() ?? 0)
    }

    public var segments: Int { slopes.count }

    /// The segment of code `x`.
    @inline(__always)
    public func segment(_ x: Int) -> Int {
        var k = 0
        for t in breakpoints where x >= t { k += 1 }
        return k
    }

    /// The output code of `x`, saturated to `bits` bits.
    @inline(__always)
    public func apply(_ x: Int, bits: Int) -> Int {
        let k = segment(x)
        let y = (slopes[k] * x + intercepts[k]) >> shift
        let top = (1 << (bits - 1)) - 1
        return min(max(y, -top - 1), top)
    }

    /// The smallest and largest output code over the input codes `low ... high`.
    public func outputRange(low: Int, high: Int, bits: Int) -> (low: Int, high: Int) {
        var (lo, hi) = (Int.max, Int.min)
        for x in low...high {
            let y = apply(x, bits: bits)
            lo = min(lo, y); hi = max(hi, y)
        }
        return (lo, hi)
    }

    /// What the file must hold for the arithmetic to be well defined.
    public func check(activationBits: Int, maxSlopeBits: Int = PiecewiseLinear.maxSlopeBits) -> String? {
        guard !slopes.isEmpty, intercepts.count == slopes.count, breakpoints.count == slopes.count - 1 else {
            return
                "a table of \(slopes.count) slopes needs as many intercepts (\(intercepts.count)) and one breakpoint fewer (\(breakpoints.count))"
        }
        guard zip(breakpoints, breakpoints.dropFirst()).allSatisfy({ $0 < $1 }) else {
            return "breakpoints must ascend strictly"
        }
        let codes = FixedPoint.range(bits: activationBits)
        guard breakpoints.allSatisfy({ codes.contains($0) }) else {
            return "breakpoints must be \(activationBits)-bit codes"
        }
        guard (0...PiecewiseLinear.maxShift).contains(shift) else {
            return "shift \(shift) is outside 0...\(PiecewiseLinear.maxShift)"
        }
        guard slopeBits == FixedPoint.width(low: slopes.min()!, high: slopes.max()!),
            interceptBits == FixedPoint.width(low: intercepts.min()!, high: intercepts.max()!)
        else {
            return "slope_bits and intercept_bits must be the widths of the slopes and intercepts"
        }
        guard slopeBits <= maxSlopeBits, interceptBits <= PiecewiseLinear.maxInterceptBits else {
            return
                "slopes (\(slopeBits) bits) or intercepts (\(interceptBits) bits) exceed \(maxSlopeBits) and \(PiecewiseLinear.maxInterceptBits) bits"
        }
        return nil
    }

    public static let maxShift = 30
    public static let maxSlopeBits = 16
    public static let maxInterceptBits = 48

    // MARK: Fitting

    /// Fits `function` on the pre-activation codes of `activationBits` bits with exponent `inputExponent`, for output
    /// codes with exponent `outputExponent`, in at most `segments` pieces. Piecewise-linear functions get their kinks
    /// as breakpoints (exact up to the coefficients' rounding); smooth ones get equal pieces over the interval where
    /// they bend, plus one flat-ish piece on each side. Each piece is the least-squares line over its codes; the
    /// slopes are rounded to `slopeBits` bits with the largest shift that keeps them there.
    public static func fit(
        _ function: Activation, activationBits: Int, inputExponent: Int, outputExponent: Int,
        segments: Int, slopeBits: Int
    ) -> PiecewiseLinear {
        let codes = FixedPoint.range(bits: activationBits)
        let step = pow(2.0, Double(inputExponent))
        // Breakpoints: codes where a new piece starts.
        var starts: [Int] = []
        if let kinks = function.kinks {
            starts = kinks.map { Int(($0 / step).rounded(.up)) }
        } else if let curved = function.curvedRange {
            let low = max(Double(codes.lowerBound), curved.lowerBound / step)
            let high = min(Double(codes.upperBound), curved.upperBound / step)
            // Outer pieces where the codes reach beyond the curved interval, if the segments leave room for them
            // (otherwise the end pieces run on to the codes' ends).
            let (below, above) = (low > Double(codes.lowerBound), high < Double(codes.upperBound))
            let outer = (below ? 1 : 0) + (above ? 1 : 0)
            let withOuter = segments > outer
            let inner = withOuter ? segments - outer : max(1, segments)
            if withOuter && below { starts.append(Int(low.rounded(.up))) }
            for i in 1..<inner { starts.append(Int((low + (high - low) * Double(i) / Double(inner)).rounded())) }
            if withOuter && above { starts.append(Int(high.rounded(.down)) + 1) }
        }
        starts = Array(Set(starts.filter { $0 > codes.lowerBound && $0 <= codes.upperBound })).sorted()
        // Least-squares line per piece, in output codes per input code.
        let scale = pow(2.0, Double(-outputExponent))
        var lines: [(slope: Double, intercept: Double)] = []
        let bounds = [codes.lowerBound] + starts + [codes.upperBound + 1]
        for (first, end) in zip(bounds, bounds.dropFirst()) {
            var (n, sx, sy, sxx, sxy) = (0.0, 0.0, 0.0, 0.0, 0.0)
            for x in first..<end {
                let (u, v) = (Double(x), function.value(Double(x) * step) * scale)
                n += 1; sx += u; sy += v; sxx += u * u; sxy += u * v
            }
            let det = n * sxx - sx * sx
            let slope = det > 0 ? (n * sxy - sx * sy) / det : 0
            lines.append((slope, (sy - slope * sx) / n))
        }
        // The largest shift whose rounded slopes fit.
        let limit = Double((1 << (slopeBits - 1)) - 1)
        let steepest = lines.map { abs($0.slope) }.max() ?? 0
        // Beyond slopeBits + activationBits fraction bits a slope's rounding moves no output by 2^-slopeBits codes.
        var shift = min(maxShift, slopeBits + activationBits)
        while shift > 0 && (steepest * pow(2, Double(shift))).rounded() > limit { shift -= 1 }
        let unit = pow(2.0, Double(shift))
        let half = shift > 0 ? 1 << (shift - 1) : 0
        return PiecewiseLinear(
            function: function.description, inputExponent: inputExponent, breakpoints: starts,
            slopes: lines.map { Int(($0.slope * unit).rounded()) },
            intercepts: lines.map { Int(($0.intercept * unit).rounded()) + half }, shift: shift)
    }
}
