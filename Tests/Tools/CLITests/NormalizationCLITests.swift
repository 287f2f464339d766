import Foundation
import OnnxProto
import TestSupport
import XCTest

/// A model trained on normalized inputs (torchvision's `Normalize((0.2860,), (0.3530,))`), as a user brings it:
/// without the normalization inside (given with --input-mean/--input-std) and with it inside (Sub and Div).
extension CLITests {
    /// The bundled LeNet-5 re-parameterized to expect (pixel / 255 - mean) / std: conv1's weights times std and
    /// its bias plus mean times the weights' sum (the same function inside the image; the zero padding now stands
    /// for the mean). With `inside`, Sub and Div at the input normalize it as an exported model would.
    func writeNormalizedLeNet(inside: Bool) throws -> String {
        let (mean, std): (Float, Float) = (0.2860, 0.3530)
        let bundled = repositoryRoot().appendingPathComponent("models/lenet5-fmnist.onnx")
        var model = try Onnx_ModelProto(serializedBytes: Data(contentsOf: bundled))
        func floats(_ t: Onnx_TensorProto) -> [Float] {
            t.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let weightIndex = try XCTUnwrap(model.graph.initializer.firstIndex { $0.name == "conv1.weight" })
        let biasIndex = try XCTUnwrap(model.graph.initializer.firstIndex { $0.name == "conv1.bias" })
        let weights = floats(model.graph.initializer[weightIndex]), bias = floats(model.graph.initializer[biasIndex])
        let fan = weights.count / bias.count
        let newBias = bias.indices.map { m in bias[m] + mean * weights[(m * fan)..<((m + 1) * fan)].reduce(0, +) }
        func bytes(_ values: [Float]) -> Data { values.withUnsafeBufferPointer { Data(buffer: $0) } }
        model.graph.initializer[weightIndex].rawData = bytes(weights.map { $0 * std })
        model.graph.initializer[biasIndex].rawData = bytes(newBias)
        if inside {
            let input = model.graph.input[0].name
            for n in model.graph.node.indices {
                model.graph.node[n].input = model.graph.node[n].input.map { $0 == input ? "normalized" : $0 }
            }
            var constants = [Onnx_TensorProto]()
            for (name, value, dims) in [("mean", mean, [Int64(1), 1, 1, 1]), ("std", std, [1])] {
                var t = Onnx_TensorProto()
                (t.name, t.dataType, t.dims, t.floatData) = (name, 1, dims, [value])
                constants.append(t)
            }
            model.graph.initializer += constants
            var sub = Onnx_NodeProto(), div = Onnx_NodeProto()
            (sub.name, sub.opType, sub.input, sub.output) = ("centre", "Sub", [input, "mean"], ["centred"])
            (div.name, div.opType, div.input, div.output) = ("scale", "Div", ["centred", "std"], ["normalized"])
            model.graph.node.insert(contentsOf: [sub, div], at: 0)
        }
        let path = directory.appendingPathComponent(inside ? "lenet-inside.onnx" : "lenet-norm.onnx").path
        try model.serializedData().write(to: URL(fileURLWithPath: path))
        return path
    }

    func floatTop1(_ arguments: [String]) throws -> Double {
        let result = try run(["eval"] + arguments + ["--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return try XCTUnwrap(json["float_top1"] as? Double)
    }

    func testNormalizedModelsEvaluateQuantizeAndRunOnTheAccelerator() throws {
        let data = try writeTinyFashionMNIST()
        let model = try writeNormalizedLeNet(inside: false), inside = try writeNormalizedLeNet(inside: true)
        let options = ["--input-mean", "0.2860", "--input-std", "0.3530"]
        // Without its normalization the model is evaluated on the wrong inputs; with it, as trained.
        let wrong = try floatTop1([model, "--data", data])
        let right = try floatTop1([model, "--data", data] + options)
        XCTAssertGreaterThan(right, 0.85)
        XCTAssertGreaterThan(right - wrong, 0.05, "the normalization matters on this model")
        XCTAssertEqual(try floatTop1([inside, "--data", data]), right, "the model's own Sub and Div normalize alike")
        let twice = try run(["eval", inside, "--data", data] + options)
        XCTAssertEqual(twice.status, 1)
        XCTAssertTrue(twice.stderr.contains("node 'centre'") && twice.stderr.contains("twice"), twice.stderr)

        let quantized = directory.appendingPathComponent("norm.q.json").path
        let q = try run(["quantize", model, "--data", data, "--calib-count", "200", "-o", quantized] + options)
        XCTAssertEqual(q.status, 0, q.stderr)
        let file = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: quantized))) as? [String: Any])
        let input = try XCTUnwrap(file["input"] as? [String: Any])
        XCTAssertEqual(input["zero_points"] as? [Int], [73], "round(255 * 0.2860)")
        XCTAssertEqual([input["low"] as? Int, input["high"] as? Int], [-73, 182])
        XCTAssertNotNil(input["normalization"], "recorded: the source model does not contain it")
        // The float reference of the quantized model applies the recorded normalization; the integer model stays
        // within a point of it.
        let eval = try run(["eval", quantized, "--data", data, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["float_top1"] as? Double, right)
        XCTAssertEqual(try XCTUnwrap(json["integer_top1"] as? Double), right, accuracy: 0.01)
        XCTAssertEqual(try run(["eval", quantized, "--data", data] + options).status, 1, "carried by the file")

        let folder = directory.appendingPathComponent("norm-acc").path
        let g = try run(["generate", quantized, "--arch", "diannao", "--images", "3", "--data", data, "-o", folder])
        XCTAssertEqual(g.status, 0, g.stderr)
        let sim = try run(["sim", folder, "--simulator", "verilator"])
        XCTAssertTrue(sim.stdout.contains("3 passed, 0 failed"), sim.stdout + sim.stderr)
    }
}
