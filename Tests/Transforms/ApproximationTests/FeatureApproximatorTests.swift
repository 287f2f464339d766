import Approximation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// M3 on random networks: fits, records, refusals and counts.
final class FeatureApproximatorTests: XCTestCase {
    /// Random quantized networks whose conv1 has at least four channels and a 3x3 or 5x5 kernel, and calibration images.
    static func models(count: Int) throws -> [(model: QuantizedModel, pixels: [UInt8])] {
        var found: [(QuantizedModel, [UInt8])] = []
        for seed in UInt64(1)...80 where found.count < count {
            let graph = try RandomNetworks.graph(seed: seed)
            let shape = graph.nodes[0].shape
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
            // A 3x3 or 5x5 kernel: with 1x1 every channel is a multiple of the one input and a fit is not unique.
            guard let conv = model.layers.first(where: { $0.name == "conv1" }), conv.shape[0] >= 4, conv.kernel![0] >= 3
            else { continue }
            found.append((model, RandomNetworks.images(8, shape: shape, seed: seed &+ 5).pixels))
        }
        return found
    }

    /// Channel 0 made the exact sum of channels 1 and 2 (codes, at their common exponent, and biases): the fit
    /// recovers coefficients 1 and 1 (the others 0), which quantize exactly, so every layer of the approximated
    /// model equals the original's, bit for bit, while channel 0 computes none of its taps.
    func testAnExactCombinationIsRecoveredAndChangesNothing() throws {
        let list = try Self.models(count: 3)
        XCTAssertEqual(list.count, 3)
        for (n, (original, pixels)) in list.enumerated() {
            var model = original
            let index = model.layers.firstIndex { $0.name == "conv1" }!
            var layer = model.layers[index]
            let channels = layer.shape[0], fan = layer.weights!.count / channels
            var codes = layer.weights!, exponents = layer.weightExponents!, bias = layer.bias!
            // Channels 1 and 2 at one exponent, small enough that their sum is an 8-bit code.
            let common = max(exponents[1], exponents[2])
            for c in [1, 2] {
                for k in 0..<fan { codes[c * fan + k] = (codes[c * fan + k] >> (common - exponents[c] + 1)) }
                bias[c] >>= (common - exponents[c] + 1)
                exponents[c] = common + 1
            }
            for k in 0..<fan { codes[k] = codes[fan + k] + codes[2 * fan + k] }
            exponents[0] = common + 1
            bias[0] = bias[1] + bias[2]
            layer.weights = codes
            let range = model.inputRange(of: layer)
            try layer.settle(
                effectiveWeights: codes, exponents: exponents, bias: bias, inputLow: range.low, inputHigh: range.high,
                maxAccumulatorBits: model.maxAccumulatorBits)
            model.layers[index] = layer
            try model.validate()

            let samples = try FeatureApproximator.samples(model, layer: "conv1", pixels: pixels, images: 8)
            let (approximated, fits) = try FeatureApproximator.approximate(
                model, layer: "conv1", channels: [0], m: channels - 1, samples: samples)
            let fit = fits[0]
            XCTAssertLessThan(fit.residual, 1e-9, "model \(n)")
            for (a, k) in zip(fit.coefficients, fit.sources) {
                XCTAssertEqual(a, k == 1 || k == 2 ? 1 : 0, accuracy: 1e-6, "model \(n), source \(k)")
            }
            let record = approximated.layers[index].approximatedFeatures!
            XCTAssertEqual(record.features.map(\.channel), [0])
            XCTAssertTrue(approximated.layers[index].weights![0..<fan].allSatisfy { $0 == 0 })
            XCTAssertEqual(
                try GoldenModel(approximated).run(pixels: pixels, count: 8, keepLayers: true).layers,
                try GoldenModel(model).run(pixels: pixels, count: 8, keepLayers: true).layers, "model \(n)")
            // One feature: fan taps become m multiply-accumulates per pixel.
            let before = try ModelMetrics(model).layers.first { $0.name == "conv1" }!
            let after = try ModelMetrics(approximated).layers.first { $0.name == "conv1" }!
            XCTAssertEqual(after.method, "feature")
            XCTAssertEqual(before.liveMacs - after.liveMacs, (fan - (channels - 1)) * layer.shape[1] * layer.shape[2])
            XCTAssertEqual(after.paramsAfter, before.paramsAfter - fan + channels - 1)

            // Accumulators too narrow for any coefficient scale: refused, and marked so that a search passes over it.
            var narrow = model
            narrow.maxAccumulatorBits = 4
            XCTAssertThrowsError(
                try FeatureApproximator.approximate(
                    narrow, layer: "conv1", channels: [0], m: channels - 1, samples: samples)
            ) { error in
                XCTAssertEqual((error as? QuantizationError)?.exceedsAccumulator, true, "\(error)")
            }
        }
    }

    /// The least sensitive channels are approximated from the most independent others, never from each other,
    /// and a second call adds to the record without touching it.
    func testChannelsAreApproximatedFromComputedSources() throws {
        for (n, (model, pixels)) in try Self.models(count: 3).enumerated() {
            let index = model.layers.firstIndex { $0.name == "conv1" }!
            let first = try FeatureApproximator.approximateLeastSensitive(
                model, layer: "conv1", count: 1, m: 2, pixels: pixels, images: 8
            ).model
            let record = first.layers[index].approximatedFeatures!
            let second = try FeatureApproximator.approximateLeastSensitive(
                first, layer: "conv1", count: 1, m: 1, pixels: pixels, images: 8
            ).model
            let both = second.layers[index].approximatedFeatures!
            XCTAssertEqual(both.features.count, 2, "model \(n)")
            XCTAssertTrue(both.features.contains(record.features[0]), "model \(n): the first feature is kept as it was")
            let approximated = both.channels
            for feature in both.features {
                XCTAssertTrue(feature.sources.allSatisfy { !approximated.contains($0) }, "model \(n)")
            }
            // The first feature's sources are pinned: they cannot be approximated now.
            let pinned = record.features[0].sources[0]
            let samples = try FeatureApproximator.samples(first, layer: "conv1", pixels: pixels, images: 8)
            XCTAssertThrowsError(
                try FeatureApproximator.approximate(first, layer: "conv1", channels: [pinned], m: 1, samples: samples)
            ) {
                XCTAssertTrue("\($0)".contains("source of an approximated channel"), "\($0)")
            }
        }
    }

    /// What the reader refuses in a record, naming the layer and reason.
    func testBrokenRecordsAreRefused() throws {
        let (model, pixels) = try Self.models(count: 1)[0]
        let index = model.layers.firstIndex { $0.name == "conv1" }!
        let good = try FeatureApproximator.approximateLeastSensitive(
            model, layer: "conv1", count: 1, m: 2, pixels: pixels, images: 8
        ).model
        let feature = good.layers[index].approximatedFeatures!.features[0]
        func broken(_ change: (inout QuantizedModel.Layer) -> Void, _ message: String) {
            var model = good
            change(&model.layers[index])
            XCTAssertThrowsError(try model.validate()) {
                XCTAssertTrue("\($0)".contains("conv1") && "\($0)".contains(message), "\($0)")
            }
        }
        broken({ $0.approximatedFeatures!.features[0].coefficients[0] = 128 }, "outside ±127")
        broken(
            { $0.approximatedFeatures!.features[0].sources[0] = feature.channel }, "must be distinct computed channels")
        broken({ $0.approximatedFeatures!.features[0].coefficients.removeLast() }, "as many coefficients")
        broken({ $0.approximatedFeatures!.features.append($0.approximatedFeatures!.features[0]) }, "approximated twice")
        broken({ $0.weights![$0.weights!.count / $0.shape[0] * feature.channel] = 1 }, "has nonzero weights")
        var dense = good
        let fc = dense.layers.firstIndex { $0.name == "fc1" }!
        dense.layers[fc].approximatedFeatures = ApproximatedFeatures(
            coefficientBits: 8, features: [.init(channel: 0, sources: [1], coefficients: [1])])
        XCTAssertThrowsError(try dense.validate()) { XCTAssertTrue("\($0)".contains("convolutions only"), "\($0)") }
        // The approximator refuses compressed layers and dense ones.
        let compressed = try ModelCompressor.compress(model, method: .scalingWeights(ScalingWeightOptions()))
        XCTAssertThrowsError(
            try FeatureApproximator.approximateLeastSensitive(
                compressed, layer: "conv1", count: 1, m: 2, pixels: pixels, images: 8)
        ) {
            XCTAssertTrue("\($0)".contains("already compressed"), "\($0)")
        }
        XCTAssertThrowsError(
            try FeatureApproximator.approximateLeastSensitive(
                model, layer: "fc1", count: 1, m: 2, pixels: pixels, images: 8)
        ) {
            XCTAssertTrue("\($0)".contains("applies to convolutions"), "\($0)")
        }
    }
}
