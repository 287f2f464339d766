import Foundation
import OnnxProto

/// The folder of a model loaded from a file: where its external data files may be (PyTorch's dynamo exporter
/// writes the weights to `model.onnx.data` beside the model). A tensor's file must be inside the folder (no
/// absolute path, no `..`, no symbolic link out of it), and its offset and length must lie within the file; only
/// those bytes are read.
struct ExternalDataFolder {
    let folder: URL

    init(modelPath: String) {
        folder = URL(fileURLWithPath: modelPath).deletingLastPathComponent().resolvingSymlinksInPath()
    }

    func bytes(of proto: Onnx_TensorProto, location: String) throws -> Data {
        var entries = [String: String]()
        for entry in proto.externalData { entries[entry.key] = entry.value }
        guard let name = entries["location"], !name.isEmpty else {
            throw ImportError(.malformed, location, "external data without a location")
        }
        let file = folder.appendingPathComponent(name).resolvingSymlinksInPath()
        guard !name.hasPrefix("/"), !name.split(separator: "/").contains(".."),
            file.path.hasPrefix(folder.path.hasSuffix("/") ? folder.path : folder.path + "/")
        else {
            throw ImportError(
                .unsupported, location, "external data file '\(name)' is outside the model's folder; it is not read")
        }
        guard let handle = try? FileHandle(forReadingFrom: file),
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int
        else {
            throw ImportError(.malformed, location, "external data file '\(file.path)' cannot be read")
        }
        defer { try? handle.close() }
        let offset = try number(entries["offset"], "offset", location) ?? 0
        let length = try number(entries["length"], "length", location) ?? max(0, size - offset)
        guard offset <= size, length <= size - offset else {
            throw ImportError(
                .malformed, location,
                "external data at offset \(offset), length \(length) lies beyond the end of '\(name)' (\(size) bytes)")
        }
        do {
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: length) ?? Data()
            guard data.count == length else { throw CocoaError(.fileReadUnknown) }
            return data
        } catch {
            throw ImportError(.malformed, location, "external data file '\(name)' could not be read to the end")
        }
    }

    private func number(_ text: String?, _ key: String, _ location: String) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw ImportError(.malformed, location, "external data \(key) '\(text)' is not a byte count")
        }
        return value
    }
}
