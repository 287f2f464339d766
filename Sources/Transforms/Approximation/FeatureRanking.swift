import Foundation

/// Ranking of a layer's output features (channels) by how much each adds to the span of the others, for
/// feature approximation (M3, DESIGN.md section 2): QR with column pivoting of the filter matrix whose columns
/// are the features' flattened kernels. The feature picked last is the one best reproduced by a linear
/// combination of those picked before it.
public enum FeatureRanking {
    /// Businger-Golub QR with column pivoting of the `rows x columns` matrix `a` (row-major): the column order,
    /// most independent first, and the magnitudes |R_kk| of the pivots (non-increasing). Householder
    /// reflections in Double; column norms are recomputed, not downdated, so they do not drift.
    public static func pivotedQR(_ a: [Double], rows: Int, columns: Int) -> (order: [Int], pivots: [Double]) {
        precondition(a.count == rows * columns)
        var m = a
        var order = Array(0..<columns)
        var pivots: [Double] = []
        for k in 0..<min(rows, columns) {
            // The remaining column with the largest norm below row k.
            var best = k, bestNorm = -1.0
            for j in k..<columns {
                var norm = 0.0
                for i in k..<rows { norm += m[i * columns + j] * m[i * columns + j] }
                if norm > bestNorm { (best, bestNorm) = (j, norm) }
            }
            if best != k {
                for i in 0..<rows { m.swapAt(i * columns + k, i * columns + best) }
                order.swapAt(k, best)
            }
            let norm = bestNorm.squareRoot()
            pivots.append(norm)
            guard norm > 0 else { continue }
            // Householder reflection v that maps column k below row k onto -sign * norm * e_k.
            let alpha = m[k * columns + k] >= 0 ? -norm : norm
            var v = (k..<rows).map { m[$0 * columns + k] }
            v[0] -= alpha
            let vv = v.reduce(0) { $0 + $1 * $1 }
            guard vv > 0 else { continue }
            for j in k..<columns {
                var dot = 0.0
                for i in k..<rows { dot += v[i - k] * m[i * columns + j] }
                let f = 2 * dot / vv
                for i in k..<rows { m[i * columns + j] -= f * v[i - k] }
            }
        }
        // Features beyond the rank of a wide matrix come last, in their remaining order, with pivot 0.
        while pivots.count < columns { pivots.append(0) }
        return (order, pivots)
    }

    /// The features of a conv or dense layer ranked most independent first, from its weights in IR order
    /// (`[M, C, kH, kW]` or `[out, in]`): each feature's kernel is one column.
    public static func rank(weights: [Double], features: Int) -> (order: [Int], pivots: [Double]) {
        let size = weights.count / features
        // Column j of the matrix is feature j's kernel: element (i, j) = weights[j * size + i].
        var matrix = [Double](repeating: 0, count: size * features)
        for j in 0..<features { for i in 0..<size { matrix[i * features + j] = weights[j * size + i] } }
        return pivotedQR(matrix, rows: size, columns: features)
    }
}
