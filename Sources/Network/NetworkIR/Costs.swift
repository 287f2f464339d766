/// Parameter and compute counts of one node, for one sample.
public struct NodeCost: Equatable, Sendable {
    /// Stored numbers: weights plus biases (plus scale/shift for a standalone batch norm).
    public var parameters: Int
    /// Multiply-accumulates of the weighted layers.
    public var macs: Int

    public init(parameters: Int, macs: Int) {
        self.parameters = parameters
        self.macs = macs
    }
}

extension Graph {
    /// Counts for one node. Pooling, ReLU, Add and views count no MACs.
    public func cost(of index: Int) -> NodeCost {
        let node = nodes[index]
        switch node.op {
        case .conv2d(let conv):
            let outputPixels = node.shape[1] * node.shape[2]
            let macs = conv.outChannels * outputPixels * conv.inChannels * conv.kernelH * conv.kernelW
            return NodeCost(parameters: conv.weight.count + conv.bias.count, macs: macs)
        case .dense(let dense):
            return NodeCost(
                parameters: dense.weight.count + dense.bias.count, macs: dense.outFeatures * dense.inFeatures)
        case .scaleShift(let affine):
            return NodeCost(parameters: 2 * affine.scale.count, macs: elementCount(node.shape))
        default:
            return NodeCost(parameters: 0, macs: 0)
        }
    }

    /// Sum over all nodes.
    public var totalCost: NodeCost {
        nodes.indices.reduce(NodeCost(parameters: 0, macs: 0)) { sum, index in
            let cost = cost(of: index)
            return NodeCost(parameters: sum.parameters + cost.parameters, macs: sum.macs + cost.macs)
        }
    }
}
