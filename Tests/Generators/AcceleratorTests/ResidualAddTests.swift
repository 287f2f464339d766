import Accelerator
import NetworkIR
import Quantization
import TestSupport
import XCTest

/// Residual adds on the accelerator: two residual blocks (the second reading the first's sum, one add followed by
/// a fused max pool), compiled for three buffers and run under both simulators, every word every layer writes
/// against the golden model.
final class ResidualAddTests: XCTestCase {
    static func residualModel(seed: UInt64) throws -> (QuantizedModel, [UInt8]) {
        var state = seed
        func values(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        var b = GraphBuilder()
        let padding = Padding2D(top: 1, left: 1, bottom: 1, right: 1)
        func conv(_ name: String, _ shape: [Int], _ scale: Float, _ input: Int) throws -> Int {
            let weight = Tensor(shape: shape, data: values(shape.reduce(1, *), scale))
            return try b.add(
                name, .conv2d(Conv2D(weight: weight, bias: values(shape[0], 0.2), padding: padding)), inputs: [input])
        }
        let pool = Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)
        let x = try b.add("image", .input, inputShape: [1, 8, 8])
        let stem = try b.add(
            "pool1", .maxPool(pool), inputs: [b.add("relu1", .relu, inputs: [conv("conv1", [6, 1, 3, 3], 1, x)])])
        // Block 1: the branch's last convolution has small weights, so that the sum's inputs sit at different exponents.
        let a1 = try b.add("relu_a1", .relu, inputs: [conv("conv_a1", [6, 6, 3, 3], 0.5, stem)])
        let sum1 = try b.add(
            "relu_s1", .relu, inputs: [b.add("add1", .add, inputs: [conv("conv_b1", [6, 6, 3, 3], 0.05, a1), stem])])
        // Block 2 reads block 1's sum; no ReLU after its add, then a max pool that runs in the add's drain.
        let a2 = try b.add("relu_a2", .relu, inputs: [conv("conv_a2", [6, 6, 3, 3], 0.5, sum1)])
        let sum2 = try b.add("add2", .add, inputs: [sum1, conv("conv_b2", [6, 6, 3, 3], 0.5, a2)])
        let flat = try b.add("flatten", .flatten, inputs: [b.add("pool2", .maxPool(pool), inputs: [sum2])])
        let d = try b.add(
            "fc", .dense(Dense(weight: Tensor(shape: [5, 24], data: values(120, 0.4)), bias: values(5, 0.1))),
            inputs: [flat])
        let graph = try b.build(outputs: [d])
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: [1, 8, 8], seed: seed), source: "residual")
        return (model, RandomNetworks.images(3, shape: [1, 8, 8], seed: seed &+ 7).pixels)
    }

    func testResidualBlocksRunOnAThirdBufferBitExact() throws {
        let (model, pixels) = try Self.residualModel(seed: 3)
        let adds = model.layers.filter { $0.kind == .add }
        XCTAssertEqual(adds.count, 2)
        XCTAssertTrue(
            adds.contains { $0.inputExponent != $0.addendExponent }, "an add whose inputs are aligned by a shift")
        for tn in [4, 8] {
            let config = AcceleratorConfig(tn: tn)
            let network = try NetworkCompiler.compile(model, config: config)
            XCTAssertEqual(network.buffers, 3, "Tn \(tn)")
            let sums = network.program.filter { $0.addendSource != nil }
            XCTAssertEqual(sums.map(\.layer), ["add1", "add2"], "Tn \(tn)")
            for sum in sums {
                // The block's input stays in its buffer while the branch alternates between the other two.
                XCTAssertEqual(
                    Set([sum.source, sum.addendSource!, sum.destination]).count, 3, "\(sum.layer), Tn \(tn)")
                XCTAssertEqual(sum.tileSteps, [Int](repeating: 2, count: sum.outputTiles), "two steps per tile")
            }
            XCTAssertEqual(sums.last?.fusedLayer, "pool2", "the max pool after the second add runs in its drain")
            try AcceleratorSimulationTests.simulate(
                try AcceleratorDesign.generate(
                    model: model, modelName: "residual.q.json", config: config, pixels: pixels, labels: [0, 1, 2],
                    count: 3, debugLayers: true), "residual blocks, Tn \(tn)")
        }
    }

    /// A network without skip connections keeps two buffers, written alternately.
    func testChainsAlternateTwoBuffers() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 4)
        let network = try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4))
        XCTAssertEqual(network.buffers, 2)
        for (previous, next) in zip(network.program, network.program.dropFirst()) {
            XCTAssertEqual(next.source, previous.destination, next.layer)
            XCTAssertNotEqual(next.destination, next.source, next.layer)
        }
    }
}
