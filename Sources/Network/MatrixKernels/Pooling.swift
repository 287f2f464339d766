/// The windows of one 2-D max or average pooling over a single `[C, H, W]` sample, forward and backward.
///
/// Window (oy, ox) covers rows `oy*strideH - padTop ..< +kernelH` and the matching columns. Padding cells
/// never win a max; for the average they are counted only with `countIncludePad`, and only up to the
/// explicit padding (never the ceil-mode overhang), as ONNX defines it.
public struct PoolGeometry: Sendable, Equatable {
    public let channels: Int, height: Int, width: Int
    public let kernelH: Int, kernelW: Int, strideH: Int, strideW: Int
    public let padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    public let outH: Int, outW: Int
    public let countIncludePad: Bool

    public init(
        channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
        padTop: Int, padLeft: Int, padBottom: Int, padRight: Int, outH: Int, outW: Int, countIncludePad: Bool
    ) {
        self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.padBottom = padBottom; self.padRight = padRight
        self.outH = outH; self.outW = outW
        self.countIncludePad = countIncludePad
    }

    /// The in-image rows and columns of window (oy, ox), and the divisor of its average.
    @inlinable @inline(__always)
    public func window(_ oy: Int, _ ox: Int) -> (rows: Range<Int>, cols: Range<Int>, count: Int) {
        let y0 = oy * strideH - padTop, x0 = ox * strideW - padLeft
        let y1 = y0 + kernelH, x1 = x0 + kernelW
        let rows = max(y0, 0)..<max(max(y0, 0), min(y1, height))
        let cols = max(x0, 0)..<max(max(x0, 0), min(x1, width))
        let count =
            countIncludePad
            ? (min(y1, height + padBottom) - max(y0, -padTop)) * (min(x1, width + padRight) - max(x0, -padLeft))
            : rows.count * cols.count
        return (rows, cols, count)
    }

    /// The position (within the sample) of the largest value of window (oy, ox): the first in row-major
    /// order among equals, or nil for a window entirely in the padding.
    @inlinable @inline(__always)
    public func argmax<T: Comparable>(_ x: UnsafePointer<T>, channel c: Int, _ oy: Int, _ ox: Int) -> Int? {
        let (rows, cols, _) = window(oy, ox)
        guard !rows.isEmpty && !cols.isEmpty else { return nil }
        let plane = c * height * width
        var best = plane + rows.lowerBound * width + cols.lowerBound
        var bestValue = x[best]
        for iy in rows {
            let line = plane + iy * width
            for ix in cols where x[line + ix] > bestValue {
                best = line + ix
                bestValue = x[best]
            }
        }
        return best
    }

    /// The largest value of each window; `empty` for a window entirely in the padding. Generic so that the
    /// float reference and the integer golden model share one definition of the windows.
    @inlinable
    public func maxForward<T: Comparable>(_ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, empty: T) {
        for c in 0..<channels {
            for oy in 0..<outH {
                for ox in 0..<outW {
                    y[(c * outH + oy) * outW + ox] = argmax(x, channel: c, oy, ox).map { x[$0] } ?? empty
                }
            }
        }
    }

    /// Adds each output gradient to the input position that won its window.
    public func maxBackward(
        _ x: UnsafePointer<Float>, outputGrad dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>
    ) {
        for c in 0..<channels {
            for oy in 0..<outH {
                for ox in 0..<outW {
                    if let index = argmax(x, channel: c, oy, ox) { dx[index] += dy[(c * outH + oy) * outW + ox] }
                }
            }
        }
    }

    public func averageForward(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let plane = x + c * height * width
            for oy in 0..<outH {
                for ox in 0..<outW {
                    let (rows, cols, count) = window(oy, ox)
                    var sum: Float = 0
                    for iy in rows { for ix in cols { sum += plane[iy * width + ix] } }
                    y[(c * outH + oy) * outW + ox] = sum / Float(count)
                }
            }
        }
    }

    /// Spreads each output gradient evenly over the in-image cells of its window (divided by the same count).
    public func averageBackward(outputGrad dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        for c in 0..<channels {
            let plane = dx + c * height * width
            for oy in 0..<outH {
                for ox in 0..<outW {
                    let (rows, cols, count) = window(oy, ox)
                    let share = dy[(c * outH + oy) * outW + ox] / Float(count)
                    for iy in rows { for ix in cols { plane[iy * width + ix] += share } }
                }
            }
        }
    }
}
