import FloatInference
import NetworkIR
import XCTest

final class InputNormalizationTests: XCTestCase {
    /// The normalized graph computes the original one on (x - mean) / std, channel by channel.
    func testNormalizingInputEqualsNormalizingTheData() throws {
        var b = GraphBuilder()
        let x = try b.add("image", .input, inputShape: [2, 2, 2])
        let weight = Tensor(shape: [1, 2, 1, 1], data: [1, -2])
        let conv = try b.add("conv", .conv2d(Conv2D(weight: weight, bias: [0.5])), inputs: [x])
        let graph = try b.build(outputs: [conv])
        let normalization = try InputNormalization(mean: [0.25, 0.5], std: [0.5, 0.25])
        let normalized = try graph.normalizingInput(normalization)
        XCTAssertEqual(normalized.nodes.map(\.name), ["image", "image_normalization", "conv"])
        let data: [Float] = [0, 0.25, 0.5, 1, 1, 0.75, 0.5, 0]
        let manual = data.enumerated().map { i, v in (v - normalization.mean[i / 4]) / normalization.std[i / 4] }
        let expected = FloatExecutor(graph: graph).run(inputs: [manual], batch: 1)[0]
        let actual = FloatExecutor(graph: normalized).run(inputs: [data], batch: 1)[0]
        for (a, e) in zip(actual, expected) { XCTAssertEqual(a, e, accuracy: 1e-5) }
    }

    func testBadValuesAndChannelCountsAreRefused() throws {
        XCTAssertThrowsError(try InputNormalization(mean: [0.5], std: [0]))
        XCTAssertThrowsError(try InputNormalization(mean: [.nan], std: [1]))
        let three = try InputNormalization(mean: [0.1, 0.2, 0.3], std: [1, 1, 1])
        XCTAssertThrowsError(try three.scaleShift(channels: 1)) { error in
            XCTAssertTrue("\(error)".contains("3 mean values for an input of 1 channel(s)"), "\(error)")
        }
        XCTAssertEqual(try InputNormalization(mean: [0.5], std: [0.25]).scaleShift(channels: 2).scale, [4, 4])
    }
}
