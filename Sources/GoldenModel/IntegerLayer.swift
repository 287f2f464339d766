import Quantization

/// One layer of the integer model, with its numbers unpacked for tight loops.
struct IntegerLayer: Sendable {
    let layer: QuantizedModel.Layer
    let kind: QuantizedModel.Kind
    let inputShape: [Int]
    let weights: [Int]
    let bias: [Int]
    let shifts: [Int]
    let relu: Bool
    let logits: Bool
    let bits: Int

    init(_ layer: QuantizedModel.Layer, input: [Int], activationBits: Int) {
        self.layer = layer
        kind = layer.kind
        inputShape = input
        weights = layer.weights ?? []
        bias = layer.bias ?? []
        shifts = layer.shifts ?? []
        relu = layer.relu ?? false
        logits = layer.logits ?? false
        bits = activationBits
    }

    /// The final step of a weighted layer: requantize, or align the logits by left shifts.
    @inline(__always)
    private func finish(_ acc: Int, channel c: Int) -> Int {
        logits ? acc << -shifts[c] : FixedPoint.requantize(acc, shift: shifts[c], relu: relu, bits: bits)
    }

    func run(_ x: [Int], into y: inout [Int], scratch: inout Scratch) {
        switch kind {
        case .conv2d:
            conv(x, into: &y, scratch: &scratch)
        case .dense:
            let outputs = bias.count, fan = x.count
            weights.withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { a in
                    for c in 0..<outputs {
                        var acc = bias[c]
                        let row = w.baseAddress! + c * fan
                        for k in 0..<fan { acc += row[k] * a[k] }
                        y[c] = finish(acc, channel: c)
                    }
                }
            }
        case .maxPool, .averagePool:
            pool(x, into: &y)
        case .relu:
            for i in x.indices { y[i] = max(x[i], 0) }
        case .flatten, .reshape:
            for i in x.indices { y[i] = x[i] }
        }
    }

    /// acc[c, p] = bias[c] + sum_k w[c, k] * col[k, p], col the zero-padded im2col of the input codes.
    private func conv(_ x: [Int], into y: inout [Int], scratch: inout Scratch) {
        let (channels, height, width) = (inputShape[0], inputShape[1], inputShape[2])
        let (kh, kw) = (layer.kernel![0], layer.kernel![1])
        let (sh, sw) = (layer.stride![0], layer.stride![1])
        let (top, left) = (layer.pads![0], layer.pads![1])
        let (outC, outH, outW) = (layer.shape[0], layer.shape[1], layer.shape[2])
        let pixels = outH * outW, depth = channels * kh * kw
        if scratch.column.count < depth * pixels { scratch.column = [Int](repeating: 0, count: depth * pixels) }
        scratch.column.withUnsafeMutableBufferPointer { col in
            var row = 0
            for c in 0..<channels {
                for ky in 0..<kh {
                    for kx in 0..<kw {
                        for oy in 0..<outH {
                            let iy = oy * sh - top + ky
                            for ox in 0..<outW {
                                let ix = ox * sw - left + kx
                                let inside = iy >= 0 && iy < height && ix >= 0 && ix < width
                                col[row * pixels + oy * outW + ox] = inside ? x[(c * height + iy) * width + ix] : 0
                            }
                        }
                        row += 1
                    }
                }
            }
            var acc = [Int](repeating: 0, count: pixels)
            weights.withUnsafeBufferPointer { w in
                acc.withUnsafeMutableBufferPointer { a in
                    for m in 0..<outC {
                        a.update(repeating: bias[m])
                        for k in 0..<depth {
                            let wk = w[m * depth + k]
                            if wk == 0 { continue }
                            let src = col.baseAddress! + k * pixels
                            for p in 0..<pixels { a[p] += wk * src[p] }
                        }
                        for p in 0..<pixels { y[m * pixels + p] = finish(a[p], channel: m) }
                    }
                }
            }
        }
    }

    /// Max: the largest code of the window, padding never wins. Average: the window sum, rounded half up by
    /// the power-of-two shift of the window area.
    private func pool(_ x: [Int], into y: inout [Int]) {
        let (channels, height, width) = (inputShape[0], inputShape[1], inputShape[2])
        let (kh, kw) = (layer.kernel![0], layer.kernel![1])
        let (sh, sw) = (layer.stride![0], layer.stride![1])
        let (top, left) = (layer.pads![0], layer.pads![1])
        let (outH, outW) = (layer.shape[1], layer.shape[2])
        let areaShift = (kh * kw).trailingZeroBitCount
        for c in 0..<channels {
            for oy in 0..<outH {
                for ox in 0..<outW {
                    var best = Int.min, sum = 0
                    for ky in 0..<kh {
                        let iy = oy * sh - top + ky
                        guard iy >= 0 && iy < height else { continue }
                        for kx in 0..<kw {
                            let ix = ox * sw - left + kx
                            guard ix >= 0 && ix < width else { continue }
                            let v = x[(c * height + iy) * width + ix]
                            best = max(best, v)
                            sum += v
                        }
                    }
                    let out = (c * outH + oy) * outW + ox
                    if kind == .maxPool {
                        y[out] = best
                    } else {
                        y[out] = areaShift > 0 ? (sum + (1 << (areaShift - 1))) >> areaShift : sum
                    }
                }
            }
        }
    }
}
