/// Why a graph cannot be trained, naming the node and op.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public var node: String
    public var op: String
    public var reason: String

    public init(node: String, op: String, reason: String) {
        self.node = node; self.op = op; self.reason = reason
    }

    public var description: String { "node '\(node)' (\(op)): \(reason)" }
}
