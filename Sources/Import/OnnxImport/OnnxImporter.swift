import Foundation
import NetworkIR
import OnnxProto
import SwiftProtobuf

/// An imported network and what the file said about itself.
public struct ImportedModel: Sendable {
    public var graph: Graph
    /// Default-domain opset the model declares.
    public var opset: Int
    public var irVersion: Int
    public var producer: String
    /// ONNX names of the graph inputs and outputs, in the order of `graph.inputs` and `graph.outputs`.
    public var inputNames: [String]
    public var outputNames: [String]
    /// The batch size fixed by the model's input shape, or nil when the batch dimension is symbolic.
    public var staticBatch: Int?
}

/// ONNX -> NetworkIR. Supported ops and opsets are listed in docs/onnx-support.md.
public enum OnnxImporter {
    public static let supportedOpsets = 7...25
    public static let supportedOps: [String] = [
        "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout",
        "Flatten", "Gather", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity",
        "LeakyRelu", "MatMul", "MaxPool", "Mul", "Range", "ReduceMax", "ReduceMean", "Relu", "Reshape", "Shape",
        "Sigmoid", "Slice", "Softmax", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze",
    ]

    /// Why an exporter writes an op the importer lacks, and what avoids it.
    static let hints: [String: String] = [
        "Gelu":
            "exported from nn.GELU; the integer model has no table for it yet (ReLU, HardSwish, Sigmoid and Tanh have)",
        "Erf":
            "exported from nn.GELU at opsets before 20; the integer model has no table for it yet (ReLU, HardSwish, Sigmoid and Tanh have)",
    ]

    /// Reads and imports a model file.
    public static func load(path: String) throws -> ImportedModel {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ImportError(.malformed, "file '\(path)'", "cannot be read (\(error.localizedDescription))")
        }
        // Every message names the file as well as the node, initializer or input.
        do {
            return try importModel(parse(data: data, name: path), external: ExternalDataFolder(modelPath: path))
        } catch var error as ImportError {
            if !error.location.hasPrefix("file '") { error.location = "\(path): " + error.location }
            throw error
        } catch let error as GraphError {
            throw ImportError(.malformed, "\(path): node '\(error.node)' (\(error.op))", error.reason)
        }
    }

    public static func load(data: Data, name: String = "model") throws -> ImportedModel {
        try importModel(parse(data: data, name: name))
    }

    /// Parses the protobuf and checks that it is an ONNX model at all.
    public static func parse(data: Data, name: String = "model") throws -> Onnx_ModelProto {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw ImportError(
                .malformed, "file '\(name)'",
                "not a readable ONNX model (protobuf: \(error)); the file may be truncated or not ONNX")
        }
        guard model.irVersion > 0, model.hasGraph else {
            throw ImportError(.malformed, "file '\(name)'", "not an ONNX model (no IR version or no graph)")
        }
        return model
    }

    public static func importModel(_ model: Onnx_ModelProto) throws -> ImportedModel {
        try importModel(model, external: nil)
    }

    static func importModel(_ model: Onnx_ModelProto, external: ExternalDataFolder?) throws -> ImportedModel {
        let defaultDomain = model.opsetImport.filter { $0.domain.isEmpty || $0.domain == "ai.onnx" }
        guard let opsetEntry = defaultDomain.first else {
            throw ImportError(.malformed, "model", "declares no opset for the default ONNX domain")
        }
        let opset = Int(opsetEntry.version)
        guard supportedOpsets.contains(opset) else {
            throw ImportError(
                .unsupported, "model",
                "opset \(opset) is not supported (supported: \(supportedOpsets.lowerBound) to \(supportedOpsets.upperBound))"
            )
        }
        var context = ImportContext(opset: opset, graph: model.graph, external: external)
        try context.run()
        return ImportedModel(
            graph: context.graph!, opset: opset, irVersion: Int(model.irVersion),
            producer: [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " "),
            inputNames: context.inputNames, outputNames: context.outputNames,
            staticBatch: context.staticBatch)
    }
}
