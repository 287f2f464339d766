import Datasets
import Foundation
import TestSupport
import XCTest

/// Runs the built `approxrtl` executable as a user would.
final class CLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("approxrtl-cli")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    var binary: URL {
        // The test executable (.xctest) sits next to the products of the same build.
        #if os(macOS)
        let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") } ?? Bundle.main
        return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("approxrtl")
        #else
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("approxrtl")
        #endif
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// A 4x4-image "classifier": logit c is pixel c of the flattened image (classes 0...3).
    func writePixelPicker() throws -> String {
        var f = OnnxModelFactory(opset: 13)
        f.input("image", [.param("N"), .value(1), .value(4), .value(4)])
        f.node("Flatten", ["image"], ["flat"])
        var weights = [Float](repeating: 0, count: 16 * 4)
        for c in 0..<4 { weights[c * 4 + c] = 1 }  // B is [K=16, M=4]
        f.initializer("B", [16, 4], weights)
        f.node("Gemm", ["flat", "B"], ["logits"], name: "fc")
        f.output("logits", [.param("N"), .value(4)])
        let path = directory.appendingPathComponent("picker.onnx").path
        try f.serialized().write(to: URL(fileURLWithPath: path))
        return path
    }

    func testInspectJSON() throws {
        let model = try writePixelPicker()
        let result = try run(["inspect", model, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let total = try XCTUnwrap(json["total"] as? [String: Int])
        XCTAssertEqual(total["params"], 16 * 4 + 4)
        XCTAssertEqual(total["macs"], 64)
        XCTAssertEqual((json["layers"] as? [[String: Any]])?.map { $0["op"] as? String }, ["Input", "Flatten", "Dense"])
        let table = try run(["inspect", model])
        XCTAssertTrue(table.stdout.contains("fc"))
        XCTAssertTrue(table.stdout.contains("[N, 4]"))
    }

    func testEvalCountsCorrectPredictions() throws {
        let model = try writePixelPicker()
        // Six images: the brightest of pixels 0...3 is the label for the first four, not for the last two.
        let labels: [UInt8] = [0, 1, 2, 3, 0, 1]
        let brightest = [0, 1, 2, 3, 2, 3]
        var pixels = [UInt8](repeating: 10, count: 6 * 16)
        for (i, b) in brightest.enumerated() { pixels[i * 16 + b] = 200 }
        try IDXArray(shape: [6, 4, 4], bytes: pixels).encoded().write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try IDXArray(shape: [6], bytes: labels).encoded().write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))

        let result = try run(["eval", model, "--data", directory.path, "--json", "--batch-size", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["images"] as? Int, 6)
        XCTAssertEqual(json["correct"] as? Int, 4)
        let limited = try run(["eval", model, "--data", directory.path, "--limit", "3"])
        XCTAssertTrue(limited.stdout.contains("(3 images): float top-1 100.00%"), limited.stdout)
    }

    func testBadInputsExitNonZeroWithAMessage() throws {
        let garbage = directory.appendingPathComponent("notes.onnx")
        try Data("this is not a model".utf8).write(to: garbage)
        let result = try run(["inspect", garbage.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("error: file '\(garbage.path)'"), result.stderr)

        let model = try writePixelPicker()
        let missingData = try run(["eval", model, "--data", directory.path])
        XCTAssertEqual(missingData.status, 1)
        XCTAssertTrue(missingData.stderr.contains("t10k-images-idx3-ubyte"), missingData.stderr)
    }

    func testRunWritesNpyAndNeverClobbersWithoutForce() throws {
        let model = try writePixelPicker()
        let input = directory.appendingPathComponent("x.npy")
        var values = [Float](repeating: 0, count: 2 * 16)
        values[3] = 5; values[16 + 1] = 7
        try NpyArray(shape: [2, 1, 4, 4], data: values).encoded().write(to: input)
        let output = directory.appendingPathComponent("y.npy")
        try Data("keep me".utf8).write(to: output)
        let refused = try run(["run", model, "--input", input.path, "-o", output.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("--force"))
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "keep me")
        let forced = try run(["run", model, "--input", input.path, "-o", output.path, "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try NpyArray.read(path: output.path), NpyArray(shape: [2, 4], data: [0, 0, 0, 5, 0, 7, 0, 0]))
    }
}
