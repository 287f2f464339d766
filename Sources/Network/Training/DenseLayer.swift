import MatrixKernels

/// Fully connected layer over the whole shard at once. Parameters: weight [out, in] then bias [out].
struct DenseLayer: TrainableLayer {
    let inFeatures: Int
    let outFeatures: Int

    var parameterCount: Int { outFeatures * inFeatures + outFeatures }

    func forward(_ io: LayerIO, parameters w: UnsafePointer<Float>, scratch: LayerScratch) {
        let bias = w + outFeatures * inFeatures
        for s in 0..<io.samples { (io.output + s * outFeatures).update(from: bias, count: outFeatures) }
        // Y[S, out] += X[S, in] * W^T
        Gemm.multiply(
            m: io.samples, n: outFeatures, k: inFeatures, a: .rowMajor(io.inputs[0], columns: inFeatures),
            b: .transposed(w, columns: inFeatures), c: io.output, ldc: outFeatures, accumulate: true,
            scratch: scratch.gemm)
    }

    func backward(
        _ io: LayerIO, parameters w: UnsafePointer<Float>, parameterGrad dw: UnsafeMutablePointer<Float>,
        scratch: LayerScratch
    ) {
        let dy = io.outputGrad
        // dW[out, in] += dY^T[out, S] * X[S, in]
        Gemm.multiply(
            m: outFeatures, n: inFeatures, k: io.samples, a: .transposed(dy, columns: outFeatures),
            b: .rowMajor(io.inputs[0], columns: inFeatures), c: dw, ldc: inFeatures, accumulate: true,
            scratch: scratch.gemm)
        let dbias = dw + outFeatures * inFeatures
        for s in 0..<io.samples {
            let row = dy + s * outFeatures
            for o in 0..<outFeatures { dbias[o] += row[o] }
        }
        if let dx = io.inputGrads[0] {
            // dX[S, in] += dY[S, out] * W[out, in]
            Gemm.multiply(
                m: io.samples, n: inFeatures, k: outFeatures, a: .rowMajor(dy, columns: outFeatures),
                b: .rowMajor(w, columns: inFeatures), c: dx, ldc: inFeatures, accumulate: true, scratch: scratch.gemm)
        }
    }
}
