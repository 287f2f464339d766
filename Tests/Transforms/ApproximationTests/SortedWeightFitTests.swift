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
