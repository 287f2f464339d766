import NetworkIR
import OnnxProto

/// What an ONNX value name stands for during import.
enum ImportedValue {
    case node(Int)
    case constant(ConstantValue)
    /// Integers computed from shapes that hold the symbolic batch size (ShapeFolding.swift).
    case shapeInts(ShapeInts)
}

/// The state of one import: the graph under construction and the meaning of every ONNX name seen so far.
struct ImportContext {
    let opset: Int
    let proto: Onnx_GraphProto
    var builder = GraphBuilder()
    var values: [String: ImportedValue] = [:]
    /// How many node inputs and graph outputs read each name: a producer read once may be folded into.
    var useCount: [String: Int] = [:]
    var graphOutputNames: Set<String> = []
    var staticBatch: Int?
    var inputNames: [String] = []
    var outputNames: [String] = []
    var graph: Graph?
    /// ONNX names whose value is an activation `[C, H, W]` transposed to channels-last `[H, W, C]` (Keras' order),
    /// with that activation's shape; only a flatten into a dense layer may read them (ChannelsLast.swift).
    var channelsLast: [String: [Int]] = [:]
    /// IR flatten nodes of such a value: their vector is in `[H, W, C]` order, which the dense layer reading them
    /// takes into its weights.
    var channelsLastVectors: [Int: [Int]] = [:]

    /// The model file's folder, for external data (nil for a model given as bytes).
    let external: ExternalDataFolder?

    init(opset: Int, graph: Onnx_GraphProto, external: ExternalDataFolder? = nil) {
        self.opset = opset
        self.proto = graph
        self.external = external
    }

    mutating func run() throws {
        for node in proto.node {
            for input in node.input where !input.isEmpty { useCount[input, default: 0] += 1 }
        }
        for output in proto.output { useCount[output.name, default: 0] += 1; graphOutputNames.insert(output.name) }

        for initializer in proto.initializer {
            guard !initializer.name.isEmpty else {
                throw ImportError(.malformed, "initializer", "has no name")
            }
            values[initializer.name] = .constant(
                try decodeTensor(initializer, location: "initializer '\(initializer.name)'", external: external))
        }
        if !proto.sparseInitializer.isEmpty {
            throw ImportError(.unsupported, "graph", "sparse initializers are not supported")
        }
        for input in proto.input where values[input.name] == nil {
            try addGraphInput(input)
        }
        guard !inputNames.isEmpty else {
            throw ImportError(
                .unsupported, "graph", "has no non-constant input; the IR needs an input to carry the batch")
        }
        try importNodes()
        var outputs = [Int]()
        for output in proto.output {
            guard let value = values[output.name] else {
                throw ImportError(.malformed, "output '\(output.name)'", "is not produced by any node")
            }
            guard case .node(let index) = value else {
                throw ImportError(
                    .unsupported, "output '\(output.name)'", "is a constant; the IR computes outputs from inputs")
            }
            try checkDeclared(output, against: builder.nodes[index].shape, what: "output")
            outputs.append(index)
            outputNames.append(output.name)
        }
        for info in proto.valueInfo {
            if case .node(let index)? = values[info.name] {
                try checkDeclared(info, against: builder.nodes[index].shape, what: "value")
            }
        }
        graph = try builder.build(outputs: outputs)
    }

    /// Imports every node. An unsupported node does not stop the import: its outputs are marked failed, the nodes
    /// that read them are only checked for an unsupported op, and all problems are reported together at the end,
    /// so that a user sees every node to fix at once. A malformed model stops at the first problem.
    private mutating func importNodes() throws {
        var problems = [ImportError]()
        var failed = Set<String>()
        // Whether some problem is an op the importer does not know: then the report lists the supported ops once.
        var unknownOps = false
        for (position, node) in proto.node.enumerated() {
            let ref = NodeRef(name: node.name.isEmpty ? "#\(position)" : node.name, opType: node.opType)
            if !OnnxImporter.supportedOps.contains(node.opType) { unknownOps = true }
            if node.input.contains(where: failed.contains) {
                if let problem = ImportContext.unsupportedOp(node, ref) { problems.append(problem) }
                failed.formUnion(node.output)
                continue
            }
            for input in node.input where !input.isEmpty && values[input] == nil {
                throw ImportError.malformed(
                    node: ref, "input '\(input)' is not produced by any earlier node, initializer or graph input")
            }
            do {
                if let problem = ImportContext.unsupportedOp(node, ref) { throw problem }
                try importNode(node, ref: ref)
            } catch let error as ImportError where error.kind == .unsupported {
                problems.append(error)
                failed.formUnion(node.output)
            }
        }
        guard var report = problems.first else { return }
        let supported = "supported: \(OnnxImporter.supportedOps.joined(separator: ", "))"
        if problems.count > 1 {
            report = ImportError(
                .unsupported, "model",
                "\(problems.count) nodes cannot be imported:\n" + problems.map { "  \($0)" }.joined(separator: "\n")
                    + (unknownOps ? "\n" + supported : ""))
        } else if unknownOps {
            report.reason += " (\(supported))"
        }
        throw report
    }

    /// The error for an op the importer does not know (or a foreign domain), with a hint where one helps.
    static func unsupportedOp(_ node: Onnx_NodeProto, _ ref: NodeRef) -> ImportError? {
        guard node.domain.isEmpty || node.domain == "ai.onnx" else {
            return ImportError.unsupported(
                node: ref, "operator domain '\(node.domain)' is not supported (only the default ONNX domain)")
        }
        guard !OnnxImporter.supportedOps.contains(node.opType) else { return nil }
        let hint = OnnxImporter.hints[node.opType].map { " (\($0))" } ?? ""
        return ImportError.unsupported(node: ref, "operator '\(node.opType)' is not supported\(hint)")
    }

    private mutating func addGraphInput(_ input: Onnx_ValueInfoProto) throws {
        let location = "input '\(input.name)'"
        guard case .tensorType(let type)? = input.type.value else {
            throw ImportError(
                .unsupported, location, "is not a tensor (sequences, maps and optionals are not supported)")
        }
        guard type.elemType == Int32(DataType.float.rawValue) else {
            throw ImportError(
                .unsupported, location,
                "has element type \(dataTypeName(type.elemType)); only FLOAT inputs are supported")
        }
        guard type.hasShape, !type.shape.dim.isEmpty else {
            throw ImportError(
                .unsupported, location, "has no static shape; the IR needs [batch, ...] with fixed sample dimensions")
        }
        var dims = [Int]()
        for (axis, dim) in type.shape.dim.enumerated() {
            switch dim.value {
            case .dimValue(let value) where value > 0:
                dims.append(Int(value))
            case .dimValue(let value):
                throw ImportError(
                    .unsupported, location, "dimension \(axis) is \(value); zero-size tensors are not supported")
            case .dimParam(let name) where axis > 0:
                throw ImportError(
                    .unsupported, location,
                    "dimension \(axis) is dynamic ('\(name)'); only the batch dimension (0) may be")
            case nil where axis > 0:
                throw ImportError(
                    .unsupported, location, "dimension \(axis) is unknown; only the batch dimension (0) may be")
            default:
                dims.append(-1)  // symbolic batch
            }
        }
        if dims[0] > 0 {
            if let batch = staticBatch, batch != dims[0] {
                // Valid ONNX (a broadcast operand given as an input, say), but the IR's inputs share one batch.
                throw ImportError(
                    .unsupported, location,
                    "dimension 0 is \(dims[0]) where another input's is \(batch); the inputs must share the batch dimension"
                )
            }
            staticBatch = dims[0]
        }
        let index = try builder.add(input.name, .input, inputShape: Array(dims.dropFirst()))
        values[input.name] = .node(index)
        inputNames.append(input.name)
    }

    /// A declared shape (graph output or value_info) must agree with the inferred one where it is static.
    private func checkDeclared(_ info: Onnx_ValueInfoProto, against shape: [Int], what: String) throws {
        guard case .tensorType(let type)? = info.type.value, type.hasShape else { return }
        let declared = type.shape.dim
        let full: [Int?] = [staticBatch] + shape.map { Optional($0) }
        let rendered = declared.map { dim -> String in
            if case .dimValue(let v)? = dim.value { return String(v) }
            return "?"
        }
        guard declared.count == full.count else {
            throw ImportError(
                .malformed, "\(what) '\(info.name)'",
                "declared shape [\(rendered.joined(separator: ", "))] has rank \(declared.count), the graph computes rank \(full.count) \(describe(shape))"
            )
        }
        for (axis, dim) in declared.enumerated() {
            if case .dimValue(let value)? = dim.value, let computed = full[axis], Int(value) != computed {
                throw ImportError(
                    .malformed, "\(what) '\(info.name)'",
                    "declared shape [\(rendered.joined(separator: ", "))] disagrees with the computed \(describe(shape)) at dimension \(axis)"
                )
            }
        }
    }

    func describe(_ perSample: [Int]) -> String {
        "[\(staticBatch.map(String.init) ?? "N")\(perSample.map { ", \($0)" }.joined())]"
    }

    // MARK: Helpers for the op importers

    func nodeIndex(_ name: String, _ role: String, _ ref: NodeRef) throws -> Int {
        if channelsLast[name] != nil {
            throw ImportError.unsupported(
                node: ref,
                "\(role) '\(name)' is a Transpose to channels-last; only a Flatten or Reshape into a dense layer may read it (Keras' Flatten)"
            )
        }
        switch values[name] {
        case .node(let index)?: return index
        case .constant?, .shapeInts?:
            throw ImportError.unsupported(
                node: ref, "\(role) '\(name)' is a constant; a computed activation is expected here")
        case nil: throw ImportError.malformed(node: ref, "\(role) is missing")
        }
    }

    func constant(_ name: String, _ role: String, _ ref: NodeRef) throws -> ConstantValue {
        switch values[name] {
        case .constant(let value)?: return value
        case .node?:
            throw ImportError.unsupported(
                node: ref, "\(role) '\(name)' must be a constant initializer; the IR needs static parameters")
        case .shapeInts?:
            throw ImportError.unsupported(
                node: ref, "\(role) '\(name)' depends on the batch size; a constant is needed here")
        case nil: throw ImportError.malformed(node: ref, "\(role) is missing")
        }
    }

    func floatTensor(_ name: String, _ role: String, _ ref: NodeRef) throws -> Tensor {
        let value = try constant(name, role, ref)
        guard let tensor = value.tensor else {
            throw ImportError.unsupported(node: ref, "\(role) '\(name)' is an integer tensor; floats are needed")
        }
        return tensor
    }

    /// True when the value is read exactly once and is not a graph output, so its producer may absorb the reader.
    func foldable(_ name: String) -> Bool {
        useCount[name] == 1 && !graphOutputNames.contains(name)
    }

    /// A fresh, unique IR node name for an ONNX node.
    func irName(_ node: Onnx_NodeProto) -> String {
        uniqueName(node.name.isEmpty ? (node.output.first ?? node.opType) : node.name)
    }

    /// `base`, or `base_2`, `base_3`, ... when an IR node already has the name.
    func uniqueName(_ base: String) -> String {
        var name = base
        var suffix = 1
        while builder.nodes.contains(where: { $0.name == name }) {
            suffix += 1
            name = "\(base)_\(suffix)"
        }
        return name
    }

    mutating func add(_ node: Onnx_NodeProto, _ ref: NodeRef, _ op: Op, inputs: [Int]) throws {
        let index: Int
        do {
            index = try builder.add(irName(node), op, inputs: inputs)
        } catch let error as GraphError {
            throw ImportError.malformed(node: ref, error.reason)
        }
        try bindOutput(node, ref, to: .node(index))
    }

    /// Binds the node's first output; any further output that something reads is unsupported.
    mutating func bindOutput(_ node: Onnx_NodeProto, _ ref: NodeRef, to value: ImportedValue) throws {
        guard let output = node.output.first, !output.isEmpty else {
            throw ImportError.malformed(node: ref, "has no output")
        }
        for extra in node.output.dropFirst() where !extra.isEmpty && useCount[extra, default: 0] > 0 {
            throw ImportError.unsupported(node: ref, "output '\(extra)' is used; only the first output is supported")
        }
        values[output] = value
    }
}
