import Foundation

/// An IDX array (the MNIST file format): unsigned bytes with a shape. Other IDX element types are refused.
public struct IDXArray: Equatable, Sendable {
    public var shape: [Int]
    public var bytes: [UInt8]

    public init(shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) == bytes.count)
        self.shape = shape; self.bytes = bytes
    }

    /// Reads an IDX file, gzipped or not.
    public static func read(path: String) throws -> IDXArray {
        try decode(readMaybeGzip(path), file: path)
    }

    /// Decodes the bytes of an IDX file, gzipped or not.
    public static func decode(maybeGzipped data: Data, file: String) throws -> IDXArray {
        try decode(isGzip(data) ? gunzip(data, file: file) : data, file: file)
    }

    public static func decode(_ data: Data, file: String) throws -> IDXArray {
        let bytes = [UInt8](data)
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            throw DatasetError(file, "not an IDX file (bad magic number)")
        }
        guard bytes[2] == 0x08 else {
            throw DatasetError(
                file, String(format: "IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)", bytes[2]))
        }
        let rank = Int(bytes[3])
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw DatasetError(file, "IDX header is truncated") }
        var shape = [Int]()
        for axis in 0..<rank {
            let offset = 4 + 4 * axis
            shape.append(bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) })
        }
        let header = 4 + 4 * rank
        // Checked: four dimensions of 2^32 - 1 overflow Int.
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw DatasetError(file, "IDX shape \(shape) is too large") }
            count = product
        }
        guard bytes.count - header == count else {
            throw DatasetError(file, "IDX body has \(bytes.count - header) bytes, shape \(shape) needs \(count)")
        }
        return IDXArray(shape: shape, bytes: Array(bytes[header...]))
    }

    /// The uncompressed IDX encoding.
    public func encoded() -> Data {
        var data = Data([0, 0, 0x08, UInt8(shape.count)])
        for dim in shape {
            data.append(contentsOf: [
                UInt8(dim >> 24 & 0xff), UInt8(dim >> 16 & 0xff), UInt8(dim >> 8 & 0xff), UInt8(dim & 0xff),
            ])
        }
        data.append(contentsOf: bytes)
        return data
    }
}
