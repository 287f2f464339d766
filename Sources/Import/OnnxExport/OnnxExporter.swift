import Foundation
import NetworkIR
import OnnxProto

/// Why a graph cannot be written as ONNX.
public struct ExportError: Error, CustomStringConvertible {
    public var node: String, op: String, reason: String
    public var description: String { "node '\(node)' (\(op)): \(reason)" }
}

/// Writes a `Graph` as an ONNX model with standard ops only (opset 13), so onnxruntime, Netron and any
/// framework can read it. The batch dimension is symbolic ("N"). Weights are initializers stored as
/// little-endian raw data, named `<node>.weight` and `<node>.bias`; every value is named after its node.
public enum OnnxExporter {
    public static let opset: Int64 = 13
    /// IR version 8 (ONNX 1.10+): readable by onnxruntime releases that refuse the newest IR versions.
    public static let irVersion: Int64 = 8

    public static func model(
        _ graph: Graph, producerVersion: String = "", docString: String = "",
        metadata: [(String, String)] = []
    ) throws -> Onnx_ModelProto {
        var writer = GraphWriter(graph: graph)
        for index in graph.nodes.indices { try writer.write(index) }
        var proto = Onnx_GraphProto()
        proto.name = "approxrtl"
        proto.node = writer.nodes
        proto.initializer = writer.initializers
        proto.input = graph.inputs.map { valueInfo(graph.nodes[$0]) }
        proto.output = graph.outputs.map { valueInfo(graph.nodes[$0]) }

        var model = Onnx_ModelProto()
        model.irVersion = irVersion
        model.producerName = "approxrtl"
        model.producerVersion = producerVersion
        model.docString = docString
        var opsetID = Onnx_OperatorSetIdProto()
        opsetID.domain = ""
        opsetID.version = opset
        model.opsetImport = [opsetID]
        model.metadataProps = metadata.map { key, value in
            var entry = Onnx_StringStringEntryProto()
            entry.key = key
            entry.value = value
            return entry
        }
        model.graph = proto
        return model
    }

    /// The serialized model; deterministic for a given graph and metadata.
    public static func serialized(
        _ graph: Graph, producerVersion: String = "", docString: String = "",
        metadata: [(String, String)] = []
    ) throws -> Data {
        try model(graph, producerVersion: producerVersion, docString: docString, metadata: metadata).serializedData()
    }

    static func valueInfo(_ node: Node) -> Onnx_ValueInfoProto {
        var info = Onnx_ValueInfoProto()
        info.name = node.name
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var shape = Onnx_TensorShapeProto()
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        shape.dim =
            [batch]
            + node.shape.map { size in
                var dim = Onnx_TensorShapeProto.Dimension()
                dim.dimValue = Int64(size)
                return dim
            }
        tensorType.shape = shape
        info.type.tensorType = tensorType
        return info
    }
}

/// Accumulates the ONNX nodes and initializers of a graph, node by node.
private struct GraphWriter {
    let graph: Graph
    var nodes: [Onnx_NodeProto] = []
    var initializers: [Onnx_TensorProto] = []

    init(graph: Graph) { self.graph = graph }

    mutating func write(_ index: Int) throws {
        let node = graph.nodes[index]
        let inputs = node.inputs.map { graph.nodes[$0].name }
        switch node.op {
        case .input:
            break
        case .constant(let tensor):
            floatInitializer(node.name, tensor.shape, tensor.data)
        case .conv2d(let conv):
            floatInitializer("\(node.name).weight", conv.weight.shape, conv.weight.data)
            floatInitializer("\(node.name).bias", [conv.bias.count], conv.bias)
            let p = conv.padding
            emit(
                "Conv", inputs + ["\(node.name).weight", "\(node.name).bias"], node.name,
                [
                    ints("kernel_shape", [conv.kernelH, conv.kernelW]),
                    ints("pads", [p.top, p.left, p.bottom, p.right]),
                    ints("strides", [conv.strideH, conv.strideW]),
                ])
        case .maxPool(let pool), .averagePool(let pool):
            writePool(node, pool: pool, inputs: inputs)
        case .dense(let dense):
            floatInitializer("\(node.name).weight", dense.weight.shape, dense.weight.data)
            floatInitializer("\(node.name).bias", [dense.bias.count], dense.bias)
            emit("Gemm", inputs + ["\(node.name).weight", "\(node.name).bias"], node.name, [int("transB", 1)])
        case .scaleShift(let affine):
            // BatchNormalization with mean 0, variance 1 and epsilon 0 is exactly y = scale * x + shift.
            let count = affine.scale.count
            floatInitializer("\(node.name).scale", [count], affine.scale)
            floatInitializer("\(node.name).shift", [count], affine.shift)
            floatInitializer("\(node.name).mean", [count], [Float](repeating: 0, count: count))
            floatInitializer("\(node.name).var", [count], [Float](repeating: 1, count: count))
            emit(
                "BatchNormalization", inputs + ["scale", "shift", "mean", "var"].map { "\(node.name).\($0)" },
                node.name,
                [float("epsilon", 0)])
        case .relu:
            emit("Relu", inputs, node.name, [])
        case .activation(let function):
            writeActivation(node, function: function, inputs: inputs)
        case .add:
            emit("Add", inputs, node.name, [])
        case .flatten:
            emit("Flatten", inputs, node.name, [int("axis", 1)])
        case .reshape(let shape):
            var tensor = Onnx_TensorProto()
            tensor.name = "\(node.name).shape"
            tensor.dims = [Int64(shape.count + 1)]
            tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
            tensor.int64Data = [0] + shape.map(Int64.init)  // 0 copies the batch dimension
            initializers.append(tensor)
            emit("Reshape", inputs + ["\(node.name).shape"], node.name, [])
        case .softmax(let axes):
            guard axes.count == 1 else {
                throw ExportError(
                    node: node.name, op: node.op.name, reason: "Softmax over several axes has no single-op ONNX form")
            }
            emit("Softmax", inputs, node.name, [int("axis", axes.lowerBound + 1)])
        }
    }

    /// An activation node as the opset 13 op (or ops) that compute it.
    mutating func writeActivation(_ node: Node, function: Activation, inputs: [String]) {
        switch function {
        case .sigmoid, .tanh:
            emit(function.name, inputs, node.name, [])
        case .leakyRelu(let alpha):
            emit("LeakyRelu", inputs, node.name, [float("alpha", alpha)])
        case .hardSigmoid(let alpha, let beta):
            emit("HardSigmoid", inputs, node.name, [float("alpha", alpha), float("beta", beta)])
        case .hardSwish:
            // Opset 13 has no HardSwish: x * HardSigmoid(x, 1/6, 1/2), as PyTorch writes it there.
            emit("HardSigmoid", inputs, "\(node.name).gate", [float("alpha", 1.0 / 6), float("beta", 0.5)])
            emit("Mul", inputs + ["\(node.name).gate"], node.name, [])
        case .clip(let low, let high):
            // Opset 13: the bounds are scalar inputs; an infinite one is left out.
            var operands = inputs
            for (role, bound) in [("min", low), ("max", high)] {
                guard bound.isFinite else { operands.append(""); continue }
                floatInitializer("\(node.name).\(role)", [], [bound])
                operands.append("\(node.name).\(role)")
            }
            while operands.last == "" { operands.removeLast() }
            emit("Clip", operands, node.name, [])
        }
    }

    /// MaxPool or AveragePool, with ceil_mode where the node's shape needs it.
    mutating func writePool(_ node: Node, pool: Pool2D, inputs: [String]) {
        let isAverage: Bool
        if case .averagePool = node.op { isAverage = true } else { isAverage = false }
        let p = pool.padding
        let inShape = graph.nodes[node.inputs[0]].shape
        let floorH = (inShape[1] + p.top + p.bottom - pool.kernelH) / pool.strideH + 1
        let floorW = (inShape[2] + p.left + p.right - pool.kernelW) / pool.strideW + 1
        let ceil = node.shape[1] != floorH || node.shape[2] != floorW
        var attributes = [
            ints("kernel_shape", [pool.kernelH, pool.kernelW]),
            ints("pads", [p.top, p.left, p.bottom, p.right]),
            ints("strides", [pool.strideH, pool.strideW]),
        ]
        if ceil { attributes.append(int("ceil_mode", 1)) }
        if isAverage && pool.countIncludePad { attributes.append(int("count_include_pad", 1)) }
        emit(isAverage ? "AveragePool" : "MaxPool", inputs, node.name, attributes)
    }

    private mutating func emit(
        _ op: String, _ inputs: [String], _ output: String, _ attributes: [Onnx_AttributeProto],
        name: String? = nil
    ) {
        var proto = Onnx_NodeProto()
        proto.opType = op
        proto.name = name ?? output
        proto.input = inputs
        proto.output = [output]
        proto.attribute = attributes
        nodes.append(proto)
    }

    private mutating func floatInitializer(_ name: String, _ shape: [Int], _ values: [Float]) {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        var data = Data(capacity: values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        tensor.rawData = data
        initializers.append(tensor)
    }

    private func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .int
        attribute.i = Int64(value)
        return attribute
    }

    private func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .float
        attribute.f = value
        return attribute
    }

    private func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        attribute.type = .ints
        attribute.ints = values.map(Int64.init)
        return attribute
    }
}
