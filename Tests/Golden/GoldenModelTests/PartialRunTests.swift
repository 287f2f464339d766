import GoldenModel
import Quantization
import TestSupport
import XCTest

/// A run from a layer's kept inputs gives the full run's logits, and is refused for a model whose earlier layers
/// differ from those that computed the inputs (the budget search relies on both).
final class PartialRunTests: XCTestCase {
    func testRunsFromEveryLayerEqualTheFullRun() throws {
        var started = 0
        for seed in UInt64(1)...8 {
            let (model, _) = try GoldenModelTests.randomModel(seed: seed)
            let golden = try GoldenModel(model)
            let test = RandomNetworks.images(70, shape: model.input.shape, seed: seed &+ 300)
            let logits = golden.run(pixels: test.pixels, count: test.count).logits
            for position in model.layers.indices {
                guard let inputs = golden.inputs(ofLayer: position, pixels: test.pixels, count: test.count) else {
                    continue
                }
                XCTAssertEqual(inputs.position, position)
                XCTAssertEqual(golden.run(from: inputs), logits, "seed \(seed), from \(model.layers[position].name)")
                started += 1
            }
        }
        XCTAssertGreaterThan(started, 30)
    }

    func testAChangeBeforeTheLayerIsRefusedAndOneFromItOnIsRun() throws {
        let (model, _) = try GoldenModelTests.randomModel(seed: 3)
        let weighted = model.layers.indices.filter { model.layers[$0].weights != nil && model.layers[$0].bias != nil }
        XCTAssertGreaterThanOrEqual(weighted.count, 2)
        let (first, last) = (weighted[0], weighted[weighted.count - 1])
        let golden = try GoldenModel(model)
        let test = RandomNetworks.images(20, shape: model.input.shape, seed: 9)
        let inputs = try XCTUnwrap(golden.inputs(ofLayer: last, pixels: test.pixels, count: test.count))
        // The last weighted layer changed: runs from the kept inputs, as a full run of the changed model.
        var later = model
        later.layers[last].bias![0] += 3
        let changed = try GoldenModel(later)
        XCTAssertEqual(changed.run(from: inputs), changed.run(pixels: test.pixels, count: test.count).logits)
        XCTAssertNotEqual(changed.run(from: inputs), golden.run(from: inputs))
        // A layer before it changed: the kept inputs are not its inputs.
        var earlier = model
        earlier.layers[first].bias![0] += 3
        XCTAssertNil(try GoldenModel(earlier).run(from: inputs))
    }
}
