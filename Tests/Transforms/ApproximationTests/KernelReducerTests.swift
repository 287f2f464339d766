import Approximation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// M4 on random networks whose first convolution has a 3x3 or 5x5 kernel.
final class KernelReducerTests: XCTestCase {
    static func models(count: Int) throws -> [(QuantizedModel, ImageDatasetPixels)] {
        var found: [(QuantizedModel, ImageDatasetPixels)] = []
        for seed in UInt64(1)...40 where found.count < count {
            let graph = try RandomNetworks.graph(seed: seed)
            let shape = graph.nodes[0].shape
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
            guard let kernel = model.layers.first(where: { $0.name == "conv1" })?.kernel?.first, kernel >= 3 else {
                continue
            }
            found.append((model, RandomNetworks.images(6, shape: shape, seed: seed &+ 9).pixels))
        }
        return found
    }
    typealias ImageDatasetPixels = [UInt8]

    /// A kernel already zero outside the window comes back with the same real weights and biases: the golden
    /// model's every layer is unchanged, refit or crop.
    func testAKernelAlreadyInsideItsWindowIsKeptExactly() throws {
        let list = try Self.models(count: 3)
        XCTAssertEqual(list.count, 3)
        for (model, pixels) in list {
            var zeroed = model
            let index = zeroed.layers.firstIndex { $0.name == "conv1" }!
            var layer = zeroed.layers[index]
            let shape = layer.weightShape!, kernel = shape[2], fan = shape[1] * kernel * kernel
            let size = kernel - 2
            let taps = Set(KernelReduction.window(channels: shape[1], kernel: kernel, reduced: size))
            var codes = layer.weights!
            for i in codes.indices where !taps.contains(i % fan) { codes[i] = 0 }
            layer.weights = codes
            let range = zeroed.inputRange(of: layer)
            try layer.settle(
                effectiveWeights: codes, exponents: layer.weightExponents!, bias: layer.bias!, inputLow: range.low,
                inputHigh: range.high, maxAccumulatorBits: zeroed.maxAccumulatorBits)
            zeroed.layers[index] = layer
            let expected = try GoldenModel(zeroed).run(pixels: pixels, count: 6, keepLayers: true)
            for refit in [true, false] {
                let reduced = try KernelReducer.reduce(
                    zeroed, layer: "conv1", size: size, pixels: pixels, images: 6, refit: refit)
                XCTAssertEqual(reduced.layers[index].kernelSizes, [Int](repeating: size, count: shape[0]))
                let got = try GoldenModel(reduced).run(pixels: pixels, count: 6, keepLayers: true)
                XCTAssertEqual(got.layers, expected.layers, "refit \(refit)")
            }
        }
    }

    /// On real kernels: zeros outside every window, a valid model, and the multiply-accumulates counted.
    func testReducedModelsValidateAndCountTheirTaps() throws {
        let list = try Self.models(count: 2)
        XCTAssertEqual(list.count, 2)
        for (model, pixels) in list {
            let index = model.layers.firstIndex { $0.name == "conv1" }!
            let shape = model.layers[index].weightShape!, kernel = shape[2]
            let reduced = try KernelReducer.reduce(model, layer: "conv1", size: kernel - 2, pixels: pixels, images: 6)
            let fan = shape[1] * kernel * kernel
            let taps = Set(KernelReduction.window(channels: shape[1], kernel: kernel, reduced: kernel - 2))
            let codes = reduced.layers[index].weights!
            XCTAssertTrue(codes.indices.allSatisfy { taps.contains($0 % fan) || codes[$0] == 0 })
            XCTAssertNoThrow(try reduced.validate())
            let metrics = try ModelMetrics(reduced).layers.first { $0.name == "conv1" }!
            XCTAssertEqual(metrics.method, "kernel")
            XCTAssertEqual(metrics.liveMacs * kernel * kernel, metrics.macs * (kernel - 2) * (kernel - 2))
            // A nonzero weight outside the window is refused when the model is read.
            var broken = reduced
            var bad = codes
            let outside = (0..<fan).first { !taps.contains($0) }!
            bad[outside] = 1
            broken.layers[index].weights = bad
            XCTAssertThrowsError(try broken.validate()) { XCTAssertTrue("\($0)".contains("outside its"), "\($0)") }
            XCTAssertThrowsError(
                try KernelReducer.reduce(model, layer: "conv1", size: kernel, pixels: pixels, images: 6)
            ) {
                XCTAssertTrue("\($0)".contains("not a centred reduction"), "\($0)")
            }
        }
    }

    /// M4 composes with M1 and M2: the weight approximation works on the taps inside the windows only (M1 leaves
    /// the others out of its groups, M2 codes them 0), the result validates with the zeros in place, and the
    /// golden model's reuse form equals the dense product of a twin that stores the approximated weights.
    func testKernelReductionComposesWithWeightApproximation() throws {
        var linear = SortedWeightOptions()
        linear.degree = .linear; linear.grouping = .channel; linear.segments = 3
        var quadratic = SortedWeightOptions()
        quadratic.degree = .quadratic; quadratic.grouping = .layer; quadratic.segments = 5;
        quadratic.coefficientBits = 12
        var kernel = SortedWeightOptions()
        kernel.degree = .linear; kernel.grouping = .kernel; kernel.segments = 2
        var swc = ScalingWeightOptions()
        swc.codeBits = 4
        let list = try Self.models(count: 2)
        XCTAssertEqual(list.count, 2)
        for (model, pixels) in list {
            let index = model.layers.firstIndex { $0.name == "conv1" }!
            let size = model.layers[index].weightShape![2] - 2
            let reduced = try KernelReducer.reduce(model, layer: "conv1", size: size, pixels: pixels, images: 6)
            for method in [
                Method.sortedWeights(linear), .sortedWeights(quadratic), .sortedWeights(kernel), .scalingWeights(swc),
            ] {
                let compressed = try ModelCompressor.compress(reduced, method: method, maxAccumulatorBits: 40)
                let layer = compressed.layers[index]
                XCTAssertEqual(layer.kernelSizes, reduced.layers[index].kernelSizes)
                let weights = layer.effectiveWeights!
                XCTAssertTrue(weights.indices.allSatisfy { layer.isLive($0) || weights[$0] == 0 }, "\(method)")
                var twin = compressed
                twin.layers[index].weights = weights
                twin.layers[index].compression = nil
                twin.weightBits = 16  // approximated codes may be wider than the original 8 bits
                XCTAssertEqual(
                    try GoldenModel(compressed).run(pixels: pixels, count: 6, keepLayers: true).layers,
                    try GoldenModel(twin).run(pixels: pixels, count: 6, keepLayers: true).layers, "\(method)")
            }
        }
    }

    /// Channel by channel (what the budget search does): the channels left alone compute exactly what they did.
    func testReducingOneChannelLeavesTheOthersExactlyAsTheyWere() throws {
        let list = try Self.models(count: 2)
        XCTAssertEqual(list.count, 2)
        for (model, pixels) in list {
            let index = model.layers.firstIndex { $0.name == "conv1" }!
            let layer = model.layers[index]
            let (channels, kernel) = (layer.shape[0], layer.weightShape![2])
            let reduced = try KernelReducer.reduce(
                model, layer: "conv1", size: kernel - 2, pixels: pixels, images: 6, channels: [0])
            XCTAssertEqual(
                reduced.layers[index].kernelSizes, [kernel - 2] + [Int](repeating: kernel, count: channels - 1))
            let before = try GoldenModel(model).run(pixels: pixels, count: 6, keepLayers: true).layers[index]
            let after = try GoldenModel(reduced).run(pixels: pixels, count: 6, keepLayers: true).layers[index]
            let plane = layer.shape[1] * layer.shape[2], size = channels * plane
            for image in 0..<6 {
                let others = (image * size + plane)..<((image + 1) * size)
                XCTAssertEqual(Array(after[others]), Array(before[others]))
            }
            XCTAssertThrowsError(
                try KernelReducer.reduce(
                    model, layer: "conv1", size: kernel - 2, pixels: pixels, images: 6, channels: [channels])
            ) {
                XCTAssertTrue("\($0)".contains("not all among"), "\($0)")
            }
        }
    }
}
