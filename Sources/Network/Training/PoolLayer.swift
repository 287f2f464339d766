import MatrixKernels

/// Max or average pooling; the gradient of a max goes to the window's winner (the first among equals),
/// that of an average is shared evenly by the window's cells.
struct PoolLayer: TrainableLayer {
    let geometry: PoolGeometry
    let average: Bool

    var inputSize: Int { geometry.channels * geometry.height * geometry.width }
    var outputSize: Int { geometry.channels * geometry.outH * geometry.outW }

    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch) {
        for s in 0..<io.samples {
            let x = io.inputs[0] + s * inputSize, y = io.output + s * outputSize
            if average {
                geometry.averageForward(x, into: y)
            } else {
                geometry.maxForward(x, into: y, empty: -Float.infinity)
            }
        }
    }

    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        guard let dx = io.inputGrads[0] else { return }
        for s in 0..<io.samples {
            let dy = io.outputGrad + s * outputSize, dxs = dx + s * inputSize
            if average {
                geometry.averageBackward(outputGrad: dy, into: dxs)
            } else {
                geometry.maxBackward(io.inputs[0] + s * inputSize, outputGrad: dy, into: dxs)
            }
        }
    }
}
