import Datasets
import GoldenModel
import NetworkIR
import Quantization
import TestSupport
import Training
import XCTest

final class GoldenModelTests: XCTestCase {
    /// Random images: pixels drawn from a generator, with some saturated and dark areas.
    private func images(_ count: Int, shape: [Int], seed: UInt64) -> ImageDataset {
        var random = SeededGenerator(seed: seed)
        let size = shape.reduce(1, *)
        let pixels = (0..<(count * size)).map { _ -> UInt8 in
            let r = random.next() % 10
            return r == 0 ? 255 : r == 1 ? 0 : UInt8(random.next() % 256)
        }
        return ImageDataset(name: "random", rows: shape[1], cols: shape[2], pixels: pixels, labels: [Int](repeating: 0, count: count))
    }

    /// A random small network: convolution (random padding and stride), pooling, optional second convolution,
    /// average pooling, dense layers; weights scaled so that activations span several exponents.
    private func randomNetwork(seed: UInt64) throws -> Graph {
        var random = SeededGenerator(seed: seed)
        var b = GraphBuilder()
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func tensor(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in (random.nextUnit() * 2 - 1) * scale })
        }
        let side = 8 + pick(5)
        var x = try b.add("image", .input, inputShape: [1, side, side])
        let c1 = 2 + pick(4), k1 = [1, 3, 5][pick(3)], pad = pick(k1 / 2 + 1), stride = 1 + pick(2)
        x = try b.add("conv1", .conv2d(Conv2D(weight: tensor([c1, 1, k1, k1], scale: 1.5), bias: (0..<c1).map { _ in random.nextUnit() - 0.5 },
                                              strideH: stride, strideW: stride, padding: Padding2D(top: pad, left: pad, bottom: pad, right: pad))),
                      inputs: [x])
        x = try b.add("relu1", .relu, inputs: [x])
        if b.nodes[x].shape[1] >= 4 {
            x = try b.add("pool1", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [x])
        }
        if pick(2) == 0 {
            let c2 = 2 + pick(4)
            x = try b.add("conv2", .conv2d(Conv2D(weight: tensor([c2, c1, 3, 3], scale: 0.6), bias: (0..<c2).map { _ in random.nextUnit() - 0.5 },
                                                  padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1))), inputs: [x])
            x = try b.add("relu2", .relu, inputs: [x])
        }
        if b.nodes[x].shape[1] >= 2 && pick(2) == 0 {
            x = try b.add("avg", .averagePool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [x])
        }
        x = try b.add("flatten", .flatten, inputs: [x])
        let features = b.nodes[x].shape[0], hidden = 4 + pick(8), classes = 3 + pick(5)
        x = try b.add("fc1", .dense(Dense(weight: tensor([hidden, features], scale: 0.4), bias: (0..<hidden).map { _ in random.nextUnit() })), inputs: [x])
        x = try b.add("relu3", .relu, inputs: [x])
        x = try b.add("fc2", .dense(Dense(weight: tensor([classes, hidden], scale: 0.7), bias: (0..<classes).map { _ in random.nextUnit() })), inputs: [x])
        return try b.build(outputs: [x])
    }

    func testGoldenModelEqualsTheSlowReferenceOnRandomNetworks() throws {
        var widest = 0
        for seed in UInt64(1)...14 {
            let graph = try randomNetwork(seed: seed)
            let shape = graph.nodes[0].shape
            var options = QuantizationOptions()
            var random = SeededGenerator(seed: seed &+ 100)
            options.weightBits = [4, 6, 8, 12, 16][Int(random.next() % 5)]
            options.activationBits = [4, 8, 10, 16][Int(random.next() % 4)]
            options.perChannel = random.next() % 2 == 0
            if seed > 12 { (options.weightBits, options.activationBits) = (16, 16) }
            // Wide codes need wide accumulators: allow them, so the 64-bit path of the golden model runs too.
            options.maxAccumulatorBits = 62
            let model = try Quantizer.quantize(graph, calibration: images(20, shape: shape, seed: seed), source: "random", options: options)
            let golden = try GoldenModel(model)
            widest = max(widest, model.layers.compactMap(\.accumulatorBits).max() ?? 0)
            let test = images(6, shape: shape, seed: seed &+ 1000)
            let logits = golden.run(pixels: test.pixels, count: test.count).logits
            let size = shape.reduce(1, *)
            for s in 0..<test.count {
                let expected = SlowReference.run(model, pixels: Array(test.pixels[(s * size)..<((s + 1) * size)]))
                XCTAssertEqual(Array(logits[(s * golden.classes)..<((s + 1) * golden.classes)]), expected,
                               "seed \(seed), image \(s), \(options.weightBits)/\(options.activationBits) bits")
            }
        }
        XCTAssertGreaterThan(widest, 32, "no random network needed a 64-bit accumulator")
    }

    func testBatchSplitDoesNotChangeResults() throws {
        let graph = try randomNetwork(seed: 3)
        let model = try Quantizer.quantize(graph, calibration: images(20, shape: graph.nodes[0].shape, seed: 3), source: "random")
        let golden = try GoldenModel(model)
        let test = images(9, shape: graph.nodes[0].shape, seed: 4)
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
        XCTAssertEqual(String(decoding: TestVectors.hex([-1, 5, -128, 127, 0], bits: 8), as: UTF8.self), "ff\n05\n80\n7f\n00\n")
        XCTAssertEqual(String(decoding: TestVectors.hex([-1, 1 << 17, -(1 << 18)], bits: 19), as: UTF8.self), "7ffff\n20000\n40000\n")
        XCTAssertEqual(String(decoding: TestVectors.hex([-1], bits: 4), as: UTF8.self), "f\n")
    }
}
