import Foundation
import TestSupport
import XCTest

/// The models of models/pytorch, trained and exported by torch itself (tools/make_torch_fixtures.py), through every
/// command a user runs: float evaluation (onnxruntime agrees elementwise: `make ort-check`; its integer run agrees
/// with the golden model: `make golden-check`), quantization, the integer model within a point of the float one,
/// and the accelerator bit-exact under Verilator (the residual block: refused there, with the reason).
extension CLITests {
    func testPyTorchExportsQuantizeAndRunOnTheAccelerator() throws {
        let data = try writeTinyFashionMNIST()
        let folder = repositoryRoot().appendingPathComponent("models/pytorch")
        let fixtures: [(String, [String])] = [
            ("view_cnn", []),  // x.view(x.size(0), -1), dynamic batch, TorchScript exporter
            ("dynamo_cnn", []),  // dynamo exporter: external data, AdaptiveAvgPool2d as ReduceMean over 7 x 7
            ("mlp", []),
            ("normalized_cnn", ["--input-mean", "0.2860", "--input-std", "0.3530"]),
        ]
        for (name, options) in fixtures + [("residual_cnn", [])] {
            let model = folder.appendingPathComponent(name + ".onnx").path
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
            let design = directory.appendingPathComponent(name + "-acc").path
            let g = try run(["generate", quantized, "--arch", "diannao", "--images", "2", "--data", data, "-o", design])
            if name == "residual_cnn" {
                // The residual Add runs on the golden model; the accelerator refuses it with the reason.
                XCTAssertEqual(g.status, 1)
                XCTAssertTrue(g.stderr.contains("layer '/Add'") && g.stderr.contains("third"), g.stderr)
                continue
            }
            XCTAssertEqual(g.status, 0, "\(name): \(g.stderr)")
            let sim = try run(["sim", design, "--simulator", "verilator"])
            XCTAssertTrue(sim.stdout.contains("2 passed, 0 failed"), "\(name): \(sim.stdout) \(sim.stderr)")
        }
    }
}
