import Datasets
import Foundation
import NetworkIR
import Quantization
import Training
import XCTest

/// A model file names its float source (and the models it came from) relative to its own folder, so that it
/// works from any directory (FileReferences.swift).
final class FileReferencesTests: XCTestCase {
    func testReferencesAreRelativeToTheFileAndResolveFromAnywhere() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("refs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("models"), withIntermediateDirectories: true)
        let onnx = root.appendingPathComponent("models/net.onnx")
        try Data("float model".utf8).write(to: onnx)
        let output = root.appendingPathComponent("build/quantized/net.q.json").path

        XCTAssertEqual(FileReference.relative(onnx.path, toFolderOf: output), "../../models/net.onnx")
        XCTAssertEqual(FileReference.relative("missing.onnx", toFolderOf: output), "missing.onnx")

        let graph = try Architecture.lenet5.build(input: [1, 12, 12], classes: 4, seed: 3)
        let pixels = [UInt8](repeating: 7, count: 4 * 144)
        var model = try Quantizer.quantize(
            graph,
            calibration: ImageDataset(name: "flat", rows: 12, cols: 12, pixels: pixels, labels: [0, 1, 2, 3]),
            source: onnx.path)
        model.compressedFrom = "made-elsewhere.q.json"  // does not exist: kept as written
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: output).deletingLastPathComponent(), withIntermediateDirectories: true)
        try model.encoded(for: output).write(to: URL(fileURLWithPath: output))
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: output)), as: UTF8.self)
        XCTAssertTrue(text.contains(#""source" : "..\/..\/models\/net.onnx""#), text)

        let loaded = try QuantizedModel.load(path: output)
        XCTAssertEqual(
            URL(fileURLWithPath: loaded.source).resolvingSymlinksInPath().path, onnx.resolvingSymlinksInPath().path)
        XCTAssertEqual(loaded.compressedFrom, "made-elsewhere.q.json")
    }
}
