import MatrixKernels
import NetworkIR

/// A graph compiled for training: one layer per node, and all trainable numbers in one flat vector
/// (per layer: weight in IR order, then bias) that the optimizer updates in place.
///
/// The loss is softmax cross-entropy on the single graph output. A final Softmax node is recognised as the
/// head and skipped (the loss applies it); the trained graph keeps it.
public struct TrainableNetwork: Sendable {
    public let template: Graph
    let layers: [(any TrainableLayer)?]
    /// Offset of each node's parameters in the flat vector.
    let parameterOffsets: [Int]
    public let parameterCount: Int
    /// Which flat parameters are weights (decayed) rather than biases.
    let isWeight: [Bool]
    /// The node whose output feeds the loss, and the number of classes.
    let logits: Int
    public let classes: Int
    let input: Int
    public let inputSize: Int
    /// The nodes the forward pass runs, in order (the head Softmax excluded).
    let schedule: [Int]
    let columnCapacity: Int

    public init(graph: Graph) throws {
        template = graph
        let inputs = graph.inputs
        guard inputs.count == 1 else {
            throw GraphError(
                node: "graph", op: "Graph", reason: "training needs exactly one input, found \(inputs.count)")
        }
        guard graph.outputs.count == 1 else {
            throw GraphError(
                node: "graph", op: "Graph", reason: "training needs exactly one output, found \(graph.outputs.count)")
        }
        input = inputs[0]
        inputSize = elementCount(graph.nodes[input].shape)
        var head = graph.outputs[0]
        if case .softmax = graph.nodes[head].op { head = graph.nodes[head].inputs[0] }
        logits = head
        guard graph.nodes[head].shape.count == 1 else {
            let node = graph.nodes[head]
            throw GraphError(
                node: node.name, op: node.op.name,
                reason: "the loss needs a vector of class scores, this output has shape \(node.shape)")
        }
        classes = graph.nodes[head].shape[0]

        var layers: [(any TrainableLayer)?] = []
        var offsets: [Int] = []
        var isWeight: [Bool] = []
        var capacity = 1
        for (index, node) in graph.nodes.enumerated() {
            offsets.append(isWeight.count)
            guard index <= head else {
                layers.append(nil)
                continue
            }
            let (layer, weights, columns) = try Self.layer(of: node, in: graph)
            capacity = max(capacity, columns)
            isWeight += weights
            layers.append(layer)
        }
        self.layers = layers
        parameterOffsets = offsets
        parameterCount = isWeight.count
        self.isWeight = isWeight
        columnCapacity = capacity
        schedule = Array(0...head).filter { graph.nodes[$0].op != .input }
    }

    /// The trainable layer of one node, which of its parameters are weights (not biases), and the im2col columns
    /// it needs.
    static func layer(of node: Node, in graph: Graph) throws -> (
        layer: (any TrainableLayer)?, isWeight: [Bool], columns: Int
    ) {
        let inputShape = node.inputs.first.map { graph.nodes[$0].shape } ?? []
        let size = elementCount(node.shape)
        let layer: (any TrainableLayer)?
        var isWeight: [Bool] = []
        var capacity = 0
        switch node.op {
        case .input:
            layer = nil
        case .conv2d(let conv):
            let geometry = ConvGeometry(
                channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                kernelH: conv.kernelH, kernelW: conv.kernelW, strideH: conv.strideH,
                strideW: conv.strideW, padTop: conv.padding.top, padLeft: conv.padding.left,
                outH: node.shape[1], outW: node.shape[2])
            capacity = geometry.depth * geometry.pixels
            layer = ConvLayer(geometry: geometry, outChannels: conv.outChannels)
            isWeight +=
                [Bool](repeating: true, count: conv.weight.count) + [Bool](repeating: false, count: conv.bias.count)
        case .dense(let dense):
            layer = DenseLayer(inFeatures: dense.inFeatures, outFeatures: dense.outFeatures)
            isWeight +=
                [Bool](repeating: true, count: dense.weight.count) + [Bool](repeating: false, count: dense.bias.count)
        case .maxPool(let pool), .averagePool(let pool):
            var average = false
            if case .averagePool = node.op { average = true }
            let p = pool.padding
            layer = PoolLayer(
                geometry: PoolGeometry(
                    channels: inputShape[0], height: inputShape[1], width: inputShape[2],
                    kernelH: pool.kernelH, kernelW: pool.kernelW,
                    strideH: pool.strideH, strideW: pool.strideW,
                    padTop: p.top, padLeft: p.left, padBottom: p.bottom, padRight: p.right,
                    outH: node.shape[1], outW: node.shape[2],
                    countIncludePad: pool.countIncludePad),
                average: average)
        case .relu:
            layer = ReluLayer(size: size)
        case .activation(let function):
            layer = ActivationLayer(function: function, size: size)
        case .flatten, .reshape:
            layer = CopyLayer(size: size)
        case .scaleShift(let affine):
            layer = ScaleShiftLayer(scale: affine.scale, shift: affine.shift, inner: size / affine.scale.count)
        case .add:
            guard node.inputs.allSatisfy({ graph.nodes[$0].shape == node.shape }) else {
                throw GraphError(
                    node: node.name, op: node.op.name,
                    reason: "training supports Add of two values of the same shape only (no broadcasting)")
            }
            layer = AddLayer(size: size)
        case .constant:
            throw GraphError(
                node: node.name, op: node.op.name,
                reason: "constant operands are not trainable; fold them into a Conv or Dense bias first")
        case .softmax:
            throw GraphError(
                node: node.name, op: node.op.name,
                reason: "Softmax is supported only as the last node (the loss applies it)")
        }
        return (layer, isWeight, capacity)
    }

    /// Where a conv or dense node's weights (IR order) and biases sit in the flat parameter vector.
    public func parameterRanges(of name: String) -> (weight: Range<Int>, bias: Range<Int>)? {
        guard let index = template.nodes.firstIndex(where: { $0.name == name }) else { return nil }
        let offset = parameterOffsets[index]
        switch template.nodes[index].op {
        case .conv2d(let conv):
            return (
                offset..<(offset + conv.weight.count),
                (offset + conv.weight.count)..<(offset + conv.weight.count + conv.bias.count)
            )
        case .dense(let dense):
            return (
                offset..<(offset + dense.weight.count),
                (offset + dense.weight.count)..<(offset + dense.weight.count + dense.bias.count)
            )
        default: return nil
        }
    }

    /// The graph's own weights, as a flat vector.
    public func initialParameters() -> [Float] {
        var flat: [Float] = []
        flat.reserveCapacity(parameterCount)
        for node in template.nodes {
            switch node.op {
            case .conv2d(let conv): flat += conv.weight.data; flat += conv.bias
            case .dense(let dense): flat += dense.weight.data; flat += dense.bias
            default: break
            }
        }
        return flat
    }

    /// The template graph with its weights replaced by `parameters`.
    public func graph(with parameters: [Float]) throws -> Graph {
        precondition(parameters.count == parameterCount, "parameter vector has the wrong length")
        var builder = GraphBuilder()
        for (index, node) in template.nodes.enumerated() {
            var op = node.op
            let offset = parameterOffsets[index]
            switch node.op {
            case .conv2d(var conv):
                let n = conv.weight.count
                conv.weight.data = Array(parameters[offset..<offset + n])
                conv.bias = Array(parameters[offset + n..<offset + n + conv.bias.count])
                op = .conv2d(conv)
            case .dense(var dense):
                let n = dense.weight.count
                dense.weight.data = Array(parameters[offset..<offset + n])
                dense.bias = Array(parameters[offset + n..<offset + n + dense.bias.count])
                op = .dense(dense)
            default:
                break
            }
            try builder.add(node.name, op, inputs: node.inputs, inputShape: node.op == .input ? node.shape : nil)
        }
        return try builder.build(outputs: template.outputs)
    }
}
