import Foundation
import NetworkIR
import OnnxProto

extension ImportContext {
    /// BatchNormalization (inference): folded into the convolution that produces its input when nothing else
    /// reads that convolution, a standalone per-channel scale and shift otherwise.
    mutating func importBatchNorm(_ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes, inputs: [String])
        throws
    {
        if try attributes.int("training_mode", default: 0) != 0 {
            throw ImportError.unsupported(
                node: ref, "training_mode=1 normalizes with batch statistics; only inference is supported")
        }
        if opset < 9, try attributes.int("spatial", default: 1) == 0 {
            throw ImportError.unsupported(node: ref, "spatial=0 (per-activation statistics) is not supported")
        }
        let xi = try nodeIndex(inputs[0], "X", ref)
        let channels = builder.nodes[xi].shape.first ?? 0
        let params = try ["scale", "B", "mean", "var"].enumerated().map { index, role -> [Float] in
            let tensor = try floatTensor(inputs[index + 1], role, ref)
            guard tensor.count == channels else {
                throw ImportError.malformed(node: ref, "\(role) has \(tensor.count) values for \(channels) channels")
            }
            return tensor.data
        }
        let epsilon = Double(try attributes.float("epsilon", default: 1e-5))
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            let s = Double(params[0][c]) / (Double(params[3][c]) + epsilon).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(params[1][c]) - Double(params[2][c]) * s)
        }
        if foldable(inputs[0]), case .conv2d(var conv) = builder.nodes[xi].op {
            let perChannel = conv.weight.count / conv.outChannels
            for m in 0..<conv.outChannels {
                for i in 0..<perChannel { conv.weight.data[m * perChannel + i] *= scale[m] }
                conv.bias[m] = conv.bias[m] * scale[m] + shift[m]
            }
            try replace(xi, with: .conv2d(conv), ref)
            try bindOutput(node, ref, to: .node(xi))
            return
        }
        try add(node, ref, .scaleShift(ScaleShift(scale: scale, shift: shift)), inputs: [xi])
    }

    /// Adds a per-channel constant into the bias of the Conv2D or Dense at `index`, if the constant is one.
    /// Returns false, leaving the graph alone, when it is not.
    mutating func foldBias(_ constant: Tensor, into index: Int) throws -> Bool {
        switch builder.nodes[index].op {
        case .dense(var dense):
            guard constant.rank <= 1, let bias = perFeatureBias(constant, features: dense.outFeatures) else {
                return false
            }
            for m in 0..<dense.outFeatures { dense.bias[m] += bias[m] }
            try replace(index, with: .dense(dense), NodeRef(name: builder.nodes[index].name, opType: "Dense"))
            return true
        case .conv2d(var conv):
            // Per channel means shape [M, 1, 1] (or a scalar); anything varying over pixels is not a bias.
            let m = conv.outChannels
            let perChannel = constant.count == 1 || (constant.rank == 3 && constant.shape == [m, 1, 1])
            guard perChannel, let bias = perFeatureBias(constant, features: m) else { return false }
            for c in 0..<m { conv.bias[c] += bias[c] }
            try replace(index, with: .conv2d(conv), NodeRef(name: builder.nodes[index].name, opType: "Conv"))
            return true
        default:
            return false
        }
    }

    mutating func replace(_ index: Int, with op: Op, _ ref: NodeRef) throws {
        do {
            try builder.replaceOp(of: index, with: op)
        } catch let error as GraphError {
            throw ImportError.malformed(node: ref, error.reason)
        }
    }
}
