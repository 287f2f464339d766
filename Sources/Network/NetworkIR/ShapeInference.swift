/// Why a shape does not fit; wrapped into a `GraphError` with the node's name by the builder.
struct ShapeReason: Error { var text: String }

/// Output size of a sliding window along one dimension (floor formula).
public func windowOutputSize(input: Int, kernel: Int, stride: Int, padBefore: Int, padAfter: Int) -> Int {
    (input + padBefore + padAfter - kernel) / stride + 1
}

/// Broadcasts two shapes numpy-style (trailing dimensions aligned); nil if they do not broadcast.
public func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
        let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
        if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else { return nil }
    }
    return result
}

func inferShape(_ op: Op, inputShapes: [[Int]], declaredInputShape: [Int]?) throws -> [Int] {
    func fail(_ text: String) -> ShapeReason { ShapeReason(text: text) }
    switch op {
    case .input:
        guard let shape = declaredInputShape else { throw fail("an input needs a declared per-sample shape") }
        guard shape.allSatisfy({ $0 > 0 }) else { throw fail("input shape \(shape) has a non-positive dimension") }
        guard checkedElementCount(shape) != nil else {
            throw fail("input shape \(shape) is too large (at most 2^24 per dimension and 2^31 values)")
        }
        return shape
    case .constant(let tensor):
        return tensor.shape
    case .conv2d(let conv):
        return try convolutionShape(conv, input: inputShapes[0])
    case .maxPool(let pool), .averagePool(let pool):
        return try poolingShape(pool, input: inputShapes[0])
    case .dense(let dense):
        let x = inputShapes[0]
        guard x.count == 1 else { throw fail("expects a flat [K] input, got \(x); flatten first") }
        guard x[0] == dense.inFeatures else {
            throw fail("weight expects \(dense.inFeatures) input features, input has \(x[0])")
        }
        guard dense.bias.count == dense.outFeatures else {
            throw fail("bias has \(dense.bias.count) values for \(dense.outFeatures) outputs")
        }
        return [dense.outFeatures]
    case .scaleShift(let affine):
        let x = inputShapes[0]
        guard !x.isEmpty, x[0] == affine.scale.count else {
            throw fail("has \(affine.scale.count) channels, input shape is \(x)")
        }
        return x
    case .relu, .activation:
        return inputShapes[0]
    case .add:
        guard let shape = broadcastShapes(inputShapes[0], inputShapes[1]) else {
            throw fail("shapes \(inputShapes[0]) and \(inputShapes[1]) do not broadcast")
        }
        return shape
    case .flatten:
        return [elementCount(inputShapes[0])]
    case .reshape(let target):
        guard target.allSatisfy({ $0 > 0 }), let count = checkedElementCount(target),
            count == elementCount(inputShapes[0])
        else {
            throw fail("cannot reshape \(inputShapes[0]) to \(target)")
        }
        return target
    case .softmax(let axes):
        let x = inputShapes[0]
        guard !axes.isEmpty, axes.lowerBound >= 0, axes.upperBound <= x.count else {
            throw fail("axes \(axes) out of range for shape \(x)")
        }
        return x
    }
}

private func convolutionShape(_ conv: Conv2D, input x: [Int]) throws -> [Int] {
    func fail(_ text: String) -> ShapeReason { ShapeReason(text: text) }
    guard x.count == 3 else { throw fail("expects a [C, H, W] input, got \(x)") }
    guard x[0] == conv.inChannels else {
        throw fail("weight expects \(conv.inChannels) input channels, input has \(x[0])")
    }
    guard conv.bias.count == conv.outChannels else {
        throw fail("bias has \(conv.bias.count) values for \(conv.outChannels) output channels")
    }
    try checkWindow(
        kernelH: conv.kernelH, kernelW: conv.kernelW, strideH: conv.strideH, strideW: conv.strideW,
        padding: conv.padding)
    let oh = windowOutputSize(
        input: x[1], kernel: conv.kernelH, stride: conv.strideH,
        padBefore: conv.padding.top, padAfter: conv.padding.bottom)
    let ow = windowOutputSize(
        input: x[2], kernel: conv.kernelW, stride: conv.strideW,
        padBefore: conv.padding.left, padAfter: conv.padding.right)
    guard oh > 0, ow > 0 else {
        throw fail("kernel \(conv.kernelH)x\(conv.kernelW) does not fit the padded input \(x)")
    }
    return [conv.outChannels, oh, ow]
}

private func poolingShape(_ pool: Pool2D, input x: [Int]) throws -> [Int] {
    func fail(_ text: String) -> ShapeReason { ShapeReason(text: text) }
    guard x.count == 3 else { throw fail("expects a [C, H, W] input, got \(x)") }
    try checkWindow(
        kernelH: pool.kernelH, kernelW: pool.kernelW, strideH: pool.strideH, strideW: pool.strideW,
        padding: pool.padding)
    guard pool.padding.top < pool.kernelH, pool.padding.bottom < pool.kernelH,
        pool.padding.left < pool.kernelW, pool.padding.right < pool.kernelW
    else {
        throw fail("padding must be smaller than the pooling window")
    }
    let oh =
        pool.outputH
        ?? windowOutputSize(
            input: x[1], kernel: pool.kernelH, stride: pool.strideH,
            padBefore: pool.padding.top, padAfter: pool.padding.bottom)
    let ow =
        pool.outputW
        ?? windowOutputSize(
            input: x[2], kernel: pool.kernelW, stride: pool.strideW,
            padBefore: pool.padding.left, padAfter: pool.padding.right)
    guard oh > 0, ow > 0 else { throw fail("window \(pool.kernelH)x\(pool.kernelW) does not fit the input \(x)") }
    // Every window must start inside the input or its leading padding, or it would pool nothing.
    guard (oh - 1) * pool.strideH < x[1] + pool.padding.top, (ow - 1) * pool.strideW < x[2] + pool.padding.left else {
        throw fail("output size \(oh)x\(ow) has a window that starts past the input")
    }
    return [x[0], oh, ow]
}

private func checkWindow(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padding: Padding2D) throws {
    guard kernelH > 0, kernelW > 0 else { throw ShapeReason(text: "kernel size must be positive") }
    guard strideH > 0, strideW > 0 else { throw ShapeReason(text: "strides must be positive") }
    guard padding.top >= 0, padding.left >= 0, padding.bottom >= 0, padding.right >= 0 else {
        throw ShapeReason(text: "padding must not be negative")
    }
    let sizes = [kernelH, kernelW, strideH, strideW, padding.top, padding.left, padding.bottom, padding.right]
    guard sizes.allSatisfy({ $0 <= SizeLimits.window }) else {
        throw ShapeReason(text: "kernel, strides and pads must be at most \(SizeLimits.window)")
    }
}
