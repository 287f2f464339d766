import Approximation
import Quantization
import TestSupport
import XCTest

final class SortedWeightFitTests: XCTestCase {
    func testOrderSortsTheValuesAndSegmentsCoverEveryRank() {
        var random = TestRandom(seed: 22)
        let values = random.array(103).map(Double.init)
        let fit = SortedWeightFit.fit(values, segments: 5, degree: .linear)
        XCTAssertEqual(fit.order.map { values[$0] }, values.sorted())
        XCTAssertEqual(Set(fit.order), Set(0..<103))
        XCTAssertEqual(fit.segments.map(\.count), [21, 21, 21, 20, 20])
        XCTAssertEqual(fit.segments.map(\.start), [0, 21, 42, 63, 83])
    }

    func testPolynomialRanksAreRecoveredExactly() {
        // Values that are exactly a line / parabola in rank (already sorted): one segment fits them with no error.
        let line: [Double] = (0..<40).map { (j: Int) -> Double in Double(-50 + 7 * j) }
        let fitLine = SortedWeightFit.fit(line, segments: 1, degree: .linear)
        XCTAssertEqual(fitLine.segments[0].coefficients, [-50, 7])
        XCTAssertEqual(fitLine.squaredError(line), 0)
        let parabola: [Double] = (0..<40).map { (j: Int) -> Double in
            let value: Int = -300 + 2 * j + 3 * j * j
            return Double(value)
        }
        let fitParabola = SortedWeightFit.fit(parabola, segments: 1, degree: .quadratic)
        XCTAssertEqual(fitParabola.segments[0].coefficients, [-300, 2, 3])
        XCTAssertEqual(fitParabola.squaredError(parabola), 0)
    }

    /// Constant segments: the optimal cut of two clusters is between them, each segment is its rounded mean with
    /// C1 = 0, so a group has at most as many distinct weights as segments (hand-computed).
    func testConstantSegmentsAreTheClustersRoundedMeans() {
        let values: [Double] = [12, 1, 10, 3, 11, 2]
        let fit = SortedWeightFit.fit(values, segments: 2, degree: .constant, boundaries: .optimal)
        XCTAssertEqual(fit.segments.map(\.count), [3, 3])
        XCTAssertEqual(fit.segments.map(\.coefficients), [[2, 0], [11, 0]])
        // Ranks 0 ..< 3 are the values 1, 2, 3 (indices 1, 5, 3).
        XCTAssertEqual(Array(fit.order.prefix(3)), [1, 5, 3])
        var random = TestRandom(seed: 24)
        let many = random.array(200).map(Double.init)
        for segments in [1, 3, 8] {
            let constant = SortedWeightFit.fit(many, segments: segments, degree: .constant, boundaries: .optimal)
            XCTAssertTrue(constant.segments.allSatisfy { $0.coefficients.count == 2 && $0.coefficients[1] == 0 })
            XCTAssertLessThanOrEqual(Set(constant.segments.map { $0.coefficients[0] }).count, segments)
        }
    }

    func testMoreSegmentsAndHigherDegreeFitBetter() {
        var random = TestRandom(seed: 23)
        // Roughly Gaussian weights in a fine integer domain, as a trained layer has.
        let values = (0..<512).map { _ in Double((0..<4).map { _ in random.next() }.reduce(0, +)) * 2000 }
        var previous = Double.infinity
        for segments in [1, 2, 4, 8, 16, 32] {
            let linear = SortedWeightFit.fit(values, segments: segments, degree: .linear).squaredError(values)
            let quadratic = SortedWeightFit.fit(values, segments: segments, degree: .quadratic).squaredError(values)
            XCTAssertLessThanOrEqual(linear, previous * 1.001, "\(segments) segments")
            XCTAssertLessThanOrEqual(quadratic, linear * 1.001, "\(segments) segments")
            previous = linear
        }
        XCTAssertLessThan(previous, SortedWeightFit.fit(values, segments: 1, degree: .linear).squaredError(values) / 10)
    }
}
