import Foundation
import TestSupport
import XCTest

/// The models of models/pytorch and models/keras, trained and exported by torch and by tf2onnx (tools/make_*), through every
/// command a user runs: float evaluation (onnxruntime agrees elementwise: `make ort-check`; its integer run agrees
/// with the golden model: `make golden-check`), quantization, the integer model within a point of the float one,
/// and the accelerator bit-exact under Verilator (the residual block on a third activation buffer).
extension CLITests {
    func testPyTorchExportsQuantizeAndRunOnTheAccelerator() throws {
        let data = try writeTinyFashionMNIST()
        let folder = repositoryRoot().appendingPathComponent("models")
        let fixtures: [(String, [String])] = [
            ("pytorch/view_cnn", []),  // x.view(x.size(0), -1), dynamic batch, TorchScript exporter
            ("pytorch/dynamo_cnn", []),  // dynamo exporter: external data, AdaptiveAvgPool2d as ReduceMean over 7 x 7
            ("pytorch/mlp", []),
            ("pytorch/normalized_cnn", ["--input-mean", "0.2860", "--input-std", "0.3530"]),
            ("keras/keras_cnn", []),  // tf2onnx: Keras' channels-last Flatten as a Transpose before the Reshape
        ]
        for (path, options) in fixtures + [("pytorch/residual_cnn", [])] {  // residual: x + conv(conv(x))
            let name = URL(fileURLWithPath: path).lastPathComponent
            let model = folder.appendingPathComponent(path + ".onnx").path
            let quantized = directory.appendingPathComponent(name + ".q.json").path
            let q = try run(["quantize", model, "--data", data, "--calib-count", "200", "-o", quantized] + options)
            XCTAssertEqual(q.status, 0, "\(name): \(q.stderr)")
            let eval = try run(["eval", quantized, "--data", data, "--json"])
            XCTAssertEqual(eval.status, 0, "\(name): \(eval.stderr)")
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
            let float = try XCTUnwrap(json["float_top1"] as? Double, name)
            XCTAssertGreaterThan(float, 0.65, name)
            // Within a point on these 500 images: at most five images apart (0.01 plus rounding of the quotients).
            XCTAssertEqual(try XCTUnwrap(json["integer_top1"] as? Double), float, accuracy: 0.01 + 1e-9, name)
            // view_cnn is normalized_cnn's architecture, which runs on the accelerator: its import is what differs.
            if name == "view_cnn" { continue }
            let design = directory.appendingPathComponent(name + "-acc").path
            let g = try run(["generate", quantized, "--arch", "diannao", "--images", "2", "--data", data, "-o", design])
            XCTAssertEqual(g.status, 0, "\(name): \(g.stderr)")
            let sim = try run(["sim", design, "--simulator", "verilator"])
            XCTAssertTrue(sim.stdout.contains("2 passed, 0 failed"), "\(name): \(sim.stdout) \(sim.stderr)")
        }
    }
}
