import IntegerKernels
import Quantization

/// A convolution or dense layer as one 16-bit integer GEMM per batch (IntegerKernels): the dense equivalent of
/// its weights (the approximated codes `w'` of a compressed layer, docs/arithmetic.md section 7) in A, the batch's
/// im2col columns or inputs in B, and the bias, SWC scale and requantization applied per channel afterwards.
///
/// Wrapping 32-bit arithmetic is exact because the layer's accumulators fit 32 bits (the same argument as the
/// reuse form's); `init` returns nil for a layer this cannot hold, which then runs in the reference form. With M3
/// the GEMM gives every channel's raw accumulator and the reference step's combination finishes them.
struct GemmLayer: Sendable {
    let rows: Int
    /// Inputs per output (C * kH * kW, or the dense fan-in), and A's row length in the packed order (IntegerKernels:
    /// a convolution's kernel rows rounded up to even taps, a dense row to an even length; zeros between).
    let fan: Int
    let depth: Int
    let a: [Int16]
    /// Weights beyond 16 bits (M1's w' may pass 2^15 by a little): A holds w mod 2^15 and `high` w >> 15, two GEMMs
    /// summed as high * 2^15 + low in the same wrapping arithmetic.
    let high: [Int16]?
    let bias: [Int32]
    /// 1, or the SWC scale of each channel (A then holds the codes: acc = b + scale * sum code * x).
    let scale: [Int32]
    let shifts: [Int32]

    init?(_ step: IntegerLayer) {
        let layer = step.layer
        guard layer.kind == .conv2d || layer.kind == .dense, step.narrow, step.features.isEmpty || !step.logits,
            let shape = layer.weightShape, step.bias.count == shape[0]
        else { return nil }
        rows = shape[0]
        fan = shape.reduce(1, *) / rows
        var codes: [Int], scales: [Int]
        if let compression = layer.compression, compression.method == .swc {
            guard let stored = compression.codes, let stored2 = compression.scales else { return nil }
            (codes, scales) = (stored, stored2)
        } else {
            guard let weights = layer.effectiveWeights else { return nil }
            (codes, scales) = (weights, [Int](repeating: 1, count: rows))
        }
        guard codes.count == rows * fan, scales.count == rows,
            codes.allSatisfy({ abs($0) < 1 << 30 }), scales.allSatisfy({ Int32(exactly: $0) != nil }),
            step.bias.allSatisfy({ Int32(exactly: $0) != nil })
        else { return nil }
        // Requantization in ar_requantize's range; the logits are aligned in Swift exactly as the reference does.
        if !step.logits {
            guard step.bits <= 16, step.shifts.count == rows, step.shifts.allSatisfy({ (-31...62).contains($0) })
            else { return nil }
        }
        // Column of weight k = (c, ky, kx) in A: a convolution's taps in kernel rows of even length, or with
        // `channelPairs` (stride 1, an even channel count) in pairs of neighbouring channels.
        var column: (Int) -> Int = { $0 }
        if let g = step.geometry, BatchedForm.Columns.pairsChannels(g) {
            let taps = g.kernelH * g.kernelW
            depth = g.channels * taps
            column = { k in ((k / taps / 2 * taps) + k % taps) * 2 + (k / taps) % 2 }
        } else if let g = step.geometry {
            let (kernelW, evenW) = (g.kernelW, ar_even(g.kernelW))
            depth = ar_conv_depth(g.channels, g.kernelH, g.kernelW)
            column = { k in k / kernelW * evenW + k % kernelW }
        } else {
            depth = ar_even(fan)
        }
        let split = !codes.allSatisfy({ Int16(exactly: $0) != nil })
        var a = [Int16](repeating: 0, count: rows * depth)
        var high = [Int16](repeating: 0, count: split ? rows * depth : 0)
        for r in 0..<rows {
            for k in 0..<fan {
                let w = codes[r * fan + k]
                a[r * depth + column(k)] = Int16(split ? w & 0x7fff : w)
                if split { high[r * depth + column(k)] = Int16(w >> 15) }
            }
        }
        self.a = a
        self.high = split ? high : nil
        bias = step.bias.map { Int32($0) }
        scale = scales.map { Int32($0) }
        shifts = step.logits ? [] : step.shifts.map { Int32($0) }
    }
}
