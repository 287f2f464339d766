import Approximation
import Datasets
import Foundation
import GoldenModel
import OnnxImport
import Quantization
import TestSupport
import XCTest

/// The golden model runs compressed layers in their reuse form (moments and coefficient multiplies for M1,
/// inner sum and one scale multiply for M2). These tests hold it to the dense product with the approximated
/// weights: the plain nested loops of SlowReference, and the golden model's own dense path on a twin model
/// that stores the approximated weights as plain codes.
final class CompressedExecutionTests: XCTestCase {
    /// Settings that together cover every grouping, degree, boundary rule, code book and pruning.
    static let methods: [(String, Method)] = {
        var list: [(String, Method)] = []
        for degree in PolynomialDegree.allCases {
            for grouping in Grouping.allCases {
                for (segments, boundaries) in [(1, Boundaries.equal), (3, .optimal), (7, .equal), (40, .optimal)] {
                    var o = SortedWeightOptions()
                    o.degree = degree; o.grouping = grouping; o.segments = segments; o.boundaries = boundaries
                    o.coefficientBits = segments == 7 ? 6 : 12
                    list.append(("\(degree) \(grouping) \(segments) \(boundaries)", .sortedWeights(o)))
                }
            }
        }
        for (codebook, bits, threshold) in [
            (Codebook.uniform, 4, 0.0), (.uniform, 2, 0.0), (.pow2, 3, 0.1), (.uniform, 6, 0.25),
        ] {
            var o = ScalingWeightOptions()
            o.codebook = codebook; o.codeBits = bits; o.threshold = threshold
            list.append(("swc \(codebook) \(bits) \(threshold)", .scalingWeights(o)))
        }
        return list
    }()

    /// Every layer of the golden model, both engines (the reference runs the reuse form, the batched one the
    /// dense equivalent as GEMMs), against SlowReference (plain loops over the approximated weights) for each image.
    static func assertReuseEqualsDense(
        _ model: QuantizedModel, pixels: [UInt8], count: Int, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let golden = try GoldenModel(model)
        let size = pixels.count / count
        let expected = (0..<count).map {
            SlowReference.runLayers(model, pixels: Array(pixels[($0 * size)..<(($0 + 1) * size)]))
        }
        for engine in [GoldenModel.Engine.reference, .batched] {
            let outcome = golden.run(pixels: pixels, count: count, keepLayers: true, engine: engine)
            for s in 0..<count {
                for (l, layer) in expected[s].enumerated() {
                    let got = Array(outcome.layers[l][(s * layer.count)..<((s + 1) * layer.count)])
                    XCTAssertEqual(
                        got, layer, "\(message), \(engine), image \(s), layer \(model.layers[l].name)", file: file,
                        line: line)
                }
            }
        }
    }

    func testReuseFormEqualsTheDenseProductOnRandomNetworks() throws {
        var checked = 0
        for seed in UInt64(1)...6 {
            let graph = try RandomNetworks.graph(seed: seed)
            let shape = graph.nodes[0].shape
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
            let test = RandomNetworks.images(4, shape: shape, seed: seed &+ 500)
            for (name, method) in Self.methods {
                let compressed = try ModelCompressor.compress(model, method: method, maxAccumulatorBits: 62)
                try Self.assertReuseEqualsDense(
                    compressed, pixels: test.pixels, count: test.count, "seed \(seed), \(name)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 6 * Self.methods.count)
    }

    /// One part's C0*X + C1*J + C2*Q over inputs `x`, in T.
    static func evaluate<T: FixedWidthInteger>(_ part: ReusePlan.Part, _ x: [T]) -> T {
        var work = [T](repeating: 0, count: 5)
        x.withUnsafeBufferPointer { input in
            work.withUnsafeMutableBufferPointer { w in
                part.accumulate(
                    degree: 2, lanes: 1, row: { input.baseAddress! + $0 }, into: w.baseAddress!,
                    scratch: w.baseAddress! + 1)
            }
        }
        return work[0]
    }

    /// The worked example of docs/arithmetic.md section 7.1, contiguous and as a gapped part.
    func testWorkedExampleOfTheArithmeticContract() {
        for contiguous in [true, false] {
            let part = ReusePlan.Part(
                coefficients: [10, -3, 1], inputs: [0, 1, 2], offsets: [0, 1, 2], contiguous: contiguous)
            XCTAssertEqual(Self.evaluate(part, [2, 5, 1]), 68)
        }
    }

    /// Reuse arithmetic in Int32 is exact whenever the result fits 32 bits, even when the moments overflow
    /// (wrapping arithmetic cancels); and each moment is what it claims to be, for contiguous and gapped parts.
    func testMomentsAreExactAndMayOverflow() {
        let ranks = Array(0..<3000)
        let wide = ranks.map { 100_000 - ($0 % 7) * 30_000 }
        for (offsets, contiguous) in [(ranks, true), (ranks.map { 2 * $0 + 1 }, false)] {
            var (s, j, q) = (0, 0, 0)
            for (u, k) in ranks.enumerated() {
                s += wide[k]; j += offsets[u] * wide[k]; q += offsets[u] * offsets[u] * wide[k]
            }
            for (coefficients, expected) in [
                ([1, 0, 0], s), ([0, 1, 0], j), ([0, 0, 1], q), ([3, -2, 1], 3 * s - 2 * j + q),
            ] {
                let part = ReusePlan.Part(
                    coefficients: coefficients, inputs: ranks, offsets: offsets, contiguous: contiguous)
                XCTAssertEqual(Self.evaluate(part, wide), expected, "\(coefficients), contiguous \(contiguous)")
                XCTAssertEqual(Self.evaluate(part, wide.map { Int32($0) }), Int32(truncatingIfNeeded: expected))
            }
            XCTAssertFalse(Int(Int32.min)...Int(Int32.max) ~= q, "the second moment should overflow Int32 here")
        }
    }

    func testReuseFormEqualsTheDenseProductOnTheBundledModels() throws {
        let repository = repositoryRoot()
        let images = try FashionMNIST.load(
            split: .test, directory: repository.appendingPathComponent("data/fashion-mnist-test500").path)
        for (file, count) in [("lenet5-fmnist", 16), ("vgg-small-fmnist", 2)] {
            let graph = try OnnxImporter.load(path: repository.appendingPathComponent("models/\(file).onnx").path).graph
            let model = try Quantizer.quantize(graph, calibration: images.prefix(100), source: file)
            let pixels = Array(images.prefix(count).pixels)
            for (name, method) in Self.methods
            where ["linear layer 40 optimal", "quadratic kernel 3 optimal", "swc uniform 4 0.0", "swc pow2 3 0.1"]
                .contains(name)
            {
                let compressed = try ModelCompressor.compress(model, method: method, maxAccumulatorBits: 62)
                try Self.assertReuseEqualsDense(compressed, pixels: pixels, count: count, "\(file), \(name)")
            }
        }
    }
}
