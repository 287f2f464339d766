import Foundation
import NetworkIR
import Quantization
import XCTest

/// The integer activation tables of docs/arithmetic.md section 10: the arithmetic by hand, how close a fitted
/// table is to its float function, and what a model file may not hold.
final class PiecewiseLinearTests: XCTestCase {
    func testArithmeticByHand() {
        // Three segments: flat -3 below -4, y = (3x + 8) >> 2 from -4, flat 9 from 12.
        let table = PiecewiseLinear(
            function: "hand", inputExponent: -4, breakpoints: [-4, 12], slopes: [0, 3, 0],
            intercepts: [-12, 8, 36], shift: 2)
        // x = -5: segment 0, (0 - 12) >> 2 = -3.  x = -4: segment 1, (-12 + 8) >> 2 = -1.
        // x = 1: (3 + 8) >> 2 = 2 (11 / 4 = 2.75, floor).  x = 11: 41 >> 2 = 10.  x = 12: segment 2, 36 >> 2 = 9.
        XCTAssertEqual([-5, -4, 1, 11, 12].map { table.segment($0) }, [0, 1, 1, 1, 2])
        XCTAssertEqual([-5, -4, 1, 11, 12].map { table.apply($0, bits: 8) }, [-3, -1, 2, 10, 9])
        // Saturation at 4 bits: 10 becomes 7; -3 stays.
        XCTAssertEqual(table.apply(11, bits: 4), 7)
        XCTAssertEqual(table.apply(-100, bits: 4), -3)
        XCTAssertEqual(table.slopeBits, 3)  // 0...3
        XCTAssertEqual(table.interceptBits, 7)  // -12...36
        XCTAssertEqual(table.outputRange(low: -8, high: 7, bits: 8).low, -3)
        XCTAssertEqual(table.outputRange(low: -8, high: 7, bits: 8).high, 7)  // x = 7: 29 >> 2
    }

    /// Over every 8-bit code, the table is within a bound stated up front of the float function: per piece the
    /// chord error h^2 / 8 * max|f''| (the bound of the chord; the least-squares line is held to it too), plus one
    /// output code for the rounding of the output and of the coefficients. The exact piecewise-linear
    /// functions have no chord error, so their bound is the one code.
    func testFittedTablesStayWithinTheStatedBound() {
        let cases: [(Activation, pre: Int, out: Int, curvature: ((Double) -> Double)?)] = [
            (
                .sigmoid, -3, -6,
                { x in
                    let s = 1 / (1 + exp(-x)); return s * (1 - s) * (1 - 2 * s)
                }
            ),
            (
                .sigmoid, -5, -7,
                { x in
                    let s = 1 / (1 + exp(-x)); return s * (1 - s) * (1 - 2 * s)
                }
            ),
            (
                .tanh, -4, -6,
                { x in
                    let t = tanh(x); return -2 * t * (1 - t * t)
                }
            ),
            (
                .tanh, -2, -6,
                { x in
                    let t = tanh(x); return -2 * t * (1 - t * t)
                }
            ),
            (.leakyRelu(alpha: 0.1), -4, -4, nil),
            (.hardSigmoid(alpha: 0.2, beta: 0.5), -3, -7, nil),
            (.clip(low: 0, high: 6), -3, -4, nil),
            (.clip(low: -0.75, high: 0.5), -6, -7, nil),
            (.hardSwish, -5, -5, { x in abs(x) < 3 ? 1.0 / 3 : 0 }),
        ]
        for (function, pre, out, curvature) in cases {
            let table = PiecewiseLinear.fit(
                function, activationBits: 8, inputExponent: pre, outputExponent: out, segments: 16, slopeBits: 12)
            XCTAssertNil(table.check(activationBits: 8), "\(function)")
            XCTAssertLessThanOrEqual(table.segments, 16, "\(function)")
            let starts = [-128] + table.breakpoints, ends = table.breakpoints + [128]
            var worst = 0.0
            for (first, end) in zip(starts, ends) {
                var bound = 1.0
                if let curvature {
                    let h = Double(end - 1 - first) * pow(2, Double(pre))
                    let peak = stride(from: Double(first), through: Double(end - 1), by: 0.05).map {
                        abs(curvature($0 * pow(2, Double(pre))))
                    }.max()!
                    bound += h * h / 8 * peak / pow(2, Double(out))
                }
                for x in first..<end {
                    let exact = function.value(Double(x) * pow(2, Double(pre))) / pow(2, Double(out))
                    let error = abs(Double(table.apply(x, bits: 8)) - min(max(exact, -128), 127))
                    worst = max(worst, error)
                    XCTAssertLessThanOrEqual(error, bound, "\(function), code \(x)")
                }
            }
            // The curved functions need all their pieces; the others exactly their kinks.
            if curvature == nil { XCTAssertLessThanOrEqual(worst, 1, "\(function)") }
        }
    }

    func testExactFunctionsGetTheirKinksAsBreakpoints() {
        // LeakyRelu's kink at 0; Clip(0, 6) at 0 and 6 / 2^-3 = 48; HardSigmoid(0.2, 0.5) at -2.5 and 2.5 (codes -20, 20).
        XCTAssertEqual(
            PiecewiseLinear.fit(
                .leakyRelu(alpha: 0.1), activationBits: 8, inputExponent: -4, outputExponent: -4, segments: 16,
                slopeBits: 12
            ).breakpoints, [0])
        XCTAssertEqual(
            PiecewiseLinear.fit(
                .clip(low: 0, high: 6), activationBits: 8, inputExponent: -3, outputExponent: -4, segments: 16,
                slopeBits: 12
            ).breakpoints, [0, 48])
        XCTAssertEqual(
            PiecewiseLinear.fit(
                .hardSigmoid(alpha: 0.2, beta: 0.5), activationBits: 8, inputExponent: -3, outputExponent: -7,
                segments: 16, slopeBits: 12
            ).breakpoints, [-20, 20])
        // A kink outside the codes' range is dropped: Clip(0, 6) on codes reaching 127 * 2^-5 < 4 has one kink.
        XCTAssertEqual(
            PiecewiseLinear.fit(
                .clip(low: 0, high: 6), activationBits: 8, inputExponent: -5, outputExponent: -4, segments: 16,
                slopeBits: 12
            ).breakpoints, [0])
    }

    /// A smooth function never gets more pieces than asked for, even when the codes reach past its bend.
    func testSegmentCountIsAnUpperBound() {
        for segments in 1...4 {
            let table = PiecewiseLinear.fit(
                .sigmoid, activationBits: 8, inputExponent: -3, outputExponent: -6, segments: segments, slopeBits: 12)
            XCTAssertEqual(table.segments, segments)
        }
    }

    func testMalformedTablesAreRefused() {
        let good = PiecewiseLinear(
            function: "t", inputExponent: 0, breakpoints: [-4, 12], slopes: [0, 3, 0], intercepts: [-12, 8, 36],
            shift: 2)
        XCTAssertNil(good.check(activationBits: 8))
        var unsorted = good; unsorted.breakpoints = [12, -4]
        XCTAssertEqual(unsorted.check(activationBits: 8), "breakpoints must ascend strictly")
        var short = good; short.slopes = [0, 3]
        XCTAssertNotNil(short.check(activationBits: 8))
        XCTAssertEqual(good.check(activationBits: 4), "breakpoints must be 4-bit codes")
        var widths = good; widths.slopeBits = 2
        XCTAssertNotNil(widths.check(activationBits: 8))
        var shift = good; shift.shift = -1
        XCTAssertNotNil(shift.check(activationBits: 8))
    }
}
