import FloatInference
import NetworkIR
import OnnxExport
import OnnxImport
import TestSupport
import Training
import XCTest

final class RoundTripTests: XCTestCase {
    /// Export then import gives back the same graph, weights bit for bit, and the same outputs.
    private func assertRoundTrip(_ graph: Graph, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try OnnxExporter.serialized(graph, metadata: [("approxrtl.seed", "1")])
        let imported = try OnnxImporter.load(data: data)
        XCTAssertEqual(imported.graph, graph, file: file, line: line)
        XCTAssertEqual(imported.opset, Int(OnnxExporter.opset), file: file, line: line)
        var random = TestRandom(seed: 5)
        let size = elementCount(graph.nodes[graph.inputs[0]].shape)
        let x = random.array(3 * size)
        XCTAssertEqual(
            FloatExecutor(graph: imported.graph).run(inputs: [x], batch: 3),
            FloatExecutor(graph: graph).run(inputs: [x], batch: 3), file: file, line: line)
        // Same graph, same bytes.
        XCTAssertEqual(
            data, try OnnxExporter.serialized(graph, metadata: [("approxrtl.seed", "1")]), file: file, line: line)
    }

    func testBundledArchitecturesRoundTrip() throws {
        for architecture in Architecture.allCases {
            try assertRoundTrip(architecture.build(seed: 9))
        }
    }

    func testEveryExportableOpRoundTrips() throws {
        var random = TestRandom(seed: 6)
        var b = GraphBuilder()
        let x = try b.add("image", .input, inputShape: [2, 9, 9])
        let c = try b.add(
            "conv",
            .conv2d(
                Conv2D(
                    weight: Tensor(shape: [3, 2, 3, 3], data: random.array(54)), bias: random.array(3),
                    strideH: 2, strideW: 1, padding: Padding2D(top: 1, left: 0, bottom: 2, right: 1))),
            inputs: [x])
        // The importer names a constant operand after the node that reads it, so this name survives the trip.
        let k = try b.add("sum_constant", .constant(Tensor(shape: [3, 1, 1], data: random.array(3))))
        let sum = try b.add("sum", .add, inputs: [c, k])
        let r = try b.add("relu", .relu, inputs: [sum])
        // After a ReLU, so the importer has no convolution to fold it into.
        let bn = try b.add("bn", .scaleShift(ScaleShift(scale: random.array(3), shift: random.array(3))), inputs: [r])
        let mp = try b.add(
            "maxpool", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, outputH: 3, outputW: 4)),
            inputs: [bn])
        let ap = try b.add(
            "avgpool",
            .averagePool(
                Pool2D(
                    kernelH: 3, kernelW: 3, strideH: 1, strideW: 1,
                    padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1),
                    countIncludePad: true)), inputs: [mp])
        let rs = try b.add("reshape", .reshape([4, 9]), inputs: [ap])
        let f = try b.add("flatten", .flatten, inputs: [rs])
        let d = try b.add(
            "fc", .dense(Dense(weight: Tensor(shape: [4, 36], data: random.array(144)), bias: random.array(4))),
            inputs: [f])
        // The activations besides ReLU; Clip with one bound exports that bound only.
        var a = d
        for (name, function) in [
            ("sigmoid", Activation.sigmoid), ("tanh", .tanh), ("leaky", .leakyRelu(alpha: 0.2)),
            ("hard", .hardSigmoid(alpha: 0.3, beta: 0.4)), ("clip", .clip(low: -0.25, high: 0.5)),
            ("clip_low", .clip(low: -0.1, high: .infinity)), ("swish", .hardSwish),
        ] {
            a = try b.add(name, .activation(function), inputs: [a])
        }
        let p = try b.add("prob", .softmax(axes: 0..<1), inputs: [a])
        try assertRoundTrip(b.build(outputs: [p]))
    }

    func testSoftmaxOverSeveralAxesIsRefusedByName() throws {
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [2, 3])
        let s = try b.add("wide_softmax", .softmax(axes: 0..<2), inputs: [x])
        XCTAssertThrowsError(try OnnxExporter.serialized(b.build(outputs: [s]))) { error in
            XCTAssertEqual((error as? ExportError)?.node, "wide_softmax")
        }
    }
}
