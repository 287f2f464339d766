import MatrixKernels

/// The buffers one layer reads and writes for a shard of samples. Every value is batch-major and contiguous:
/// sample s of a value of per-sample size n starts at `s * n`.
struct LayerIO {
    var inputs: [UnsafeMutablePointer<Float>]
    var output: UnsafeMutablePointer<Float>
    /// Gradient of the loss with respect to `output` (backward only).
    var outputGrad: UnsafeMutablePointer<Float>
    /// Where to *add* the gradient with respect to each input; nil where nobody needs it (the image).
    var inputGrads: [UnsafeMutablePointer<Float>?]
    var samples: Int
}

/// A worker's scratch space, sized for the largest layer of the network.
final class LayerScratch {
    let col: UnsafeMutablePointer<Float>
    let colGrad: UnsafeMutablePointer<Float>
    let gemm = GemmScratch()

    init(columnCapacity: Int) {
        col = .allocate(capacity: max(1, columnCapacity))
        colGrad = .allocate(capacity: max(1, columnCapacity))
    }

    deinit { col.deallocate(); colGrad.deallocate() }
}

/// Forward and backward of one op. Parameters are a slice of the network's flat parameter vector (weights
/// first, then bias); the backward pass *adds* into the parameter gradient and the input gradients, so a
/// value read by several nodes collects all their contributions.
protocol TrainableLayer: Sendable {
    var parameterCount: Int { get }
    func forward(_ io: LayerIO, parameters: UnsafePointer<Float>, scratch: LayerScratch)
    func backward(
        _ io: LayerIO, parameters: UnsafePointer<Float>, parameterGrad: UnsafeMutablePointer<Float>,
        scratch: LayerScratch)
}

extension TrainableLayer {
    var parameterCount: Int { 0 }
}
