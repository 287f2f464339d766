import Foundation
import NetworkIR
import OnnxProto

/// A constant read from an initializer or a Constant node: floats for weights, integers for shapes.
struct ConstantValue {
    var shape: [Int]
    var floats: [Float]?
    var ints: [Int64]?

    var tensor: Tensor? { floats.map { Tensor(shape: shape, data: $0) } }
}

typealias DataType = Onnx_TensorProto.DataType

/// Decodes a TensorProto (typed fields, little-endian raw_data, or raw bytes in an external data file of the
/// model's folder). `location` names it in messages.
/// The element count of a declared shape, checked before anything is sized from it: no negative dimension, no
/// overflow, and below 2^31 (8 GB of floats; no model the tool handles comes near).
func elementCount(_ shape: [Int], location: String) throws -> Int {
    guard shape.allSatisfy({ $0 >= 0 }) else {
        throw ImportError(.malformed, location, "negative dimension in \(shape)")
    }
    var count = 1
    for dim in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow, product < 1 << 31 else {
            throw ImportError(.unsupported, location, "shape \(shape) has 2^31 or more elements")
        }
        count = product
    }
    return count
}

func decodeTensor(_ proto: Onnx_TensorProto, location: String, external: ExternalDataFolder? = nil) throws
    -> ConstantValue
{
    var externalBytes: Data?
    if proto.dataLocation == .external {
        guard let external else {
            throw ImportError(
                .unsupported, location,
                "holds external data, which is read only when the model is loaded from its file (save it with its weights inside: torch.onnx.export(..., external_data=False), or onnx.save_model(model, path, save_as_external_data=False))"
            )
        }
        externalBytes = try external.bytes(of: proto, location: location)
    }
    if proto.hasSegment {
        throw ImportError(.unsupported, location, "segmented tensors are not supported")
    }
    let shape = proto.dims.map(Int.init)
    let count = try elementCount(shape, location: location)
    let raw = externalBytes ?? (proto.hasRawData ? proto.rawData : nil)
    func check(_ got: Int) throws {
        guard got == count else {
            throw ImportError(.malformed, location, "holds \(got) values, its shape \(shape) needs \(count)")
        }
    }
    func rawValues<T>(_ type: T.Type) throws -> [T] {
        guard let raw else { return [] }
        let size = MemoryLayout<T>.size
        guard raw.count == count * size else {
            throw ImportError(
                .malformed, location, "raw_data has \(raw.count) bytes, shape \(shape) needs \(count * size)")
        }
        var values = [T]()
        values.reserveCapacity(count)
        raw.withUnsafeBytes { buffer in
            for i in 0..<count { values.append(buffer.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
        }
        return values
    }
    // NaN never means anything in a model; an infinity only as a scalar (Clip's open bound).
    func finite(_ values: [Float]) throws -> [Float] {
        if let index = values.firstIndex(where: { $0.isNaN || ($0.isInfinite && count != 1) }) {
            throw ImportError(.malformed, location, "holds \(values[index]) at flat index \(index)")
        }
        return values
    }
    switch DataType(rawValue: Int(proto.dataType)) {
    case .float:
        let values =
            raw != nil
            ? try rawValues(UInt32.self).map { Float(bitPattern: UInt32(littleEndian: $0)) } : proto.floatData
        try check(values.count)
        return ConstantValue(shape: shape, floats: try finite(values), ints: nil)
    case .double:
        let values =
            raw != nil
            ? try rawValues(UInt64.self).map { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
            : proto.doubleData.map(Float.init)
        try check(values.count)
        return ConstantValue(shape: shape, floats: try finite(values), ints: nil)
    case .int64:
        let values = raw != nil ? try rawValues(Int64.self).map { Int64(littleEndian: $0) } : proto.int64Data
        try check(values.count)
        return ConstantValue(shape: shape, floats: nil, ints: values)
    case .int32:
        let values =
            raw != nil
            ? try rawValues(Int32.self).map { Int64(Int32(littleEndian: $0)) } : proto.int32Data.map(Int64.init)
        try check(values.count)
        return ConstantValue(shape: shape, floats: nil, ints: values)
    case .bool:
        let values = raw != nil ? try rawValues(UInt8.self).map(Int64.init) : proto.int32Data.map(Int64.init)
        try check(values.count)
        return ConstantValue(shape: shape, floats: nil, ints: values)
    default:
        throw ImportError(
            .unsupported, location,
            "data type \(dataTypeName(proto.dataType)) is not supported (float, double, int32, int64 and bool are)")
    }
}

func dataTypeName(_ raw: Int32) -> String {
    if let type = DataType(rawValue: Int(raw)) { return "\(type)".uppercased() }
    return "#\(raw)"
}

extension OnnxImporter {
    /// Decodes a float (or double) TensorProto, e.g. a test vector; other element types are refused as unsupported.
    public static func floatTensor(_ proto: Onnx_TensorProto, location: String) throws -> Tensor {
        guard let tensor = try decodeTensor(proto, location: location).tensor else {
            throw ImportError(
                .unsupported, location,
                "has element type \(dataTypeName(proto.dataType)); only float tensors are compared")
        }
        return tensor
    }
}
