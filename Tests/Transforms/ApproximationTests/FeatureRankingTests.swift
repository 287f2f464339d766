import Approximation
import TestSupport
import XCTest

final class FeatureRankingTests: XCTestCase {
    /// A feature that is an exact combination of two others is ranked last with a zero pivot; the pivots do not
    /// increase; and the product of the pivots is |det| of a square matrix (computed here by cofactors).
    func testDependentFeaturesComeLast() {
        var random = TestRandom(seed: 41)
        let size = 9, features = 5
        var kernels = (0..<features).map { _ in random.array(size).map(Double.init) }
        kernels[2] = zip(kernels[0], kernels[4]).map { 2 * $0 - 0.5 * $1 }
        let ranking = FeatureRanking.rank(weights: kernels.flatMap { $0 }, features: features)
        XCTAssertEqual(ranking.order.count, features)
        XCTAssertEqual(Set(ranking.order), Set(0..<features))
        XCTAssertEqual(ranking.pivots.last!, 0, accuracy: 1e-9)
        XCTAssertTrue(
            [0, 2, 4].contains(ranking.order.last!), "the dependent triple supplies the last feature: \(ranking.order)")
        for (a, b) in zip(ranking.pivots, ranking.pivots.dropFirst()) { XCTAssertGreaterThanOrEqual(a + 1e-12, b) }
        // The first pivot is the largest column norm.
        let norms = kernels.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        XCTAssertEqual(ranking.pivots[0], norms.max()!, accuracy: 1e-12)
        XCTAssertEqual(ranking.order[0], norms.firstIndex(of: norms.max()!)!)
    }

    func testPivotProductIsTheDeterminantOfASquareMatrix() {
        var random = TestRandom(seed: 42)
        let n = 4
        let a = random.array(n * n).map(Double.init)
        func det(_ m: [[Double]]) -> Double {
            if m.count == 1 { return m[0][0] }
            return (0..<m.count).reduce(0.0) { sum, j in
                let minor = m.dropFirst().map { row in row.enumerated().filter { $0.offset != j }.map(\.element) }
                return sum + (j % 2 == 0 ? 1 : -1) * m[0][j] * det(minor)
            }
        }
        let matrix = (0..<n).map { i in Array(a[(i * n)..<((i + 1) * n)]) }
        let qr = FeatureRanking.pivotedQR(a, rows: n, columns: n)
        XCTAssertEqual(qr.pivots.reduce(1, *), abs(det(matrix)), accuracy: 1e-9)
    }
}
