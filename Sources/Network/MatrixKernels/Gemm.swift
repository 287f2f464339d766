/// A read-only matrix view: element (i, j) is at `base[i * rowStride + j * colStride]`, so a transpose is a
/// swap of the strides and costs nothing.
public struct MatrixOperand {
    public let base: UnsafePointer<Float>
    public let rowStride: Int
    public let colStride: Int

    public init(_ base: UnsafePointer<Float>, rowStride: Int, colStride: Int) {
        self.base = base; self.rowStride = rowStride; self.colStride = colStride
    }

    /// A row-major matrix with `columns` elements per row.
    public static func rowMajor(_ base: UnsafePointer<Float>, columns: Int) -> MatrixOperand {
        MatrixOperand(base, rowStride: columns, colStride: 1)
    }

    /// The transpose of a row-major matrix that has `columns` elements per row.
    public static func transposed(_ base: UnsafePointer<Float>, columns: Int) -> MatrixOperand {
        MatrixOperand(base, rowStride: 1, colStride: columns)
    }
}

/// Packing buffers for `Gemm.multiply`. Not thread-safe: one per worker, reused across calls.
public final class GemmScratch {
    let packedA: UnsafeMutablePointer<Float>
    let packedB: UnsafeMutablePointer<Float>
    let edge: UnsafeMutablePointer<Float>

    public init() {
        packedA = .allocate(capacity: Gemm.mc * Gemm.kc)
        packedB = .allocate(capacity: Gemm.kc * Gemm.nc)
        edge = .allocate(capacity: Gemm.mr * Gemm.nr)
    }

    deinit {
        packedA.deallocate(); packedB.deallocate(); edge.deallocate()
    }
}

/// Single-precision matrix product `C = A * B` (or `C += A * B`), cache-blocked after Goto and van de Geijn:
/// B is packed into KC x NR column panels, A into MR x KC row panels, and a 6 x 16 register-tile kernel
/// runs over them. Single-threaded by design; callers parallelise over independent products.
///
/// Each element of C is summed over k in increasing order, in KC-long blocks added to C one after another;
/// the rounding depends only on k, never on m, n or where the element's tile lies, so results do not depend
/// on how a caller splits its rows or columns.
public enum Gemm {
    static let mr = 6
    static let nr = 16
    static let kc = 256
    static let mc = 72
    static let nc = 3072

    /// C[m, n] (row-major, `ldc` elements per row) = A[m, k] * B[k, n], plus the old C when `accumulate`.
    public static func multiply(
        m: Int, n: Int, k: Int, a: MatrixOperand, b: MatrixOperand,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, scratch: GemmScratch
    ) {
        guard m > 0, n > 0 else { return }
        if !accumulate {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
        }
        guard k > 0 else { return }
        var jc = 0
        while jc < n {
            let ncBlock = min(nc, n - jc)
            var pc = 0
            while pc < k {
                let kcBlock = min(kc, k - pc)
                // A row-major B is read in place, NR columns at a time; only a ragged last panel is packed.
                let direct = b.colStride == 1
                let panelsB: PanelSource
                if direct {
                    let full = ncBlock / nr * nr
                    if full < ncBlock {
                        packB(
                            b, rows: pc, count: kcBlock, cols: jc + full, width: ncBlock - full, into: scratch.packedB)
                    }
                    panelsB = PanelSource(
                        base: UnsafePointer(b.base + pc * b.rowStride + jc), stride: b.rowStride,
                        fullWidth: full, edge: UnsafePointer(scratch.packedB))
                } else {
                    packB(b, rows: pc, count: kcBlock, cols: jc, width: ncBlock, into: scratch.packedB)
                    panelsB = PanelSource(base: UnsafePointer(scratch.packedB), stride: nr, fullWidth: 0, edge: nil)
                }
                var ic = 0
                while ic < m {
                    let mcBlock = min(mc, m - ic)
                    packA(a, rows: ic, height: mcBlock, cols: pc, count: kcBlock, into: scratch.packedA)
                    macroKernel(
                        m: mcBlock, n: ncBlock, k: kcBlock, panelsB: panelsB, scratch: scratch,
                        c: c + ic * ldc + jc, ldc: ldc)
                    ic += mcBlock
                }
                pc += kcBlock
            }
            jc += ncBlock
        }
    }

    /// Packs B[rows ..< rows+count, cols ..< cols+width] as NR-wide panels, k-major, zero-filled past the edge.
    private static func packB(
        _ b: MatrixOperand, rows: Int, count: Int, cols: Int, width: Int,
        into dst: UnsafeMutablePointer<Float>
    ) {
        var out = dst
        var j0 = 0
        while j0 < width {
            let w = min(nr, width - j0)
            let origin = b.base + rows * b.rowStride + (cols + j0) * b.colStride
            if b.colStride == 1 && w == nr {
                for p in 0..<count {
                    out.update(from: origin + p * b.rowStride, count: nr)
                    out += nr
                }
            } else {
                for p in 0..<count {
                    let row = origin + p * b.rowStride
                    for j in 0..<w { out[j] = row[j * b.colStride] }
                    for j in w..<nr { out[j] = 0 }
                    out += nr
                }
            }
            j0 += nr
        }
    }

    /// Packs A[rows ..< rows+height, cols ..< cols+count] as MR-tall panels, k-major, zero-filled past the edge.
    private static func packA(
        _ a: MatrixOperand, rows: Int, height: Int, cols: Int, count: Int,
        into dst: UnsafeMutablePointer<Float>
    ) {
        var out = dst
        var i0 = 0
        while i0 < height {
            let h = min(mr, height - i0)
            let origin = a.base + (rows + i0) * a.rowStride + cols * a.colStride
            if a.rowStride == 1 && h == mr {
                for p in 0..<count {
                    out.update(from: origin + p * a.colStride, count: mr)
                    out += mr
                }
            } else {
                for p in 0..<count {
                    let column = origin + p * a.colStride
                    for i in 0..<h { out[i] = column[i * a.rowStride] }
                    for i in h..<mr { out[i] = 0 }
                    out += mr
                }
            }
            i0 += mr
        }
    }

    /// Where the macro kernel finds the NR-wide panels of B: in place in a row-major B (the first `fullWidth`
    /// columns, rows `stride` apart, the rest packed at `edge`), or all packed (rows NR apart).
    private struct PanelSource {
        let base: UnsafePointer<Float>
        let stride: Int
        let fullWidth: Int
        let edge: UnsafePointer<Float>?

        func panel(_ j0: Int, k: Int) -> (UnsafePointer<Float>, Int) {
            guard let edge else { return (base + (j0 / nr) * nr * k, nr) }
            return j0 < fullWidth ? (base + j0, stride) : (edge, nr)
        }
    }

    private static func macroKernel(
        m: Int, n: Int, k: Int, panelsB: PanelSource, scratch: GemmScratch,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        var j0 = 0
        while j0 < n {
            let w = min(nr, n - j0)
            let (panelB, ldb) = panelsB.panel(j0, k: k)
            var i0 = 0
            while i0 < m {
                let h = min(mr, m - i0)
                let panelA = scratch.packedA + (i0 / mr) * mr * k
                let tile = c + i0 * ldc + j0
                if h == mr && w == nr {
                    microKernel(k: k, a: panelA, b: panelB, ldb: ldb, c: tile, ldc: ldc)
                } else {
                    // Edge tile: compute a full tile into the side buffer, then add the part that exists.
                    scratch.edge.update(repeating: 0, count: mr * nr)
                    microKernel(k: k, a: panelA, b: panelB, ldb: ldb, c: scratch.edge, ldc: nr)
                    for i in 0..<h {
                        for j in 0..<w { tile[i * ldc + j] += scratch.edge[i * nr + j] }
                    }
                }
                i0 += mr
            }
            j0 += nr
        }
    }

    private typealias Lane = SIMD8<Float>

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> Lane {
        UnsafeRawPointer(p).loadUnaligned(as: Lane.self)
    }

    @inline(__always)
    private static func addStore(_ p: UnsafeMutablePointer<Float>, _ v: Lane) {
        UnsafeMutableRawPointer(p).storeBytes(of: load(p) + v, as: Lane.self)
    }

    /// C[6, 16] += A-panel * B-panel over k (B rows `ldb` apart). Twelve 8-lane accumulators stay in registers.
    private static func microKernel(
        k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        var c00 = Lane(), c01 = Lane(), c10 = Lane(), c11 = Lane(), c20 = Lane(), c21 = Lane()
        var c30 = Lane(), c31 = Lane(), c40 = Lane(), c41 = Lane(), c50 = Lane(), c51 = Lane()
        var pa = a, pb = b
        for _ in 0..<k {
            let b0 = load(pb), b1 = load(pb + 8)
            var s = Lane(repeating: pa[0]); c00 += s * b0; c01 += s * b1
            s = Lane(repeating: pa[1]); c10 += s * b0; c11 += s * b1
            s = Lane(repeating: pa[2]); c20 += s * b0; c21 += s * b1
            s = Lane(repeating: pa[3]); c30 += s * b0; c31 += s * b1
            s = Lane(repeating: pa[4]); c40 += s * b0; c41 += s * b1
            s = Lane(repeating: pa[5]); c50 += s * b0; c51 += s * b1
            pa += mr; pb += ldb
        }
        addStore(c, c00); addStore(c + 8, c01)
        addStore(c + ldc, c10); addStore(c + ldc + 8, c11)
        addStore(c + 2 * ldc, c20); addStore(c + 2 * ldc + 8, c21)
        addStore(c + 3 * ldc, c30); addStore(c + 3 * ldc + 8, c31)
        addStore(c + 4 * ldc, c40); addStore(c + 4 * ldc + 8, c41)
        addStore(c + 5 * ldc, c50); addStore(c + 5 * ldc + 8, c51)
    }
}
