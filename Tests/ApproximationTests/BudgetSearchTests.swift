import Approximation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// The greedy budget search on small random networks with random labels (accuracy moves in whole images).
final class BudgetSearchTests: XCTestCase {
    func testBudgetBoundsTheLossAndTheSearchIsDeterministic() throws {
        let list = try KernelReducerTests.models(count: 2)
        XCTAssertEqual(list.count, 2)
        for (index, (model, calibration)) in list.enumerated() {
            let shape = model.input.shape
            let validation = RandomNetworks.images(40, shape: shape, seed: 77 + UInt64(index))
            // Labels: the model's own predictions with every fourth one changed, so accuracy starts at 75%.
            var labels = try GoldenModel(model).predictions(pixels: validation.pixels, count: 40)
            for i in stride(from: 0, to: 40, by: 4) { labels[i] = labels[i] + 1 }
            let convChannels = model.layers.filter { $0.kind == .conv2d && ($0.kernel?.first ?? 0) >= 3 }.reduce(0) { $0 + $1.shape[0] }

            let everything = try BudgetSearch.run(model, budget: 100, calibration: calibration, calibrationCount: 6,
                                                  validation: validation.pixels, labels: labels)
            XCTAssertEqual(everything.baselineTop1, 75)
            XCTAssertEqual(everything.steps.count, convChannels, "an unlimited budget reduces every channel once")
            XCTAssertNoThrow(try everything.model.validate())

            let tight = try BudgetSearch.run(model, budget: 5, calibration: calibration, calibrationCount: 6,
                                             validation: validation.pixels, labels: labels)
            for step in tight.steps { XCTAssertGreaterThanOrEqual(step.validationTop1, 75 - 5, "\(step)") }
            let again = try BudgetSearch.run(model, budget: 5, calibration: calibration, calibrationCount: 6,
                                             validation: validation.pixels, labels: labels)
            XCTAssertEqual(tight.steps, again.steps)
            XCTAssertEqual(try GoldenModel(tight.model).run(pixels: validation.pixels, count: 40).logits,
                           try GoldenModel(again.model).run(pixels: validation.pixels, count: 40).logits)
            // The saved multiply-accumulates are what the metrics count.
            let metrics = ModelMetrics(tight.model).total
            XCTAssertEqual(metrics.macs - metrics.liveMacs, tight.steps.reduce(0) { $0 + $1.macsSaved })
        }
    }
}
