import Foundation
import IntegerKernels
import MatrixKernels
import Quantization

/// One worker's buffers for `BatchedForm`: every layer's codes for a batch, the packed B, the GEMM's product.
/// Raw pointers: the loops over them are the hot path, and arrays in a class pay exclusivity checks per access.
final class BatchBuffers: @unchecked Sendable {
    let values: [UnsafeMutablePointer<Int32>]
    /// The last layer's outputs (the logits may need more than 32 bits).
    let final: UnsafeMutablePointer<Int>
    let packed: UnsafeMutablePointer<Int16>
    let product: UnsafeMutablePointer<Int32>
    let row: UnsafeMutablePointer<Int32>
    /// Pair planes of a direct convolution's input (ar_pair_planes, ar_pair_channels).
    let planes: UnsafeMutablePointer<UInt32>
    /// The high half's product of a layer with weights beyond 16 bits (GemmLayer.high).
    let spare: UnsafeMutablePointer<Int32>
    var scratch = Scratch()

    init(form: BatchedForm, sizes: [Int]) {
        values = sizes.map { .allocate(capacity: form.batch * $0) }
        final = .allocate(capacity: form.batch * sizes.last!)
        packed = .allocate(capacity: form.packedSize)
        product = .allocate(capacity: form.productSize)
        row = .allocate(capacity: form.rowSize)
        planes = .allocate(capacity: form.planesSize)
        spare = .allocate(capacity: form.productSize)
    }

    deinit {
        values.forEach { $0.deallocate() }
        final.deallocate(); packed.deallocate(); product.deallocate(); row.deallocate(); planes.deallocate()
        spare.deallocate()
    }
}

/// Buffers kept between calls: allocating them anew each batch cost more than the small networks' arithmetic
/// (fresh pages are zeroed by the kernel). Each worker takes one and gives it back.
final class BufferPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [BatchBuffers] = []

    func take(form: BatchedForm, sizes: [Int]) -> BatchBuffers {
        lock.lock()
        defer { lock.unlock() }
        return free.popLast() ?? BatchBuffers(form: form, sizes: sizes)
    }

    func give(_ buffers: BatchBuffers) {
        lock.lock()
        defer { lock.unlock() }
        free.append(buffers)
    }
}

extension GoldenModel {
    /// `samples` through the batched form, `form.batch` at a time.
    func runBatched(_ samples: Range<Int>, form: BatchedForm, input: SharedPixels, output: SharedOutputs) {
        runSpan(samples, form: form, layers: steps.indices) { buffers, start, count in
            loadPixels(input, start: start, count: count, into: buffers)
        } store: { buffers, start, count in
            for i in 0..<(count * classes) { output.logits[start * classes + i] = buffers.final[i] }
        } each: { buffers, position, start, count in
            guard !output.layers.isEmpty else { return }
            let size = sizes[position + 1], base = output.layers[position] + start * size
            if position == steps.count - 1 {
                for i in 0..<(count * size) { base[i] = buffers.final[i] }
            } else {
                for i in 0..<(count * size) { base[i] = Int(buffers.values[position + 1][i]) }
            }
        }
    }

    /// `samples` through `layers` of the batched form, `form.batch` at a time: `load` puts a batch's input to the
    /// first of them in place, `each` sees every layer's outputs, `store` takes the batch's results.
    func runSpan(
        _ samples: Range<Int>, form: BatchedForm, layers: Range<Int>,
        load: (BatchBuffers, _ start: Int, _ count: Int) -> Void,
        store: (BatchBuffers, _ start: Int, _ count: Int) -> Void,
        each: (BatchBuffers, _ position: Int, _ start: Int, _ count: Int) -> Void = { _, _, _, _ in }
    ) {
        let buffers = pool.take(form: form, sizes: sizes)
        defer { pool.give(buffers) }
        var start = samples.lowerBound
        while start < samples.upperBound {
            let count = min(form.batch, samples.upperBound - start)
            load(buffers, start, count)
            for position in layers {
                runLayer(position, form: form, count: count, buffers: buffers)
                each(buffers, position, start, count)
            }
            store(buffers, start, count)
            start += count
        }
    }

    /// A batch's pixels as the input layer's codes.
    func loadPixels(_ input: SharedPixels, start: Int, count: Int, into buffers: BatchBuffers) {
        for s in 0..<count {
            let pixels = input.base + (start + s) * inputSize
            for i in 0..<inputSize {
                buffers.values[0][s * inputSize + i] = Int32(model.input.code(pixels[i], at: i))
            }
        }
    }

    private func runLayer(_ position: Int, form: BatchedForm, count: Int, buffers: BatchBuffers) {
        let last = position == steps.count - 1
        let (inSize, outSize) = (sizes[sources[position]], sizes[position + 1])
        switch form.steps[position] {
        case .gemm(let gemm, let columns):
            if let geometry = steps[position].geometry, let columns {
                var first = 0
                while first < count {
                    let chunk = min(form.chunks[position], count - first)
                    convolve(position, gemm, geometry, columns, samples: first..<(first + chunk), buffers: buffers)
                    first += chunk
                }
            } else {
                multiply(position, gemm, count: count, buffers: buffers)
            }
        case .maxPool:
            let g = steps[position].poolGeometry!
            ar_max_pool(
                buffers.values[sources[position]], count, inSize, g.channels, g.height, g.width, g.kernelH, g.kernelW,
                g.strideH, g.strideW, g.padTop, g.padLeft, g.outH, g.outW, buffers.values[position + 1], outSize)
        case .copy:
            buffers.values[position + 1].update(from: buffers.values[sources[position]], count: count * outSize)
        case .reference:
            runReferenceStep(position, count: count, buffers: buffers)
        }
        // Logits went to `final` directly; codes are copied there.
        if last && !steps[position].logits {
            for i in 0..<(count * outSize) { buffers.final[i] = Int(buffers.values[position + 1][i]) }
        }
    }

    /// A layer the batched form does not hold, one sample at a time through the reference step.
    private func runReferenceStep(_ position: Int, count: Int, buffers: BatchBuffers) {
        let (inSize, outSize) = (sizes[sources[position]], sizes[position + 1])
        var x = [Int](repeating: 0, count: inSize), y = [Int](repeating: 0, count: outSize)
        var addend = [Int]()
        for s in 0..<count {
            for i in 0..<inSize { x[i] = Int(buffers.values[sources[position]][s * inSize + i]) }
            if let other = addends[position] {
                addend = (0..<outSize).map { Int(buffers.values[other][s * outSize + $0]) }
            }
            steps[position].run(x, into: &y, scratch: &buffers.scratch, addend: addend)
            if position == steps.count - 1 && steps[position].logits {
                for i in 0..<outSize { buffers.final[s * outSize + i] = y[i] }
            } else {
                // Codes: saturated to the activation width (BatchedForm), so they fit.
                for i in 0..<outSize { buffers.values[position + 1][s * outSize + i] = Int32(y[i]) }
            }
        }
    }

    /// A convolution over `samples` of the batch: the GEMM (direct, or over a packed im2col matrix), then each
    /// channel's epilogue. Sample `index`'s outputs start at column index * sampleColumns of the product, output
    /// row oy at oy * rowColumns within it.
    private func convolve(
        _ position: Int, _ gemm: GemmLayer, _ g: ConvGeometry, _ layout: BatchedForm.Columns, samples: Range<Int>,
        buffers: BatchBuffers
    ) {
        let step = steps[position]
        let (inSize, outSize) = (sizes[sources[position]], sizes[position + 1])
        let input = buffers.values[sources[position]] + samples.lowerBound * inSize
        let (sampleColumns, rowColumns, ldc): (Int, Int, Int)
        if layout.direct {
            (sampleColumns, rowColumns) = (layout.panelColumns, layout.paddedW)
            ldc = samples.count * sampleColumns
            directProduct(
                gemm, g, layout, input: input, stride: inSize, samples: samples.count, ldc: ldc, buffers: buffers)
        } else {
            (sampleColumns, rowColumns) = (layout.perSample, g.outW)
            ldc = BatchedForm.panelColumns(samples.count * layout.perSample)
            ar_im2col_pack(
                input, samples.count, inSize, g.channels, g.height, g.width, g.kernelH, g.kernelW, g.strideH,
                g.strideW, g.padTop, g.padLeft, g.outH, g.outW, buffers.packed)
            product(gemm, columns: samples.count * layout.perSample, ldc: ldc, buffers: buffers)
        }
        let pixels = g.pixels
        // An activation table is looked up in place after the rows are requantized (BatchedForm: codes fit 16 bits,
        // so every table has its lookup).
        let lookup = step.activationLookup, offset = Int32(1) << (step.bits - 1)
        let rows = layout.direct && !step.logits && (step.activation == nil || !lookup.isEmpty)
        for (index, s) in samples.enumerated() {
            let base = index * sampleColumns
            for m in 0..<gemm.rows {
                let from = m * ldc + base, to = s * outSize + m * pixels
                if rows {
                    let y = buffers.values[position + 1] + to
                    ar_requantize_rows(
                        buffers.product + from, g.outH, g.outW, rowColumns, gemm.bias[m], gemm.scale[m],
                        gemm.shifts[m], step.relu ? 1 : 0, Int32(step.bits), buffers.row, y)
                    if !lookup.isEmpty { for i in 0..<pixels { y[i] = lookup[Int(y[i] &+ offset)] } }
                } else {
                    for oy in 0..<(layout.direct ? g.outH : 1) {
                        finish(
                            step, gemm, channel: m, from: from + oy * rowColumns,
                            count: layout.direct ? g.outW : pixels, to: to + oy * g.outW, stride: 1, position, buffers)
                    }
                }
            }
            if !step.features.isEmpty {
                combine(position, gemm, lanes: pixels, to: s * outSize, buffers) { m, p in
                    m * ldc + base + p / g.outW * rowColumns + p % g.outW
                }
            }
        }
    }

    /// The direct convolution's GEMM: the input's planes (quads, channel pairs or kernel-row pairs), then C.
    private func directProduct(
        _ gemm: GemmLayer, _ g: ConvGeometry, _ layout: BatchedForm.Columns, input: UnsafeMutablePointer<Int32>,
        stride inSize: Int, samples: Int, ldc: Int, buffers: BatchBuffers
    ) {
        let sampleWords = layout.sampleWords(g)
        let pack =
            layout.quads
            ? ar_quad_channels : BatchedForm.Columns.pairsChannels(g) ? ar_pair_channels : ar_pair_planes
        pack(
            input, samples, inSize, g.channels, g.height, g.width, g.padTop, g.padLeft, layout.paddedH,
            layout.paddedW, layout.slack, buffers.planes)
        if let quads = gemm.quads {
            quads.withUnsafeBufferPointer { a in
                layout.offsets.withUnsafeBufferPointer { offsets in
                    ar_gemm_direct_quads(
                        gemm.rows, samples, layout.perSample, gemm.depth, a.baseAddress!, buffers.planes,
                        sampleWords, offsets.baseAddress!, buffers.product, ldc)
                }
            }
        } else {
            gemm.split(into: buffers.product, spare: buffers.spare, count: gemm.rows * ldc) { a, c in
                layout.offsets.withUnsafeBufferPointer { offsets in
                    ar_gemm_direct(
                        gemm.rows, samples, layout.perSample, gemm.depth, a, buffers.planes, sampleWords,
                        offsets.baseAddress!, c, ldc)
                }
            }
        }
    }

    /// A dense layer over the batch: B is the batch's inputs, one column per sample.
    private func multiply(_ position: Int, _ gemm: GemmLayer, count: Int, buffers: BatchBuffers) {
        let inSize = sizes[sources[position]]
        let ldc = BatchedForm.panelColumns(count)
        ar_pack_inputs(buffers.values[sources[position]], inSize, gemm.fan, count, buffers.packed)
        product(gemm, columns: count, ldc: ldc, buffers: buffers)
        for m in 0..<gemm.rows {
            finish(
                steps[position], gemm, channel: m, from: m * ldc, count: count, to: m, stride: gemm.rows, position,
                buffers)
        }
        if !steps[position].features.isEmpty {
            for s in 0..<count {
                combine(position, gemm, lanes: 1, to: s * gemm.rows, buffers) { m, _ in m * ldc + s }
            }
        }
    }

    /// M3 (docs/arithmetic.md section 9), after every channel was finished as computed: each approximated channel
    /// of one sample replaced by its bias plus the coefficients times its sources' raw accumulators (`column(channel,
    /// lane)` in the product), exactly, then requantized, as the reference engine's combineAndFinish does.
    private func combine(
        _ position: Int, _ gemm: GemmLayer, lanes: Int, to: Int, _ buffers: BatchBuffers,
        column: (Int, Int) -> Int
    ) {
        let step = steps[position], out = buffers.values[position + 1] + to
        for feature in step.features {
            let j = feature.channel
            for p in 0..<lanes {
                var acc = step.bias[j]
                for (a, k) in zip(feature.coefficients, feature.sources) {
                    acc += a * Int(gemm.bias[k] &+ gemm.scale[k] &* buffers.product[column(k, p)])
                }
                let value = step.requantize(acc, channel: j)
                // Logits (aligned, possibly past 32 bits) go where finish put the others.
                if step.logits { buffers.final[to + j * lanes + p] = value } else { out[j * lanes + p] = Int32(value) }
            }
        }
    }

    private func product(_ gemm: GemmLayer, columns: Int, ldc: Int, buffers: BatchBuffers) {
        gemm.split(into: buffers.product, spare: buffers.spare, count: gemm.rows * ldc) { a, c in
            ar_gemm(gemm.rows, columns, gemm.depth, a, buffers.packed, c, ldc)
        }
    }

    /// Channel `m`'s `count` products from `product[from...]` to the layer's outputs at `to`, `stride` apart:
    /// requantized (with the activation table), or the logits aligned as the reference aligns them.
    private func finish(
        _ step: IntegerLayer, _ gemm: GemmLayer, channel m: Int, from: Int, count: Int, to: Int, stride: Int,
        _ position: Int, _ buffers: BatchBuffers
    ) {
        if step.logits {
            let shift = -step.shifts[m]
            for i in 0..<count {
                let acc = gemm.bias[m] &+ gemm.scale[m] &* buffers.product[from + i]
                buffers.final[to + i * stride] = Int(acc) << shift
            }
            return
        }
        let y = buffers.values[position + 1] + to
        // Straight into the outputs when they are contiguous, else through `row`.
        let direct = stride == 1 && step.activation == nil
        ar_requantize(
            buffers.product + from, count, gemm.bias[m], gemm.scale[m], gemm.shifts[m], step.relu ? 1 : 0,
            Int32(step.bits), direct ? y : buffers.row)
        if direct { return }
        let lookup = step.activationLookup
        if !lookup.isEmpty {
            let offset = 1 << (step.bits - 1)
            for i in 0..<count { y[i * stride] = lookup[Int(buffers.row[i]) + offset] }
            return
        }
        let bits = step.bits
        for i in 0..<count {
            var code = buffers.row[i]
            if let table = step.activation { code = Int32(table.apply(Int(code), bits: bits)) }
            y[i * stride] = code
        }
    }
}

extension GemmLayer {
    /// `multiply(A, C)` into `product`; with a high half also into `spare`, then product += spare * 2^15, wrapping.
    func split(
        into product: UnsafeMutablePointer<Int32>, spare: UnsafeMutablePointer<Int32>, count: Int,
        multiply: (UnsafePointer<Int16>, UnsafeMutablePointer<Int32>) -> Void
    ) {
        a.withUnsafeBufferPointer { multiply($0.baseAddress!, product) }
        guard let high else { return }
        high.withUnsafeBufferPointer { multiply($0.baseAddress!, spare) }
        for i in 0..<count { product[i] &+= spare[i] &<< 15 }
    }
}
