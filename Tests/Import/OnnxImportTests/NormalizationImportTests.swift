import Foundation
import NetworkIR
import OnnxImport
import TestSupport
import XCTest

/// Sub, Div and Mul by per-channel constants import as one ScaleShift: a model's own input normalization.
final class NormalizationImportTests: XCTestCase {
    func importing(_ factory: OnnxModelFactory) throws -> ImportedModel {
        try OnnxImporter.load(data: factory.serialized(), name: "test.onnx")
    }

    func testSubDivAndMulByChannelConstantsMergeIntoOneScaleShift() throws {
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(3), .value(2), .value(2)])
        f.initializer("mean", [1, 3, 1, 1], [0.5, 0.25, 0.125])
        f.initializer("std", [3, 1, 1], [0.5, 2, 4])
        f.initializer("gain", [], [3])
        f.node("Sub", ["x", "mean"], ["centred"], name: "centre")
        f.node("Div", ["centred", "std"], ["scaled"], name: "scale")
        f.node("Mul", ["gain", "scaled"], ["y"], name: "gain")
        f.output("y")
        let graph = try importing(f).graph
        XCTAssertEqual(graph.nodes.count, 2)
        guard case .scaleShift(let affine) = graph.nodes[1].op else { return XCTFail("\(graph.nodes[1].op)") }
        // y = 3 * (x - m) / s, per channel.
        XCTAssertEqual(affine.scale, [6, 1.5, 0.75])
        XCTAssertEqual(affine.shift, [-3, -0.375, -0.09375])
    }

    func testConstantFirstAndScalarOperands() throws {
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(2), .value(2), .value(2)])
        f.initializer("one", [], [1])
        f.node("Sub", ["one", "x"], ["y"], name: "invert")
        f.output("y")
        guard case .scaleShift(let affine) = try importing(f).graph.nodes[1].op else { return XCTFail() }
        XCTAssertEqual(affine.scale, [-1, -1])
        XCTAssertEqual(affine.shift, [1, 1])
    }

    func testWhatIsNotPerChannelIsRefusedWithTheReason() {
        // A [C] constant broadcasts along the width of [N, C, H, W], not along the channels; a constant over an
        // activation and a Sub of two activations are not affine maps of one activation.
        let cases: [(String, [Int], String, String)] = [
            ("Sub", [3], "x-c", "is not one value per channel"),
            ("Div", [1], "c/x", "divides a constant by an activation"),
            ("Sub", [], "x-x", "one operand a per-channel constant"),
        ]
        for (op, shape, order, reason) in cases {
            var f = OnnxModelFactory(opset: 13)
            f.input("x", [.param("N"), .value(3), .value(2), .value(2)])
            f.initializer("c", shape, [Float](repeating: 2, count: shape.reduce(1, *)))
            let inputs = order == "x-c" ? ["x", "c"] : order == "c/x" ? ["c", "x"] : ["x", "x"]
            f.node(op, inputs, ["y"], name: "affine")
            f.output("y")
            XCTAssertThrowsError(try importing(f), order) { error in
                XCTAssertTrue("\(error)".contains("node 'affine' (\(op))") && "\(error)".contains(reason), "\(error)")
            }
        }
    }
}
