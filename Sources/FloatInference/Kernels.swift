import Foundation
import NetworkIR

/// The precomputed form of one node, ready to run on a chunk of samples.
struct Kernel: Sendable {
    private enum Body: Sendable {
        case none
        case conv(ConvPlan)
        case pool(PoolPlan, average: Bool)
        case dense(weightT: [Float], bias: [Float], inFeatures: Int, outFeatures: Int)
        case scaleShift(ScaleShift, inner: Int)
        case relu(size: Int)
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
            body = .pool(PoolPlan(pool: pool, input: graph.nodes[node.inputs[0]].shape, output: node.shape), average: average)
        case .dense(let dense):
            // Transposed to [in, out] so the inner loop runs over contiguous outputs.
            let (m, k) = (dense.outFeatures, dense.inFeatures)
            var transposed = [Float](repeating: 0, count: m * k)
            for row in 0..<m { for col in 0..<k { transposed[col * m + row] = dense.weight.data[row * k + col] } }
            body = .dense(weightT: transposed, bias: dense.bias, inFeatures: k, outFeatures: m)
        case .scaleShift(let affine):
            body = .scaleShift(affine, inner: size / affine.scale.count)
        case .relu:
            body = .relu(size: size)
        case .flatten, .reshape:
            body = .copy(size: size)
        case .add:
            body = .add(BroadcastPlan(output: node.shape, a: graph.nodes[node.inputs[0]].shape, b: graph.nodes[node.inputs[1]].shape))
        case .softmax(let axes):
            let shape = node.shape
            body = .softmax(outer: elementCount(Array(shape[..<axes.lowerBound])),
                            length: elementCount(Array(shape[axes])),
                            inner: elementCount(Array(shape[axes.upperBound...])))
        }
    }

    func run(inputs: [ValueBuffer], output: ValueBuffer, samples: Int, scratch: UnsafeMutablePointer<Float>) {
        switch body {
        case .none:
            break
        case .conv(let plan):
            for s in 0..<samples { plan.run(input: inputs[0].sample(s), output: output.sample(s), scratch: scratch) }
        case .pool(let plan, let average):
            for s in 0..<samples { plan.run(input: inputs[0].sample(s), output: output.sample(s), average: average) }
        case .dense(let weightT, let bias, let k, let m):
            weightT.withUnsafeBufferPointer { w in
                for s in 0..<samples {
                    let x = inputs[0].sample(s)
                    let y = output.sample(s)
                    for j in 0..<m { y[j] = bias[j] }
                    for i in 0..<k {
                        let xv = x[i]
                        let row = w.baseAddress! + i * m
                        for j in 0..<m { y[j] += xv * row[j] }
                    }
                }
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

/// Convolution as im2col followed by a matrix product: out[M, P] = W[M, K] * col[K, P] + bias.
struct ConvPlan: Sendable {
    let weight: [Float], bias: [Float]
    let channels: Int, height: Int, width: Int
    let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int
    let outChannels: Int, outH: Int, outW: Int

    init(conv: Conv2D, input: [Int], output: [Int]) {
        weight = conv.weight.data; bias = conv.bias
        channels = input[0]; height = input[1]; width = input[2]
        kernelH = conv.kernelH; kernelW = conv.kernelW
        strideH = conv.strideH; strideW = conv.strideW
        padTop = conv.padding.top; padLeft = conv.padding.left
        outChannels = output[0]; outH = output[1]; outW = output[2]
    }

    func run(input x: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>, scratch col: UnsafeMutablePointer<Float>) {
        let pixels = outH * outW
        let depth = channels * kernelH * kernelW
        var row = 0
        for c in 0..<channels {
            for ky in 0..<kernelH {
                for kx in 0..<kernelW {
                    let dst = col + row * pixels
                    for oy in 0..<outH {
                        let iy = oy * strideH - padTop + ky
                        let line = dst + oy * outW
                        if iy < 0 || iy >= height {
                            for ox in 0..<outW { line[ox] = 0 }
                            continue
                        }
                        let src = x + (c * height + iy) * width
                        for ox in 0..<outW {
                            let ix = ox * strideW - padLeft + kx
                            line[ox] = (ix >= 0 && ix < width) ? src[ix] : 0
                        }
                    }
                    row += 1
                }
            }
        }
        weight.withUnsafeBufferPointer { w in
            for m in 0..<outChannels {
                let out = y + m * pixels
                let b = bias[m]
                for p in 0..<pixels { out[p] = b }
                let wm = w.baseAddress! + m * depth
                for k in 0..<depth {
                    let wv = wm[k]
                    let src = col + k * pixels
                    for p in 0..<pixels { out[p] += wv * src[p] }
                }
            }
        }
    }
}

/// Max or average pooling over explicit windows. Padding cells never win a max; for the average they count
/// only with count_include_pad, and only up to the explicit padding (not the ceil-mode overhang).
struct PoolPlan: Sendable {
    let pool: Pool2D
    let channels: Int, height: Int, width: Int, outH: Int, outW: Int

    init(pool: Pool2D, input: [Int], output: [Int]) {
        self.pool = pool
        channels = input[0]; height = input[1]; width = input[2]
        outH = output[1]; outW = output[2]
    }

    func run(input x: UnsafeMutablePointer<Float>, output y: UnsafeMutablePointer<Float>, average: Bool) {
        let p = pool.padding
        for c in 0..<channels {
            let plane = x + c * height * width
            for oy in 0..<outH {
                let y0 = oy * pool.strideH - p.top
                let y1 = y0 + pool.kernelH
                let (iy0, iy1) = (max(y0, 0), min(y1, height))
                for ox in 0..<outW {
                    let x0 = ox * pool.strideW - p.left
                    let x1 = x0 + pool.kernelW
                    let (ix0, ix1) = (max(x0, 0), min(x1, width))
                    var result: Float
                    if average {
                        var sum: Float = 0
                        for iy in iy0..<max(iy0, iy1) { for ix in ix0..<max(ix0, ix1) { sum += plane[iy * width + ix] } }
                        let count: Int
                        if pool.countIncludePad {
                            count = (min(y1, height + p.bottom) - max(y0, -p.top)) * (min(x1, width + p.right) - max(x0, -p.left))
                        } else {
                            count = max(0, iy1 - iy0) * max(0, ix1 - ix0)
                        }
                        result = sum / Float(count)
                    } else {
                        result = -Float.infinity
                        for iy in iy0..<max(iy0, iy1) { for ix in ix0..<max(ix0, ix1) { result = max(result, plane[iy * width + ix]) } }
                    }
                    y[(c * outH + oy) * outW + ox] = result
                }
            }
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
