import MatrixKernels
import TestSupport
import XCTest

final class GemmTests: XCTestCase {
    /// Plain triple loop in Double: the reference the blocked kernel must match.
    private func reference(m: Int, n: Int, k: Int, a: [Float], aT: Bool, b: [Float], bT: Bool, c0: [Float]?) -> [Float]
    {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = Double(c0?[i * n + j] ?? 0)
                for p in 0..<k {
                    let av = aT ? a[p * m + i] : a[i * k + p]
                    let bv = bT ? b[j * k + p] : b[p * n + j]
                    sum += Double(av) * Double(bv)
                }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }

    func testMatchesReferenceForEveryTransposeAndRaggedShapes() {
        var random = TestRandom(seed: 7)
        let scratch = GemmScratch()
        // Shapes straddle the 6x16 tile and the 256-deep k block, including a k of several blocks.
        let shapes = [(1, 1, 1), (5, 17, 3), (6, 16, 256), (13, 33, 257), (7, 100, 600), (40, 9, 31), (72, 3100, 5)]
        for (m, n, k) in shapes {
            for (aT, bT) in [(false, false), (true, false), (false, true), (true, true)] {
                for accumulate in [false, true] {
                    let a = random.array(m * k), b = random.array(k * n)
                    let c0 = random.array(m * n)
                    var c = c0
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                Gemm.multiply(
                                    m: m, n: n, k: k,
                                    a: aT
                                        ? .transposed(pa.baseAddress!, columns: m)
                                        : .rowMajor(pa.baseAddress!, columns: k),
                                    b: bT
                                        ? .transposed(pb.baseAddress!, columns: k)
                                        : .rowMajor(pb.baseAddress!, columns: n),
                                    c: pc.baseAddress!, ldc: n, accumulate: accumulate, scratch: scratch)
                            }
                        }
                    }
                    let expected = reference(m: m, n: n, k: k, a: a, aT: aT, b: b, bT: bT, c0: accumulate ? c0 : nil)
                    // Float32 sums of k products of magnitude < 1: error grows like k * 2^-24.
                    let tolerance = Float(k) * 2e-7 + 1e-6
                    XCTAssertNil(
                        maxViolation(c, expected, atol: tolerance, rtol: 1e-5),
                        "m \(m) n \(n) k \(k) aT \(aT) bT \(bT) accumulate \(accumulate)")
                }
            }
        }
    }

    func testLeadingDimensionLeavesOtherColumnsAlone() {
        // C is a 3x4 window of a 3x10 buffer: the columns beyond the window must not change.
        let scratch = GemmScratch()
        let a: [Float] = [1, 2, 3, 4, 5, 6]  // 3x2
        let b: [Float] = [1, 0, 2, 1, 0, 1, 1, 3]  // 2x4
        var c = [Float](repeating: -9, count: 30)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Gemm.multiply(
                        m: 3, n: 4, k: 2, a: .rowMajor(pa.baseAddress!, columns: 2),
                        b: .rowMajor(pb.baseAddress!, columns: 4),
                        c: pc.baseAddress!, ldc: 10, accumulate: false, scratch: scratch)
                }
            }
        }
        // Row i of A times B, worked by hand: [1,2] -> [1, 2, 4, 7]; [3,4] -> [3, 4, 10, 15]; [5,6] -> [5, 6, 16, 23].
        XCTAssertEqual(Array(c[0..<4]), [1, 2, 4, 7])
        XCTAssertEqual(Array(c[10..<14]), [3, 4, 10, 15])
        XCTAssertEqual(Array(c[20..<24]), [5, 6, 16, 23])
        for row in 0..<3 {
            XCTAssertEqual(Array(c[(row * 10 + 4)..<(row * 10 + 10)]), [Float](repeating: -9, count: 6))
        }
    }
}

final class ConvolutionLayoutTests: XCTestCase {
    /// col2im is the adjoint of im2col: <im2col(x), c> = <x, col2im(c)> for every x and c.
    func testCol2imIsTheAdjointOfIm2col() {
        var random = TestRandom(seed: 3)
        let geometries = [
            ConvGeometry(
                channels: 2, height: 7, width: 6, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padTop: 1, padLeft: 1,
                outH: 7, outW: 6),
            ConvGeometry(
                channels: 3, height: 9, width: 8, kernelH: 5, kernelW: 3, strideH: 2, strideW: 3, padTop: 2, padLeft: 0,
                outH: 5, outW: 2),
            ConvGeometry(
                channels: 1, height: 5, width: 5, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 1,
                outH: 2, outW: 3),
        ]
        for g in geometries {
            let x = random.array(g.channels * g.height * g.width)
            let c = random.array(g.depth * g.pixels)
            var col = [Float](repeating: 0, count: g.depth * g.pixels)
            var back = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { px in
                col.withUnsafeMutableBufferPointer { g.im2col(px.baseAddress!, into: $0.baseAddress!) }
            }
            c.withUnsafeBufferPointer { pc in
                back.withUnsafeMutableBufferPointer { g.col2imAdd(pc.baseAddress!, into: $0.baseAddress!) }
            }
            let left = zip(col, c).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let right = zip(x, back).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(left, right, accuracy: 1e-4, "\(g)")
        }
    }

    /// im2col against the definition: entry (c*kH*kW + ky*kW + kx, oy*outW + ox) = x[c, oy*sH - pT + ky, ox*sW - pL + kx] or 0.
    func testIm2colMatchesTheDefinition() {
        var random = TestRandom(seed: 4)
        let g = ConvGeometry(
            channels: 2, height: 6, width: 7, kernelH: 3, kernelW: 2, strideH: 2, strideW: 1, padTop: 1, padLeft: 1,
            outH: 3, outW: 8)
        let x = random.array(g.channels * g.height * g.width)
        var col = [Float](repeating: .nan, count: g.depth * g.pixels)
        x.withUnsafeBufferPointer { px in
            col.withUnsafeMutableBufferPointer { g.im2col(px.baseAddress!, into: $0.baseAddress!) }
        }
        for c in 0..<2 {
            for ky in 0..<3 {
                for kx in 0..<2 {
                    for oy in 0..<3 {
                        for ox in 0..<8 {
                            let iy = oy * 2 - 1 + ky, ix = ox - 1 + kx
                            let expected: Float =
                                (0..<6).contains(iy) && (0..<7).contains(ix) ? x[(c * 6 + iy) * 7 + ix] : 0
                            XCTAssertEqual(col[((c * 3 + ky) * 2 + kx) * g.pixels + oy * 8 + ox], expected)
                        }
                    }
                }
            }
        }
    }
}
