import Foundation
import XCTest

/// An MLP (the image flattened into one dense layer) from training to the accelerator, as a user would run it.
extension CLITests {
    func testTrainedMLPQuantizesAndRunsOnTheAccelerator() throws {
        let data = try writeTinyFashionMNIST()
        let model = directory.appendingPathComponent("mlp.onnx").path
        let train = try run([
            "train", "--arch", "mlp", "--data", data, "--epochs", "2", "--seed", "3", "--validation", "100", "-o",
            model,
        ])
        XCTAssertEqual(train.status, 0, train.stderr)
        let quantized = directory.appendingPathComponent("mlp.q.json").path
        let q = try run(["quantize", model, "--data", data, "--calib-count", "200", "-o", quantized])
        XCTAssertEqual(q.status, 0, q.stderr)
        let eval = try run(["eval", quantized, "--data", data, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let float = try XCTUnwrap(json["float_top1"] as? Double)
        XCTAssertGreaterThan(float, 0.45, "trained (chance is 0.1): two epochs on 400 images")
        XCTAssertEqual(try XCTUnwrap(json["integer_top1"] as? Double), float, accuracy: 0.01)
        // fc1 reads all 784 pixels: on one pixel per word more than the instruction's 4-bit kernel fields walk as
        // one window (the PyTorch MLP fixture runs the default mapping, patches, under Verilator).
        let folder = directory.appendingPathComponent("mlp-acc").path
        let g = try run([
            "generate", quantized, "--arch", "diannao", "--first-layer", "channels", "--images", "2", "--data", data,
            "-o", folder,
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        let sim = try run(["sim", folder, "--simulator", "verilator"])
        XCTAssertTrue(sim.stdout.contains("2 passed, 0 failed"), sim.stdout + sim.stderr)
    }
}
