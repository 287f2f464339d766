import Foundation

/// Softmax cross-entropy over a shard of logits: returns the summed loss and the number of correct
/// predictions (argmax, lowest index among equals), and writes d(loss)/d(logits) times `gradScale`.
func softmaxCrossEntropy(
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>, samples: Int, classes: Int,
    gradScale: Float, grad: UnsafeMutablePointer<Float>?
) -> (loss: Double, correct: Int) {
    var loss = 0.0
    var correct = 0
    for s in 0..<samples {
        let z = logits + s * classes
        let label = Int(labels[s])
        var best = 0
        for j in 1..<classes where z[j] > z[best] { best = j }
        if best == label { correct += 1 }
        let peak = z[best]
        var sum = 0.0
        for j in 0..<classes { sum += exp(Double(z[j] - peak)) }
        loss += log(sum) - Double(z[label] - peak)
        if let grad {
            let g = grad + s * classes
            for j in 0..<classes {
                let p = exp(Double(z[j] - peak)) / sum
                g[j] = Float(p - (j == label ? 1 : 0)) * gradScale
            }
        }
    }
    return (loss, correct)
}
