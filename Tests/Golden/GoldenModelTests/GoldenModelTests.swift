import Datasets
import GoldenModel
import NetworkIR
import Quantization
import TestSupport
import Training
import XCTest

final class GoldenModelTests: XCTestCase {
    /// A random network quantized at random widths (16/16 bits with `wide`), accumulators up to 62 bits allowed so
    /// that the golden model's 64-bit path runs too.
    static func randomModel(seed: UInt64, wide: Bool = false) throws -> (QuantizedModel, QuantizationOptions) {
        let graph = try RandomNetworks.graph(seed: seed)
        var options = QuantizationOptions()
        var random = SeededGenerator(seed: seed &+ 100)
        options.weightBits = [4, 6, 8, 12, 16][Int(random.next() % 5)]
        options.activationBits = [4, 8, 10, 16][Int(random.next() % 4)]
        options.perChannel = random.next() % 2 == 0
        if wide { (options.weightBits, options.activationBits) = (16, 16) }
        options.maxAccumulatorBits = 62
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: seed), source: "random",
            options: options)
        return (model, options)
    }

    func testGoldenModelEqualsTheSlowReferenceOnRandomNetworks() throws {
        var widest = 0
        for seed in UInt64(1)...14 {
            let (model, options) = try Self.randomModel(seed: seed, wide: seed > 12)
            let shape = model.input.shape
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

    /// A residual block (an Add of two activations, with and without a ReLU after it, at different exponents) on a
    /// normalized input (pixels less a zero point; an RGB one with a zero point per channel), and an average pool
    /// over a 3 x 3 window (a convolution in the model file): the golden model equals the plain reading.
    func testResidualAddsNormalizedInputsAndOddAveragesEqualTheSlowReference() throws {
        for (seed, relu, channels) in [(UInt64(1), true, 1), (2, false, 1), (3, true, 3)] {
            var random = SeededGenerator(seed: seed)
            func values(_ count: Int, _ scale: Float) -> [Float] {
                (0..<count).map { _ in (Float(random.next() % 2001) / 1000 - 1) * scale }
            }
            var b = GraphBuilder()
            let x = try b.add("image", .input, inputShape: [channels, 9, 9])
            func conv(_ name: String, _ shape: [Int], _ scale: Float, _ input: Int) throws -> Int {
                let weight = Tensor(shape: shape, data: values(shape.reduce(1, *), scale))
                let padding = Padding2D(top: 1, left: 1, bottom: 1, right: 1)
                return try b.add(
                    name, .conv2d(Conv2D(weight: weight, bias: values(shape[0], 0.3), padding: padding)),
                    inputs: [input])
            }
            let r1 = try b.add("relu1", .relu, inputs: [conv("conv1", [4, channels, 3, 3], 1, x)])
            let c2 = try conv("conv2", [4, 4, 3, 3], 0.6, r1)
            var sum = try b.add("sum", .add, inputs: [c2, r1])
            if relu { sum = try b.add("relu2", .relu, inputs: [sum]) }
            let pool = try b.add(
                "pool", .averagePool(Pool2D(kernelH: 3, kernelW: 3, strideH: 3, strideW: 3)), inputs: [sum])
            let f = try b.add("flatten", .flatten, inputs: [pool])
            let d = try b.add(
                "fc", .dense(Dense(weight: Tensor(shape: [5, 36], data: values(180, 0.5)), bias: values(5, 0.1))),
                inputs: [f])
            let means: [Float] = channels == 1 ? [0.4] : [0.4, 0.5, 0.1]
            let graph = try b.build(outputs: [d]).normalizingInput(
                InputNormalization(mean: means, std: channels == 1 ? [0.3] : [0.3, 0.2, 0.25]))
            let shape = [channels, 9, 9], size = channels * 81
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "residual")
            XCTAssertEqual(model.layers.map(\.kind), [.conv2d, .conv2d, .add, .conv2d, .flatten, .dense])
            XCTAssertEqual(model.input.zeroPoints, channels == 1 ? [102] : [102, 128, 26])
            let golden = try GoldenModel(model)
            let test = RandomNetworks.images(4, shape: shape, seed: seed &+ 50)
            let (logits, layers) = golden.run(pixels: test.pixels, count: test.count, keepLayers: true)
            // A run can start at a layer unless a later one reads a value from before it: the add reads conv1's.
            for position in model.layers.indices {
                let inputs = golden.inputs(ofLayer: position, pixels: test.pixels, count: test.count)
                XCTAssertEqual(inputs == nil, position == 2, "seed \(seed), layer \(position)")
                if let inputs { XCTAssertEqual(golden.run(from: inputs), logits, "seed \(seed), layer \(position)") }
            }
            for s in 0..<test.count {
                let expected = SlowReference.runLayers(model, pixels: Array(test.pixels[(s * size)..<((s + 1) * size)]))
                for (position, layer) in model.layers.enumerated() {
                    let size = layer.shape.reduce(1, *)
                    XCTAssertEqual(
                        Array(layers[position][(s * size)..<((s + 1) * size)]), expected[position],
                        "seed \(seed), image \(s), \(layer.name)")
                }
            }
        }
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
