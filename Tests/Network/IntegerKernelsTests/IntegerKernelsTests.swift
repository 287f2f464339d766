import IntegerKernels
import Training
import XCTest

/// The integer kernels against plain Swift loops written from the header's definitions: the packed layouts, the
/// GEMM (every instruction-set version this machine has, at the extremes of 16 bits where sums wrap) and the
/// requantization (docs/arithmetic.md section 3, as FixedPoint.requantize states it).
final class IntegerKernelsTests: XCTestCase {
    /// B[k, n] of a packed matrix.
    func unpack(_ packed: [Int16], depth: Int, column n: Int, row k: Int) -> Int16 {
        packed[
            (n / Int(AR_PANEL)) * depth * Int(AR_PANEL) + (k / 2) * 2 * Int(AR_PANEL) + (n % Int(AR_PANEL)) * 2 + k % 2]
    }

    func testEveryGemmVersionEqualsPlainWrappingSums() {
        var random = SeededGenerator(seed: 7)
        var versions = Set<Int32>()
        for (m, n, k) in [(1, 1, 1), (6, 33, 25), (8, 32, 2), (9, 64, 150), (17, 95, 7), (3, 200, 400)] {
            let depth = ar_even(k)
            // Codes drawn mostly from the extremes: -32768 * -32768 pairs overflow a 32-bit pair sum.
            func code() -> Int16 {
                let pick = random.next() % 4
                return pick == 0 ? .min : pick == 1 ? .max : Int16(truncatingIfNeeded: random.next())
            }
            var a = [Int16](repeating: 0, count: m * depth)
            for r in 0..<m { for c in 0..<k { a[r * depth + c] = code() } }
            let inputs = (0..<(n * k)).map { _ in Int32(code()) }
            var packed = [Int16](repeating: 7, count: ar_packed_size(depth, n))
            ar_pack_inputs(inputs, k, k, n, &packed)
            for col in 0..<n {
                for row in 0..<depth {
                    XCTAssertEqual(
                        unpack(packed, depth: depth, column: col, row: row), row < k ? Int16(inputs[col * k + row]) : 0)
                }
            }
            let ldc = ar_packed_size(2, n) / 2
            for version in Int32(0)...3 {
                var c = [Int32](repeating: 0, count: m * ldc)
                guard ar_gemm_version(version, m, n, depth, a, packed, &c, ldc) == 1 else { continue }
                versions.insert(version)
                for r in 0..<m {
                    for col in 0..<n {
                        var sum: Int32 = 0
                        for i in 0..<k { sum &+= Int32(a[r * depth + i]) &* inputs[col * k + i] }
                        XCTAssertEqual(c[r * ldc + col], sum, "version \(version), \(m)x\(n)x\(k), [\(r), \(col)]")
                    }
                }
            }
        }
        XCTAssertTrue(versions.contains(0))
        print("GEMM versions checked on this machine: \(versions.sorted()) (best: \(String(cString: ar_gemm_isa())))")
    }

    /// The packed im2col matrix against the taps read directly, with padding and strides.
    func testIm2colReadsTheRightTaps() {
        var random = SeededGenerator(seed: 3)
        for (channels, side, kernel, stride, pad) in [
            (1, 9, 5, 1, 2), (3, 7, 3, 1, 1), (2, 8, 3, 2, 1), (2, 6, 2, 1, 0),
        ] {
            let samples = 3, out = (side + 2 * pad - kernel) / stride + 1
            let input = (0..<(samples * channels * side * side)).map { _ in Int32(random.next() % 255) - 100 }
            func tap(_ s: Int, _ c: Int, _ iy: Int, _ ix: Int) -> Int16 {
                iy < 0 || iy >= side || ix < 0 || ix >= side
                    ? 0 : Int16(input[((s * channels + c) * side + iy) * side + ix])
            }
            let depth = ar_conv_depth(channels, kernel, kernel), evenW = ar_even(kernel)
            var packed = [Int16](repeating: 7, count: ar_packed_size(depth, samples * out * out))
            ar_im2col_pack(
                input, samples, channels * side * side, channels, side, side, kernel, kernel, stride, stride, pad,
                pad, out, out, &packed)
            for s in 0..<samples {
                for oy in 0..<out {
                    for ox in 0..<out {
                        for c in 0..<channels {
                            for ky in 0..<kernel {
                                for kx in 0..<evenW {
                                    let row = (c * kernel + ky) * evenW + kx
                                    let expected =
                                        kx < kernel ? tap(s, c, oy * stride - pad + ky, ox * stride - pad + kx) : 0
                                    let column = (s * out + oy) * out + ox
                                    XCTAssertEqual(
                                        unpack(packed, depth: depth, column: column, row: row), expected,
                                        "\(channels)x\(side) k\(kernel) stride \(stride) pad \(pad)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The direct convolution (pair planes, no im2col) on every version against the convolution summed plainly,
    /// at the real columns; codes at the 16-bit extremes so that sums wrap. Taps paired along kernel rows, and
    /// (even channel counts) neighbouring channels paired.
    func testDirectConvolutionEqualsPlainSums() {
        for pairChannels in [false, true] { directConvolution(pairChannels: pairChannels) }
    }

    func directConvolution(pairChannels: Bool) {
        var random = SeededGenerator(seed: 5)
        var versions = Set<Int32>()
        for (rows, channels, side, kernel, pad) in [
            (6, 1, 9, 5, 2), (16, 3, 7, 3, 1), (9, 2, 6, 2, 0), (3, 2, 5, 1, 0), (5, 6, 6, 3, 1),
        ] where !pairChannels || channels % 2 == 0 {
            let samples = 2, out = side + 2 * pad - kernel + 1
            let paddedW = out + kernel - 1, paddedH = out + kernel - 1, evenW = ar_even(kernel)
            let taps = kernel * kernel
            let depth = pairChannels ? channels * taps : ar_conv_depth(channels, kernel, kernel)
            func code() -> Int16 {
                let pick = random.next() % 3
                return pick == 0 ? .min : pick == 1 ? .max : Int16(truncatingIfNeeded: random.next())
            }
            let input = (0..<(samples * channels * side * side)).map { _ in Int32(code()) }
            let weights = (0..<(rows * channels * kernel * kernel)).map { _ in code() }
            var a = [Int16](repeating: 0, count: rows * depth)
            for r in 0..<rows {
                for k in 0..<(channels * taps) {
                    let column =
                        pairChannels
                        ? ((k / taps / 2 * taps) + k % taps) * 2 + (k / taps) % 2 : k / kernel * evenW + k % kernel
                    a[r * depth + column] = weights[r * channels * taps + k]
                }
            }
            let plane = paddedH * paddedW
            let sampleWords = (pairChannels ? channels / 2 : channels) * plane, slack = kernel + Int(AR_PANEL)
            var planes = [UInt32](repeating: 9, count: samples * sampleWords + slack)
            var offsets: [Int] = []
            if pairChannels {
                ar_pair_channels(
                    input, samples, channels * side * side, channels, side, side, pad, pad, paddedH, paddedW, slack,
                    &planes)
                for pair in 0..<(channels / 2) {
                    for ky in 0..<kernel { for kx in 0..<kernel { offsets.append(pair * plane + ky * paddedW + kx) } }
                }
                assertEveryPackingVersion(
                    lanes: 2, planes, input, samples: samples, channels: channels, side: side, pad: pad,
                    padded: paddedH, slack: slack)
            } else {
                ar_pair_planes(
                    input, samples, channels * side * side, channels, side, side, pad, pad, paddedH, paddedW, slack,
                    &planes)
                for c in 0..<channels {
                    for ky in 0..<kernel {
                        for p in 0..<(evenW / 2) { offsets.append(c * plane + ky * paddedW + 2 * p) }
                    }
                }
            }
            let perSample = out * paddedW, panelColumns = ar_packed_size(2, perSample) / 2
            for version in Int32(0)...3 {
                var c = [Int32](repeating: 0, count: rows * samples * panelColumns)
                guard
                    ar_gemm_direct_version(
                        version, rows, samples, perSample, depth, a, planes, sampleWords, offsets, &c,
                        samples * panelColumns) == 1
                else { continue }
                versions.insert(version)
                for s in 0..<samples {
                    for r in 0..<rows {
                        for oy in 0..<out {
                            for ox in 0..<out {
                                var sum: Int32 = 0
                                for ch in 0..<channels {
                                    for ky in 0..<kernel {
                                        for kx in 0..<kernel {
                                            let (iy, ix) = (oy - pad + ky, ox - pad + kx)
                                            guard iy >= 0, iy < side, ix >= 0, ix < side else { continue }
                                            let w = weights[((r * channels + ch) * kernel + ky) * kernel + kx]
                                            sum &+= Int32(w) &* input[((s * channels + ch) * side + iy) * side + ix]
                                        }
                                    }
                                }
                                let column = s * panelColumns + oy * paddedW + ox
                                XCTAssertEqual(
                                    c[r * samples * panelColumns + column], sum,
                                    "version \(version), \(channels)x\(side) k\(kernel) pad \(pad), [\(s), \(r), \(oy), \(ox)]"
                                )
                            }
                        }
                    }
                }
            }
        }
        XCTAssertTrue(versions.contains(0))
    }

    /// The 8-bit direct convolution (quad planes) on every version against the convolution summed plainly, at the
    /// real columns, with codes at vpdpbusd's extremes (inputs 0 and 255 unsigned, weights -128 and 127), each byte
    /// of a word a different channel.
    func testQuadDirectConvolutionEqualsPlainSums() {
        var random = SeededGenerator(seed: 6)
        var versions = Set<Int32>()
        for (rows, channels, side, kernel, pad) in [
            (6, 4, 9, 5, 2), (17, 8, 7, 3, 1), (9, 4, 6, 2, 0), (3, 12, 5, 1, 0),
        ] {
            let samples = 2, out = side + 2 * pad - kernel + 1
            let paddedW = out + kernel - 1, paddedH = out + kernel - 1, taps = kernel * kernel, depth = channels * taps
            let input = (0..<(samples * channels * side * side)).map { _ -> Int32 in
                let pick = random.next() % 3
                return pick == 0 ? 255 : pick == 1 ? 0 : Int32(random.next() % 256)
            }
            let weights = (0..<(rows * depth)).map { _ -> Int8 in
                let pick = random.next() % 3
                return pick == 0 ? .min : pick == 1 ? .max : Int8(truncatingIfNeeded: random.next())
            }
            var a = [Int8](repeating: 0, count: rows * depth)
            for r in 0..<rows {
                for k in 0..<depth {
                    a[r * depth + ((k / taps / 4 * taps) + k % taps) * 4 + (k / taps) % 4] = weights[r * depth + k]
                }
            }
            let plane = paddedH * paddedW, sampleWords = channels / 4 * plane, slack = kernel + Int(AR_PANEL)
            var planes = [UInt32](repeating: 9, count: samples * sampleWords + slack)
            ar_quad_channels(
                input, samples, channels * side * side, channels, side, side, pad, pad, paddedH, paddedW, slack, &planes
            )
            assertEveryPackingVersion(
                lanes: 4, planes, input, samples: samples, channels: channels, side: side, pad: pad, padded: paddedH,
                slack: slack)
            var offsets: [Int] = []
            for quad in 0..<(channels / 4) {
                for ky in 0..<kernel { for kx in 0..<kernel { offsets.append(quad * plane + ky * paddedW + kx) } }
            }
            let perSample = out * paddedW, panelColumns = ar_packed_size(2, perSample) / 2
            for version in Int32(0)...3 {
                var c = [Int32](repeating: 0, count: rows * samples * panelColumns)
                guard
                    ar_gemm_direct_quads_version(
                        version, rows, samples, perSample, depth, a, planes, sampleWords, offsets, &c,
                        samples * panelColumns) == 1
                else { continue }
                versions.insert(version)
                for s in 0..<samples {
                    for r in 0..<rows {
                        for oy in 0..<out {
                            for ox in 0..<out {
                                var sum: Int32 = 0
                                for ch in 0..<channels {
                                    for ky in 0..<kernel {
                                        for kx in 0..<kernel {
                                            let (iy, ix) = (oy - pad + ky, ox - pad + kx)
                                            guard iy >= 0, iy < side, ix >= 0, ix < side else { continue }
                                            let w = weights[r * depth + (ch * kernel + ky) * kernel + kx]
                                            sum += Int32(w) * input[((s * channels + ch) * side + iy) * side + ix]
                                        }
                                    }
                                }
                                let column = s * panelColumns + oy * paddedW + ox
                                XCTAssertEqual(
                                    c[r * samples * panelColumns + column], sum,
                                    "version \(version), \(channels)x\(side) k\(kernel) pad \(pad), [\(s), \(r), \(oy), \(ox)]"
                                )
                            }
                        }
                    }
                }
            }
        }
        XCTAssertTrue(versions.contains(0))
        print("quad versions checked on this machine: \(versions.sorted()) (vector version: \(ar_quads_supported()))")
    }

    /// Channel pairs or quads packed by every version this machine has equal `planes` (whose words the direct
    /// convolution tests then hold to plain sums), the slack's zeros included.
    func assertEveryPackingVersion(
        lanes: Int, _ planes: [UInt32], _ input: [Int32], samples: Int, channels: Int, side: Int, pad: Int,
        padded: Int, slack: Int
    ) {
        for version in Int32(0)...2 {
            var other = [UInt32](repeating: 5, count: planes.count)
            guard
                ar_channel_planes_version(
                    version, lanes, input, samples, channels * side * side, channels, side, side, pad, pad, padded,
                    padded, slack, &other) == 1
            else { continue }
            XCTAssertEqual(other, planes, "version \(version), \(lanes) lanes, \(channels)x\(side) pad \(pad)")
        }
    }

    /// docs/arithmetic.md section 3, read literally in Int: round half up, ReLU, saturate.
    func testRequantizeEqualsTheContract() {
        var random = SeededGenerator(seed: 11)
        let acc = (0..<300).map { i -> Int32 in
            i < 4 ? [Int32.min, .max, -1, 0][i] : Int32(truncatingIfNeeded: random.next()) >> Int32(random.next() % 31)
        }
        for shift in [-31, -9, -1, 0, 1, 2, 7, 16, 30, 31, 32, 45, 62] {
            for bits in [1, 4, 8, 16] {
                for relu in [false, true] {
                    for (bias, scale) in [(Int32(0), Int32(1)), (-1234, 1), (77, -3)] {
                        var out = [Int32](repeating: 0, count: acc.count)
                        ar_requantize(acc, acc.count, bias, scale, Int32(shift), relu ? 1 : 0, Int32(bits), &out)
                        for (i, a) in acc.enumerated() {
                            let v = Int(bias &+ scale &* a)
                            var y = shift > 0 ? (v + (1 << (shift - 1))) >> shift : v << -shift
                            if relu && y < 0 { y = 0 }
                            let top = (1 << (bits - 1)) - 1
                            y = min(max(y, -top - 1), top)
                            XCTAssertEqual(Int(out[i]), y, "acc \(a), shift \(shift), bits \(bits), relu \(relu)")
                        }
                    }
                }
            }
        }
    }

    /// Strided rows (the direct convolution's output rows) requantize exactly as each row alone, at row lengths
    /// that end in a partial vector (7, 28, 33) or fill one (16); codes beyond a row's end are never written.
    func testRequantizedRowsEqualEachRowAlone() {
        var random = SeededGenerator(seed: 12)
        for (rows, count, stride) in [(5, 7, 9), (3, 16, 16), (4, 28, 30), (2, 33, 40), (1, 1, 1)] {
            let acc = (0..<(rows * stride)).map { i -> Int32 in
                i < 4
                    ? [Int32.min, .max, -1, 0][i]
                    : Int32(truncatingIfNeeded: random.next()) >> Int32(random.next() % 31)
            }
            for shift in [-3, 0, 1, 2, 9, 30, 31, 32] {
                for (bits, relu) in [(8, true), (8, false), (16, false), (1, false)] {
                    var scratch = [Int32](repeating: 0, count: acc.count)
                    var out = [Int32](repeating: 99, count: rows * count + 5)
                    ar_requantize_rows(
                        acc, rows, count, stride, -7, 3, Int32(shift), relu ? 1 : 0, Int32(bits), &scratch, &out)
                    for r in 0..<rows {
                        var alone = [Int32](repeating: 0, count: count)
                        Array(acc[(r * stride)..<(r * stride + count)]).withUnsafeBufferPointer {
                            ar_requantize(
                                $0.baseAddress!, count, -7, 3, Int32(shift), relu ? 1 : 0, Int32(bits), &alone)
                        }
                        XCTAssertEqual(
                            Array(out[(r * count)..<((r + 1) * count)]), alone,
                            "row \(r) of \(rows) x \(count), shift \(shift)")
                    }
                    XCTAssertEqual(Array(out[(rows * count)...]), [99, 99, 99, 99, 99], "past the last row")
                }
            }
        }
    }
}
