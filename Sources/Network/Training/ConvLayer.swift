import MatrixKernels

/// Conv2D as im2col + GEMM, sample by sample. Parameters: weight [M, C*kH*kW] then bias [M].
struct ConvLayer: TrainableLayer {
    let geometry: ConvGeometry
    let outChannels: Int

    var parameterCount: Int { outChannels * geometry.depth + outChannels }
    var inputSize: Int { geometry.channels * geometry.height * geometry.width }
    var outputSize: Int { outChannels * geometry.pixels }

    func forward(_ io: LayerIO, parameters w: UnsafePointer<Float>, scratch: LayerScratch) {
        let (depth, pixels) = (geometry.depth, geometry.pixels)
        let bias = w + outChannels * depth
        for s in 0..<io.samples {
            let y = io.output + s * outputSize
            geometry.im2col(io.inputs[0] + s * inputSize, into: scratch.col)
            for m in 0..<outChannels { (y + m * pixels).update(repeating: bias[m], count: pixels) }
            // y[M, P] += W[M, depth] * col[depth, P]
            Gemm.multiply(
                m: outChannels, n: pixels, k: depth, a: .rowMajor(w, columns: depth),
                b: .rowMajor(scratch.col, columns: pixels), c: y, ldc: pixels, accumulate: true, scratch: scratch.gemm)
        }
    }

    func backward(
        _ io: LayerIO, parameters w: UnsafePointer<Float>, parameterGrad dw: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        let (depth, pixels) = (geometry.depth, geometry.pixels)
        let dbias = dw + outChannels * depth
        for s in 0..<io.samples {
            let dy = io.outputGrad + s * outputSize
            // The column matrix is recomputed rather than kept from the forward pass: cheaper than the memory.
            geometry.im2col(io.inputs[0] + s * inputSize, into: scratch.col)
            // dW[M, depth] += dY[M, P] * col[depth, P]^T
            Gemm.multiply(
                m: outChannels, n: depth, k: pixels, a: .rowMajor(dy, columns: pixels),
                b: .transposed(scratch.col, columns: pixels), c: dw, ldc: depth, accumulate: true, scratch: scratch.gemm
            )
            for m in 0..<outChannels {
                let row = dy + m * pixels
                var sum: Float = 0
                for p in 0..<pixels { sum += row[p] }
                dbias[m] += sum
            }
            if let dx = io.inputGrads[0] {
                // dcol[depth, P] = W^T * dY, then each column entry goes back where im2col read it.
                Gemm.multiply(
                    m: depth, n: pixels, k: outChannels, a: .transposed(w, columns: depth),
                    b: .rowMajor(dy, columns: pixels), c: scratch.colGrad, ldc: pixels, accumulate: false,
                    scratch: scratch.gemm)
                geometry.col2imAdd(scratch.colGrad, into: dx + s * inputSize)
            }
        }
    }
}
