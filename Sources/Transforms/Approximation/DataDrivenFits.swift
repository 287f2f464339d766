/// The data-driven fits behind M3 (feature approximation) and M4 (kernel size reduction), DESIGN.md section 2:
/// least squares over calibration samples, in real numbers. Turning the results into integer codes and into the
/// model file is the compressors' job (issue 6); these are the fits and the measures the budget search ranks by.
public enum FeatureApproximation {
    /// The least-squares approximation of feature `target` by the features `kept` plus a constant, over
    /// `samples` rows of `features` values each (row-major: one row per output pixel of a calibration image, one
    /// column per feature, pre-activation): coefficients a_k (in the order of `kept`), the bias b, and the
    /// relative residual ||F_t - sum a_k F_k - b|| / ||F_t - mean(F_t)|| (0: exact; 1: no better than the mean).
    public static func fit(_ values: [Double], features: Int, target: Int, kept: [Int]) -> (
        coefficients: [Double], bias: Double, residual: Double
    ) {
        let samples = values.count / features
        var system = NormalEquations(columns: kept.count + 1)
        var row = [Double](repeating: 1, count: kept.count + 1)
        for s in 0..<samples {
            for (i, k) in kept.enumerated() { row[i] = values[s * features + k] }
            system.add(row, [values[s * features + target]])
        }
        let solution = system.solve()[0]
        var error = 0.0, mean = 0.0
        for s in 0..<samples { mean += values[s * features + target] }
        mean /= Double(max(samples, 1))
        var spread = 0.0
        for s in 0..<samples {
            var estimate = solution[kept.count]
            for (i, k) in kept.enumerated() { estimate += solution[i] * values[s * features + k] }
            let y = values[s * features + target]
            error += (y - estimate) * (y - estimate)
            spread += (y - mean) * (y - mean)
        }
        return (
            Array(solution.prefix(kept.count)), solution[kept.count], spread > 0 ? (error / spread).squareRoot() : 0
        )
    }

    /// The data-driven sensitivity of every feature: its relative residual when approximated by the `m` most
    /// independent other features of the layer (`order` from `FeatureRanking.rank`, most independent first).
    /// Low: the feature is cheap to approximate; the budget search tries those first.
    public static func sensitivity(_ values: [Double], features: Int, order: [Int], m: Int) -> [Double] {
        (0..<features).map { j in
            let kept = Array(order.filter { $0 != j }.prefix(m))
            return fit(values, features: features, target: j, kept: kept).residual
        }
    }
}

public enum KernelReduction {
    /// Flat indices (c, ky, kx order) of the centred `reduced x reduced` window of a `channels x kernel x kernel`
    /// kernel.
    public static func window(channels: Int, kernel: Int, reduced: Int) -> [Int] {
        precondition(reduced <= kernel && (kernel - reduced) % 2 == 0, "the reduced window must be centred")
        let offset = (kernel - reduced) / 2
        var taps: [Int] = []
        for c in 0..<channels {
            for ky in offset..<(offset + reduced) {
                for kx in offset..<(offset + reduced) { taps.append((c * kernel + ky) * kernel + kx) }
            }
        }
        return taps
    }

    /// The `reduced x reduced` kernels (one per output channel, taps in `window` order) whose outputs best match
    /// the full kernels' on the calibration windows, in the least-squares sense: w' = argmin ||X w - X_S w'||^2,
    /// X the windows (`rows` x fan, row-major), S the centred taps. With inputs uncorrelated across taps this is
    /// the plain crop; with correlated inputs (images) the kept taps absorb what the cropped ones did.
    public static func refit(windows: [Double], fan: Int, weights: [Double], outputs: Int, taps: [Int]) -> [[Double]] {
        let rows = windows.count / fan
        var system = NormalEquations(columns: taps.count, rightHandSides: outputs)
        var sub = [Double](repeating: 0, count: taps.count)
        var targets = [Double](repeating: 0, count: outputs)
        for r in 0..<rows {
            let x = windows[(r * fan)..<((r + 1) * fan)]
            for (i, t) in taps.enumerated() { sub[i] = x[x.startIndex + t] }
            for o in 0..<outputs {
                var y = 0.0
                for k in 0..<fan { y += weights[o * fan + k] * x[x.startIndex + k] }
                targets[o] = y
            }
            system.add(sub, targets)
        }
        return system.solve()
    }

    /// Squared output error of reduced kernels `reduced` (taps `taps`) against the full `weights` on `windows`,
    /// relative to the full outputs' energy: the measure the budget search compares refit and crop with.
    public static func relativeError(
        windows: [Double], fan: Int, weights: [Double], outputs: Int, taps: [Int], reduced: [[Double]]
    ) -> Double {
        let rows = windows.count / fan
        var error = 0.0, energy = 0.0
        for r in 0..<rows {
            for o in 0..<outputs {
                var full = 0.0, approx = 0.0
                for k in 0..<fan { full += weights[o * fan + k] * windows[r * fan + k] }
                for (i, t) in taps.enumerated() { approx += reduced[o][i] * windows[r * fan + t] }
                error += (full - approx) * (full - approx)
                energy += full * full
            }
        }
        return energy > 0 ? (error / energy).squareRoot() : 0
    }
}
