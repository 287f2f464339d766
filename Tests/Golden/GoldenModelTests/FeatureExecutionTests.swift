import Approximation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// M3 in the golden model (docs/arithmetic.md section 9), against the plain reading of SlowReference and
/// against the dense layer it is equivalent to.
final class FeatureExecutionTests: XCTestCase {
    /// Random networks whose first convolution has at least three channels, with `count` test images.
    static func models(count: Int) throws -> [(model: QuantizedModel, pixels: [UInt8])] {
        var found: [(QuantizedModel, [UInt8])] = []
        for seed in UInt64(1)...60 where found.count < count {
            let graph = try RandomNetworks.graph(seed: seed)
            let shape = graph.nodes[0].shape
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
            guard let conv = model.layers.first(where: { $0.name == "conv1" }), conv.shape[0] >= 3 else { continue }
            found.append((model, RandomNetworks.images(5, shape: shape, seed: seed &+ 3).pixels))
        }
        return found
    }

    /// `model` with channel `j` of conv1 replaced by a hand-written combination of two other channels (random
    /// coefficients, not a fit), settled and validated.
    static func handWritten(_ model: QuantizedModel, channel j: Int, coefficients: [Int], bias b: Int) throws
        -> QuantizedModel
    {
        var result = model
        let index = result.layers.firstIndex { $0.name == "conv1" }!
        var layer = result.layers[index]
        let channels = layer.shape[0], fan = layer.weights!.count / channels
        let sources = (0..<channels).filter { $0 != j }.prefix(coefficients.count)
        var codes = layer.weights!
        for k in 0..<fan { codes[j * fan + k] = 0 }
        var bias = layer.bias!
        bias[j] = b
        layer.weights = codes
        layer.approximatedFeatures = ApproximatedFeatures(
            coefficientBits: 8, features: [.init(channel: j, sources: Array(sources), coefficients: coefficients)])
        let range = result.inputRange(of: layer)
        try layer.settle(
            effectiveWeights: codes, exponents: layer.weightExponents!, bias: bias, inputLow: range.low,
            inputHigh: range.high,
            maxAccumulatorBits: 40)
        result.layers[index] = layer
        result.maxAccumulatorBits = 40
        try result.validate()
        return result
    }

    func testHandWrittenCombinationsMatchTheSlowReading() throws {
        let list = try Self.models(count: 4)
        XCTAssertEqual(list.count, 4)
        for (n, (model, pixels)) in list.enumerated() {
            let channels = model.layers.first { $0.name == "conv1" }!.shape[0]
            let approximated = try Self.handWritten(
                model, channel: n % channels, coefficients: [37 - 20 * n, -90 + 11 * n], bias: 5 - 3 * n)
            let golden = try GoldenModel(approximated).run(pixels: pixels, count: 5, keepLayers: true).layers
            let size = model.input.shape.reduce(1, *)
            for image in 0..<5 {
                let slow = SlowReference.runLayers(
                    approximated, pixels: Array(pixels[(image * size)..<((image + 1) * size)]))
                for (l, layer) in slow.enumerated() {
                    XCTAssertEqual(
                        Array(golden[l][(image * layer.count)..<((image + 1) * layer.count)]), layer,
                        "model \(n), layer \(l)")
                }
            }
            // The approximated channel is not constant: the combination is really applied.
            let conv1 = golden[approximated.layers.firstIndex { $0.name == "conv1" }!]
            XCTAssertGreaterThan(Set(conv1).count, 2)
        }
    }

    /// An approximated channel computes exactly what a plain channel with the combined kernel sum_i A_i W_k_i and
    /// bias B + sum_i A_i b_k_i would: the twin stores those (wide) codes and no record.
    func testACombinationEqualsTheDenseChannelOfItsCombinedKernel() throws {
        for (n, (model, pixels)) in try Self.models(count: 3).enumerated() {
            let approximated = try Self.handWritten(
                model, channel: 1, coefficients: [-61 + 30 * n, 100 - 25 * n], bias: -7 + 4 * n)
            let index = approximated.layers.firstIndex { $0.name == "conv1" }!
            let layer = approximated.layers[index], feature = layer.approximatedFeatures!.features[0]
            let fan = layer.weights!.count / layer.shape[0]
            var twin = approximated
            var codes = layer.weights!, bias = layer.bias!
            for (a, k) in zip(feature.coefficients, feature.sources) {
                for i in 0..<fan { codes[feature.channel * fan + i] += a * codes[k * fan + i] }
                bias[feature.channel] += a * bias[k]
            }
            twin.layers[index].weights = codes
            twin.layers[index].bias = bias
            twin.layers[index].approximatedFeatures = nil
            let size = model.input.shape.reduce(1, *)
            let golden = try GoldenModel(approximated).run(pixels: pixels, count: 5, keepLayers: true).layers
            for image in 0..<5 {
                let dense = SlowReference.runLayers(twin, pixels: Array(pixels[(image * size)..<((image + 1) * size)]))
                XCTAssertEqual(
                    Array(golden[index][(image * dense[index].count)..<((image + 1) * dense[index].count)]),
                    dense[index], "model \(n)")
                XCTAssertEqual(
                    Array(golden.last![(image * dense.last!.count)..<((image + 1) * dense.last!.count)]), dense.last!,
                    "model \(n)")
            }
        }
    }

    /// M3 composes with M4 before it and with M1 or M2 after it: the weight approximation leaves the approximated
    /// channels out, their coefficients follow the sources' new exponents, and the golden model equals the slow
    /// reading of a twin that stores the approximated weights in plain codes with the same record.
    func testFeatureApproximationComposesWithKernelReductionAndWeightApproximation() throws {
        var linear = SortedWeightOptions()
        linear.degree = .linear; linear.grouping = .channel; linear.segments = 3
        var quadratic = SortedWeightOptions()
        quadratic.degree = .quadratic; quadratic.grouping = .layer; quadratic.segments = 5;
        quadratic.coefficientBits = 12
        var swc = ScalingWeightOptions()
        swc.codeBits = 4
        for (n, (model, pixels)) in try Self.models(count: 3).enumerated() {
            let index = model.layers.firstIndex { $0.name == "conv1" }!
            var start = model
            if let kernel = model.layers[index].weightShape?[2], kernel >= 3 {
                start = try KernelReducer.reduce(model, layer: "conv1", size: kernel - 2, pixels: pixels, images: 5)
            }
            let approximated = try FeatureApproximator.approximateLeastSensitive(
                start, layer: "conv1", count: 1, m: 2, pixels: pixels, images: 5
            ).model
            let record = approximated.layers[index].approximatedFeatures!
            XCTAssertEqual(record.features.count, 1)
            XCTAssertEqual(approximated.layers[index].kernelSizes, start.layers[index].kernelSizes)
            let size = model.input.shape.reduce(1, *)
            for method in [Method.sortedWeights(linear), .sortedWeights(quadratic), .scalingWeights(swc)] {
                let compressed = try ModelCompressor.compress(approximated, method: method, maxAccumulatorBits: 48)
                let layer = compressed.layers[index]
                XCTAssertEqual(
                    layer.approximatedFeatures?.features.map(\.sources), record.features.map(\.sources), "\(method)")
                let weights = layer.effectiveWeights!, fan = weights.count / layer.shape[0]
                let j = record.features[0].channel
                XCTAssertTrue(weights[(j * fan)..<((j + 1) * fan)].allSatisfy { $0 == 0 }, "\(method)")
                var twin = compressed
                twin.layers[index].weights = weights
                twin.layers[index].compression = nil
                let golden = try GoldenModel(compressed).run(pixels: pixels, count: 5, keepLayers: true).layers
                for image in 0..<5 {
                    let slow = SlowReference.runLayers(
                        twin, pixels: Array(pixels[(image * size)..<((image + 1) * size)]))
                    for (l, values) in slow.enumerated() {
                        XCTAssertEqual(
                            Array(golden[l][(image * values.count)..<((image + 1) * values.count)]), values,
                            "model \(n), \(method), layer \(l)")
                    }
                }
            }
        }
    }
}
