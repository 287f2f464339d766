/// One node of the graph: an op, the nodes it reads and the per-sample shape it produces.
public struct Node: Equatable, Sendable {
    public var name: String
    public var op: Op
    /// Indices of the producing nodes, always lower than this node's own index.
    public var inputs: [Int]
    /// Per-sample output shape (batch dimension excluded).
    public var shape: [Int]
}

/// A network as a DAG of nodes in topological order. Built only through `GraphBuilder`, so shapes are
/// always inferred and checked.
public struct Graph: Equatable, Sendable {
    public private(set) var nodes: [Node]
    /// Indices of the graph outputs.
    public private(set) var outputs: [Int]

    init(nodes: [Node], outputs: [Int]) {
        self.nodes = nodes
        self.outputs = outputs
    }

    /// Indices of the input nodes, in order.
    public var inputs: [Int] { nodes.indices.filter { nodes[$0].op == .input } }

    /// For each node, the nodes that read it.
    public func consumers() -> [[Int]] {
        var result = [[Int]](repeating: [], count: nodes.count)
        for (index, node) in nodes.enumerated() {
            for input in node.inputs { result[input].append(index) }
        }
        return result
    }
}

/// Shape or structure error found while building a graph.
public struct GraphError: Error, CustomStringConvertible, Equatable {
    public var node: String
    public var op: String
    public var reason: String
    public init(node: String, op: String, reason: String) {
        self.node = node; self.op = op; self.reason = reason
    }
    public var description: String { "node '\(node)' (\(op)): \(reason)" }
}

/// Builds a graph node by node, inferring and checking every shape on the way.
public struct GraphBuilder {
    public private(set) var nodes: [Node] = []
    private var names: Set<String> = []

    public init() {}

    /// Adds a node and returns its index. Throws if the inputs do not fit the op.
    @discardableResult
    public mutating func add(_ name: String, _ op: Op, inputs: [Int] = [], inputShape: [Int]? = nil) throws -> Int {
        guard !names.contains(name) else {
            throw GraphError(node: name, op: op.name, reason: "a node of this name already exists")
        }
        guard inputs.count == op.arity else {
            throw GraphError(node: name, op: op.name, reason: "takes \(op.arity) input(s), got \(inputs.count)")
        }
        for input in inputs where !(0..<nodes.count).contains(input) {
            throw GraphError(node: name, op: op.name, reason: "input index \(input) does not name an earlier node")
        }
        let shape: [Int]
        do {
            shape = try inferShape(op, inputShapes: inputs.map { nodes[$0].shape }, declaredInputShape: inputShape)
        } catch let reason as ShapeReason {
            throw GraphError(node: name, op: op.name, reason: reason.text)
        }
        names.insert(name)
        nodes.append(Node(name: name, op: op, inputs: inputs, shape: shape))
        return nodes.count - 1
    }

    /// Replaces the op of an existing node (used by import-time folding); the output shape must not change.
    public mutating func replaceOp(of index: Int, with op: Op) throws {
        let node = nodes[index]
        let shape: [Int]
        do {
            shape = try inferShape(
                op, inputShapes: node.inputs.map { nodes[$0].shape },
                declaredInputShape: node.op == .input ? node.shape : nil)
        } catch let reason as ShapeReason {
            throw GraphError(node: node.name, op: op.name, reason: reason.text)
        }
        guard shape == node.shape else {
            throw GraphError(
                node: node.name, op: op.name, reason: "folding would change the shape \(node.shape) to \(shape)")
        }
        nodes[index].op = op
    }

    /// Renames an existing node (import-time folding: the folded node takes the name of the one it absorbed).
    public mutating func rename(_ index: Int, to name: String) throws {
        guard name == nodes[index].name || !names.contains(name) else {
            throw GraphError(node: name, op: nodes[index].op.name, reason: "a node of this name already exists")
        }
        names.remove(nodes[index].name)
        names.insert(name)
        nodes[index].name = name
    }

    /// Finishes the graph with the given outputs.
    public func build(outputs: [Int]) throws -> Graph {
        guard !outputs.isEmpty else { throw GraphError(node: "graph", op: "Graph", reason: "no outputs") }
        for output in outputs where !(0..<nodes.count).contains(output) {
            throw GraphError(node: "graph", op: "Graph", reason: "output index \(output) does not name a node")
        }
        return Graph(nodes: nodes, outputs: outputs)
    }
}
