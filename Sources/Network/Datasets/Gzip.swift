import CZlib
import Foundation

public struct DatasetError: Error, CustomStringConvertible {
    public var file: String
    public var reason: String
    public init(_ file: String, _ reason: String) { self.file = file; self.reason = reason }
    public var description: String { "\(file): \(reason)" }
}

/// True when the bytes start with the gzip magic number.
func isGzip(_ data: Data) -> Bool {
    data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
}

/// The most a gzipped dataset file may inflate to (EMNIST's largest image file is 0.55 GB); a gzip bomb stops here.
let maxInflatedBytes = 1 << 30

/// Inflates a whole gzip stream (concatenated members included), refusing more than `limit` bytes.
func gunzip(_ data: Data, file: String, limit: Int = maxInflatedBytes) throws -> Data {
    var stream = z_stream()
    // 15 + 32: maximum window, detect the gzip header automatically.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
        throw DatasetError(file, "zlib initialisation failed")
    }
    defer { inflateEnd(&stream) }
    var output = Data()
    let chunkSize = 1 << 20
    var chunk = [UInt8](repeating: 0, count: chunkSize)
    var input = [UInt8](data)
    let status: Int32 = input.withUnsafeMutableBufferPointer { source in
        stream.next_in = source.baseAddress
        stream.avail_in = uInt(source.count)
        var result: Int32 = Z_OK
        repeat {
            result = chunk.withUnsafeMutableBufferPointer { buffer -> Int32 in
                stream.next_out = buffer.baseAddress
                stream.avail_out = uInt(chunkSize)
                let code = inflate(&stream, Z_NO_FLUSH)
                output.append(buffer.baseAddress!, count: chunkSize - Int(stream.avail_out))
                return output.count > limit ? Z_MEM_ERROR : code
            }
            if result == Z_STREAM_END && stream.avail_in > 0 {
                // Another gzip member follows.
                result = inflateReset(&stream) == Z_OK ? Z_OK : Z_DATA_ERROR
            }
        } while result == Z_OK
        return result
    }
    guard status != Z_MEM_ERROR || output.count <= limit else {
        throw DatasetError(file, "inflates to more than \(limit >> 20) MB; not a dataset file this tool reads")
    }
    guard status == Z_STREAM_END else {
        throw DatasetError(
            file, status == Z_BUF_ERROR ? "gzip stream is truncated" : "gzip stream is corrupt (zlib \(status))")
    }
    return output
}

/// Reads a file, inflating it if it is gzipped.
func readMaybeGzip(_ path: String) throws -> Data {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw DatasetError(path, "cannot be read (\(error.localizedDescription))")
    }
    return isGzip(data) ? try gunzip(data, file: path) : data
}
