import Foundation
import NetworkIR
import OnnxImport
import OnnxProto
import TestSupport
import XCTest

/// Weights in an external data file beside the model (ExternalData.swift), as PyTorch's dynamo exporter and
/// `onnx.save_model(..., save_as_external_data=True)` write them.
final class ExternalDataTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("external-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    /// A Gemm whose weight and bias live in `weights.bin` at `offset`; `entries` overrides the external data keys.
    func writeModel(entries: [String: String] = [:], offset: Int = 16) throws -> (path: String, inline: Data) {
        var random = TestRandom(seed: 3)
        var f = OnnxModelFactory(opset: 13)
        f.input("x", [.param("N"), .value(4)])
        f.rawInitializer("w", [3, 4], random.array(12))
        f.rawInitializer("b", [3], random.array(3))
        f.node("Gemm", ["x", "w", "b"], ["y"], ["transB": .int(1)])
        f.output("y")
        let inline = try f.serialized()
        var file = Data(repeating: 0xAA, count: offset)
        for index in f.initializers.indices {
            let bytes = f.initializers[index].rawData
            var keys = ["location": "weights.bin", "offset": String(file.count), "length": String(bytes.count)]
            keys.merge(entries) { $1 }
            f.initializers[index].rawData = Data()
            f.initializers[index].dataLocation = .external
            f.initializers[index].externalData = keys.sorted { $0.key < $1.key }.map { key, value in
                var entry = Onnx_StringStringEntryProto()
                entry.key = key
                entry.value = value
                return entry
            }
            file.append(bytes)
        }
        try file.write(to: folder.appendingPathComponent("weights.bin"))
        let path = folder.appendingPathComponent("model.onnx").path
        try f.serialized().write(to: URL(fileURLWithPath: path))
        return (path, inline)
    }

    func testWeightsBesideTheModelAreRead() throws {
        let (path, inline) = try writeModel()
        let external = try OnnxImporter.load(path: path)
        let expected = try OnnxImporter.load(data: inline)
        XCTAssertEqual(external.graph.nodes.map(\.op), expected.graph.nodes.map(\.op))
    }

    func testExternalDataOutsideTheFolderOrBeyondTheFileIsRefused() throws {
        let outside = folder.deletingLastPathComponent().appendingPathComponent("secret-\(UUID().uuidString)")
        try Data(repeating: 1, count: 64).write(to: outside)
        defer { try? FileManager.default.removeItem(at: outside) }
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent("link.bin"), withDestinationURL: outside)
        let cases: [([String: String], String)] = [
            (["location": "../" + outside.lastPathComponent], "outside the model's folder"),
            (["location": outside.path], "outside the model's folder"),
            (["location": "link.bin"], "outside the model's folder"),
            (["length": "4096"], "lies beyond the end of 'weights.bin'"),
            (["offset": "-3"], "is not a byte count"),
            (["location": "missing.bin"], "cannot be read"),
        ]
        for (entries, message) in cases {
            let (path, _) = try writeModel(entries: entries)
            XCTAssertThrowsError(try OnnxImporter.load(path: path), "\(entries)") { error in
                XCTAssertTrue("\(error)".contains("initializer 'w'"), "\(error)")
                XCTAssertTrue("\(error)".contains(message), "\(entries): \(error)")
            }
        }
    }

    func testExternalDataNeedsTheModelsFile() throws {
        let (path, _) = try writeModel()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try OnnxImporter.load(data: bytes, name: "model.onnx")) { error in
            XCTAssertEqual((error as? ImportError)?.kind, .unsupported)
            XCTAssertTrue("\(error)".contains("external_data=False"), "\(error)")
        }
    }
}
