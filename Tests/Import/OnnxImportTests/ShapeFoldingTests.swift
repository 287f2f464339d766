import FloatInference
import Foundation
import NetworkIR
import OnnxImport
import TestSupport
import XCTest

/// Shape subgraphs as PyTorch writes them for a dynamic batch, folded at import (ShapeFolding.swift), and the
/// importer's report of every unsupported node at once.
final class ShapeFoldingTests: XCTestCase {
    func importing(_ factory: OnnxModelFactory) throws -> ImportedModel {
        try OnnxImporter.load(data: factory.serialized(), name: "test.onnx")
    }

    /// conv on [N, 1, 4, 4] -> `view(x.size(0), -1)` -> Gemm to 3 outputs; `target` builds the shape input from
    /// the conv's output "c" and names it "target".
    func viewModel(opset: Int = 13, target: (inout OnnxModelFactory) -> Void) -> OnnxModelFactory {
        var random = TestRandom(seed: 5)
        var f = OnnxModelFactory(opset: opset)
        f.input("x", [.param("batch"), .value(1), .value(4), .value(4)])
        f.rawInitializer("w", [2, 1, 3, 3], random.array(18))
        f.rawInitializer("fc", [3, 32], random.array(96))
        f.node("Conv", ["x", "w"], ["c"], ["pads": .ints([1, 1, 1, 1])])
        target(&f)
        f.node("Reshape", ["c", "target"], ["flat"])
        f.node("Gemm", ["flat", "fc"], ["y"], ["transB": .int(1)])
        f.output("y", [.param("batch"), .value(3)])
        return f
    }

    /// The same network with the target shape a constant [0, -1]: what the folded subgraph must equal.
    func reference() throws -> ImportedModel {
        try importing(viewModel { $0.intInitializer("target", [0, -1]) })
    }

    func assertSameNetwork(_ model: ImportedModel, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try reference()
        XCTAssertEqual(model.graph.nodes.map(\.op), expected.graph.nodes.map(\.op), file: file, line: line)
        XCTAssertEqual(model.graph.nodes.last?.shape, [3], file: file, line: line)
        XCTAssertNil(model.staticBatch, "the batch stays dynamic", file: file, line: line)
    }

    func testTorchScriptDynamicBatchViewFolds() throws {
        // Shape -> Gather(0) -> Unsqueeze -> Concat with [-1]: torch.onnx.export's `x.view(x.size(0), -1)`.
        let model = try importing(
            viewModel { f in
                f.node("Shape", ["c"], ["shape"])
                f.intInitializer("zero", [0], shape: [])
                f.node("Gather", ["shape", "zero"], ["n"], ["axis": .int(0)])
                f.intInitializer("axes", [0])
                f.node("Unsqueeze", ["n", "axes"], ["n1"])
                f.intInitializer("rest", [-1])
                f.node("Concat", ["n1", "rest"], ["target"], ["axis": .int(0)])
            })
        try assertSameNetwork(model)
    }

    func testOpset11UnsqueezeAttributeSliceAndCastFold() throws {
        // Shape -> Slice [0:1] -> Cast -> Concat with the per-sample size: the flatten of some exporters.
        let model = try importing(
            viewModel(opset: 11) { f in
                f.node("Shape", ["c"], ["shape"])
                f.intInitializer("starts", [0]); f.intInitializer("ends", [1])
                f.node("Slice", ["shape", "starts", "ends"], ["n1"])
                f.node("Cast", ["n1"], ["n1i"], ["to": .int(7)])
                f.node("Squeeze", ["n1i"], ["n"], ["axes": .ints([0])])
                f.node("Unsqueeze", ["n"], ["n2"], ["axes": .ints([0])])
                f.intInitializer("rest", [32])
                f.node("Concat", ["n2", "rest"], ["target"], ["axis": .int(0)])
            })
        try assertSameNetwork(model)
    }

    func testShapeFromTheEndAndRangeOfConstantsFold() throws {
        // Shape(start = 1) gives [2, 4, 4]: the per-sample size folds to a constant; Range folds on constants.
        var f = OnnxModelFactory(opset: 15)
        f.input("x", [.param("batch"), .value(2), .value(4), .value(4)])
        f.node("Shape", ["x"], ["dims"], ["start": .int(1)])
        f.intInitializer("first", [1], shape: []); f.intInitializer("limit", [3], shape: [])
        f.intInitializer("step", [1], shape: [])
        f.node("Range", ["first", "limit", "step"], ["picks"])  // [1, 2]
        f.node("Gather", ["dims", "picks"], ["hw"])  // [4, 4]
        f.intInitializer("batch", [-1]); f.intInitializer("two", [2])
        f.node("Concat", ["batch", "hw", "two"], ["target"], ["axis": .int(0)])  // [-1, 4, 4, 2]
        f.node("Reshape", ["x", "target"], ["y"])
        f.output("y")
        let model = try importing(f)
        XCTAssertEqual(model.graph.nodes.last?.op, .reshape([4, 4, 2]))
    }

    func testBatchOutsideTheFirstDimensionIsRefused() {
        let f = viewModel { f in
            f.node("Shape", ["c"], ["shape"])
            f.intInitializer("zero", [0], shape: [])
            f.node("Gather", ["shape", "zero"], ["n"])
            f.node("Unsqueeze", ["n", "axes"], ["n1"])
            f.intInitializer("axes", [0])
            f.intInitializer("rest", [-1])
            f.node("Concat", ["rest", "n1"], ["target"], ["axis": .int(0)])
        }
        XCTAssertThrowsError(try importing(f)) { error in
            XCTAssertTrue("\(error)".contains("(Reshape): the batch size at dimension 1"), "\(error)")
        }
    }

    func testShapeOpsOnActivationsAreRefusedByName() {
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(4)])
        f.intInitializer("i", [1])
        f.node("Gather", ["x", "i"], ["y"], name: "pick", ["axis": .int(1)])
        f.output("y")
        XCTAssertThrowsError(try importing(f)) { error in
            XCTAssertEqual((error as? ImportError)?.kind, .unsupported)
            XCTAssertTrue("\(error)".contains("node 'pick' (Gather): data 'x' is a computed activation"), "\(error)")
        }
    }

    func testEveryUnsupportedNodeIsListedAtOnce() {
        // Two unsupported ops on separate branches, a supported node after one of them (not reported: it
        // cannot be checked without its input), an unsupported op after the other (reported: the op alone
        // is enough), a Sub of two activations with its reason, and a hint for a Transpose (tf2onnx's NHWC).
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(2), .value(4), .value(4)])
        f.node("Erf", ["x"], ["a"], name: "act")
        f.node("Relu", ["a"], ["a2"], name: "after_act")
        f.node("Sub", ["x", "x"], ["b"], name: "centre")
        f.node("Sin", ["b"], ["b2"], name: "wave")
        f.node("Transpose", ["x"], ["t"], name: "nhwc", ["perm": .ints([0, 1, 3, 2])])
        f.node("Add", ["a2", "b2"], ["y"], name: "sum")
        f.output("y")
        f.output("t")
        XCTAssertThrowsError(try importing(f)) { error in
            let text = "\(error)"
            XCTAssertEqual((error as? ImportError)?.kind, .unsupported)
            XCTAssertTrue(text.contains("4 nodes cannot be imported"), text)
            for part in [
                "node 'act' (Erf)", "node 'centre' (Sub)", "one operand a per-channel constant", "node 'wave' (Sin)",
                "node 'nhwc' (Transpose)", "--inputs-as-nchw",
            ] {
                XCTAssertTrue(text.contains(part), "'\(text)' lacks '\(part)'")
            }
            XCTAssertFalse(text.contains("after_act") || text.contains("'sum'"), text)
        }
    }

    func testHardSwishAsAnOpAndAsAProductWithItsGate() throws {
        for opset in [13, 14] {
            var f = OnnxModelFactory(opset: opset)
            f.input("x", [.param("N"), .value(4)])
            if opset >= 14 {
                f.node("HardSwish", ["x"], ["y"])
            } else {
                f.node("HardSigmoid", ["x"], ["gate"], ["alpha": .float(1.0 / 6), "beta": .float(0.5)])
                f.node("Mul", ["gate", "x"], ["y"])
            }
            f.output("y")
            let model = try importing(f)
            XCTAssertEqual(model.graph.nodes.map(\.op), [.input, .activation(.hardSwish)])
        }
        // Any other product is refused with the reason.
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(4)])
        f.node("HardSigmoid", ["x"], ["gate"], ["alpha": .float(0.2), "beta": .float(0.5)])
        f.node("Mul", ["gate", "x"], ["y"], name: "product")
        f.output("y")
        XCTAssertThrowsError(try importing(f)) { error in
            XCTAssertTrue(
                "\(error)".contains(
                    "node 'product' (Mul): Mul is supported by a per-channel constant or as x * HardSigmoid"),
                "\(error)")
        }
    }

    func testReduceOverHeightAndWidthIsGlobalPooling() throws {
        for (opset, keep) in [(13, 1), (18, 0)] {
            var f = OnnxModelFactory(opset: opset)
            f.input("x", [.param("N"), .value(3), .value(5), .value(7)])
            if opset >= 18 {
                f.intInitializer("axes", [-1, 2])
                f.node("ReduceMean", ["x", "axes"], ["m"], ["keepdims": .int(keep)])
            } else {
                f.node("ReduceMax", ["x"], ["m"], ["axes": .ints([2, 3])])
            }
            f.output("m")
            let model = try importing(f)
            let pool = Pool2D(kernelH: 5, kernelW: 7, strideH: 1, strideW: 1)
            XCTAssertEqual(model.graph.nodes[1].op, opset >= 18 ? .averagePool(pool) : .maxPool(pool))
            XCTAssertEqual(model.graph.nodes.last?.shape, keep == 1 ? [3, 1, 1] : [3])
            XCTAssertEqual(model.graph.nodes.dropFirst().map(\.name), keep == 1 ? ["m"] : ["m", "m_flat"])
        }
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(3), .value(5), .value(7)])
        f.node("ReduceMean", ["x"], ["m"], name: "over_c", ["axes": .ints([1])])
        f.output("m")
        XCTAssertThrowsError(try importing(f)) { error in
            XCTAssertTrue("\(error)".contains("node 'over_c' (ReduceMean): only a reduction over H and W"), "\(error)")
        }
    }
}
