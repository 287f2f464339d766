import Datasets
import GoldenModel
import NetworkIR
import Quantization
import TestSupport
import Training
import XCTest

final class GoldenModelTests: XCTestCase {
    func testGoldenModelEqualsTheSlowReferenceOnRandomNetworks() throws {
        var widest = 0
        for seed in UInt64(1)...14 {
            let graph = try RandomNetworks.graph(seed: seed)
            let shape = graph.nodes[0].shape
            var options = QuantizationOptions()
            var random = SeededGenerator(seed: seed &+ 100)
            options.weightBits = [4, 6, 8, 12, 16][Int(random.next() % 5)]
            options.activationBits = [4, 8, 10, 16][Int(random.next() % 4)]
            options.perChannel = random.next() % 2 == 0
            if seed > 12 { (options.weightBits, options.activationBits) = (16, 16) }
            // Wide codes need wide accumulators: allow them, so the 64-bit path of the golden model runs too.
            options.maxAccumulatorBits = 62
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random",
                options: options)
            let golden = try GoldenModel(model)
            widest = max(widest, model.layers.compactMap(\.accumulatorBits).max() ?? 0)
            let test = RandomNetworks.images(6, shape: shape, seed: seed &+ 1000)
            let logits = golden.run(pixels: test.pixels, count: test.count).logits
            let size = shape.reduce(1, *)
            for s in 0..<test.count {
                let expected = SlowReference.run(model, pixels: Array(test.pixels[(s * size)..<((s + 1) * size)]))
                XCTAssertEqual(
                    Array(logits[(s * golden.classes)..<((s + 1) * golden.classes)]), expected,
                    "seed \(seed), image \(s), \(options.weightBits)/\(options.activationBits) bits")
            }
        }
        XCTAssertGreaterThan(widest, 32, "no random network needed a 64-bit accumulator")
    }

    /// Sigmoid, Tanh, LeakyRelu, HardSigmoid, Clip and HardSwish fused into layers as tables (section 10), at several widths
    /// and segment counts: the golden model equals the plain reading.
    func testActivationTablesEqualTheSlowReference() throws {
        let functions: [[Activation]] = [
            [.sigmoid, .tanh, .leakyRelu(alpha: 0.1)],
            [.hardSigmoid(alpha: 0.2, beta: 0.5), .clip(low: -0.5, high: 1.5), .tanh],
            [.tanh, .sigmoid, .sigmoid],
            [.clip(low: 0, high: 6), .leakyRelu(alpha: 0.01), .hardSigmoid(alpha: 0.3, beta: 0.4)],
            [.hardSwish, .tanh, .hardSwish],
        ]
        var tables = 0
        for (index, chosen) in functions.enumerated() {
            for abits in [4, 8, 12] {
                let seed = UInt64(index + 1)
                let graph = try RandomNetworks.graph(seed: seed, activations: chosen)
                let shape = graph.nodes[0].shape
                var options = QuantizationOptions()
                options.activationBits = abits
                options.activationSegments = [4, 16, 9][index % 3]
                let model = try Quantizer.quantize(
                    graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random",
                    options: options)
                tables += model.layers.filter { $0.activation != nil }.count
                // The settings are recorded, for a re-quantization after fine-tuning.
                XCTAssertEqual(model.activationSegments, options.activationSegments)
                XCTAssertEqual(model.activationSlopeBits, options.activationSlopeBits)
                let golden = try GoldenModel(model)
                let test = RandomNetworks.images(5, shape: shape, seed: seed &+ 1000)
                let logits = golden.run(pixels: test.pixels, count: test.count).logits
                let size = shape.reduce(1, *)
                for s in 0..<test.count {
                    let expected = SlowReference.run(model, pixels: Array(test.pixels[(s * size)..<((s + 1) * size)]))
                    XCTAssertEqual(
                        Array(logits[(s * golden.classes)..<((s + 1) * golden.classes)]), expected,
                        "functions \(index), \(abits) bits, image \(s)")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(tables, 24, "every case has at least two tables")
    }

    func testBatchSplitDoesNotChangeResults() throws {
        let graph = try RandomNetworks.graph(seed: 3)
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: 3), source: "random")
        let golden = try GoldenModel(model)
        let test = RandomNetworks.images(9, shape: graph.nodes[0].shape, seed: 4)
        let all = golden.run(pixels: test.pixels, count: 9, keepLayers: true)
        let size = graph.nodes[0].shape.reduce(1, *)
        for s in 0..<9 {
            let one = golden.run(pixels: Array(test.pixels[(s * size)..<((s + 1) * size)]), count: 1).logits
            XCTAssertEqual(one, Array(all.logits[(s * golden.classes)..<((s + 1) * golden.classes)]))
        }
        XCTAssertEqual(all.layers.count, model.layers.count)
        XCTAssertEqual(all.layers.last!, all.logits)
    }
}

final class TestVectorsTests: XCTestCase {
    func testHexWordsAreTwosComplementOfTheStatedWidth() {
        XCTAssertEqual(
            String(decoding: TestVectors.hex([-1, 5, -128, 127, 0], bits: 8), as: UTF8.self), "ff\n05\n80\n7f\n00\n")
        XCTAssertEqual(
            String(decoding: TestVectors.hex([-1, 1 << 17, -(1 << 18)], bits: 19), as: UTF8.self),
            "7ffff\n20000\n40000\n")
        XCTAssertEqual(String(decoding: TestVectors.hex([-1], bits: 4), as: UTF8.self), "f\n")
    }
}
