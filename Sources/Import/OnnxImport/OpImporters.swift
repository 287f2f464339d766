import Foundation
import NetworkIR
import OnnxProto

extension ImportContext {
    mutating func importNode(_ node: Onnx_NodeProto, ref: NodeRef) throws {
        let attributes = try Attributes(node, ref: ref)
        let inputs = node.input
        func input(_ i: Int) -> String? { i < inputs.count && !inputs[i].isEmpty ? inputs[i] : nil }
        func required(_ i: Int, _ role: String) throws -> String {
            guard let name = input(i) else { throw ImportError.malformed(node: ref, "\(role) (input \(i)) is missing") }
            return name
        }

        switch node.opType {
        case "Conv":
            try importConv(node, ref, attributes, x: required(0, "X"), w: required(1, "W"), b: input(2))
        case "MaxPool", "AveragePool":
            try importPool(node, ref, attributes, x: required(0, "X"), average: node.opType == "AveragePool")
        case "GlobalAveragePool", "GlobalMaxPool":
            let x = try nodeIndex(required(0, "X"), "X", ref)
            let shape = builder.nodes[x].shape
            guard shape.count == 3 else {
                throw ImportError.unsupported(node: ref, "only 2-D pooling is supported; input is \(describe(shape))")
            }
            let pool = Pool2D(kernelH: shape[1], kernelW: shape[2], strideH: 1, strideW: 1)
            try add(node, ref, node.opType == "GlobalAveragePool" ? .averagePool(pool) : .maxPool(pool), inputs: [x])
        case "ReduceMean", "ReduceMax":
            try importReduce(node, ref, attributes, x: required(0, "data"), axes: input(1))
        case "Gemm":
            try importGemm(node, ref, attributes, a: required(0, "A"), b: required(1, "B"), c: input(2))
        case "MatMul":
            try importMatMul(node, ref, a: required(0, "A"), b: required(1, "B"))
        case "Add":
            try importAdd(node, ref, required(0, "A"), required(1, "B"))
        case "Relu":
            try add(node, ref, .relu, inputs: [nodeIndex(required(0, "X"), "X", ref)])
        case "Mul":
            try importMul(node, ref, required(0, "A"), required(1, "B"))
        case "Sub", "Div":
            let kind: AffineKind = node.opType == "Sub" ? .sub : .div
            guard try importAffine(node, ref, kind, required(0, "A"), required(1, "B")) else {
                throw ImportError.unsupported(
                    node: ref, "\(node.opType) is supported with one operand a per-channel constant (normalization)")
            }
        case "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Clip":
            try importActivation(node, ref, attributes, x: required(0, "X"), low: input(1), high: input(2))
        case "Softmax":
            try importSoftmax(node, ref, attributes, x: required(0, "input"))
        case "Flatten":
            try importFlatten(node, ref, attributes, x: required(0, "input"))
        case "Transpose":
            try importTranspose(node, ref, attributes, x: required(0, "data"))
        case "Reshape":
            try importReshape(node, ref, attributes, data: required(0, "data"), shape: input(1))
        case "BatchNormalization":
            try importBatchNorm(
                node, ref, attributes, inputs: (0..<5).map { try required($0, ["X", "scale", "B", "mean", "var"][$0]) })
        case "Identity":
            let source = try required(0, "input")
            try bindOutput(node, ref, to: values[source]!)
            if let chw = channelsLast[source], let output = node.output.first { channelsLast[output] = chw }
        case "Dropout":
            try importDropout(node, ref, data: required(0, "data"), training: input(2))
        case "Constant":
            try bindOutput(node, ref, to: .constant(constantAttribute(attributes, ref)))
        case let op where Self.shapeOps.contains(op):
            try importShapeOp(node, ref, attributes)
        default:
            // importNodes refuses the ops outside OnnxImporter.supportedOps before calling this.
            throw ImportError.unsupported(node: ref, "operator '\(node.opType)' has no importer")
        }
    }

    // MARK: Activations

    private mutating func importActivation(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes,
        x: String, low: String?, high: String?
    ) throws {
        let function: Activation
        switch node.opType {
        case "Sigmoid": function = .sigmoid
        case "Tanh": function = .tanh
        case "LeakyRelu": function = .leakyRelu(alpha: try attributes.float("alpha", default: 0.01))
        case "HardSigmoid":
            function = .hardSigmoid(
                alpha: try attributes.float("alpha", default: 0.2), beta: try attributes.float("beta", default: 0.5))
        case "HardSwish": function = .hardSwish
        default:
            // Clip: bounds are attributes before opset 11 and optional scalar inputs from 11 on.
            var bounds = (low: -Float.infinity, high: Float.infinity)
            if opset < 11 {
                bounds = (
                    try attributes.float("min", default: -.infinity), try attributes.float("max", default: .infinity)
                )
            } else {
                for (name, role) in [(low, "min"), (high, "max")] {
                    guard let name else { continue }
                    let tensor = try floatTensor(name, role, ref)
                    guard tensor.count == 1 else {
                        throw ImportError.malformed(
                            node: ref, "\(role) must be a scalar, not \(describe(tensor.shape))")
                    }
                    if role == "min" { bounds.low = tensor.data[0] } else { bounds.high = tensor.data[0] }
                }
            }
            function = .clip(low: bounds.low, high: bounds.high)
        }
        try add(node, ref, .activation(function), inputs: [nodeIndex(x, "X", ref)])
    }

    // MARK: Convolution and pooling

    private mutating func importConv(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes,
        x: String, w: String, b: String?
    ) throws {
        let xi = try nodeIndex(x, "X", ref)
        var weight = try floatTensor(w, "W", ref)
        guard weight.rank == 4 else {
            throw ImportError.unsupported(node: ref, "only 2-D convolution is supported (weight rank \(weight.rank))")
        }
        let xShape = builder.nodes[xi].shape
        guard xShape.count == 3 else {
            throw ImportError.unsupported(node: ref, "expects an NCHW input, got \(describe(xShape))")
        }
        let group = try attributes.int("group", default: 1)
        if group != 1 { weight = try ungrouped(weight, groups: group, inputChannels: xShape[0], ref) }
        if let kernel = try attributes.ints("kernel_shape"), kernel != [weight.shape[2], weight.shape[3]] {
            throw ImportError.malformed(
                node: ref, "kernel_shape \(kernel) disagrees with the weight shape \(weight.shape)")
        }
        let window = try window(
            attributes, ref, kernel: [weight.shape[2], weight.shape[3]],
            input: [xShape[1], xShape[2]], ceilAllowed: false)
        var bias: [Float]?
        if let b {
            let tensor = try floatTensor(b, "B", ref)
            guard tensor.count == weight.shape[0] else {
                throw ImportError.malformed(
                    node: ref, "bias has \(tensor.count) values for \(weight.shape[0]) output channels")
            }
            bias = tensor.data
        }
        let conv = Conv2D(
            weight: weight, bias: bias, strideH: window.strides[0], strideW: window.strides[1], padding: window.padding)
        try add(node, ref, .conv2d(conv), inputs: [xi])
    }

    /// A grouped (or depthwise) convolution's weights [M, C / g, kH, kW] as a full convolution's [M, C, kH, kW]:
    /// output channel m of group m / (M / g) keeps its weights on that group's input channels, zeros elsewhere.
    private func ungrouped(_ weight: Tensor, groups: Int, inputChannels: Int, _ ref: NodeRef) throws -> Tensor {
        let (m, perGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        guard groups > 0, inputChannels % groups == 0, m % groups == 0, perGroup == inputChannels / groups else {
            throw ImportError.malformed(
                node: ref,
                "group \(groups) does not divide \(inputChannels) input and \(m) output channels into weight groups of \(perGroup)"
            )
        }
        let taps = kh * kw, outPerGroup = m / groups
        var data = [Float](repeating: 0, count: m * inputChannels * taps)
        for o in 0..<m {
            let first = (o / outPerGroup) * perGroup
            for c in 0..<perGroup {
                for t in 0..<taps {
                    data[(o * inputChannels + first + c) * taps + t] = weight.data[(o * perGroup + c) * taps + t]
                }
            }
        }
        return Tensor(shape: [m, inputChannels, kh, kw], data: data)
    }

    private mutating func importPool(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes,
        x: String, average: Bool
    ) throws {
        let xi = try nodeIndex(x, "X", ref)
        let xShape = builder.nodes[xi].shape
        guard let kernel = try attributes.ints("kernel_shape") else {
            throw ImportError.malformed(node: ref, "attribute 'kernel_shape' is required")
        }
        guard kernel.count == 2, xShape.count == 3 else {
            throw ImportError.unsupported(
                node: ref, "only 2-D pooling is supported (kernel_shape \(kernel), input \(describe(xShape)))")
        }
        let window = try window(attributes, ref, kernel: kernel, input: [xShape[1], xShape[2]], ceilAllowed: true)
        let countIncludePad = try attributes.int("count_include_pad", default: 0) != 0
        let pool = Pool2D(
            kernelH: kernel[0], kernelW: kernel[1], strideH: window.strides[0], strideW: window.strides[1],
            padding: window.padding, countIncludePad: average && countIncludePad,
            outputH: window.outputSize?[0], outputW: window.outputSize?[1])
        try add(node, ref, average ? .averagePool(pool) : .maxPool(pool), inputs: [xi])
    }

    /// Strides, explicit padding (resolving auto_pad) and, for ceil mode, the output size of a 2-D window.
    private func window(_ attributes: Attributes, _ ref: NodeRef, kernel: [Int], input: [Int], ceilAllowed: Bool) throws
        -> (strides: [Int], padding: Padding2D, outputSize: [Int]?)
    {
        let strides = try attributes.ints("strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 > 0 }) else {
            throw ImportError.malformed(node: ref, "strides \(strides) must be two positive integers")
        }
        if let dilations = try attributes.ints("dilations"), dilations.contains(where: { $0 != 1 }) {
            throw ImportError.unsupported(node: ref, "dilations \(dilations) are not supported (only 1)")
        }
        let ceilMode = try attributes.int("ceil_mode", default: 0) != 0
        if ceilMode && !ceilAllowed {
            throw ImportError.malformed(node: ref, "ceil_mode is not an attribute of this op")
        }
        var pads = try attributes.ints("pads") ?? [0, 0, 0, 0]
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else {
            throw ImportError.malformed(node: ref, "pads \(pads) must be four non-negative integers")
        }
        let autoPad = try attributes.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET", "":
            break
        case "VALID":
            pads = [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            // Output = ceil(input / stride); the odd padding pixel goes at the end (UPPER) or the start (LOWER).
            for axis in 0..<2 {
                let output = (input[axis] + strides[axis] - 1) / strides[axis]
                let total = max(0, (output - 1) * strides[axis] + kernel[axis] - input[axis])
                let small = total / 2
                let large = total - small
                pads[axis] = autoPad == "SAME_UPPER" ? small : large
                pads[axis + 2] = autoPad == "SAME_UPPER" ? large : small
            }
        default:
            throw ImportError.malformed(
                node: ref, "auto_pad '\(autoPad)' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
        }
        let padding = Padding2D(top: pads[0], left: pads[1], bottom: pads[2], right: pads[3])
        var outputSize: [Int]?
        if ceilMode {
            // ONNX ceil mode: round the window count up, but drop a last window that would start in the end padding.
            var size = [0, 0]
            for axis in 0..<2 {
                let span = input[axis] + pads[axis] + pads[axis + 2] - kernel[axis]
                var count = (span + strides[axis] - 1) / strides[axis] + 1
                if (count - 1) * strides[axis] >= input[axis] + pads[axis] { count -= 1 }
                size[axis] = count
            }
            outputSize = size
        }
        return (strides, padding, outputSize)
    }

    // MARK: Dense layers

    private mutating func importGemm(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes,
        a: String, b: String, c: String?
    ) throws {
        let ai = try nodeIndex(a, "A", ref)
        guard try attributes.int("transA", default: 0) == 0 else {
            throw ImportError.unsupported(node: ref, "transA=1 puts the batch on the reduction axis; not supported")
        }
        let aShape = builder.nodes[ai].shape
        guard aShape.count == 1 else {
            throw ImportError.malformed(node: ref, "A must be a matrix [batch, K], got \(describe(aShape))")
        }
        let bTensor = try floatTensor(b, "B", ref)
        guard bTensor.rank == 2 else {
            throw ImportError.malformed(node: ref, "B must be a matrix, got \(bTensor.shape)")
        }
        let transB = try attributes.int("transB", default: 0) != 0
        let alpha = try attributes.float("alpha", default: 1)
        let beta = try attributes.float("beta", default: 1)
        let (k, m) = transB ? (bTensor.shape[1], bTensor.shape[0]) : (bTensor.shape[0], bTensor.shape[1])
        var weight = [Float](repeating: 0, count: m * k)
        for row in 0..<m {
            for col in 0..<k {
                let value = transB ? bTensor.data[row * k + col] : bTensor.data[col * m + row]
                weight[row * k + col] = alpha * value
            }
        }
        var bias = [Float](repeating: 0, count: m)
        if let c {
            let cTensor = try floatTensor(c, "C", ref)
            guard let perOutput = perFeatureBias(cTensor, features: m) else {
                throw ImportError.unsupported(
                    node: ref, "C of shape \(cTensor.shape) is not a per-output bias (scalar, [\(m)] or [1, \(m)])")
            }
            bias = perOutput.map { beta * $0 }
        }
        let dense = Dense(weight: channelsFirst(Tensor(shape: [m, k], data: weight), reading: ai), bias: bias)
        try add(node, ref, .dense(dense), inputs: [ai])
    }

    private mutating func importMatMul(_ node: Onnx_NodeProto, _ ref: NodeRef, a: String, b: String) throws {
        let ai = try nodeIndex(a, "A", ref)
        let aShape = builder.nodes[ai].shape
        let bTensor = try floatTensor(b, "B", ref)
        guard aShape.count == 1, bTensor.rank == 2 else {
            throw ImportError.unsupported(
                node: ref,
                "only [batch, K] x [K, M] matrix products are supported (A \(describe(aShape)), B \(bTensor.shape))")
        }
        let (k, m) = (bTensor.shape[0], bTensor.shape[1])
        var weight = [Float](repeating: 0, count: m * k)
        for row in 0..<m { for col in 0..<k { weight[row * k + col] = bTensor.data[col * m + row] } }
        try add(
            node, ref, .dense(Dense(weight: channelsFirst(Tensor(shape: [m, k], data: weight), reading: ai))),
            inputs: [ai])
    }

    // MARK: Elementwise and shape ops

    /// Mul: only `x * HardSigmoid(x, 1/6, 1/2)`, HardSwish as PyTorch exports it before opset 14 (and approxrtl's
    /// own exporter at opset 13); the HardSigmoid, read only by the Mul, becomes the HardSwish and takes the Mul's name.
    private mutating func importMul(_ node: Onnx_NodeProto, _ ref: NodeRef, _ a: String, _ b: String) throws {
        for (gate, x) in [(a, b), (b, a)] {
            guard case .node(let g)? = values[gate], case .node(let xi)? = values[x], foldable(gate),
                case .activation(.hardSigmoid(let alpha, let beta)) = builder.nodes[g].op,
                builder.nodes[g].inputs == [xi], abs(alpha - 1.0 / 6) < 1e-6, beta == 0.5
            else { continue }
            try replace(g, with: .activation(.hardSwish), ref)
            do {
                try builder.rename(g, to: irName(node))
            } catch let error as GraphError {
                throw ImportError.malformed(node: ref, error.reason)
            }
            return try bindOutput(node, ref, to: .node(g))
        }
        if try importAffine(node, ref, .mul, a, b) { return }
        throw ImportError.unsupported(
            node: ref,
            "Mul is supported by a per-channel constant or as x * HardSigmoid(x, alpha=1/6, beta=0.5) (HardSwish); a product of two activations is not in the integer model"
        )
    }

    private mutating func importAdd(_ node: Onnx_NodeProto, _ ref: NodeRef, _ a: String, _ b: String) throws {
        for name in [a, b] where channelsLast[name] != nil { _ = try nodeIndex(name, "an operand", ref) }
        switch (values[a]!, values[b]!) {
        case (.shapeInts, _), (_, .shapeInts):
            throw ImportError.unsupported(node: ref, "adds integers computed from shapes; only constants fold")
        case (.node(let x), .node(let y)):
            let (xs, ys) = (builder.nodes[x].shape, builder.nodes[y].shape)
            guard xs.count == ys.count else {
                throw ImportError.unsupported(
                    node: ref, "adding \(describe(xs)) and \(describe(ys)) would broadcast across the batch dimension")
            }
            try add(node, ref, .add, inputs: [x, y])
        case (.node(let x), .constant(let c)), (.constant(let c), .node(let x)):
            // The activation's ONNX name: its producer may absorb the constant as a bias.
            let source: String
            if case .node? = values[a] { source = a } else { source = b }
            guard let tensor = c.tensor else { throw ImportError.unsupported(node: ref, "adds an integer constant") }
            let shape = builder.nodes[x].shape
            var constantShape = tensor.shape
            if constantShape.count == shape.count + 1 {
                guard constantShape[0] == 1 else {
                    throw ImportError.unsupported(
                        node: ref, "constant of shape \(tensor.shape) varies along the batch dimension")
                }
                constantShape.removeFirst()
            } else if constantShape.count > shape.count + 1 {
                throw ImportError.unsupported(
                    node: ref,
                    "constant of shape \(tensor.shape) has more dimensions than the activation \(describe(shape))")
            }
            let perSample = Tensor(shape: constantShape, data: tensor.data)
            if foldable(source), try foldBias(perSample, into: x) {
                try bindOutput(node, ref, to: .node(x))
                return
            }
            let constantIndex: Int
            do {
                constantIndex = try builder.add(irName(node) + "_constant", .constant(perSample))
            } catch let error as GraphError {
                throw ImportError.malformed(node: ref, error.reason)
            }
            try add(node, ref, .add, inputs: [x, constantIndex])
        case (.constant, .constant):
            throw ImportError.unsupported(node: ref, "adds two constants; fold them before export")
        }
    }

    private mutating func importSoftmax(_ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes, x: String)
        throws
    {
        let xi = try nodeIndex(x, "input", ref)
        let rank = builder.nodes[xi].shape.count + 1
        // Before opset 13 Softmax flattens [axis, rank) into one axis; from 13 on it works along `axis` alone.
        var axis = try attributes.int("axis", default: opset < 13 ? 1 : -1)
        if axis < 0 { axis += rank }
        guard (0..<rank).contains(axis) else {
            throw ImportError.malformed(node: ref, "axis out of range for rank \(rank)")
        }
        guard axis > 0 else {
            throw ImportError.unsupported(node: ref, "softmax over the batch dimension (axis 0) is not supported")
        }
        let axes = opset < 13 ? (axis - 1)..<(rank - 1) : (axis - 1)..<axis
        try add(node, ref, .softmax(axes: axes), inputs: [xi])
    }

    private mutating func importFlatten(_ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes, x: String)
        throws
    {
        let (xi, xShape) = try flattenable(x, "input", ref)
        let rank = xShape.count + 1
        var axis = try attributes.int("axis", default: 1)
        if axis < 0 { axis += rank }
        guard axis == 1 else {
            throw ImportError.unsupported(
                node: ref, "Flatten with axis \(axis) mixes the batch dimension with others; only axis 1 is supported")
        }
        try add(node, ref, .flatten, inputs: [xi])
        try keepChannelsLast(x, node, ref)
    }

    private mutating func importReshape(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes,
        data: String, shape: String?
    ) throws {
        let (xi, source) = try flattenable(data, "data", ref)
        guard let shape else { throw ImportError.malformed(node: ref, "the target shape input is missing") }
        // The batch size read from the input's shape (a dynamic-batch `view`) copies the batch dimension.
        var target = [Int]()
        for (axis, entry) in try shapeInts(shape, "shape", ref).entries.enumerated() {
            switch entry {
            case .known(let value): target.append(Int(clamping: value))
            case .batch where axis == 0: target.append(0)
            case .batch:
                throw ImportError.unsupported(node: ref, "the batch size at dimension \(axis) of the target shape")
            }
        }
        let allowZero = try attributes.int("allowzero", default: 0) != 0
        if allowZero && target.contains(0) {
            throw ImportError.unsupported(node: ref, "allowzero with a 0 in the shape makes an empty tensor")
        }
        guard !target.isEmpty else {
            throw ImportError.unsupported(node: ref, "reshape to a scalar drops the batch dimension")
        }
        // Dimension 0 is the batch: it must be copied (0), inferred (-1) or equal the static batch size.
        let sampleSize = elementCount(source)
        var perSample = [Int]()
        for (axis, dim) in target.enumerated().dropFirst() {
            if dim == 0 {
                guard axis - 1 < source.count else {
                    throw ImportError.malformed(node: ref, "0 at dimension \(axis) copies a dimension the input lacks")
                }
                perSample.append(source[axis - 1])
            } else {
                perSample.append(dim)
            }
        }
        let inferred = perSample.filter { $0 == -1 }.count
        if target[0] == -1 {
            guard inferred == 0, elementCount(perSample) == sampleSize else {
                throw ImportError.unsupported(
                    node: ref, "Reshape to \(target) changes the batch dimension of \(describe(source))")
            }
        } else {
            guard target[0] == 0 || (staticBatch != nil && target[0] == staticBatch) else {
                throw ImportError.unsupported(
                    node: ref, "Reshape to \(target) changes the batch dimension of \(describe(source))")
            }
            guard inferred <= 1 else {
                throw ImportError.malformed(node: ref, "more than one -1 in the shape \(target)")
            }
            if inferred == 1 {
                let known = perSample.filter { $0 != -1 }.reduce(1, *)
                guard known > 0, sampleSize % known == 0 else {
                    throw ImportError.malformed(node: ref, "cannot reshape \(describe(source)) to \(target)")
                }
                perSample = perSample.map { $0 == -1 ? sampleSize / known : $0 }
            }
        }
        guard perSample.allSatisfy({ $0 > 0 }), elementCount(perSample) == sampleSize else {
            throw ImportError.malformed(node: ref, "cannot reshape \(describe(source)) to \(target)")
        }
        if channelsLast[data] != nil {
            // A channels-last map flattened: an IR flatten whose order the dense layer after it takes in.
            guard perSample.count == 1 else {
                throw ImportError.unsupported(
                    node: ref, "a Transpose to channels-last is supported only before a reshape to a vector")
            }
            try add(node, ref, .flatten, inputs: [xi])
            return try keepChannelsLast(data, node, ref)
        }
        // A reshape to the shape it has (tf2onnx writes one at the input of a one-channel model) is nothing.
        if perSample == source { return try bindOutput(node, ref, to: .node(xi)) }
        try add(node, ref, .reshape(perSample), inputs: [xi])
    }

    /// ReduceMean / ReduceMax over H and W of a [C, H, W] map: global average / max pooling, as PyTorch's dynamo
    /// exporter writes AdaptiveAvgPool2d(1) and `x.mean((2, 3))`. keepdims=0 adds a reshape to [C].
    private mutating func importReduce(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes, x: String, axes axesInput: String?
    ) throws {
        let xi = try nodeIndex(x, "data", ref)
        let shape = builder.nodes[xi].shape
        var axes: [Int]
        if opset >= 18 {
            axes = try axesInput.map { try shapeInts($0, "axes", ref).known?.map { Int(clamping: $0) } ?? [] } ?? []
        } else {
            axes = try attributes.ints("axes") ?? []
        }
        if axes.isEmpty, try attributes.int("noop_with_empty_axes", default: 0) != 0 {
            return try bindOutput(node, ref, to: .node(xi))
        }
        axes = axes.map { $0 < 0 ? $0 + shape.count + 1 : $0 }
        guard shape.count == 3, Set(axes) == [2, 3], axes.count == 2 else {
            throw ImportError.unsupported(
                node: ref,
                "only a reduction over H and W of a [N, C, H, W] map is supported (global pooling); axes \(axes) of \(describe(shape))"
            )
        }
        let pool = Pool2D(kernelH: shape[1], kernelW: shape[2], strideH: 1, strideW: 1)
        let op: Op = node.opType == "ReduceMean" ? .averagePool(pool) : .maxPool(pool)
        guard try attributes.int("keepdims", default: 1) == 0 else { return try add(node, ref, op, inputs: [xi]) }
        do {
            let name = irName(node)
            let pooled = try builder.add(name, op, inputs: [xi])
            let flat = try builder.add(uniqueName(name + "_flat"), .reshape([shape[0]]), inputs: [pooled])
            try bindOutput(node, ref, to: .node(flat))
        } catch let error as GraphError {
            throw ImportError.malformed(node: ref, error.reason)
        }
    }

    private mutating func importDropout(_ node: Onnx_NodeProto, _ ref: NodeRef, data: String, training: String?) throws
    {
        if let training {
            guard let flag = try constant(training, "training_mode", ref).ints ?? nil, flag.count == 1 else {
                throw ImportError.unsupported(node: ref, "training_mode must be a constant boolean")
            }
            guard flag[0] == 0 else {
                throw ImportError.unsupported(node: ref, "training-mode dropout is random; only inference is supported")
            }
        }
        // Inference: Dropout is the identity.
        try bindOutput(node, ref, to: values[data]!)
        if let chw = channelsLast[data], let output = node.output.first { channelsLast[output] = chw }
    }

    private func constantAttribute(_ attributes: Attributes, _ ref: NodeRef) throws -> ConstantValue {
        if let value = attributes.attribute("value") {
            return try decodeTensor(value.t, location: ref.description, external: external)
        }
        if let value = attributes.attribute("value_float") {
            return ConstantValue(shape: [], floats: [value.f], ints: nil)
        }
        if let value = attributes.attribute("value_floats") {
            return ConstantValue(shape: [value.floats.count], floats: value.floats, ints: nil)
        }
        if let value = attributes.attribute("value_int") {
            return ConstantValue(shape: [], floats: nil, ints: [value.i])
        }
        if let value = attributes.attribute("value_ints") {
            return ConstantValue(shape: [value.ints.count], floats: nil, ints: value.ints)
        }
        throw ImportError.unsupported(node: ref, "only tensor, float and integer constants are supported")
    }
}

/// Reads a Gemm C operand or an added constant as one value per output feature, if it is one.
func perFeatureBias(_ tensor: Tensor, features: Int) -> [Float]? {
    let significant = tensor.shape.drop { $0 == 1 }
    if tensor.count == 1 { return [Float](repeating: tensor.data[0], count: features) }
    if Array(significant) == [features] { return tensor.data }
    return nil
}
