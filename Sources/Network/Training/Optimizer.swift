import Foundation

/// The update rule.
public enum OptimizerKind: Sendable, Equatable {
    /// SGD with heavy-ball momentum: v = momentum * v + g; w -= lr * v.
    case sgd(momentum: Float)
    /// Adam (Kingma and Ba 2015) with bias correction.
    case adam(beta1: Float, beta2: Float, epsilon: Float)

    public static let adamDefault = OptimizerKind.adam(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
}

/// Optimizer state over the flat parameter vector. Weight decay (L2, added to the gradient) applies to
/// weights only, never to biases.
struct Optimizer {
    let kind: OptimizerKind
    let weightDecay: Float
    let isWeight: [Bool]
    private var first: [Float]
    private var second: [Float]
    private var step = 0

    init(kind: OptimizerKind, weightDecay: Float, isWeight: [Bool]) {
        self.kind = kind
        self.weightDecay = weightDecay
        self.isWeight = isWeight
        first = [Float](repeating: 0, count: isWeight.count)
        second = [Float](repeating: 0, count: isWeight.count)
    }

    mutating func update(_ parameters: inout [Float], gradient: [Float], learningRate lr: Float) {
        step += 1
        let count = parameters.count
        switch kind {
        case .sgd(let momentum):
            for i in 0..<count {
                let g = gradient[i] + (isWeight[i] ? weightDecay * parameters[i] : 0)
                first[i] = momentum * first[i] + g
                parameters[i] -= lr * first[i]
            }
        case .adam(let beta1, let beta2, let epsilon):
            let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
            let correction2 = 1 - Float(pow(Double(beta2), Double(step)))
            for i in 0..<count {
                let g = gradient[i] + (isWeight[i] ? weightDecay * parameters[i] : 0)
                first[i] = beta1 * first[i] + (1 - beta1) * g
                second[i] = beta2 * second[i] + (1 - beta2) * g * g
                let mHat = first[i] / correction1, vHat = second[i] / correction2
                parameters[i] -= lr * mHat / (vHat.squareRoot() + epsilon)
            }
        }
    }
}
