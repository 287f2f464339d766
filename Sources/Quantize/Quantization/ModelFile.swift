import Foundation

extension QuantizedModel {
    /// The JSON text: snake_case keys, sorted, pretty-printed; the same model always gives the same bytes.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(self)
        data.append(contentsOf: Array("\n".utf8))
        return data
    }

    /// Reads and validates a model file; every problem becomes one clear `QuantizationError`.
    public static func decode(_ data: Data, file: String) throws -> QuantizedModel {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // The version is checked first, so an old or future file gets that message rather than a missing field.
        struct Header: Decodable { var format: String?; var version: Int? }
        guard let header = try? decoder.decode(Header.self, from: data) else {
            throw QuantizationError(layer: "file", "\(file) is not a JSON object\(syntaxPosition(data))")
        }
        guard header.format == formatName else {
            throw QuantizationError(
                layer: "file",
                "\(file) is not an approxrtl quantized model (format '\(header.format.map { String($0.prefix(80)) } ?? "missing")')"
            )
        }
        guard header.version == currentVersion else {
            throw QuantizationError(
                layer: "file",
                "\(file) has version \(header.version.map(String.init) ?? "missing"); this approxrtl reads version \(currentVersion)"
            )
        }
        let model: QuantizedModel
        do {
            model = try decoder.decode(QuantizedModel.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw QuantizationError(layer: "file", "\(file): missing field '\(path(context.codingPath + [key]))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw QuantizationError(layer: "file", "\(file): wrong type at '\(path(context.codingPath))'")
        } catch let DecodingError.dataCorrupted(context) {
            throw QuantizationError(
                layer: "file", "\(file): invalid value at '\(path(context.codingPath))': \(context.debugDescription)")
        }
        do {
            try model.validate()
        } catch var error as QuantizationError {
            error.file = file
            throw error
        }
        return model
    }

    /// The largest model file read (a VGG-16-sized model's text is under half of it); a bigger one is refused
    /// before it is read into memory.
    public static let maxFileBytes = 1 << 30

    public static func load(path: String) throws -> QuantizedModel {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= maxFileBytes else {
            throw QuantizationError(layer: "file", "\(path) holds \(size >> 20) MB; a model file may hold at most 1 GB")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw QuantizationError(layer: "file", "cannot read \(path)")
        }
        var model = try decode(data, file: path)
        model.resolveReferences(from: path)
        return model
    }

    /// Where the JSON syntax breaks, as " (line L, column C)", from the parser's own report; empty if it parses.
    private static func syntaxPosition(_ data: Data) -> String {
        do { _ = try JSONSerialization.jsonObject(with: data) } catch {
            // Foundation reports "... around character N."; N is a byte offset, told here as line and column.
            let text = "\((error as NSError).userInfo)"
            guard let range = text.range(of: #"character \d+"#, options: .regularExpression),
                let offset = Int(text[range].dropFirst("character ".count)), offset <= data.count
            else { return " (not valid JSON)" }
            let before = data.prefix(offset)
            let line = before.filter { $0 == 10 }.count + 1
            let column = offset - (before.lastIndex(of: 10).map { $0 + 1 } ?? 0) + 1
            return " (JSON syntax error at line \(line), column \(column))"
        }
        return ""
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? snake($0.stringValue) }.joined(separator: ".").replacingOccurrences(
            of: ".[", with: "[")
    }

    private static func snake(_ name: String) -> String {
        name.reduce(into: "") { out, ch in
            if ch.isUppercase { out += "_" + ch.lowercased() } else { out.append(ch) }
        }
    }
}
