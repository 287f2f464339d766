/// Dense linear least squares for the data-driven fits of M3 and M4: minimise ||A x - b||^2 over `columns`
/// unknowns from rows streamed in, through the normal equations A^T A x = A^T b solved by Cholesky. The
/// systems are small (at most a few hundred unknowns: a kernel's taps, or a layer's kept features) and the rows
/// many (calibration windows), so accumulating A^T A once is the cheap way. A tiny ridge (1e-13 of the mean
/// diagonal) keeps a rank-deficient system solvable; it moves a well-conditioned solution by about the ridge over
/// the smallest eigenvalue of A^T A (1e-11 relative on the line fit of the tests).
public struct NormalEquations: Sendable {
    public let columns: Int
    /// A^T A (row-major, full) and A^T b for each right-hand side.
    private(set) var gram: [Double]
    private(set) var moments: [[Double]]
    public private(set) var rows = 0

    public init(columns: Int, rightHandSides: Int = 1) {
        self.columns = columns
        gram = [Double](repeating: 0, count: columns * columns)
        moments = [[Double]](repeating: [Double](repeating: 0, count: columns), count: rightHandSides)
    }

    /// Adds one row `a` (length `columns`) with its targets `b` (one per right-hand side).
    public mutating func add(_ a: [Double], _ b: [Double]) {
        precondition(a.count == columns && b.count == moments.count)
        for i in 0..<columns where a[i] != 0 {
            let ai = a[i]
            for j in i..<columns { gram[i * columns + j] += ai * a[j] }
            for r in moments.indices { moments[r][i] += ai * b[r] }
        }
        rows += 1
    }

    /// The solution for each right-hand side.
    public func solve() -> [[Double]] {
        let n = columns
        var l = [Double](repeating: 0, count: n * n)
        var trace = 0.0
        for i in 0..<n { trace += gram[i * n + i] }
        let ridge = max(trace / Double(max(n, 1)), 1e-300) * 1e-13
        // Cholesky of the (upper-stored) Gram matrix plus the ridge.
        for j in 0..<n {
            var d = gram[j * n + j] + ridge
            for k in 0..<j { d -= l[j * n + k] * l[j * n + k] }
            let diagonal = d > 0 ? d.squareRoot() : 1e-150
            l[j * n + j] = diagonal
            for i in (j + 1)..<max(n, j + 1) {
                var s = gram[j * n + i]
                for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                l[i * n + j] = s / diagonal
            }
        }
        return moments.map { b in
            var y = b
            for i in 0..<n {
                for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
                y[i] /= l[i * n + i]
            }
            for i in stride(from: n - 1, through: 0, by: -1) {
                for k in (i + 1)..<max(n, i + 1) { y[i] -= l[k * n + i] * y[k] }
                y[i] /= l[i * n + i]
            }
            return y
        }
    }
}
