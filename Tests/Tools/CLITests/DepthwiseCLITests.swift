import Foundation
import TestSupport
import XCTest

/// A depthwise-separable CNN as MobileNet writes it (a 3x3 Conv with group = channels, then a 1x1 Conv): imported as a
/// full convolution with zero weights between groups, quantized, and run on the accelerator bit-exact under both
/// simulators.
extension CLITests {
    func writeDepthwiseSeparableCNN() throws -> String {
        var state: UInt64 = 12345
        func values(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Float(state >> 40) / Float(1 << 24) - 0.5) * 2 * scale
            }
        }
        var f = OnnxModelFactory(opset: 13)
        f.input("image", [.param("N"), .value(1), .value(28), .value(28)])
        f.initializer("c1_w", [8, 1, 3, 3], values(72, 0.6))
        f.initializer("c1_b", [8], values(8, 0.1))
        f.node(
            "Conv", ["image", "c1_w", "c1_b"], ["c1"], name: "conv1",
            ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])])
        f.node("Relu", ["c1"], ["r1"])
        f.initializer("dw_w", [8, 1, 3, 3], values(72, 0.5))
        f.initializer("dw_b", [8], values(8, 0.1))
        f.node(
            "Conv", ["r1", "dw_w", "dw_b"], ["dw"], name: "depthwise", ["pads": .ints([1, 1, 1, 1]), "group": .int(8)])
        f.node("Relu", ["dw"], ["r2"])
        f.initializer("pw_w", [16, 8, 1, 1], values(128, 0.5))
        f.initializer("pw_b", [16], values(16, 0.1))
        f.node("Conv", ["r2", "pw_w", "pw_b"], ["pw"], name: "pointwise")
        f.node("Relu", ["pw"], ["r3"])
        f.node("MaxPool", ["r3"], ["p"], ["kernel_shape": .ints([2, 2]), "strides": .ints([2, 2])])
        f.node("Flatten", ["p"], ["flat"])
        f.initializer("fc_w", [10, 784], values(7840, 0.1))
        f.node("Gemm", ["flat", "fc_w"], ["logits"], name: "fc", ["transB": .int(1)])
        f.output("logits", [.param("N"), .value(10)])
        let path = directory.appendingPathComponent("depthwise.onnx").path
        try f.serialized().write(to: URL(fileURLWithPath: path))
        return path
    }

    func testDepthwiseSeparableCNNRunsOnTheAcceleratorBitExact() throws {
        let data = try writeTinyFashionMNIST()
        let model = try writeDepthwiseSeparableCNN()
        let quantized = directory.appendingPathComponent("depthwise.q.json").path
        let q = try run(["quantize", model, "--data", data, "--calib-count", "100", "-o", quantized])
        XCTAssertEqual(q.status, 0, q.stderr)
        let file = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: quantized))) as? [String: Any])
        let layers = try XCTUnwrap(file["layers"] as? [[String: Any]])
        let depthwise = try XCTUnwrap(layers.first { $0["name"] as? String == "depthwise" })
        XCTAssertEqual(depthwise["weight_shape"] as? [Int], [8, 8, 3, 3], "a full convolution")
        let weights = try XCTUnwrap(depthwise["weights"] as? [Int])
        // Only each channel's own input channel carries weights.
        for o in 0..<8 {
            for c in 0..<8 where c != o {
                XCTAssertTrue(weights[((o * 8 + c) * 9)..<((o * 8 + c + 1) * 9)].allSatisfy { $0 == 0 })
            }
        }
        let folder = directory.appendingPathComponent("depthwise-acc").path
        let g = try run([
            "generate", quantized, "--arch", "diannao", "--tn", "8", "--images", "2", "--data", data, "-o", folder,
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        for simulator in ["verilator", "iverilog"] {
            let sim = try run(["sim", folder, "--simulator", simulator])
            XCTAssertTrue(sim.stdout.contains("2 passed, 0 failed"), "\(simulator): \(sim.stdout) \(sim.stderr)")
        }
    }
}
