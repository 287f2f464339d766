import Foundation
import Quantization

/// Degree of the per-segment polynomial of method M1 (DESIGN.md section 2).
public enum PolynomialDegree: Int, Sendable, Codable, CaseIterable {
    /// One value per segment (C1 = 0, stored as a linear segment): a group has at most as many distinct weights
    /// as segments, the repetition that factored hardware multiplies once (docs/arithmetic.md section 7.1).
    case constant = 0
    case linear = 1
    case quadratic = 2
}

/// How the ranks of a group are cut into segments.
public enum Boundaries: String, Sendable, CaseIterable {
    /// Equal-size segments.
    case equal
    /// The boundaries that minimise the squared error of the real least-squares fits (dynamic programming).
    case optimal
}

/// Method M1 on one group of weights: sort, cut the ranks into segments, fit a polynomial per segment, round
/// its coefficients to integers. The approximated weights are *defined* by the integer coefficients, so the
/// reuse form of a dot product (GoldenModel's ReusePlan) equals the dense product with `weights()` bit for bit.
///
/// Values are given in the integer domain the coefficients live in (the caller picks its exponent).
public struct SortedWeightFit: Equatable, Sendable {
    public var degree: PolynomialDegree
    /// `order[rank]` is the index of the weight with that rank (ascending, ties by index).
    public var order: [Int]
    public var segments: [Segment]

    /// Fits `values` with `segmentCount` segments: equal-size (the first `count % segmentCount` one rank longer)
    /// or with the boundaries that minimise the squared error of the real fit (`Segmentation.optimal`).
    public static func fit(
        _ values: [Double], segments segmentCount: Int, degree: PolynomialDegree,
        boundaries: Boundaries = .equal
    ) -> SortedWeightFit {
        precondition(!values.isEmpty && segmentCount >= 1)
        let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
        let sorted = order.map { values[$0] }
        let counts =
            boundaries == .equal
            ? Segmentation.equal(sorted.count, segments: segmentCount)
            : Segmentation.optimal(sorted, segments: segmentCount, degree: degree)
        return fit(sorted: sorted, order: order, counts: counts, degree: degree)
    }

    /// Fits `values` with the given segment sizes, in rank order.
    public static func fit(_ values: [Double], counts: [Int], degree: PolynomialDegree) -> SortedWeightFit {
        let order = values.indices.sorted { values[$0] < values[$1] || (values[$0] == values[$1] && $0 < $1) }
        return fit(sorted: order.map { values[$0] }, order: order, counts: counts, degree: degree)
    }

    /// Fits already sorted values with the given segment lengths.
    static func fit(sorted: [Double], order: [Int], counts: [Int], degree: PolynomialDegree) -> SortedWeightFit {
        var segments: [Segment] = []
        var start = 0
        for count in counts {
            segments.append(
                Segment(
                    start: start, count: count,
                    coefficients: fitSegment(Array(sorted[start..<(start + count)]), degree: degree)))
            start += count
        }
        return SortedWeightFit(degree: degree, order: order, segments: segments)
    }

    /// Least-squares polynomial in j = 0..<n with integer coefficients, rounded from the highest power down:
    /// C2 from the full quadratic fit, then C1 from the line that best fits what C2 leaves, then C0 as the
    /// rounded mean of the rest. Refitting after each rounding keeps the rounding of one coefficient from
    /// skewing the others (a quadratic whose C2 rounds to 0 is exactly the linear fit).
    static func fitSegment(_ y: [Double], degree: PolynomialDegree) -> [Int] {
        let n = y.count
        var c2 = 0
        if degree == .quadratic && n >= 3 {
            c2 = Int(leastSquares(y, terms: 3)[2].rounded())
        }
        let afterC2 = y.enumerated().map { $1 - Double(c2 * $0 * $0) }
        let c1 = n >= 2 && degree != .constant ? Int(leastSquares(afterC2, terms: 2)[1].rounded()) : 0
        let c0 = Int((afterC2.enumerated().map { $1 - Double(c1 * $0) }.reduce(0, +) / Double(n)).rounded())
        return degree == .quadratic ? [c0, c1, c2] : [c0, c1]
    }

    /// Real least-squares coefficients of powers of j (j = 0..<n), solved in j centred on the segment's middle
    /// (for conditioning) and converted back.
    static func leastSquares(_ y: [Double], terms: Int) -> [Double] {
        let n = y.count
        let centre = Double(n - 1) / 2
        var a = [[Double]](repeating: [Double](repeating: 0, count: terms + 1), count: terms)
        for (j, v) in y.enumerated() {
            let t = Double(j) - centre
            let powers = (0..<terms).map { pow(t, Double($0)) }
            for r in 0..<terms {
                for c in 0..<terms { a[r][c] += powers[r] * powers[c] }
                a[r][terms] += powers[r] * v
            }
        }
        for pivot in 0..<terms {
            let best = (pivot..<terms).max { abs(a[$0][pivot]) < abs(a[$1][pivot]) }!
            a.swapAt(pivot, best)
            guard abs(a[pivot][pivot]) > 1e-12 else { continue }
            for r in 0..<terms where r != pivot {
                let f = a[r][pivot] / a[pivot][pivot]
                for c in pivot...terms { a[r][c] -= f * a[pivot][c] }
            }
        }
        let p = (0..<terms).map { abs(a[$0][$0]) > 1e-12 ? a[$0][terms] / a[$0][$0] : 0 }
        // p0 + p1*t + p2*t^2 with t = j - centre, as powers of j.
        var b = [Double](repeating: 0, count: terms)
        b[0] = p[0] - (terms > 1 ? p[1] * centre : 0) + (terms > 2 ? p[2] * centre * centre : 0)
        if terms > 1 { b[1] = p[1] - (terms > 2 ? 2 * p[2] * centre : 0) }
        if terms > 2 { b[2] = p[2] }
        return b
    }

    /// The approximated weights in the original index order.
    public func weights() -> [Int] {
        var result = [Int](repeating: 0, count: order.count)
        for segment in segments {
            for j in 0..<segment.count { result[order[segment.start + j]] = segment.value(at: j) }
        }
        return result
    }

    /// Sum of squared differences between `values` and the approximated weights.
    public func squaredError(_ values: [Double]) -> Double {
        zip(values, weights()).reduce(0) { $0 + ($1.0 - Double($1.1)) * ($1.0 - Double($1.1)) }
    }
}
