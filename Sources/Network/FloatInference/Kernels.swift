import Foundation
import MatrixKernels
import NetworkIR

/// The precomputed form of one node, ready to run on a chunk of samples.
struct Kernel: Sendable {
    private enum Body: Sendable {
        case none
        case conv(ConvPlan)
        case pool(PoolPlan, average: Bool)
        case dense(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int)
        case scaleShift(ScaleShift, inner: Int)
        case relu(size: Int)
        case activation(Activation, size: Int)
        case copy(size: Int)
        case add(BroadcastPlan)
        case softmax(outer: Int, length: Int, inner: Int)
    }

    private let body: Body

    init(node: Node, graph: Graph) {
        let size = elementCount(node.shape)
        switch node.op {
        case .input, .constant:
            body = .none
        case .conv2d(let conv):
            body = .conv(ConvPlan(conv: conv, input: graph.nodes[node.inputs[0]].shape, output: node.shape))
        case .maxPool(let pool), .averagePool(let pool):
            let average: Bool
            if case .averagePool = node.op { average = true } else { average = false }
            body = .pool(
                PoolPlan(pool: pool, input: graph.nodes[node.inputs[0]].shape, output: node.shape), average: average)
        case .dense(let dense):
            body = .dense(
                weight: dense.weight.data, bias: dense.bias, inFeatures: dense.inFeatures,
                outFeatures: dense.outFeatures)
        case .scaleShift(let affine):
            body = .scaleShift(affine, inner: size / affine.scale.count)
        case .relu:
            body = .relu(size: size)
        case .activation(let function):
            body = .activation(function, size: size)
        case .flatten, .reshape:
            body = .copy(size: size)
        case .add:
            body = .add(
                BroadcastPlan(
                    output: node.shape, a: graph.nodes[node.inputs[0]].shape, b: graph.nodes[node.inputs[1]].shape))
        case .softmax(let axes):
            let shape = node.shape
            body = .softmax(
                outer: elementCount(Array(shape[..<axes.lowerBound])),
                length: elementCount(Array(shape[axes])),
                inner: elementCount(Array(shape[axes.upperBound...])))
        }
    }

    func run(inputs: [ValueBuffer], output: ValueBuffer, samples: Int, scratch: KernelScratch) {
        switch body {
        case .none:
            break
        case .conv(let plan):
            for s in 0..<samples { plan.run(input: inputs[0].sample(s), output: output.sample(s), scratch: scratch) }
        case .pool(let plan, let average):
            for s in 0..<samples { plan.run(input: inputs[0].sample(s), output: output.sample(s), average: average) }
        case .dense(let weight, let bias, let k, let m):
            // Y[samples, m] = bias + X[samples, k] * W^T, one product for the whole chunk.
            for s in 0..<samples { output.sample(s).update(from: bias, count: m) }
            weight.withUnsafeBufferPointer { w in
                Gemm.multiply(
                    m: samples, n: m, k: k,
                    a: MatrixOperand(inputs[0].base, rowStride: inputs[0].stride, colStride: 1),
                    b: .transposed(w.baseAddress!, columns: k),
                    c: output.base, ldc: m, accumulate: true, scratch: scratch.gemm)
            }
        case .scaleShift(let affine, let inner):
            for s in 0..<samples {
                let x = inputs[0].sample(s), y = output.sample(s)
                for c in 0..<affine.scale.count {
                    let (a, b) = (affine.scale[c], affine.shift[c])
                    for i in 0..<inner { y[c * inner + i] = x[c * inner + i] * a + b }
                }
            }
        case .relu(let size):
            for s in 0..<samples {
                let x = inputs[0].sample(s), y = output.sample(s)
                for i in 0..<size { y[i] = x[i] > 0 ? x[i] : 0 }
            }
        case .activation(let function, let size):
            for s in 0..<samples {
                let x = inputs[0].sample(s), y = output.sample(s)
                for i in 0..<size { y[i] = function(x[i]) }
            }
        case .copy(let size):
            for s in 0..<samples { output.sample(s).update(from: inputs[0].sample(s), count: size) }
        case .add(let plan):
            for s in 0..<samples { plan.run(a: inputs[0].sample(s), b: inputs[1].sample(s), output: output.sample(s)) }
        case .softmax(let outer, let length, let inner):
            for s in 0..<samples {
                let x = inputs[0].sample(s), y = output.sample(s)
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * length * inner + i
                        var peak = -Float.infinity
                        for j in 0..<length { peak = max(peak, x[base + j * inner]) }
                        var sum: Float = 0
                        for j in 0..<length {
                            let e = Foundation.exp(x[base + j * inner] - peak)
                            y[base + j * inner] = e
                            sum += e
                        }
                        for j in 0..<length { y[base + j * inner] /= sum }
                    }
                }
            }
        }
    }
}

/// Convolution as im2col followed by a matrix product: out[M, P] = bias + W[M, K] * col[K, P].
struct ConvPlan: Sendable {
    let weight: [Float], bias: [Float]
    let geometry: ConvGeometry
    let outChannels: Int

    init(conv: Conv2D, input: [Int], output: [Int]) {
        weight = conv.weight.data; bias = conv.bias
        geometry = ConvGeometry(
            channels: input[0], height: input[1], width: input[2],
            kernelH: conv.kernelH, kernelW: conv.kernelW, strideH: conv.strideH, strideW: conv.strideW,
            padTop: conv.padding.top, padLeft: conv.padding.left, outH: output[1], outW: output[2])
        outChannels = output[0]
    }

    func run(input x: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>, scratch: KernelScratch) {
        let pixels = geometry.pixels
        geometry.im2col(x, into: scratch.col)
        for m in 0..<outChannels { (y + m * pixels).update(repeating: bias[m], count: pixels) }
        weight.withUnsafeBufferPointer { w in
            Gemm.multiply(
                m: outChannels, n: pixels, k: geometry.depth,
                a: .rowMajor(w.baseAddress!, columns: geometry.depth),
                b: .rowMajor(scratch.col, columns: pixels),
                c: y, ldc: pixels, accumulate: true, scratch: scratch.gemm)
        }
    }
}

/// A worker's scratch space: the largest im2col matrix any convolution needs, and GEMM packing buffers.
struct KernelScratch {
    let col: UnsafeMutablePointer<Float>
    let gemm: GemmScratch
}

/// Max or average pooling; the window rules live in `PoolGeometry`.
struct PoolPlan: Sendable {
    let geometry: PoolGeometry

    init(pool: Pool2D, input: [Int], output: [Int]) {
        let p = pool.padding
        geometry = PoolGeometry(
            channels: input[0], height: input[1], width: input[2],
            kernelH: pool.kernelH, kernelW: pool.kernelW, strideH: pool.strideH, strideW: pool.strideW,
            padTop: p.top, padLeft: p.left, padBottom: p.bottom, padRight: p.right,
            outH: output[1], outW: output[2], countIncludePad: pool.countIncludePad)
    }

    func run(input x: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>, average: Bool) {
        if average {
            geometry.averageForward(x, into: y)
        } else {
            geometry.maxForward(x, into: y, empty: -Float.infinity)
        }
    }
}

/// Elementwise sum with numpy broadcasting of the per-sample shapes (a stride of 0 repeats a dimension).
struct BroadcastPlan: Sendable {
    let shape: [Int]
    let stridesA: [Int], stridesB: [Int]
    let same: Bool

    init(output: [Int], a: [Int], b: [Int]) {
        shape = output
        stridesA = BroadcastPlan.strides(of: a, in: output)
        stridesB = BroadcastPlan.strides(of: b, in: output)
        same = a == output && b == output
    }

    static func strides(of shape: [Int], in output: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: output.count - shape.count) + shape
        var strides = [Int](repeating: 0, count: output.count)
        var running = 1
        for axis in stride(from: output.count - 1, through: 0, by: -1) {
            strides[axis] = padded[axis] == 1 && output[axis] != 1 ? 0 : running
            running *= padded[axis]
        }
        return strides
    }

    func run(a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>) {
        let count = elementCount(shape)
        if same {
            for i in 0..<count { y[i] = a[i] + b[i] }
            return
        }
        var index = [Int](repeating: 0, count: shape.count)
        var (offsetA, offsetB) = (0, 0)
        for i in 0..<count {
            y[i] = a[offsetA] + b[offsetB]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                offsetA += stridesA[axis]; offsetB += stridesB[axis]
                if index[axis] < shape[axis] { break }
                offsetA -= stridesA[axis] * shape[axis]; offsetB -= stridesB[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
