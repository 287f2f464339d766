import NetworkIR
import OnnxProto

/// Sub, Div and Mul of an activation by a per-channel constant: a ScaleShift (merged into the ScaleShift before it
/// when nothing else reads that one). At the image input this is the model's own normalization, which the quantizer
/// folds into the first layer (docs/arithmetic.md section 2).
extension ImportContext {
    enum AffineKind { case sub, div, mul }

    /// Returns false, leaving everything alone, when neither operand is a per-channel float constant.
    mutating func importAffine(_ node: Onnx_NodeProto, _ ref: NodeRef, _ kind: AffineKind, _ a: String, _ b: String)
        throws -> Bool
    {
        let constantFirst: Bool
        let (xName, cName): (String, String)
        switch (values[a], values[b]) {
        case (.node?, .constant?): (xName, cName, constantFirst) = (a, b, false)
        case (.constant?, .node?): (xName, cName, constantFirst) = (b, a, true)
        default: return false
        }
        let x = try nodeIndex(xName, "X", ref)
        let tensor = try floatTensor(cName, "the constant operand", ref)
        guard let c = perChannel(tensor, of: builder.nodes[x].shape) else {
            throw ImportError.unsupported(
                node: ref,
                "the constant of shape \(tensor.shape) is not one value per channel of \(describe(builder.nodes[x].shape))"
            )
        }
        // y = scale * x + shift, per channel.
        var scale = [Float](repeating: 1, count: c.count), shift = [Float](repeating: 0, count: c.count)
        switch (kind, constantFirst) {
        case (.sub, false): shift = c.map { -$0 }
        case (.sub, true): (scale, shift) = (scale.map { -$0 }, c)
        case (.div, false):
            guard c.allSatisfy({ $0 != 0 }) else { throw ImportError.unsupported(node: ref, "divides by zero") }
            scale = c.map { 1 / $0 }
        case (.div, true): throw ImportError.unsupported(node: ref, "divides a constant by an activation")
        case (.mul, _): scale = c
        }
        if foldable(xName), case .scaleShift(let before) = builder.nodes[x].op {
            let merged = ScaleShift(
                scale: zip(before.scale, scale).map { $0 * $1 },
                shift: zip(before.shift, zip(scale, shift)).map { $0 * $1.0 + $1.1 })
            try replace(x, with: .scaleShift(merged), ref)
            try bindOutput(node, ref, to: .node(x))
        } else {
            try add(node, ref, .scaleShift(ScaleShift(scale: scale, shift: shift)), inputs: [x])
        }
        return true
    }

    /// One value per channel (axis 0 of the per-sample shape) under numpy broadcasting, or nil: a scalar, or a
    /// shape that is 1 everywhere but at the channel axis once right-aligned against [N] + `shape`.
    private func perChannel(_ tensor: Tensor, of shape: [Int]) -> [Float]? {
        guard let channels = shape.first, tensor.shape.count <= shape.count + 1 else { return nil }
        if tensor.count == 1 { return [Float](repeating: tensor.data[0], count: channels) }
        let aligned = [Int](repeating: 1, count: shape.count + 1 - tensor.shape.count) + tensor.shape
        let expected = [1, channels] + [Int](repeating: 1, count: shape.count - 1)
        return aligned == expected ? tensor.data : nil
    }
}
