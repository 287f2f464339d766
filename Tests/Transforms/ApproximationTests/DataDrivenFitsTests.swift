import Approximation
import TestSupport
import XCTest

/// The least-squares fits behind M3 and M4, checked against closed forms and constructed cases.
final class DataDrivenFitsTests: XCTestCase {
    func testNormalEquationsMatchTheClosedFormLineFit() {
        // y = 1 + 2x with fixed residuals; the simple-regression formulas give slope and intercept independently.
        let xs: [Double] = [0, 1, 2, 3, 4, 5]
        let noise: [Double] = [0.3, -0.1, 0.2, -0.4, 0.1, -0.1]
        let ys = zip(xs, noise).map { 1 + 2 * $0 + $1 }
        var system = NormalEquations(columns: 2)
        for (x, y) in zip(xs, ys) { system.add([1, x], [y]) }
        let solution = system.solve()[0]
        let mx = xs.reduce(0, +) / 6, my = ys.reduce(0, +) / 6
        let slope =
            zip(xs, ys).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / xs.reduce(0) { $0 + ($1 - mx) * ($1 - mx) }
        XCTAssertEqual(solution[1], slope, accuracy: 1e-9)
        XCTAssertEqual(solution[0], my - slope * mx, accuracy: 1e-9)
    }

    func testAFeatureThatIsACombinationIsRecoveredAndRankedCheapest() {
        var random = TestRandom(seed: 3)
        let samples = 400, features = 4
        var values = [Double](repeating: 0, count: samples * features)
        for s in 0..<samples {
            let f0 = Double(random.next()), f1 = Double(random.next()), f3 = Double(random.next())
            values[s * features + 0] = f0
            values[s * features + 1] = f1
            values[s * features + 2] = 0.5 * f0 - 2 * f1 + 3
            values[s * features + 3] = f3
        }
        let fit = FeatureApproximation.fit(values, features: features, target: 2, kept: [0, 1])
        XCTAssertEqual(fit.coefficients[0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(fit.coefficients[1], -2, accuracy: 1e-6)
        XCTAssertEqual(fit.bias, 3, accuracy: 1e-6)
        XCTAssertLessThan(fit.residual, 1e-6)
        // An independent feature is no better approximated than by its mean.
        XCTAssertGreaterThan(
            FeatureApproximation.fit(values, features: features, target: 3, kept: [0, 1]).residual, 0.9)
        let sensitivity = FeatureApproximation.sensitivity(values, features: features, order: [0, 1, 3, 2], m: 2)
        XCTAssertEqual(sensitivity.firstIndex(of: sensitivity.min()!), 2, "\(sensitivity)")
    }

    func testCentredWindow() {
        XCTAssertEqual(KernelReduction.window(channels: 1, kernel: 5, reduced: 3), [6, 7, 8, 11, 12, 13, 16, 17, 18])
        XCTAssertEqual(KernelReduction.window(channels: 2, kernel: 3, reduced: 1), [4, 13])
    }

    /// Orthogonal inputs (each window one tap): the refit is exactly the crop. A kernel already zero outside the
    /// window comes back unchanged. On correlated windows the refit never does worse than the crop.
    func testRefitAgainstCropOnConstructedInputs() {
        var random = TestRandom(seed: 11)
        let (channels, kernel, reduced) = (2, 5, 3)
        let fan = channels * kernel * kernel, outputs = 3
        let taps = KernelReduction.window(channels: channels, kernel: kernel, reduced: reduced)
        let weights = (0..<(outputs * fan)).map { _ in Double(random.next()) }
        let crop = (0..<outputs).map { o in taps.map { weights[o * fan + $0] } }

        var identity = [Double](repeating: 0, count: fan * fan)
        for k in 0..<fan { identity[k * fan + k] = 1 }
        let orthogonal = KernelReduction.refit(
            windows: identity, fan: fan, weights: weights, outputs: outputs, taps: taps)
        for o in 0..<outputs { for i in taps.indices { XCTAssertEqual(orthogonal[o][i], crop[o][i], accuracy: 1e-9) } }

        // Windows of a smooth random field: neighbouring taps correlate, as in images.
        var windows: [Double] = []
        for _ in 0..<300 {
            let (a, b, c) = (Double(random.next()), Double(random.next()), Double(random.next()))
            for ch in 0..<channels {
                for ky in 0..<kernel {
                    for kx in 0..<kernel {
                        windows.append(
                            a + b * Double(ky) / 4 + c * Double(kx) / 4 + 0.1 * Double(ch) + 0.05
                                * Double(random.next()))
                    }
                }
            }
        }
        var inside = weights
        for o in 0..<outputs { for k in 0..<fan where !taps.contains(k) { inside[o * fan + k] = 0 } }
        let unchanged = KernelReduction.refit(windows: windows, fan: fan, weights: inside, outputs: outputs, taps: taps)
        for o in 0..<outputs {
            for (i, t) in taps.enumerated() { XCTAssertEqual(unchanged[o][i], inside[o * fan + t], accuracy: 1e-6) }
        }

        let refit = KernelReduction.refit(windows: windows, fan: fan, weights: weights, outputs: outputs, taps: taps)
        let refitError = KernelReduction.relativeError(
            windows: windows, fan: fan, weights: weights, outputs: outputs, taps: taps, reduced: refit)
        let cropError = KernelReduction.relativeError(
            windows: windows, fan: fan, weights: weights, outputs: outputs, taps: taps, reduced: crop)
        XCTAssertLessThan(refitError, cropError * 0.5, "refit \(refitError), crop \(cropError)")
    }
}
