import FloatInference
import Foundation
import NetworkIR
import OnnxImport
import OnnxProto
import TestSupport
import XCTest

final class OnnxImportTests: XCTestCase {
    func importing(_ factory: OnnxModelFactory) throws -> ImportedModel {
        try OnnxImporter.load(data: factory.serialized(), name: "test.onnx")
    }

    func assertImportError(
        _ factory: OnnxModelFactory, kind: ImportError.Kind, contains parts: [String],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try importing(factory), file: file, line: line) { error in
            guard let error = error as? ImportError else {
                return XCTFail("not an ImportError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            for part in parts {
                XCTAssertTrue("\(error)".contains(part), "'\(error)' lacks '\(part)'", file: file, line: line)
            }
        }
    }

    /// conv -> BN on a [1, 4, 4] input; `extraReader` makes the conv output a graph output too, so BN cannot fold.
    func convBatchNorm(extraReader: Bool) -> OnnxModelFactory {
        var random = TestRandom(seed: 11)
        var f = OnnxModelFactory(opset: 15)
        f.input("x", [.param("N"), .value(1), .value(4), .value(4)])
        f.rawInitializer("w", [2, 1, 3, 3], random.array(18))
        f.initializer("b", [2], [0.1, -0.2])
        f.initializer("s", [2], [1.5, 0.5]); f.initializer("beta", [2], [0.3, -0.1])
        f.initializer("mean", [2], [0.2, -0.4]); f.initializer("var", [2], [0.8, 2.0])
        f.node("Conv", ["x", "w", "b"], ["c"], ["pads": .ints([1, 1, 1, 1])])
        f.node("BatchNormalization", ["c", "s", "beta", "mean", "var"], ["y"], ["epsilon": .float(1e-3)])
        f.output("y", [.param("N"), .value(2), .value(4), .value(4)])
        if extraReader { f.output("c") }
        return f
    }

    func testBatchNormFoldsIntoConvAndMatchesUnfolded() throws {
        let folded = try importing(convBatchNorm(extraReader: false))
        XCTAssertEqual(folded.graph.nodes.map(\.op.name), ["Input", "Conv2D"])
        let unfolded = try importing(convBatchNorm(extraReader: true))
        XCTAssertEqual(unfolded.graph.nodes.map(\.op.name), ["Input", "Conv2D", "ScaleShift"])
        var random = TestRandom(seed: 5)
        let x = random.array(3 * 16)
        let a = FloatExecutor(graph: folded.graph).run(inputs: [x], batch: 3)[0]
        let c = FloatExecutor(graph: unfolded.graph).run(inputs: [x], batch: 3)
        // Unfolded: BN applied by hand to the conv output, (c - mean) / sqrt(var + eps) * s + beta.
        let (s, beta, mean, variance): ([Float], [Float], [Float], [Float]) = (
            [1.5, 0.5], [0.3, -0.1], [0.2, -0.4], [0.8, 2.0]
        )
        let byHand = c[1].enumerated().map { i, v -> Float in
            let ch = (i / 16) % 2
            return (v - mean[ch]) / (variance[ch] + 1e-3).squareRoot() * s[ch] + beta[ch]
        }
        XCTAssertNil(maxViolation(a, byHand))
        XCTAssertNil(maxViolation(c[0], byHand))
    }

    func testGemmAttributesAndMatMulAddFusion() throws {
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(3)])
        f.initializer("B", [2, 3], [1, 2, 3, 4, 5, 6])  // transB: [M=2, K=3]
        f.initializer("C", [1, 2], [10, 20])
        f.node("Gemm", ["x", "B", "C"], ["g"], ["transB": .int(1), "alpha": .float(2), "beta": .float(0.5)])
        f.initializer("W", [2, 2], [1, 0, 0, -1])
        f.node("MatMul", ["g", "W"], ["m"])
        f.initializer("bias", [2], [100, 200])
        f.node("Add", ["m", "bias"], ["y"])
        f.output("y", [.param("N"), .value(2)])
        let model = try importing(f)
        XCTAssertEqual(
            model.graph.nodes.map(\.op.name), ["Input", "Dense", "Dense"], "Add folded into the MatMul's bias")
        let out = FloatExecutor(graph: model.graph).run(inputs: [[1, 0, -1]], batch: 1)[0]
        // g = 2 * [1-3, 4-6] + 0.5 * [10, 20] = [1, 6]; y = [g0, -g1] + [100, 200].
        XCTAssertEqual(out, [101, 194])
    }

    func testSoftmaxFollowsTheOpsetSemantics() throws {
        func model(opset: Int) -> OnnxModelFactory {
            var f = OnnxModelFactory(opset: opset)
            f.input("x", [.param("N"), .value(2), .value(3)])
            f.node("Softmax", ["x"], ["y"], ["axis": .int(1)])
            f.output("y")
            return f
        }
        let x: [Float] = [0, 1, 2, 3, 4, 5]
        let old = FloatExecutor(graph: try importing(model(opset: 11)).graph).run(inputs: [x], batch: 1)[0]
        let new = FloatExecutor(graph: try importing(model(opset: 13)).graph).run(inputs: [x], batch: 1)[0]
        // Opset 11: one softmax over all six values. Opset 13: along axis 1 (pairs x[i], x[i + 3]).
        let total = x.map { exp(Double($0)) }.reduce(0, +)
        XCTAssertNil(maxViolation(old, x.map { Float(exp(Double($0)) / total) }))
        let pair = Float(1 / (1 + exp(3.0)))
        XCTAssertNil(maxViolation(new, [pair, pair, pair, 1 - pair, 1 - pair, 1 - pair]))
    }

    func testReshapeDropoutIdentityAndConstantShape() throws {
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.value(2), .value(2), .value(3)])
        f.node("Dropout", ["x"], ["d"])
        f.node("Identity", ["d"], ["i"])
        var shapeTensor = Onnx_TensorProto()
        shapeTensor.dims = [2]; shapeTensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue);
        shapeTensor.int64Data = [2, -1]
        var constant = Onnx_NodeProto()
        constant.opType = "Constant"; constant.output = ["shape"]; constant.name = "shape"
        var attribute = Onnx_AttributeProto(); attribute.name = "value"; attribute.type = .tensor;
        attribute.t = shapeTensor
        constant.attribute = [attribute]
        f.nodes.append(constant)
        f.node("Reshape", ["i", "shape"], ["y"])
        f.output("y", [.value(2), .value(6)])
        let model = try importing(f)
        XCTAssertEqual(model.staticBatch, 2)
        XCTAssertEqual(model.graph.nodes.last?.op, .reshape([6]))
    }

    // MARK: Bad input: every error names where and why, and is classified.

    func testUnsupportedOpNamesNodeAndOp() {
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(4)])
        f.node("Erf", ["x"], ["y"], name: "act3")
        f.output("y")
        assertImportError(f, kind: .unsupported, contains: ["node 'act3' (Erf)", "operator 'Erf' is not supported"])
    }

    func testDynamicSpatialDimensionIsRefused() {
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(1), .param("H"), .value(28)])
        f.node("Relu", ["x"], ["y"])
        f.output("y")
        assertImportError(f, kind: .unsupported, contains: ["input 'x'", "dimension 2 is dynamic ('H')"])
    }

    func testIntegerWeightIsRefused() {
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(1), .value(5), .value(5)])
        f.intInitializer("w", [1, 2, 3, 4, 5, 6, 7, 8, 9])
        f.node("Conv", ["x", "w"], ["y"], name: "conv1")
        f.output("y")
        assertImportError(
            f, kind: .unsupported, contains: ["node 'conv1' (Conv)", "integer tensor; floats are needed"])
    }

    func testIntegerInputIsRefused() {
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(4)], elemType: .int8)
        f.node("Relu", ["x"], ["y"])
        f.output("y")
        assertImportError(f, kind: .unsupported, contains: ["input 'x'", "INT8"])
    }

    func testGroupedConvAndInconsistentDeclaredShape() throws {
        // A grouped convolution becomes a full one: each output channel's weights on its group's input channels.
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(4), .value(5), .value(5)])
        f.initializer("w", [2, 2, 1, 1], [1, 2, 3, 4])
        f.node("Conv", ["x", "w"], ["y"], name: "grouped", ["group": .int(2)])
        f.output("y")
        guard case .conv2d(let conv) = try importing(f).graph.nodes[1].op else { return XCTFail() }
        XCTAssertEqual(conv.weight.shape, [2, 4, 1, 1])
        XCTAssertEqual(conv.weight.data, [1, 2, 0, 0, 0, 0, 3, 4])
        var bad = OnnxModelFactory()
        bad.input("x", [.param("N"), .value(3), .value(5), .value(5)])
        bad.initializer("w", [2, 1, 3, 3], [Float](repeating: 0.1, count: 18))
        bad.node("Conv", ["x", "w"], ["y"], name: "dw", ["group": .int(2)])
        bad.output("y")
        assertImportError(bad, kind: .malformed, contains: ["node 'dw' (Conv)", "group 2 does not divide 3 input"])

        var g = OnnxModelFactory()
        g.input("x", [.param("N"), .value(1), .value(5), .value(5)])
        g.initializer("w", [3, 1, 3, 3], [Float](repeating: 0.1, count: 27))
        g.node("Conv", ["x", "w"], ["y"])
        g.output("y", [.param("N"), .value(3), .value(5), .value(5)])  // really [N, 3, 3, 3]
        assertImportError(g, kind: .malformed, contains: ["output 'y'", "disagrees", "[N, 3, 3, 3]"])
    }

    func testMissingProducerIsMalformed() {
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(2)])
        f.node("Add", ["x", "ghost"], ["y"], name: "sum")
        f.output("y")
        assertImportError(f, kind: .malformed, contains: ["node 'sum' (Add)", "'ghost' is not produced"])
    }

    func testHugeDeclaredShapesAreRefusedBeforeSizing() {
        // Dims whose product overflows Int, and a product just past the limit: refused, nothing allocated.
        for dims in [[Int64(1) << 40, Int64(1) << 40], [Int64(1) << 16, Int64(1) << 15]] {
            var f = OnnxModelFactory()
            f.input("x", [.param("N"), .value(2)])
            var weight = OnnxModelFactory.floatTensor("W", [], [])
            weight.dims = dims
            f.initializers.append(weight)
            f.node("MatMul", ["x", "W"], ["y"])
            f.output("y")
            assertImportError(f, kind: .unsupported, contains: ["initializer 'W'", "2^31 or more elements"])
        }
    }

    func testTruncatedAndNonOnnxFiles() throws {
        var f = OnnxModelFactory()
        f.input("x", [.param("N"), .value(64)])
        f.initializer("W", [64, 64], [Float](repeating: 0.5, count: 4096))
        f.node("MatMul", ["x", "W"], ["y"])
        f.output("y")
        let bytes = try f.serialized()
        XCTAssertNoThrow(try OnnxImporter.load(data: bytes))
        for cut in [bytes.count / 3, bytes.count - 5] {
            XCTAssertThrowsError(try OnnxImporter.load(data: bytes.prefix(cut), name: "cut.onnx")) { error in
                XCTAssertEqual((error as? ImportError)?.kind, .malformed, "\(error)")
                XCTAssertTrue("\(error)".contains("cut.onnx") || "\(error)".contains("initializer 'W'"), "\(error)")
            }
        }
        XCTAssertThrowsError(try OnnxImporter.load(data: Data("name,value\n1,2\n".utf8), name: "table.csv")) { error in
            XCTAssertTrue("\(error)".contains("file 'table.csv'"), "\(error)")
        }
        XCTAssertThrowsError(try OnnxImporter.load(path: "/nonexistent/model.onnx")) { error in
            XCTAssertTrue("\(error)".contains("cannot be read"))
        }
    }

    func testUnsupportedOpsetIsRefused() {
        var f = OnnxModelFactory(opset: 5)
        f.input("x", [.param("N"), .value(2)])
        f.node("Relu", ["x"], ["y"])
        f.output("y")
        assertImportError(f, kind: .unsupported, contains: ["opset 5"])
    }
}
