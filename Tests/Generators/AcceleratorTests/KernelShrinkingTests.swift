@testable import Accelerator
import Approximation
import Quantization
import TestSupport
import XCTest

/// Convolutions that M4 reduced alike compile as the smaller convolutions they are: the window's codes, the pads
/// less the margin; the RTL stays bit-exact against the golden model of the model as given.
final class KernelShrinkingTests: XCTestCase {
    /// A 5 x 5 layer of one channel whose ring holds zeros, with pads of 2.
    static func layer(ring: Int, pads: [Int]) -> QuantizedModel.Layer {
        var layer = QuantizedModel.Layer(
            name: "c", kind: .conv2d, input: "x", shape: [1, 6, 6], inputExponent: 0, outputExponent: 0,
            outputLow: -128, outputHigh: 127)
        layer.kernel = [5, 5]
        layer.stride = [1, 1]
        layer.pads = pads
        layer.weightShape = [1, 1, 5, 5]
        layer.weights = (0..<25).map { i in
            let (y, x) = (i / 5, i % 5)
            return (1...3).contains(y) && (1...3).contains(x) ? i : ring
        }
        layer.kernelSizes = [3]
        return layer
    }

    func testAZeroRingWithinThePadsShrinksTheKernel() throws {
        let shrunk = try XCTUnwrap(try NetworkCompiler.shrunk(Self.layer(ring: 0, pads: [2, 2, 2, 2])))
        XCTAssertEqual(shrunk.kernel, [3, 3])
        XCTAssertEqual(shrunk.pads, [1, 1, 1, 1])
        XCTAssertEqual(shrunk.weightShape, [1, 1, 3, 3])
        // Rows 1 to 3, columns 1 to 3 of the 5 x 5 codes (code i at row i / 5, column i % 5).
        XCTAssertEqual(shrunk.weights, [6, 7, 8, 11, 12, 13, 16, 17, 18])
        XCTAssertNil(shrunk.kernelSizes, "every channel now has the whole (smaller) kernel")
        // A pad below the margin, or a code on the ring, keeps the kernel.
        XCTAssertNil(try NetworkCompiler.shrunk(Self.layer(ring: 0, pads: [2, 0, 2, 2])))
        XCTAssertNil(try NetworkCompiler.shrunk(Self.layer(ring: 1, pads: [2, 2, 2, 2])))
    }

    /// Random networks whose first convolution is reduced alike to a window its pads allow run on fewer steps and
    /// bit-exact under both simulators, every layer's words checked.
    func testReducedConvolutionsRunAsSmallerOnesBitExact() throws {
        var checked = 0
        for seed in UInt64(1)...60 where checked < 2 {
            let (model, pixels) = try AcceleratorSimulationTests.randomModel(seed: seed)
            guard let conv = model.layers.first(where: { $0.name == "conv1" }), let kernel = conv.kernel?.first,
                kernel >= 3, (conv.pads ?? []).allSatisfy({ $0 >= 1 })
            else { continue }
            let reduced = try KernelReducer.reduce(
                model, layer: "conv1", size: kernel - 2, pixels: pixels,
                images: pixels.count / model.input.shape.reduce(1, *))
            let config = AcceleratorConfig(tn: 4)
            let before = try NetworkCompiler.compile(model, config: config)
            let after = try NetworkCompiler.compile(reduced, config: config)
            XCTAssertEqual(after.program[0].layer, "conv1")
            XCTAssertLessThan(after.computeCycles, before.computeCycles, "seed \(seed)")
            XCTAssertEqual(after.macs[0], try ModelMetrics(reduced).layers[0].liveMacs, "the window's MACs")
            try AcceleratorSimulationTests.simulate(
                try AcceleratorDesign.generate(
                    model: reduced, modelName: "shrunk\(seed).q.json", config: config, pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true), "seed \(seed), conv1 \(kernel) -> \(kernel - 2)")
            checked += 1
        }
        XCTAssertEqual(checked, 2, "the seeds give first convolutions with padding")
    }
}
