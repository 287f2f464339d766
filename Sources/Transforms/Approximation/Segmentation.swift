import Foundation

/// Where the segment boundaries of a sorted group go.
public enum Segmentation {
    /// `segments` lengths as equal as possible, the longer ones first.
    public static func equal(_ n: Int, segments: Int) -> [Int] {
        let parts = min(segments, n)
        return (0..<parts).map { n / parts + ($0 < n % parts ? 1 : 0) }
    }

    /// Segment lengths minimising the total squared error of the real least-squares fits, by dynamic
    /// programming over boundary candidates. Every rank is a candidate when the group has at most
    /// `candidates` ranks; larger groups use `candidates` evenly spaced ones (so a 48,000-weight layer costs
    /// `candidates^2` segment evaluations, not n^2).
    ///
    /// Segment costs come from moments accumulated from each candidate start in coordinates local to that
    /// start (no differences of large prefix sums, which would cancel for short segments), and the normal
    /// equations are solved in t / length so that they stay well conditioned.
    public static func optimal(_ sorted: [Double], segments: Int, degree: PolynomialDegree, candidates: Int = 384)
        -> [Int]
    {
        let n = sorted.count
        let parts = min(segments, n)
        guard parts > 1 else { return [n] }
        let g = min(n, max(candidates, parts))
        // Candidate boundary ranks 0 = b[0] < b[1] < ... < b[g] = n.
        let grid = (0...g).map { Int((Double($0) * Double(n) / Double(g)).rounded(.down)) }
        let terms = degree.rawValue + 1
        // cost[i * (g + 1) + k]: squared error of one segment over ranks grid[i] ..< grid[k].
        var cost = [Double](repeating: 0, count: (g + 1) * (g + 1))
        let mean = sorted.reduce(0, +) / Double(n)
        for i in 0..<g {
            var moments = [Double](repeating: 0, count: 2 * terms - 1)  // sum t^p, p = 0 ... 2*degree
            var projections = [Double](repeating: 0, count: terms)  // sum t^p * y
            var squares = 0.0
            var k = i + 1
            for rank in grid[i]..<n {
                let t = Double(rank - grid[i]), y = sorted[rank] - mean
                var power = 1.0
                for p in 0..<(2 * terms - 1) {
                    moments[p] += power
                    if p < terms { projections[p] += power * y }
                    power *= t
                }
                squares += y * y
                if rank + 1 == grid[k] {
                    cost[i * (g + 1) + k] = residual(
                        moments: moments, projections: projections, squares: squares,
                        length: rank + 1 - grid[i], terms: terms)
                    k += 1
                }
            }
        }
        // best[s][k]: least error of s + 1 segments covering ranks 0 ..< grid[k].
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: g + 1), count: parts)
        var from = [[Int]](repeating: [Int](repeating: 0, count: g + 1), count: parts)
        for k in 1...g { best[0][k] = cost[k] }
        for s in 1..<parts {
            for k in (s + 1)...g {
                for i in s..<k where best[s - 1][i] + cost[i * (g + 1) + k] < best[s][k] {
                    best[s][k] = best[s - 1][i] + cost[i * (g + 1) + k]
                    from[s][k] = i
                }
            }
        }
        var ends = [g]
        var k = g
        for s in stride(from: parts - 1, to: 0, by: -1) {
            k = from[s][k]
            ends.append(k)
        }
        let bounds = [0] + ends.reversed().map { grid[$0] }
        return zip(bounds.dropFirst(), bounds).map { $0 - $1 }
    }

    /// Squared error of the least-squares polynomial with `terms` (2 or 3) coefficients, from the moments in
    /// local t. Solved without allocation (it runs for every candidate pair): the normal equations in
    /// u = t / length, by symmetric elimination.
    @inline(__always)
    static func residual(moments m: [Double], projections y: [Double], squares: Double, length: Int, terms: Int)
        -> Double
    {
        guard length > terms else { return 0 }
        // A constant: what the mean leaves.
        if terms == 1 { return max(0, squares - y[0] * y[0] / m[0]) }
        let l = Double(length), l2 = l * l
        // Sums of u^p and u^p * y.
        let a0 = m[0], a1 = m[1] / l, a2 = m[2] / l2
        let p0 = y[0], p1 = y[1] / l
        if terms == 2 {
            let det = a0 * a2 - a1 * a1
            guard det > 0 else { return max(0, squares - p0 * p0 / a0) }
            let b0 = (p0 * a2 - p1 * a1) / det, b1 = (a0 * p1 - a1 * p0) / det
            return max(0, squares - b0 * p0 - b1 * p1)
        }
        let a3 = m[3] / (l2 * l), a4 = m[4] / (l2 * l2), p2 = y[2] / l2
        // Eliminate u^0, then u^1, from the symmetric 3x3 system [a0 a1 a2; a1 a2 a3; a2 a3 a4] b = p.
        let r11 = a2 - a1 * a1 / a0, r12 = a3 - a1 * a2 / a0, r22 = a4 - a2 * a2 / a0
        let q1 = p1 - a1 * p0 / a0, q2 = p2 - a2 * p0 / a0
        let s22 = r22 - r12 * r12 / r11, t2 = q2 - r12 * q1 / r11
        // explained = p0^2/a0 + q1^2/r11 + t2^2/s22 (the squared norms of the orthogonalized projections).
        var explained = p0 * p0 / a0
        if r11 > 1e-300 { explained += q1 * q1 / r11 }
        if s22 > 1e-300 { explained += t2 * t2 / s22 }
        return max(0, squares - explained)
    }
}
