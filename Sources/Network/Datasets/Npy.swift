import Foundation

/// A NumPy .npy array read as float32 (float32, float64, uint8, int32 and int64 files are accepted).
public struct NpyArray: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count)
        self.shape = shape; self.data = data
    }

    public static func read(path: String) throws -> NpyArray {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DatasetError(path, "cannot be read (\(error.localizedDescription))")
        }
        return try decode(data, file: path)
    }

    public static func decode(_ data: Data, file: String) throws -> NpyArray {
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw DatasetError(file, "not a .npy file (bad magic)")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw DatasetError(file, ".npy header is truncated") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw DatasetError(file, ".npy version \(major) is not supported")
        }
        guard bytes.count >= headerStart + headerLength else { throw DatasetError(file, ".npy header is truncated") }
        let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
        guard let descr = field("descr", in: header), let shapeText = field("shape", in: header) else {
            throw DatasetError(file, ".npy header lacks descr or shape: \(header.prefix(200))")
        }
        if let order = field("fortran_order", in: header), order.hasPrefix("True") {
            throw DatasetError(file, "Fortran-ordered .npy arrays are not supported")
        }
        let shape = shapeText.split(whereSeparator: { "(), ".contains($0) }).compactMap { Int($0) }
        // Checked against the body before anything is sized from it: no negative or overflowing shape.
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard dim >= 0, !overflow, product <= bytes.count else {
                throw DatasetError(file, ".npy shape \(shape) does not fit the file's \(bytes.count) bytes")
            }
            count = product
        }
        let body = Array(bytes[(headerStart + headerLength)...])
        let type = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        func values<T>(_: T.Type, _ convert: (T) -> Float) throws -> [Float] {
            let size = MemoryLayout<T>.size
            guard body.count == count * size else {
                throw DatasetError(
                    file, ".npy body has \(body.count) bytes, shape \(shape) of \(type) needs \(count * size)")
            }
            return body.withUnsafeBytes { raw in
                (0..<count).map { convert(raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
            }
        }
        let floats: [Float]
        switch type {
        case "<f4": floats = try values(UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) }
        case "<f8": floats = try values(UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
        case "|u1", "<u1": floats = try values(UInt8.self) { Float($0) }
        case "<i4": floats = try values(Int32.self) { Float(Int32(littleEndian: $0)) }
        case "<i8": floats = try values(Int64.self) { Float(Int64(littleEndian: $0)) }
        default: throw DatasetError(file, ".npy dtype \(type) is not supported (<f4, <f8, |u1, <i4, <i8 are)")
        }
        // Inputs to a network: a NaN or an infinity would only come out as a plausible-looking wrong answer.
        if let index = floats.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError(file, "holds \(floats[index]) at flat index \(index); only finite values are read")
        }
        return NpyArray(shape: shape, data: floats)
    }

    /// The .npy (version 1.0, little-endian float32) encoding.
    public func encoded() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(\(shape.map(String.init).joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that the data starts on a 64-byte boundary; the header ends with a newline.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = header.utf8.count
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        for value in self.data {
            let bits = value.bitPattern.littleEndian
            data.append(contentsOf: [
                UInt8(bits & 0xff), UInt8(bits >> 8 & 0xff), UInt8(bits >> 16 & 0xff), UInt8(bits >> 24),
            ])
        }
        return data
    }

    /// The text of `'key': value` in a .npy header dictionary, up to the next top-level comma.
    private static func field(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var value = ""
        for char in header[range.upperBound...] {
            if char == "(" { depth += 1 }
            if char == ")" { depth -= 1 }
            if (char == "," && depth == 0) || char == "}" { break }
            value.append(char)
        }
        return value.trimmingCharacters(in: .whitespaces)
    }
}
