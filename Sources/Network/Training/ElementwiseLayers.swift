import NetworkIR

/// ReLU: the gradient passes where the output is positive.
struct ReluLayer: TrainableLayer {
    let size: Int

    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch) {
        let (x, y) = (io.inputs[0], io.output)
        for i in 0..<(io.samples * size) { y[i] = x[i] > 0 ? x[i] : 0 }
    }

    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        guard let dx = io.inputGrads[0] else { return }
        let (y, dy) = (io.output, io.outputGrad)
        for i in 0..<(io.samples * size) where y[i] > 0 { dx[i] += dy[i] }
    }
}

/// Flatten and Reshape: the data order does not change, so both directions are copies.
struct CopyLayer: TrainableLayer {
    let size: Int

    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch) {
        io.output.update(from: io.inputs[0], count: io.samples * size)
    }

    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        guard let dx = io.inputGrads[0] else { return }
        for i in 0..<(io.samples * size) { dx[i] += io.outputGrad[i] }
    }
}

/// Sum of two values of the same shape (a residual connection).
struct AddLayer: TrainableLayer {
    let size: Int

    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch) {
        let (a, b, y) = (io.inputs[0], io.inputs[1], io.output)
        for i in 0..<(io.samples * size) { y[i] = a[i] + b[i] }
    }

    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        for case let dx? in io.inputGrads {
            for i in 0..<(io.samples * size) { dx[i] += io.outputGrad[i] }
        }
    }
}

/// A fixed per-channel affine map (an unfolded BatchNormalization): trained through, not trained.
struct ScaleShiftLayer: TrainableLayer {
    let scale: [Float], shift: [Float]
    let inner: Int

    var size: Int { scale.count * inner }

    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch) {
        for s in 0..<io.samples {
            let x = io.inputs[0] + s * size, y = io.output + s * size
            for c in 0..<scale.count {
                for i in 0..<inner { y[c * inner + i] = x[c * inner + i] * scale[c] + shift[c] }
            }
        }
    }

    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        guard let dx = io.inputGrads[0] else { return }
        for s in 0..<io.samples {
            let dy = io.outputGrad + s * size, d = dx + s * size
            for c in 0..<scale.count {
                for i in 0..<inner { d[c * inner + i] += dy[c * inner + i] * scale[c] }
            }
        }
    }
}

/// Sigmoid, Tanh, LeakyRelu, HardSigmoid and Clip: the gradient is the function's derivative at the input
/// (a kink takes the right-hand slope).
struct ActivationLayer: TrainableLayer {
    let function: Activation
    let size: Int

    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch) {
        let (x, y) = (io.inputs[0], io.output)
        for i in 0..<(io.samples * size) { y[i] = function(x[i]) }
    }

    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        guard let dx = io.inputGrads[0] else { return }
        let (x, y, dy) = (io.inputs[0], io.output, io.outputGrad)
        for i in 0..<(io.samples * size) {
            let slope: Float
            switch function {
            case .sigmoid: slope = y[i] * (1 - y[i])
            case .tanh: slope = 1 - y[i] * y[i]
            case .leakyRelu(let alpha): slope = x[i] >= 0 ? 1 : alpha
            case .hardSigmoid(let alpha, let beta):
                let z = alpha * x[i] + beta
                slope = z > 0 && z < 1 ? alpha : 0
            case .clip(let low, let high): slope = x[i] >= low && x[i] < high ? 1 : 0
            case .hardSwish: slope = x[i] <= -3 ? 0 : x[i] >= 3 ? 1 : (2 * x[i] + 3) / 6
            }
            dx[i] += dy[i] * slope
        }
    }
}
