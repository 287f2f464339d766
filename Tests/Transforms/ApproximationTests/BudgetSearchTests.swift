@testable import Approximation
import Foundation
import NetworkIR
import Training
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

            func search(
                _ budget: Double, kinds: [BudgetSearch.Kind] = BudgetSearch.Kind.allCases,
                engine: GoldenModel.Engine = .batched
            ) throws -> BudgetSearch.Outcome {
                var options = BudgetSearch.Options(budget: budget)
                options.kinds = kinds
                options.engine = engine
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
            // The batched engine runs candidates from the changed layer's kept inputs; the reference engine runs
            // every one whole: the same steps.
            XCTAssertEqual(try search(5, engine: .reference).steps, tight.steps)
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

    /// With a cost that falls only when a whole pair of a layer's channels is reduced (the accelerator's tiles in
    /// miniature) and steps of two channels, every step reduces a pair of one layer and saves what the cost says;
    /// with fine-tuning between steps, each step the search applies went through it once.
    func testStepsOfWholeGroupsFollowTheCostAndAreRefined() throws {
        let (model, calibration) = try XCTUnwrap(try KernelReducerTests.models(count: 1).first)
        let validation = RandomNetworks.images(40, shape: model.input.shape, seed: 78)
        let labels = try GoldenModel(model).predictions(pixels: validation.pixels, count: 40)
        let conv1 = try XCTUnwrap(model.layers.first { $0.name == "conv1" })
        let full = conv1.weightShape![2]
        var options = BudgetSearch.Options(budget: 100)
        options.kinds = [.kernel]
        options.layers = ["conv1"]
        options.group = 2
        options.cost = .init(name: "pairs") { m in
            let sizes = m.layers.first { $0.name == "conv1" }!.kernelSizes ?? []
            let steps = sizes.reduce(0) { $0 + (full - $1) / 2 }
            return conv1.shape[0] * (full - 1) / 2 - 2 * (steps / 2)
        }
        var notes: [String] = []
        func search(refine: (graph: Graph, refine: BudgetSearch.Refine)? = nil) throws -> BudgetSearch.Outcome {
            notes = []
            return try BudgetSearch.run(
                model, options: options, calibration: calibration, calibrationCount: 6, validation: validation.pixels,
                labels: labels, refine: refine, note: { notes.append($0) })
        }
        let outcome = try search()
        let pairs = conv1.shape[0] / 2
        XCTAssertEqual(outcome.steps.count, pairs * (full - 1) / 2, "every pair, every size step")
        for step in outcome.steps {
            XCTAssertEqual(step.channels?.count, 2, "\(step)")
            XCTAssertEqual(step.costSaved, 2, "\(step)")
        }
        // An odd channel out saves nothing alone and is left as it is.
        let sizes = try XCTUnwrap(outcome.model.layers.first { $0.name == "conv1" }?.kernelSizes)
        XCTAssertEqual(sizes.filter { $0 == 1 }.count, 2 * pairs)

        var refined = 0
        let graph = try RandomNetworks.graph(seed: 1)
        let tuned = try search(
            refine: (
                graph,
                { trial, graph in
                    refined += 1; return (trial, graph)
                }
            ))
        XCTAssertEqual(tuned.steps.count, outcome.steps.count)
        XCTAssertEqual(refined, tuned.steps.count, "each applied step fine-tuned once (none was refused)")
        XCTAssertNotNil(tuned.graph)

        // A tuned step whose M3 refit exceeds the accumulators is passed over (its pair keeps its kernels, and
        // with them its later size steps); any other error ends the search.
        var calls = 0
        let overflow = QuantizationError(layer: "conv1", "does not fit", exceedsAccumulator: true)
        let passed = try search(
            refine: (
                graph,
                { trial, graph in
                    calls += 1
                    if calls == 1 { throw overflow }
                    return (trial, graph)
                }
            ))
        XCTAssertEqual(passed.steps.count, (pairs - 1) * (full - 1) / 2, "one pair passed over")
        // Each decision is a line: the steps applied, then the one passed over, named by layer and channels.
        XCTAssertEqual(
            notes.filter { $0.hasSuffix("(tuned): saves 2 pairs, validation 100.00%: applied") }.count,
            passed.steps.count, "\(notes)")
        XCTAssertEqual(
            notes.filter { $0.hasPrefix("conv1 2 channels") && $0.hasSuffix("exceeds the accumulators: passed over") }
                .count, 1, "\(notes)")
        let unreduced =
            passed.model.layers.first { $0.name == "conv1" }?.kernelSizes
            ?? Array(repeating: full, count: conv1.shape[0])
        XCTAssertEqual(unreduced.filter { $0 == full }.count, 2 + conv1.shape[0] % 2)
        XCTAssertThrowsError(
            try search(refine: (graph, { _, _ in throw QuantizationError(layer: "conv1", "broken") })))

        // A cost that only the first size step lowers: the queued next sizes save nothing and are not tuned.
        XCTAssertGreaterThanOrEqual(full, 5, "the random network's conv1 has two size steps")
        options.cost = .init(name: "first steps") { m in
            let sizes = m.layers.first { $0.name == "conv1" }!.kernelSizes ?? []
            return conv1.shape[0] - 2 * (sizes.filter { $0 < full }.count / 2)
        }
        refined = 0
        let first = try search(
            refine: (
                graph,
                { trial, graph in
                    refined += 1; return (trial, graph)
                }
            ))
        XCTAssertEqual(first.steps.count, pairs, "\(first.steps)")
        XCTAssertEqual(refined, pairs, "only the steps that save were tuned")
    }

    /// Fine-tuning a slimmed model holds a reduced channel's taps outside its window at zero and starts it from the
    /// reduction's refit.
    func testSlimFineTuningHoldsTheReducedTapsAtZero() throws {
        // The first random network whose conv1 has a kernel to reduce, as a float graph and quantized.
        let seed = try XCTUnwrap(
            (UInt64(1)...40).first { (try? RandomNetworks.graph(seed: $0).nodes[1].shape) != nil && kernelOf($0) >= 3 })
        let graph = try RandomNetworks.graph(seed: seed)
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: seed), source: "random")
        let calibration = RandomNetworks.images(6, shape: graph.nodes[0].shape, seed: seed &+ 9).pixels
        let conv1 = try XCTUnwrap(model.layers.first { $0.name == "conv1" })
        let kernel = conv1.weightShape![2], inputs = conv1.weightShape![1]
        let slimmed = try KernelReducer.reduce(
            model, layer: "conv1", size: kernel - 2, pixels: calibration, images: 6, channels: [0])
        let network = try TrainableNetwork(graph: graph)
        guard network.parameterRanges(of: "conv1") != nil else { return XCTFail("the graph has conv1") }
        let ranges = network.parameterRanges(of: "conv1")!
        var parameters = [Float](repeating: 1, count: network.initialParameters().count)
        try SlimFineTuner.windows(of: slimmed, network: network).apply(&parameters)
        let zeros = (ranges.weight.lowerBound..<ranges.weight.upperBound).filter { parameters[$0] == 0 }
        XCTAssertEqual(zeros.count, inputs * (kernel * kernel - (kernel - 2) * (kernel - 2)), "channel 0's ring only")
        XCTAssertTrue(zeros.allSatisfy { $0 - ranges.weight.lowerBound < inputs * kernel * kernel })
        let seeded = try TrainableNetwork(graph: try SlimFineTuner.seeded(network, from: slimmed))
        let numbers = try slimmed.layers.first { $0.name == "conv1" }!.numbers()
        let start = seeded.initialParameters()
        for k in 0..<numbers.fan {
            XCTAssertEqual(
                Double(start[ranges.weight.lowerBound + k]),
                Double(numbers.weights[k]) * pow(2, Double(numbers.exponents[0])),
                accuracy: 1e-9)
        }
    }

    func kernelOf(_ seed: UInt64) -> Int {
        guard let graph = try? RandomNetworks.graph(seed: seed),
            case .conv2d(let conv)? = graph.nodes.first(where: { $0.name == "conv1" })?.op
        else { return 0 }
        return conv.weight.shape[2]
    }
}
