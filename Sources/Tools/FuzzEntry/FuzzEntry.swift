import Datasets
import Foundation
import OnnxImport
import Quantization

/// The readers of outside input, one fuzz target each (Fuzz/, `make fuzz`): any bytes go in, and a value or a
/// thrown error comes out; a trap, a hang or a memory blow-up is the bug the fuzzer looks for. The regression test
/// feeds every file of Fuzz/crashes through the same function.
public enum FuzzEntry: String, CaseIterable, Sendable {
    /// The ONNX importer, from protobuf parsing to the checked IR graph.
    case onnx
    /// The model-file decoder (.q.json and .c.json): JSON, number ranges, validation, the typed views.
    case model
    /// The .npy reader.
    case npy
    /// The IDX reader, gzipped or not.
    case idx

    public func run(_ data: Data) {
        switch self {
        case .onnx:
            _ = try? OnnxImporter.load(data: data, name: "fuzz.onnx")
        case .model:
            guard let model = try? QuantizedModel.decode(data, file: "fuzz.q.json") else { return }
            for layer in model.layers where layer.kind == .conv2d || layer.kind == .dense { _ = try? layer.op() }
        case .npy:
            _ = try? NpyArray.decode(data, file: "fuzz.npy")
        case .idx:
            _ = try? IDXArray.decode(maybeGzipped: data, file: "fuzz.idx")
        }
    }
}
