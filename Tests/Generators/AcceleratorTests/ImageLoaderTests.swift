@testable import Accelerator
import NetworkIR
import Quantization
import TestSupport
import XCTest

/// The patches the compiler chooses for LeNet-5's first convolution (6 x 5 x 5, pad 2, on 28 x 28), worked out by
/// hand.
final class ImageLoaderTests: XCTestCase {
    func lenetFirstLayer() throws -> QuantizedModel.Layer {
        var b = GraphBuilder()
        var x = try b.add("image", .input, inputShape: [1, 28, 28])
        let weights = Tensor(shape: [6, 1, 5, 5], data: (0..<150).map { Float($0 % 7) / 7 - 0.4 })
        x = try b.add(
            "conv1",
            .conv2d(
                Conv2D(
                    weight: weights, bias: [Float](repeating: 0.1, count: 6),
                    padding: Padding2D(top: 2, left: 2, bottom: 2, right: 2))),
            inputs: [x])
        let graph = try b.build(outputs: [x])
        let calibration = RandomNetworks.images(4, shape: [1, 28, 28], seed: 1)
        let model = try Quantizer.quantize(graph, calibration: calibration, source: "lenet-like")
        return try XCTUnwrap(model.layers.first { $0.name == "conv1" })
    }

    func testPaddingBeyondThePatchTakesLeadRowsAndColumns() throws {
        // Tn 4: 2 x 2 patches take 3 x 3 = 9 steps, 1 x 3 or 1 x 4 take 5 x 2 = 10. The patches that start 2 rows
        // above (2 columns left of) the image hold no pixel, so the loader steps through 2 - (2 - 1) = 1 row and
        // column of zeros first. The last patch any window reads starts at 27 - 2 + 4 = 29 (a window's 5 taps in
        // 3 patches end 4 pixels on), so 32 stored rows and columns (from -2), loaded through 1 + 31 positions.
        let loader = try XCTUnwrap(ImageLoader.best(for: try lenetFirstLayer(), height: 28, width: 28, tn: 4))
        XCTAssertEqual([loader.rows, loader.columns, loader.padTop, loader.padLeft], [2, 2, 2, 2])
        XCTAssertEqual([loader.storedRows, loader.rowWords, loader.loadRows, loader.loadColumns], [32, 32, 32, 32])
        XCTAssertEqual(loader.steps(height: 5, width: 5), 9)
    }

    func testPaddingWithinThePatchTakesNoLead() throws {
        // Tn 16 with two pixels per step (a 6 x 5 union window): 3 x 5 patches take 2 steps; pad 2 <= 3 - 1 and
        // <= 5 - 1, so no lead: the last patch starts at row 27 - 2 + 4 = 29 (loaded through 29 + 3 rows) and at
        // column 27 (27 + 5 columns).
        let loader = try XCTUnwrap(
            ImageLoader.best(for: try lenetFirstLayer(), height: 28, width: 28, tn: 16, pixelRows: 2))
        XCTAssertEqual([loader.rows, loader.columns, loader.padTop, loader.padLeft], [3, 5, 2, 2])
        XCTAssertEqual([loader.loadRows, loader.loadColumns], [32, 32])
    }
}
