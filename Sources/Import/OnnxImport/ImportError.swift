/// Why an ONNX model cannot be imported. The message always names where the problem is: the node (name and
/// op type), a graph input or initializer, or the file.
public struct ImportError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Equatable, Sendable {
        /// Valid ONNX that the IR cannot represent (an op, an attribute value, a data type).
        case unsupported
        /// Not a well-formed ONNX model (unreadable, truncated, inconsistent).
        case malformed
    }

    public var kind: Kind
    /// Where: "node 'conv1' (Conv)", "input 'x'", "initializer 'W'", "file", ...
    public var location: String
    public var reason: String

    public init(_ kind: Kind, _ location: String, _ reason: String) {
        self.kind = kind; self.location = location; self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }

    static func unsupported(node: NodeRef, _ reason: String) -> ImportError {
        ImportError(.unsupported, node.description, reason)
    }
    static func malformed(node: NodeRef, _ reason: String) -> ImportError {
        ImportError(.malformed, node.description, reason)
    }
}

/// A node's name and op type, for messages. Unnamed nodes are called by their position.
struct NodeRef: CustomStringConvertible {
    var name: String
    var opType: String
    var description: String { "node '\(name)' (\(opType))" }
}
