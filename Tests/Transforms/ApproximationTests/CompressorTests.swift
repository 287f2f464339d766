import Approximation
import Datasets
import Quantization
import TestSupport
import Training
import XCTest

/// Least-squares error of a polynomial fit, solved here independently (normal equations in plain j, Gaussian
/// elimination), as the oracle for the segmentation.
private func fitError(_ y: ArraySlice<Double>, terms: Int) -> Double {
    let n = y.count
    guard n > terms else { return 0 }
    var a = [[Double]](repeating: [Double](repeating: 0, count: terms + 1), count: terms)
    for (j, v) in y.enumerated() {
        for r in 0..<terms {
            for c in 0..<terms { a[r][c] += pow(Double(j), Double(r + c)) }
            a[r][terms] += pow(Double(j), Double(r)) * v
        }
    }
    for pivot in 0..<terms {
        for r in (pivot + 1)..<terms {
            let f = a[r][pivot] / a[pivot][pivot]
            for c in pivot...terms { a[r][c] -= f * a[pivot][c] }
        }
    }
    var b = [Double](repeating: 0, count: terms)
    for r in stride(from: terms - 1, through: 0, by: -1) {
        b[r] = (a[r][terms] - ((r + 1)..<terms).reduce(0) { $0 + a[r][$1] * b[$1] }) / a[r][r]
    }
    return y.enumerated().reduce(0) { sum, item in
        let fitted = (0..<terms).reduce(0.0) { $0 + b[$1] * pow(Double(item.offset), Double($1)) }
        return sum + (item.element - fitted) * (item.element - fitted)
    }
}

private func totalError(_ sorted: [Double], counts: [Int], terms: Int) -> Double {
    var start = 0, total = 0.0
    for count in counts {
        total += fitError(sorted[start..<(start + count)], terms: terms)
        start += count
    }
    return total
}

final class SegmentationTests: XCTestCase {
    func testOptimalBoundariesMatchExhaustiveSearch() {
        var random = TestRandom(seed: 5)
        for trial in 0..<12 {
            let n = 7 + trial % 6
            let sorted = random.array(n).map { Double($0) * Double($0) * Double($0) * 100 }.sorted()
            for degree in PolynomialDegree.allCases {
                for segments in 2...3 {
                    let terms = degree.rawValue + 1
                    // Every composition of n into `segments` positive parts.
                    var best = Double.infinity
                    func search(_ left: Int, _ parts: Int, _ counts: [Int]) {
                        if parts == 1 {
                            best = min(best, totalError(sorted, counts: counts + [left], terms: terms)); return
                        }
                        for c in 1...max(1, left - parts + 1) { search(left - c, parts - 1, counts + [c]) }
                    }
                    search(n, segments, [])
                    let counts = Segmentation.optimal(sorted, segments: segments, degree: degree)
                    XCTAssertEqual(counts.reduce(0, +), n)
                    XCTAssertEqual(counts.count, segments)
                    XCTAssertEqual(
                        totalError(sorted, counts: counts, terms: terms), best, accuracy: 1e-6 * max(1, best),
                        "n \(n), \(degree), \(segments) segments: \(counts)")
                }
            }
        }
    }

    func testCandidateGridCoversLargeGroups() {
        // A piecewise-linear curve with a kink at rank 6000 of 20000: the grid holds that rank, so two optimal
        // segments find it and fit exactly; equal segments cannot.
        let sorted: [Double] = (0..<20_000).map { (j: Int) -> Double in
            let x = Double(j)
            return j < 6000 ? x * 0.01 : 60 + (x - 6000) * 0.2
        }
        let counts = Segmentation.optimal(sorted, segments: 2, degree: .linear, candidates: 100)
        XCTAssertEqual(counts, [6000, 14_000])
        XCTAssertEqual(Segmentation.equal(20_000, segments: 2), [10_000, 10_000])
        XCTAssertEqual(Segmentation.equal(7, segments: 3), [3, 2, 2])
        XCTAssertEqual(Segmentation.equal(2, segments: 5), [1, 1])
    }
}

final class CompressorTests: XCTestCase {
    private func model() throws -> QuantizedModel {
        let graph = try Architecture.lenet5.build(input: [1, 12, 12], classes: 4, seed: 3)
        return try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(10, shape: [1, 12, 12], seed: 2), source: "lenet.onnx")
    }

    private func assertRefused(
        _ model: QuantizedModel, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertThrowsError(try QuantizedModel.decode(model.encoded(), file: "m.c.json"), file: file, line: line) {
            error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func testCompressedModelsRoundTripAndAreByteStable() throws {
        let base = try model()
        var swc = ScalingWeightOptions()
        swc.codebook = .pow2; swc.codeBits = 3
        var m1 = SortedWeightOptions()
        m1.degree = .quadratic; m1.grouping = .kernel; m1.segments = 3
        for method in [Method.sortedWeights(SortedWeightOptions()), .sortedWeights(m1), .scalingWeights(swc)] {
            let compressed = try ModelCompressor.compress(base, method: method)
            let data = try compressed.encoded()
            XCTAssertEqual(try QuantizedModel.decode(data, file: "m"), compressed)
            XCTAssertEqual(try ModelCompressor.compress(base, method: method).encoded(), data, "same input, same bytes")
            XCTAssertTrue(compressed.layers.allSatisfy { $0.weights == nil || $0.compression == nil })
            XCTAssertEqual(base.layers.count, compressed.layers.count)
        }
    }

    func testSegmentsOfTheStoredGroupFollowTheSortedWeights() throws {
        // Layer grouping keeps the rank order of the weights; clamped, they are flat - ramp - flat when sorted,
        // which three optimal segments (all ranks are candidates) reproduce exactly.
        var base = try model()
        let index = base.layers.firstIndex { $0.name == "fc3" }!
        var layer = base.layers[index]
        let n = layer.weights!.count
        layer.weights = (0..<n).map { ($0 * 37) % n - n / 2 }.map { max(-127, min(127, $0)) }
        layer.weightExponents = [Int](repeating: -9, count: layer.weightExponents!.count)
        base.layers[index] = layer
        var options = SortedWeightOptions()
        options.segments = 3
        let compressed = try ModelCompressor.compress(base, method: .sortedWeights(options), layers: ["fc3"])
        let stored = compressed.layers[index]
        let group = stored.compression!.groups![0]
        let scale = 1 << (-9 - stored.weightExponents![0])
        let values = layer.weights!
        XCTAssertEqual(group.order.map { values[$0] }, values.sorted())
        XCTAssertEqual(stored.effectiveWeights!, values.map { $0 * scale })
        XCTAssertEqual(group.segments.map { $0.coefficients[1] }, [0, scale, 0], "flat, one code per rank, flat")
        XCTAssertEqual(stored.compression!.originalAccumulatorBits, layer.accumulatorBits)
    }

    func testSwcCodesAndScalesFollowTheDefinition() throws {
        var base = try model()
        let index = base.layers.firstIndex { $0.name == "fc3" }!
        // Channel 0: MAW 100; ratios 1, 0.5, 0.26, 0.04, -0.7, 0.
        let fan = base.layers[index].weightShape![1]
        var weights = base.layers[index].weights!
        for k in 0..<fan { weights[k] = [100, 50, 26, 4, -70, 0][k % 6] }
        base.layers[index].weights = weights
        var options = ScalingWeightOptions()
        options.codeBits = 3  // uniform codes -3...3
        options.threshold = 0.05
        let uniform = try ModelCompressor.compress(base, method: .scalingWeights(options), layers: ["fc3"]).layers[
            index
        ].compression!
        // 1*3 = 3, 0.5*3 = 1.5 -> 2, 0.26*3 = 0.78 -> 1, 0.04 < threshold -> 0, -0.7*3 = -2.1 -> -2, 0.
        XCTAssertEqual(Array(uniform.codes![0..<6]), [3, 2, 1, 0, -2, 0])
        // Scale: MAW / 3 = 33.33 at the finest exponent that fits 12 bits (2047): 33.33 * 2^6 = 2133 does not fit,
        // 33.33 * 2^5 = 1066.7 -> 1067.
        XCTAssertEqual(uniform.scales![0], 1067)
        options.codebook = .pow2  // 3 bits: 0, ±1, ±2, ±4
        let pow2 = try ModelCompressor.compress(base, method: .scalingWeights(options), layers: ["fc3"]).layers[index]
            .compression!
        // Ratios times 4: 4, 2, 1.04 -> 1, pruned, -2.8 -> -2 (nearer 2 than 4), 0.
        XCTAssertEqual(Array(pow2.codes![0..<6]), [4, 2, 1, 0, -2, 0])
        XCTAssertEqual(pow2.scales![0], 1600)  // 100 / 4 = 25 -> 25 * 2^6
    }

    func testMetricsCountTheReuseForm() throws {
        // fc3 of the small LeNet: 4 outputs x 84 inputs. Channel groups with one linear segment each: per output
        // 2*84 - 1 additions for the moments plus one per nonzero coefficient, and one multiply per nonzero coefficient.
        let base = try model()
        var options = SortedWeightOptions()
        options.grouping = .channel; options.segments = 1
        let compressed = try ModelCompressor.compress(base, method: .sortedWeights(options), layers: ["fc3"])
        let metrics = try ModelMetrics(compressed)
        let fc3 = metrics.layers.first { $0.name == "fc3" }!
        let coefficients = compressed.layers.last!.compression!.groups!.map { $0.segments[0].coefficients }
        let nonzero = coefficients.reduce(0) { $0 + $1.filter { $0 != 0 }.count }
        XCTAssertEqual(fc3.macs, 4 * 84)
        XCTAssertEqual(fc3.multipliesAfter, nonzero)
        XCTAssertEqual(fc3.additionsAfter, 4 * (2 * 84 - 1) + nonzero)
        XCTAssertEqual(fc3.smallMultiplies, 0)
        XCTAssertEqual(fc3.paramsBefore, 4 * 84 + 4)
        XCTAssertEqual(fc3.paramsAfter, 4 * 2 + 4)
        // Storage: 8 coefficients of 16 bits (the default width), 4 permutations of 84 ranks (7 bits each),
        // 4 boundaries of 7 bits, 4 biases at the new accumulator width.
        XCTAssertEqual(fc3.permutationBits, 4 * 84 * 7 + 4 * 7)
        XCTAssertEqual(fc3.storageBitsAfter, 8 * 16 + 4 * 84 * 7 + 4 * 7 + 4 * compressed.layers.last!.accumulatorBits!)
        XCTAssertEqual(fc3.storageBitsBefore, 4 * 84 * 8 + 4 * base.layers.last!.accumulatorBits!)
        // Layers left alone count the same before and after.
        let conv1 = metrics.layers.first { $0.name == "conv1" }!
        XCTAssertEqual(conv1.method, "none")
        XCTAssertEqual(
            [conv1.paramsAfter, conv1.multipliesAfter, conv1.additionsAfter],
            [conv1.paramsBefore, conv1.macs, conv1.macs])

        // SWC: one full multiply per output with a nonzero code; the rest are shifts and small products.
        var swc = ScalingWeightOptions()
        swc.codeBits = 4
        let scaled = try ModelCompressor.compress(base, method: .scalingWeights(swc), layers: ["fc3"])
        let s = try ModelMetrics(scaled).layers.first { $0.name == "fc3" }!
        let codes = scaled.layers.last!.compression!.codes!
        XCTAssertEqual(s.multipliesAfter, 4)
        XCTAssertEqual(s.additionsAfter, codes.filter { $0 != 0 }.count)
        XCTAssertEqual(s.smallMultiplies, codes.filter { [3, 5, 6, 7].contains(abs($0)) }.count)
        XCTAssertEqual(s.shifts, codes.filter { [2, 4].contains(abs($0)) }.count)
        XCTAssertEqual(s.paramsAfter, 4 * 84 + 4 + 4)

        // Constant segments: 3 per channel give at most 3 distinct weights per output (fewer where a segment's mean
        // rounds to 0 or two segments round alike), each multiplied once per output in the factored form.
        var constant = SortedWeightOptions()
        constant.degree = .constant; constant.grouping = .channel; constant.segments = 3
        let repeated = try ModelCompressor.compress(base, method: .sortedWeights(constant), layers: ["fc3"])
        let r = try ModelMetrics(repeated).layers.first { $0.name == "fc3" }!
        let perChannel = repeated.layers.last!.compression!.groups!.map {
            Set($0.segments.map { $0.coefficients[0] }.filter { $0 != 0 }).count
        }
        XCTAssertEqual(r.distinctWeights, perChannel.max())
        XCTAssertLessThanOrEqual(r.distinctWeights, 3)
        XCTAssertEqual(r.factoredMultiplies, perChannel.reduce(0, +))
        // An uncompressed layer: its 8-bit codes repeat too, far less.
        XCTAssertGreaterThan(conv1.distinctWeights, 3)
    }

    func testDamagedCompressionsAreRefusedWithTheLayerAndReason() throws {
        let base = try model()
        let m1 = try ModelCompressor.compress(base, method: .sortedWeights(SortedWeightOptions()), layers: ["fc3"])
        let i = m1.layers.count - 1
        var bad = m1
        bad.layers[i].compression!.groups![0].order[0] = bad.layers[i].compression!.groups![0].order[1]
        try assertRefused(bad, "layer 'fc3': compression: group 0: index")
        bad = m1
        bad.layers[i].compression!.groups![0].segments[0].coefficients[0] = 1 << 15
        try assertRefused(bad, "coefficient 32768 is outside ±32767 (16 bits)")
        bad = m1
        bad.layers[i].compression!.groups![0].segments[0].count -= 1
        try assertRefused(bad, "segments must be contiguous")
        bad = m1
        bad.layers[i].weights = [Int](repeating: 0, count: 4 * 84)
        try assertRefused(bad, "has both weights and a compression")
        bad = m1
        bad.layers[i].compression!.groups![0].segments[0].coefficients.append(1)
        try assertRefused(bad, "a linear segment has 2 coefficients, not 3")
        bad = m1
        bad.layers[i].bias![0] += 1 << 40
        try assertRefused(bad, "does not fit accumulator_bits")

        let swc = try ModelCompressor.compress(base, method: .scalingWeights(ScalingWeightOptions()), layers: ["fc3"])
        bad = swc
        bad.layers[i].compression!.codes![3] = 8
        try assertRefused(bad, "code 8 is not in the 4-bit uniform code book")
        bad = swc
        bad.layers[i].compression!.codebook = .pow2
        bad.layers[i].compression!.codes![3] = 3
        try assertRefused(bad, "code 3 is not in the 4-bit pow2 code book")
        bad = swc
        bad.layers[i].compression!.scales!.removeLast()
        try assertRefused(bad, "scales (3) and codes")
        // A code book or grouping the format does not know is refused at decoding, naming the field.
        for (model, field, value) in [(swc, "codebook", "uniform"), (m1, "group", "layer")] {
            let text = String(decoding: try model.encoded(), as: UTF8.self)
                .replacingOccurrences(of: "\"\(field)\" : \"\(value)\"", with: "\"\(field)\" : \"pow3\"")
            XCTAssertThrowsError(try QuantizedModel.decode(Data(text.utf8), file: "bad.c.json")) { error in
                XCTAssertTrue(
                    "\(error)".contains("bad.c.json") && "\(error)".contains("compression.\(field)"), "\(error)")
            }
        }
    }

    func testImpossibleSettingsAreRefusedAtCompressionTime() throws {
        let base = try model()
        var swc = ScalingWeightOptions()
        swc.codebook = .pow2; swc.codeBits = 5; swc.scaleBits = 16
        XCTAssertThrowsError(try ModelCompressor.compress(base, method: .scalingWeights(swc))) { error in
            XCTAssertTrue("\(error)".contains("more than --max-acc-bits 32"), "\(error)")
        }
        XCTAssertThrowsError(
            try ModelCompressor.compress(base, method: .scalingWeights(ScalingWeightOptions()), layers: ["pool1"])
        ) { error in
            XCTAssertTrue("\(error)".contains("layer 'pool1': is not a conv2d or dense layer"), "\(error)")
        }
        XCTAssertThrowsError(
            try ModelCompressor.compress(base, method: .scalingWeights(ScalingWeightOptions()), layers: ["fc9"])
        ) { error in
            XCTAssertTrue("\(error)".contains("no layer of this name"), "\(error)")
        }
        let once = try ModelCompressor.compress(base, method: .scalingWeights(ScalingWeightOptions()))
        XCTAssertThrowsError(try ModelCompressor.compress(once, method: .scalingWeights(ScalingWeightOptions()))) {
            error in
            XCTAssertTrue("\(error)".contains("is already compressed"), "\(error)")
        }
    }
}

final class FineTuningTests: XCTestCase {
    /// M1: after the projection, each group taken in the order of the weights it started from is a polynomial of
    /// the group's degree on every segment (its finite differences of order degree + 1 vanish). M2: every filter
    /// is MAW / top times a code, so projecting again changes nothing (up to float rounding of MAW).
    func testProjectionsLandOnTheCompressedStructure() throws {
        let graph = try Architecture.lenet5.build(input: [1, 12, 12], classes: 4, seed: 3)
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(10, shape: [1, 12, 12], seed: 2), source: "lenet.onnx")
        let network = try TrainableNetwork(graph: graph)
        var layer = SortedWeightOptions()
        layer.segments = 3
        var channel = SortedWeightOptions()
        channel.degree = .quadratic; channel.grouping = .channel; channel.segments = 2
        var swc = ScalingWeightOptions()
        swc.codebook = .pow2; swc.codeBits = 3
        // Constant segments stay constant (stored as linear ones with C1 = 0).
        var constant = SortedWeightOptions()
        constant.degree = .constant; constant.grouping = .channel; constant.segments = 3
        for method in [
            Method.sortedWeights(layer), .sortedWeights(channel), .sortedWeights(constant), .scalingWeights(swc),
        ] {
            let compressed = try ModelCompressor.compress(model, method: method)
            for mode in [Projection.Mode.reproject, .straightThrough] {
                let projection = try FineTuning.projection(for: compressed, network: network, m1Mode: mode)
                let start = network.initialParameters()
                var projected = start
                projection.apply(&projected)
                XCTAssertNotEqual(projected, start, "the projection changed nothing")
                guard case .sortedWeights(let options) = method else {
                    XCTAssertEqual(projection.mode, .straightThrough)
                    var twice = projected
                    projection.apply(&twice)
                    XCTAssertLessThanOrEqual(zip(projected, twice).map { abs($0 - $1) }.max()!, 1e-6)
                    continue
                }
                XCTAssertEqual(projection.mode, mode)
                for stored in compressed.layers where stored.compression != nil {
                    let base = network.parameterRanges(of: stored.name)!.weight.lowerBound
                    let peak = Double(
                        network.parameterRanges(of: stored.name)!.weight.map { abs(projected[$0]) }.max()!)
                    for group in stored.compression!.groups! {
                        let members = group.order.map { base + $0 }.sorted {
                            start[$0] < start[$1] || (start[$0] == start[$1] && $0 < $1)
                        }
                        for segment in group.segments where segment.count > options.degree.rawValue + 1 {
                            var values = (segment.start..<(segment.start + segment.count)).map {
                                Double(projected[members[$0]])
                            }
                            for _ in 0...options.degree.rawValue {
                                values = zip(values.dropFirst(), values).map { $0 - $1 }
                            }
                            XCTAssertLessThanOrEqual(
                                values.map(abs).max()!, 1e-5 * peak, "\(stored.name) \(options.degree) \(mode)")
                        }
                    }
                }
            }
        }
    }
}
