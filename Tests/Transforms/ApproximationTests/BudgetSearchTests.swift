import Approximation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// The lazy greedy budget search (M3 and M4 candidates) on small random networks with random labels (accuracy moves in whole images).
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
            // Every channel of a KxK convolution can take (K - 1) / 2 steps: 5x5 -> 3x3 -> 1x1.
            let kernelSteps = model.layers.filter { $0.kind == .conv2d && ($0.kernel?.first ?? 0) >= 3 }.reduce(0) {
                $0 + $1.shape[0] * ($1.kernel![0] - 1) / 2
            }

            func search(_ budget: Double, kinds: [BudgetSearch.Kind] = BudgetSearch.Kind.allCases) throws
                -> BudgetSearch.Outcome
            {
                var options = BudgetSearch.Options(budget: budget)
                options.kinds = kinds
                options.sources = 1
                return try BudgetSearch.run(
                    model, options: options, calibration: calibration, calibrationCount: 6,
                    validation: validation.pixels, labels: labels)
            }
            let kernels = try search(100, kinds: [.kernel])
            XCTAssertEqual(kernels.baselineTop1, 75)
            XCTAssertEqual(kernels.steps.count, kernelSteps, "an unlimited budget takes every kernel step")
            XCTAssertTrue(kernels.model.layers.allSatisfy { $0.kernelSizes?.allSatisfy { $0 == 1 } ?? true })
            XCTAssertTrue(kernels.steps.allSatisfy { $0.kind == .kernel })
            XCTAssertNoThrow(try kernels.model.validate())

            // Both kinds, unlimited: every step applies, M3's sources are computed channels, the model validates.
            let everything = try search(100)
            XCTAssertNoThrow(try everything.model.validate())
            XCTAssertTrue(everything.steps.contains { $0.kind == .feature })
            for layer in everything.model.layers {
                guard let record = layer.approximatedFeatures else { continue }
                XCTAssertTrue(record.features.allSatisfy { $0.sources.allSatisfy { !record.channels.contains($0) } })
            }
            let all = try ModelMetrics(everything.model).total
            XCTAssertEqual(all.macs - all.liveMacs, everything.steps.reduce(0) { $0 + $1.macsSaved })

            let tight = try search(5)
            for step in tight.steps { XCTAssertGreaterThanOrEqual(step.validationTop1, 75 - 5, "\(step)") }
            let again = try search(5)
            XCTAssertEqual(tight.steps, again.steps)
            XCTAssertEqual(
                try GoldenModel(tight.model).run(pixels: validation.pixels, count: 40).logits,
                try GoldenModel(again.model).run(pixels: validation.pixels, count: 40).logits)
            // The saved multiply-accumulates are what the metrics count, and the final accuracy is the last step's.
            let metrics = try ModelMetrics(tight.model).total
            XCTAssertEqual(metrics.macs - metrics.liveMacs, tight.steps.reduce(0) { $0 + $1.macsSaved })
            let predictions = try GoldenModel(tight.model).predictions(pixels: validation.pixels, count: 40)
            XCTAssertEqual(
                100 * Double(zip(predictions, labels).filter { $0 == $1 }.count) / 40,
                tight.steps.last?.validationTop1 ?? 75)
            // No budget: no step loses anything.
            for step in try search(0).steps { XCTAssertGreaterThanOrEqual(step.validationTop1, 75, "\(step)") }
        }
    }
}
