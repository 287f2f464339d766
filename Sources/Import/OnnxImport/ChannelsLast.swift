import NetworkIR
import OnnxProto

/// Keras models exported by tf2onnx flatten channels-last: Transpose(perm [0, 2, 3, 1]) of the last convolution's
/// map, then a Flatten or Reshape to a vector, then the dense layer. The IR keeps maps channels-first, so the
/// Transpose imports as nothing, the flatten as the IR's (channel, row, column) order, and the dense layer's weight
/// columns are permuted from the (row, column, channel) order they were trained in: the same function, exactly.
extension ImportContext {
    mutating func importTranspose(_ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes, x: String) throws {
        let xi = try nodeIndex(x, "data", ref)
        let shape = builder.nodes[xi].shape
        let perm = try attributes.ints("perm") ?? Array((0...shape.count).reversed())
        guard shape.count == 3, perm == [0, 2, 3, 1] else {
            throw ImportError.unsupported(
                node: ref,
                "only a Transpose to channels-last (perm [0, 2, 3, 1]) before a flatten into a dense layer is supported, not perm \(perm) of \(describe(shape)) (tf2onnx writes others around the layers of an NHWC Keras model; export with --inputs-as-nchw so the model is NCHW throughout)"
            )
        }
        guard let output = node.output.first, !output.isEmpty else {
            throw ImportError.malformed(node: ref, "has no output")
        }
        try bindOutput(node, ref, to: .node(xi))
        channelsLast[output] = shape
    }

    /// The IR node behind `name` and the per-sample shape its ONNX value has (channels-last for a Transpose's).
    func flattenable(_ name: String, _ role: String, _ ref: NodeRef) throws -> (Int, [Int]) {
        guard let chw = channelsLast[name] else {
            let index = try nodeIndex(name, role, ref)
            return (index, builder.nodes[index].shape)
        }
        guard case .node(let index)? = values[name] else {
            throw ImportError.malformed(node: ref, "\(role) is missing")
        }
        return (index, [chw[1], chw[2], chw[0]])
    }

    /// After flattening `source`: when it was channels-last, the new flatten node's vector is in that order.
    mutating func keepChannelsLast(_ source: String, _ node: Onnx_NodeProto, _ ref: NodeRef) throws {
        guard let chw = channelsLast[source] else { return }
        guard case .node(let index)? = values[node.output.first ?? ""] else {
            throw ImportError.malformed(node: ref, "has no output")
        }
        channelsLastVectors[index] = chw
    }

    /// A dense layer's weights [M, K] as the IR's flatten order needs them: for an input flattened channels-last,
    /// column (c, h, w) takes the trained column (h, w, c).
    func channelsFirst(_ weight: Tensor, reading input: Int) -> Tensor {
        guard let chw = channelsLastVectors[input] else { return weight }
        let (c, h, w) = (chw[0], chw[1], chw[2]), (m, k) = (weight.shape[0], weight.shape[1])
        var data = [Float](repeating: 0, count: m * k)
        for row in 0..<m {
            for ch in 0..<c {
                for y in 0..<h {
                    for x in 0..<w {
                        data[row * k + (ch * h + y) * w + x] = weight.data[row * k + (y * w + x) * c + ch]
                    }
                }
            }
        }
        return Tensor(shape: [m, k], data: data)
    }
}
