/// The geometry of one 2-D convolution over a single `[C, H, W]` sample, and the im2col / col2im
/// rearrangements that turn it into a matrix product.
///
/// The column matrix has one row per (c, ky, kx), in that order (the order of a `[M, C, kH, kW]` weight
/// flattened per output channel), and one column per output pixel: `col[C*kH*kW, outH*outW]`.
public struct ConvGeometry: Sendable, Equatable {
    public let channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int
    public let strideH: Int, strideW: Int
    public let padTop: Int, padLeft: Int
    public let outH: Int, outW: Int

    public init(
        channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
        padTop: Int, padLeft: Int, outH: Int, outW: Int
    ) {
        self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft
        self.outH = outH; self.outW = outW
    }

    /// Rows of the column matrix: the length of one dot product.
    public var depth: Int { channels * kernelH * kernelW }
    /// Columns of the column matrix: output pixels per channel.
    public var pixels: Int { outH * outW }

    /// The output columns `lo ..< hi` whose tap at kernel column `kx` lands inside the image.
    @inlinable @inline(__always)
    func validColumns(_ kx: Int) -> (Int, Int) {
        // ix = ox * strideW - padLeft + kx must lie in 0 ..< width.
        let first = padLeft - kx
        let lo = first <= 0 ? 0 : (first + strideW - 1) / strideW
        let last = width - 1 + padLeft - kx
        let hi = last < 0 ? 0 : min(outW, last / strideW + 1)
        return (min(lo, hi), hi)
    }

    /// Fills `col` (depth x pixels) from the sample `x`; taps that fall in the padding read 0. Generic so that
    /// the float reference and the integer golden model share one definition of the windows.
    @inlinable
    public func im2col<T: Numeric>(_ x: UnsafePointer<T>, into col: UnsafeMutablePointer<T>) {
        var row = 0
        for c in 0..<channels {
            for ky in 0..<kernelH {
                for kx in 0..<kernelW {
                    let dst = col + row * pixels
                    for oy in 0..<outH {
                        let iy = oy * strideH - padTop + ky
                        let line = dst + oy * outW
                        guard iy >= 0 && iy < height else {
                            line.update(repeating: 0, count: outW)
                            continue
                        }
                        let src = x + (c * height + iy) * width
                        let (lo, hi) = validColumns(kx)
                        if lo > 0 { line.update(repeating: 0, count: lo) }
                        if strideW == 1 {
                            if hi > lo { (line + lo).update(from: src + (lo - padLeft + kx), count: hi - lo) }
                        } else {
                            for ox in lo..<hi { line[ox] = src[ox * strideW - padLeft + kx] }
                        }
                        if hi < outW { (line + hi).update(repeating: 0, count: outW - hi) }
                    }
                    row += 1
                }
            }
        }
    }

    /// The adjoint of `im2col`: adds every column-matrix entry back onto the input position it was read
    /// from (padding taps are dropped). Used for the gradient with respect to the input.
    public func col2imAdd(_ col: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        var row = 0
        for c in 0..<channels {
            for ky in 0..<kernelH {
                for kx in 0..<kernelW {
                    let src = col + row * pixels
                    for oy in 0..<outH {
                        let iy = oy * strideH - padTop + ky
                        guard iy >= 0 && iy < height else { continue }
                        let line = src + oy * outW
                        let dst = dx + (c * height + iy) * width
                        let (lo, hi) = validColumns(kx)
                        for ox in lo..<hi { dst[ox * strideW - padLeft + kx] += line[ox] }
                    }
                    row += 1
                }
            }
        }
    }
}
