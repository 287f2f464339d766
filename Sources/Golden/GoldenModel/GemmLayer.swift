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
    /// The 8-bit form of A for a direct convolution over channel quads (ar_gemm_direct_quads), when the caller
    /// asked for it and every weight fits 8 bits; `a` and `high` are then empty.
    let quads: [Int8]?
    let bias: [Int32]
    /// 1, or the SWC scale of each channel (A then holds the codes: acc = b + scale * sum code * x).
    let scale: [Int32]
    let shifts: [Int32]

    /// `quads`: the layer's inputs are codes 0 ... 255 and the machine runs the quad kernel; A is then built for
    /// it when the weights allow (stride 1, channels a multiple of 4, weights in -128 ... 127).
    init?(_ step: IntegerLayer, quads wantQuads: Bool = false) {
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
        if wantQuads, let quads = Self.quads(step, codes: codes, rows: rows, fan: fan) {
            (depth, a, high, self.quads) = (fan, [], nil, quads)
        } else {
            (depth, a, high) = Self.pairs(step, codes: codes, rows: rows, fan: fan)
            quads = nil
        }
        bias = step.bias.map { Int32($0) }
        scale = scales.map { Int32($0) }
        shifts = step.logits ? [] : step.shifts.map { Int32($0) }
    }

    /// A in the quad layout ((c, ky, kx) at ((c / 4 * kernelH + ky) * kernelW + kx) * 4 + c % 4), nil when the
    /// layer is no direct convolution over channel quads or a weight does not fit 8 bits.
    private static func quads(_ step: IntegerLayer, codes: [Int], rows: Int, fan: Int) -> [Int8]? {
        guard let g = step.geometry, BatchedForm.Columns.quadsChannels(g),
            codes.allSatisfy({ Int8(exactly: $0) != nil })
        else { return nil }
        let taps = g.kernelH * g.kernelW
        var quads = [Int8](repeating: 0, count: rows * fan)
        for r in 0..<rows {
            for k in 0..<fan {
                quads[r * fan + ((k / taps / 4 * taps) + k % taps) * 4 + (k / taps) % 4] = Int8(codes[r * fan + k])
            }
        }
        return quads
    }

    /// A (and its high half) in the 16-bit pair layout: a convolution's taps in kernel rows of even length, or with
    /// channel pairs (stride 1, an even channel count) in pairs of neighbouring channels.
    private static func pairs(_ step: IntegerLayer, codes: [Int], rows: Int, fan: Int) -> (Int, [Int16], [Int16]?) {
        var column: (Int) -> Int = { $0 }
        let depth: Int
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
        return (depth, a, split ? high : nil)
    }
}
