import MatrixKernels
import Quantization

/// One layer of the integer model, with its numbers unpacked for tight loops.
struct IntegerLayer: Sendable {
    let layer: QuantizedModel.Layer
    let kind: QuantizedModel.Kind
    let inputShape: [Int]
    let weights: [Int]
    /// The same codes narrowed, used when every accumulator fits in 32 bits (partial sums start from the bias
    /// and stay inside the interval the width was derived from, so Int32 arithmetic is exact).
    let weights32: [Int32]
    let narrow: Bool
    /// Convolution and pooling windows, shared with the float reference.
    let geometry: ConvGeometry?
    let poolGeometry: PoolGeometry?
    let bias: [Int]
    let shifts: [Int]
    let relu: Bool
    /// A fused activation table, or the whole of an activation layer (docs/arithmetic.md section 10).
    let activation: PiecewiseLinear?
    /// The same table looked up: its output for every `bits`-bit code `x` at `x + 2^(bits-1)` (the batched
    /// engine's; empty without a table or past 16 bits). The reference engine keeps evaluating the segments.
    let activationLookup: [Int32]
    let logits: Bool
    let bits: Int
    /// Compressed layers run in their reuse form.
    let plan: ReusePlan?
    /// M3: the approximated channels; with any, every accumulator is kept until they are formed.
    let features: [ApproximatedFeatures.Feature]

    init(_ layer: QuantizedModel.Layer, input: [Int], activationBits: Int) {
        self.layer = layer
        kind = layer.kind
        inputShape = input
        // A compressed layer runs from its plan; its dense weights are not needed.
        weights = layer.compression == nil ? layer.weights ?? [] : []
        if layer.kind == .conv2d, let kernel = layer.kernel, let stride = layer.stride, let pads = layer.pads {
            geometry = ConvGeometry(
                channels: input[0], height: input[1], width: input[2], kernelH: kernel[0], kernelW: kernel[1],
                strideH: stride[0], strideW: stride[1], padTop: pads[0], padLeft: pads[1],
                outH: layer.shape[1], outW: layer.shape[2])
        } else {
            geometry = nil
        }
        if layer.kind == .maxPool || layer.kind == .averagePool, let kernel = layer.kernel, let stride = layer.stride,
            let pads = layer.pads
        {
            // The quantizer admits only windows whose divisor is the full area (arithmetic.md section 4).
            poolGeometry = PoolGeometry(
                channels: input[0], height: input[1], width: input[2], kernelH: kernel[0], kernelW: kernel[1],
                strideH: stride[0], strideW: stride[1], padTop: pads[0], padLeft: pads[1],
                padBottom: pads[2], padRight: pads[3], outH: layer.shape[1], outW: layer.shape[2],
                countIncludePad: true)
        } else {
            poolGeometry = nil
        }
        narrow = (layer.accumulatorBits ?? 64) <= 32
        weights32 = narrow && layer.compression == nil ? weights.map { Int32($0) } : []
        bias = layer.bias ?? []
        shifts = layer.shifts ?? []
        relu = layer.relu ?? false
        activation = layer.activation
        activationLookup =
            layer.activation.map { table in
                activationBits <= 16
                    ? (-(1 << (activationBits - 1))..<(1 << (activationBits - 1))).map {
                        Int32(table.apply($0, bits: activationBits))
                    } : []
            } ?? []
        logits = layer.logits ?? false
        bits = activationBits
        plan = layer.compression.flatMap { compression in
            layer.weightShape.map { ReusePlan(compression, weightShape: $0) }
        }
        features = layer.approximatedFeatures?.features ?? []
    }

    /// The final step of a weighted layer: requantize, or align the logits by left shifts.
    @inline(__always)
    private func finish(_ acc: Int, channel c: Int) -> Int {
        // With M3 the raw accumulator is kept; combineAndFinish rounds it later.
        if !features.isEmpty { return acc }
        return requantize(acc, channel: c)
    }

    /// Requantization (with the ReLU or the activation table), or the logits' alignment.
    @inline(__always)
    func requantize(_ acc: Int, channel c: Int) -> Int {
        if logits { return acc << -shifts[c] }
        let y = FixedPoint.requantize(acc, shift: shifts[c], relu: relu, bits: bits)
        return activation?.apply(y, bits: bits) ?? y
    }

    /// M3 (docs/arithmetic.md section 9): `y` holds every channel's raw accumulator (`lanes` values per channel);
    /// each approximated channel becomes its bias plus the coefficients times its sources' accumulators, exactly,
    /// then every channel is requantized.
    func combineAndFinish(_ y: inout [Int], lanes: Int) {
        for feature in features {
            let j = feature.channel
            for p in 0..<lanes {
                var acc = bias[j]
                for (a, k) in zip(feature.coefficients, feature.sources) { acc += a * y[k * lanes + p] }
                y[j * lanes + p] = acc
            }
        }
        for i in y.indices {
            let c = i / lanes
            y[i] = requantize(y[i], channel: c)
        }
    }

    /// `addend`: the second value an add layer reads (empty for the others).
    func run(_ x: [Int], into y: inout [Int], scratch: inout Scratch, addend: [Int] = []) {
        switch kind {
        case .add:
            let (ea, eb, eo) = (layer.inputExponent, layer.addendExponent ?? 0, layer.outputExponent)
            for i in x.indices {
                y[i] = FixedPoint.add(
                    x[i], exponent: ea, addend[i], exponent: eb, outputExponent: eo, relu: relu, bits: bits)
            }
        case .conv2d:
            if narrow {
                conv(x, into: &y, weights: weights32, column: &scratch.column32)
            } else {
                conv(x, into: &y, weights: weights, column: &scratch.column)
            }
            if !features.isEmpty { combineAndFinish(&y, lanes: geometry!.pixels) }
        case .dense:
            if narrow {
                dense(x, into: &y, weights: weights32, input: &scratch.column32)
            } else {
                dense(x, into: &y, weights: weights, input: &scratch.column)
            }
            if !features.isEmpty { combineAndFinish(&y, lanes: 1) }
        case .maxPool, .averagePool:
            pool(x, into: &y)
        case .relu:
            for i in x.indices { y[i] = max(x[i], 0) }
        case .activation:
            for i in x.indices { y[i] = activation!.apply(x[i], bits: bits) }
        case .flatten, .reshape:
            for i in x.indices { y[i] = x[i] }
        }
    }

    /// acc[c] = bias[c] + sum_k w[c, k] * x[k], in the accumulator type T.
    private func dense<T: FixedWidthInteger>(_ x: [Int], into y: inout [Int], weights: [T], input: inout [T]) {
        let outputs = bias.count, fan = x.count
        if input.count < fan { input = [T](repeating: 0, count: fan) }
        for k in 0..<fan { input[k] = T(truncatingIfNeeded: x[k]) }
        if let plan {
            var work = [T](repeating: 0, count: 5)
            input.withUnsafeBufferPointer { a in
                work.withUnsafeMutableBufferPointer { w in
                    let acc = w.baseAddress!
                    for c in 0..<outputs {
                        acc[0] = T(truncatingIfNeeded: bias[c])
                        plan.channels[c].accumulate(
                            degree: plan.degree, lanes: 1, row: { a.baseAddress! + $0 }, into: acc, scratch: acc + 1)
                        y[c] = finish(Int(acc[0]), channel: c)
                    }
                }
            }
            return
        }
        weights.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { a in
                for c in 0..<outputs {
                    var acc = T(truncatingIfNeeded: bias[c])
                    let row = w.baseAddress! + c * fan
                    for k in 0..<fan { acc &+= row[k] &* a[k] }
                    y[c] = finish(Int(acc), channel: c)
                }
            }
        }
    }

    /// acc[c, p] = bias[c] + sum_k w[c, k] * col[k, p], col the zero-padded im2col of the input codes.
    private func conv<T: FixedWidthInteger>(_ x: [Int], into y: inout [Int], weights: [T], column: inout [T]) {
        let (channels, height, width) = (inputShape[0], inputShape[1], inputShape[2])
        let outC = layer.shape[0]
        let geometry = self.geometry!
        let pixels = geometry.pixels, depth = geometry.depth
        // Layout of the scratch buffer: the column matrix, the accumulators, the input codes, and for the reuse
        // form four running sums per pixel.
        let inputSize = channels * height * width
        let size = depth * pixels + pixels + inputSize + (plan == nil ? 0 : 4 * pixels)
        if column.count < size {
            column = [T](repeating: 0, count: size)
        }
        column.withUnsafeMutableBufferPointer { buffer in
            let col = buffer.baseAddress!
            let codes = col + depth * pixels + pixels
            for i in 0..<inputSize { codes[i] = T(truncatingIfNeeded: x[i]) }
            geometry.im2col(codes, into: col)
            // The accumulators live after the column matrix in the same buffer.
            let acc = col + depth * pixels
            if let plan {
                // The reuse form runs over all output pixels at once; its running sums follow the input codes.
                let scratch = codes + inputSize
                for m in 0..<outC {
                    acc.update(repeating: T(truncatingIfNeeded: bias[m]), count: pixels)
                    plan.channels[m].accumulate(
                        degree: plan.degree, lanes: pixels, row: { UnsafePointer(col + $0 * pixels) },
                        into: acc, scratch: scratch)
                    for p in 0..<pixels { y[m * pixels + p] = finish(Int(acc[p]), channel: m) }
                }
                return
            }
            weights.withUnsafeBufferPointer { w in
                for m in 0..<outC {
                    acc.update(repeating: T(truncatingIfNeeded: bias[m]), count: pixels)
                    for k in 0..<depth {
                        let wk = w[m * depth + k]
                        if wk == 0 { continue }
                        let src = col + k * pixels
                        for p in 0..<pixels { acc[p] &+= wk &* src[p] }
                    }
                    for p in 0..<pixels { y[m * pixels + p] = finish(Int(acc[p]), channel: m) }
                }
            }
        }
    }

    /// Max: the largest code of the window, padding never wins. Average: the window sum, rounded half up by
    /// the power-of-two shift of the window area. The windows are the float reference's (PoolGeometry).
    private func pool(_ x: [Int], into y: inout [Int]) {
        let geometry = poolGeometry!
        if kind == .maxPool {
            x.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer {
                    geometry.maxForward(input.baseAddress!, into: $0.baseAddress!, empty: Int.min)
                }
            }
            return
        }
        let areaShift = (geometry.kernelH * geometry.kernelW).trailingZeroBitCount
        for c in 0..<geometry.channels {
            let plane = c * geometry.height * geometry.width
            for oy in 0..<geometry.outH {
                for ox in 0..<geometry.outW {
                    let (rows, cols, _) = geometry.window(oy, ox)
                    var sum = 0
                    for iy in rows { for ix in cols { sum += x[plane + iy * geometry.width + ix] } }
                    y[(c * geometry.outH + oy) * geometry.outW + ox] =
                        areaShift > 0 ? (sum + (1 << (areaShift - 1))) >> areaShift : sum
                }
            }
        }
    }
}
