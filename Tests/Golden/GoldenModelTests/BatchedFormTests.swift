import Approximation
import Datasets
import GoldenModel
import IntegerKernels
import OnnxImport
import Quantization
import TestSupport
import Training
import XCTest

/// The batched engine (integer GEMMs over the dense equivalent, IntegerKernels) against the reference engine
/// (one sample at a time, compressed layers in their reuse form), every layer's codes, at batch sizes around the
/// batch, chunk and panel edges. SlowReference holds both to the arithmetic contract in the other golden tests.
final class BatchedFormTests: XCTestCase {
    static func assertEnginesAgree(
        _ model: QuantizedModel, pixels: [UInt8], count: Int, _ message: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let golden = try GoldenModel(model)
        let batched = golden.run(pixels: pixels, count: count, keepLayers: true, engine: .batched)
        let reference = golden.run(pixels: pixels, count: count, keepLayers: true, engine: .reference)
        XCTAssertEqual(batched.logits, reference.logits, "\(message): logits", file: file, line: line)
        for (l, layer) in model.layers.enumerated() where batched.layers[l] != reference.layers[l] {
            XCTFail("\(message): layer \(layer.name) differs", file: file, line: line)
        }
    }

    func testBatchedEqualsReferenceOnRandomNetworksAtEveryEdge() throws {
        var gemm = 0, strided = 0, reference = 0, quads = 0
        for seed in UInt64(1)...24 {
            let (model, _) = try GoldenModelTests.randomModel(seed: seed)
            let shape = model.input.shape
            let golden = try GoldenModel(model)
            gemm += golden.gemmLayers.count
            quads += golden.quadLayers.count
            reference += model.layers.filter { $0.weightShape != nil && !golden.gemmLayers.contains($0.name) }.count
            strided += model.layers.filter { golden.gemmLayers.contains($0.name) && $0.stride?.first == 2 }.count
            // 1, a batch less one, a batch, a batch and one, and two batches and more on two workers.
            let count = [1, 63, 64, 65, 150][Int(seed % 5)]
            let test = RandomNetworks.images(count, shape: shape, seed: seed &+ 1000)
            try Self.assertEnginesAgree(model, pixels: test.pixels, count: count, "seed \(seed), \(count) images")
        }
        // Both paths of the batched form ran: GEMMs (strided convolutions too) and reference steps for the layers
        // whose accumulators need more than 32 bits.
        XCTAssertGreaterThan(gemm, 30)
        XCTAssertGreaterThan(strided, 0)
        XCTAssertGreaterThan(reference, 0)
        if ar_quads_supported() != 0 { XCTAssertGreaterThan(quads, 0) }
        print("random networks: \(gemm) GEMM layers, \(quads) of them on the quad kernel")
    }

    /// Without ReLU the codes may be negative, which the quad kernel's unsigned bytes cannot hold: no layer takes
    /// it, and the engines still agree (a form that ignored the sign would fail here).
    func testQuadKernelOnlyReadsUnsignedCodes() throws {
        for seed in UInt64(1)...24 {
            var (model, _) = try GoldenModelTests.randomModel(seed: seed)
            for l in model.layers.indices where model.layers[l].relu == true { model.layers[l].relu = false }
            XCTAssertEqual(try GoldenModel(model).quadLayers, [], "seed \(seed)")
            let test = RandomNetworks.images(20, shape: model.input.shape, seed: seed &+ 1000)
            try Self.assertEnginesAgree(model, pixels: test.pixels, count: 20, "seed \(seed) without ReLU")
        }
    }

    /// The bundled networks run every weighted layer as a GEMM, uncompressed and compressed (M1 and M2 with codes
    /// of 16 bits or fewer, M3), and equal the reference engine (which evaluates the activation tables' segments
    /// where the batched engine looks them up).
    func testBundledModelsRunEveryWeightedLayerAsAGemm() throws {
        let repository = repositoryRoot()
        let images = try FashionMNIST.load(
            split: .test, directory: repository.appendingPathComponent("data/fashion-mnist-test500").path)
        // lenet5-tanh: the activation tables, looked up by the batched engine. VGG-small: 40 images, on two workers a batch
        // and 4 each (its batch is 16: BatchedForm.batch).
        for (file, count) in [("lenet5-fmnist", 70), ("vgg-small-fmnist", 40), ("lenet5-tanh-fmnist", 70)] {
            let graph = try OnnxImporter.load(path: repository.appendingPathComponent("models/\(file).onnx").path).graph
            let model = try Quantizer.quantize(graph, calibration: images.prefix(100), source: file)
            var linear = SortedWeightOptions()
            (linear.segments, linear.grouping, linear.coefficientBits) = (3, .channel, 12)
            // 16-bit coefficients: LeNet-5's fc2 then has approximated weights past 2^15 (the split GEMM).
            var wide = linear
            wide.coefficientBits = 16
            var swc = ScalingWeightOptions()
            swc.codeBits = 5
            // M3 on the second convolution: the GEMM gives the raw accumulators, the combinations finish them.
            let featured = try FeatureApproximator.approximateLeastSensitive(
                model, layer: "conv2", count: 3, m: 4, pixels: Array(images.prefix(20).pixels), images: 20
            ).model
            let variants = [
                ("uncompressed", model),
                ("linear", try ModelCompressor.compress(model, method: .sortedWeights(linear))),
                ("linear 16-bit", try ModelCompressor.compress(model, method: .sortedWeights(wide))),
                ("swc", try ModelCompressor.compress(model, method: .scalingWeights(swc))),
                ("feature", featured),
            ]
            for (name, variant) in variants {
                let golden = try GoldenModel(variant)
                XCTAssertEqual(
                    golden.gemmLayers, variant.layers.filter { $0.weightShape != nil }.map(\.name), "\(file), \(name)")
                // VGG-small's convolutions after the first read ReLU codes of 16 or 32 channels: the 8-bit quad
                // kernel where this machine has it, for weights of 8 bits (uncompressed, 5-bit SWC codes, M3).
                let quads = file == "vgg-small-fmnist" && ["uncompressed", "swc", "feature"].contains(name)
                XCTAssertEqual(
                    golden.quadLayers, quads && ar_quads_supported() != 0 ? ["conv2", "conv3", "conv4"] : [],
                    "\(file), \(name)")
                try Self.assertEnginesAgree(
                    variant, pixels: Array(images.prefix(count).pixels), count: count, "\(file), \(name)")
            }
        }
    }
}
