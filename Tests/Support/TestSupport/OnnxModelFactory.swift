import Foundation
import NetworkIR
import OnnxProto

/// Builds small ONNX models in memory for tests, independent of the importer under test.
public struct OnnxModelFactory {
    public var opset: Int
    public var nodes: [Onnx_NodeProto] = []
    public var initializers: [Onnx_TensorProto] = []
    public var inputs: [Onnx_ValueInfoProto] = []
    public var outputs: [Onnx_ValueInfoProto] = []

    public init(opset: Int = 13) { self.opset = opset }

    public enum Dim { case value(Int), param(String) }

    public static func valueInfo(_ name: String, _ dims: [Dim], elemType: Onnx_TensorProto.DataType = .float)
        -> Onnx_ValueInfoProto
    {
        var info = Onnx_ValueInfoProto()
        info.name = name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(elemType.rawValue)
        var shape = Onnx_TensorShapeProto()
        shape.dim = dims.map { dim in
            var d = Onnx_TensorShapeProto.Dimension()
            switch dim {
            case .value(let v): d.dimValue = Int64(v)
            case .param(let p): d.dimParam = p
            }
            return d
        }
        tensorType.shape = shape
        info.type.tensorType = tensorType
        return info
    }

    public mutating func input(_ name: String, _ dims: [Dim], elemType: Onnx_TensorProto.DataType = .float) {
        inputs.append(Self.valueInfo(name, dims, elemType: elemType))
    }

    public mutating func output(_ name: String, _ dims: [Dim]? = nil) {
        if let dims {
            outputs.append(Self.valueInfo(name, dims))
        } else {
            var info = Onnx_ValueInfoProto()
            info.name = name
            outputs.append(info)
        }
    }

    public static func floatTensor(_ name: String, _ shape: [Int], _ values: [Float]) -> Onnx_TensorProto {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.floatData = values
        return tensor
    }

    /// A float initializer stored as little-endian raw_data, as exporters usually write them.
    public mutating func rawInitializer(_ name: String, _ shape: [Int], _ values: [Float]) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var data = Data()
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        tensor.rawData = data
        initializers.append(tensor)
    }

    public mutating func initializer(_ name: String, _ shape: [Int], _ values: [Float]) {
        initializers.append(Self.floatTensor(name, shape, values))
    }

    /// An INT64 initializer, 1-D unless `shape` says otherwise (`[]`: a scalar).
    public mutating func intInitializer(_ name: String, _ values: [Int64], shape: [Int]? = nil) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = (shape ?? [values.count]).map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.int64Data = values
        initializers.append(tensor)
    }

    public enum Attr {
        case int(Int), float(Float), ints([Int]), string(String)
    }

    public mutating func node(
        _ op: String, _ inputs: [String], _ outputs: [String], name: String? = nil, _ attributes: [String: Attr] = [:]
    ) {
        var node = Onnx_NodeProto()
        node.opType = op
        node.input = inputs
        node.output = outputs
        node.name = name ?? outputs[0]
        node.attribute = attributes.keys.sorted().map { key in
            var attribute = Onnx_AttributeProto()
            attribute.name = key
            switch attributes[key]! {
            case .int(let v): attribute.type = .int; attribute.i = Int64(v)
            case .float(let v): attribute.type = .float; attribute.f = v
            case .ints(let v): attribute.type = .ints; attribute.ints = v.map(Int64.init)
            case .string(let v): attribute.type = .string; attribute.s = Data(v.utf8)
            }
            return attribute
        }
        nodes.append(node)
    }

    public var model: Onnx_ModelProto {
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.producerName = "approxrtl-tests"
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = Int64(opset)
        model.opsetImport = [opsetID]
        var graph = Onnx_GraphProto()
        graph.name = "test"
        graph.node = nodes
        graph.initializer = initializers
        graph.input = inputs
        graph.output = outputs
        model.graph = graph
        return model
    }

    public func serialized() throws -> Data { try model.serializedData() }
}

/// Deterministic pseudo-random floats for tests (SplitMix64), in [-1, 1).
public struct TestRandom {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24) * 2 - 1
    }
    public mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

/// Fails unless `actual` and `expected` agree elementwise within `atol + rtol * |expected|`.
public func maxViolation(_ actual: [Float], _ expected: [Float], atol: Float = 1e-5, rtol: Float = 1e-4) -> Float? {
    guard actual.count == expected.count else { return .infinity }
    var worst: Float = 0
    for (a, e) in zip(actual, expected) { worst = max(worst, abs(a - e) - (atol + rtol * abs(e))) }
    return worst > 0 ? worst : nil
}
