import Foundation

/// Elementwise activations besides ReLU, with ONNX's semantics. The integer model approximates each by a
/// piecewise-linear function of the pre-activation code (docs/arithmetic.md section 10); the functions that are
/// piecewise linear already (LeakyRelu, HardSigmoid, Clip) name their kinks so that the fit can be exact.
public enum Activation: Equatable, Sendable {
    case sigmoid
    case tanh
    /// `x` for x >= 0, `alpha * x` below.
    case leakyRelu(alpha: Float)
    /// `max(0, min(1, alpha * x + beta))`.
    case hardSigmoid(alpha: Float, beta: Float)
    /// `min(max(x, low), high)`; an absent bound is infinite.
    case clip(low: Float, high: Float)
    /// `x * max(0, min(1, x / 6 + 1 / 2))` (ONNX HardSwish, MobileNetV3's activation): 0 below -3, x above 3,
    /// a parabola between.
    case hardSwish

    /// The ONNX operator name.
    public var name: String {
        switch self {
        case .sigmoid: return "Sigmoid"
        case .tanh: return "Tanh"
        case .leakyRelu: return "LeakyRelu"
        case .hardSigmoid: return "HardSigmoid"
        case .clip: return "Clip"
        case .hardSwish: return "HardSwish"
        }
    }

    /// A short description with the parameters, for model files and reports.
    public var description: String {
        switch self {
        case .sigmoid, .tanh, .hardSwish: return name
        case .leakyRelu(let alpha): return "LeakyRelu(alpha=\(alpha))"
        case .hardSigmoid(let alpha, let beta): return "HardSigmoid(alpha=\(alpha), beta=\(beta))"
        case .clip(let low, let high): return "Clip(\(low), \(high))"
        }
    }

    @inline(__always)
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .sigmoid:
            // exp of a large positive argument overflows to inf, which still gives the right limit 0.
            return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .leakyRelu(let alpha): return x >= 0 ? x : alpha * x
        case .hardSigmoid(let alpha, let beta): return max(0, min(1, alpha * x + beta))
        case .clip(let low, let high): return min(max(x, low), high)
        case .hardSwish: return x * max(0, min(1, x / 6 + 0.5))
        }
    }

    /// The same function in double precision (the quantizer's fit).
    public func value(_ x: Double) -> Double {
        switch self {
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .tanh: return Foundation.tanh(x)
        case .leakyRelu(let alpha): return x >= 0 ? x : Double(alpha) * x
        case .hardSigmoid(let alpha, let beta): return max(0, min(1, Double(alpha) * x + Double(beta)))
        case .clip(let low, let high): return min(max(x, Double(low)), Double(high))
        case .hardSwish: return x * max(0, min(1, x / 6 + 0.5))
        }
    }

    /// Where a piecewise-linear function changes slope (finite points only); nil for the smooth functions.
    public var kinks: [Double]? {
        switch self {
        case .sigmoid, .tanh, .hardSwish: return nil
        case .leakyRelu: return [0]
        case .hardSigmoid(let alpha, let beta):
            guard alpha != 0 else { return [] }
            return [Double(-beta / alpha), Double((1 - beta) / alpha)].sorted()
        case .clip(let low, let high):
            return [Double(low), Double(high)].filter(\.isFinite)
        }
    }

    /// The smooth functions are within 3.4e-4 of their limits outside this interval (sigmoid at |x| = 8,
    /// tanh at |x| = 4.4), and HardSwish is linear outside its parabola, so the fit spends its segments inside it.
    public var curvedRange: ClosedRange<Double>? {
        switch self {
        case .sigmoid: return -8...8
        case .tanh: return -4.5...4.5
        case .hardSwish: return -3...3
        default: return nil
        }
    }
}
