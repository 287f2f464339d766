import Datasets
import FloatInference
import Foundation
import NetworkIR

public struct QuantizationOptions: Sendable {
    public var weightBits = 8
    public var activationBits = 8
    public var maxAccumulatorBits = 32
    /// One weight exponent per output channel (true) or per layer.
    public var perChannel = true
    /// Piecewise-linear activations: pieces and slope width (docs/arithmetic.md section 10).
    public var activationSegments = 16
    public var activationSlopeBits = 12
    public init() {}
}

/// Post-training quantization of a float graph to a `QuantizedModel`, following docs/arithmetic.md.
public enum Quantizer {
    public static let widths = 4...16

    /// Quantizes `graph`, choosing activation exponents from the float model's values on `calibration`.
    public static func quantize(
        _ graph: Graph, calibration: ImageDataset, source: String,
        options: QuantizationOptions = QuantizationOptions()
    ) throws -> QuantizedModel {
        for (flag, bits) in [("--wbits", options.weightBits), ("--abits", options.activationBits)]
        where !widths.contains(bits) {
            throw QuantizationError(
                layer: "options",
                "\(flag) \(bits) is outside the supported \(widths.lowerBound) to \(widths.upperBound) bits")
        }
        guard (2...62).contains(options.maxAccumulatorBits) else {
            throw QuantizationError(layer: "options", "--max-acc-bits must lie in 2...62")
        }
        guard (1...64).contains(options.activationSegments),
            (2...PiecewiseLinear.maxSlopeBits).contains(options.activationSlopeBits)
        else {
            throw QuantizationError(
                layer: "options",
                "activation tables take 1 to 64 segments and 2 to \(PiecewiseLinear.maxSlopeBits)-bit slopes")
        }
        let plan = try Plan(graph: graph)
        try checkFinite(graph)
        guard calibration.count > 0, calibration.imageSize == elementCount(graph.nodes[plan.input].shape)
        else {
            throw QuantizationError(
                layer: "input", "calibration images do not fit the input \(graph.nodes[plan.input].shape)")
        }
        let peaks = calibrate(graph, nodes: plan.calibrated, images: calibration)

        var walker = LayerQuantizer(graph: graph, options: options, peaks: peaks)
        let inputNode = graph.nodes[plan.input]
        let encoding = try InputEncoding(graph, plan: plan)
        let image = LayerQuantizer.Value(
            name: inputNode.name, exponent: -8, low: encoding.low, high: encoding.high, image: encoding.codes)
        walker.values[plan.input] = image
        if let normalization = plan.normalization { walker.values[normalization] = image }
        let layers = try plan.steps.map { try walker.quantize($0) }
        var model = QuantizedModel(
            source: source,
            calibration: .init(dataset: calibration.name, images: calibration.count, method: "max-abs"),
            weightBits: options.weightBits, activationBits: options.activationBits,
            maxAccumulatorBits: options.maxAccumulatorBits,
            weightScale: options.perChannel ? "channel" : "layer",
            input: .init(
                name: inputNode.name, shape: inputNode.shape, exponent: -8, low: encoding.low, high: encoding.high,
                zeroPoints: encoding.zeroPoints),
            layers: layers)
        if layers.contains(where: { $0.activation != nil }) {
            (model.activationSegments, model.activationSlopeBits) = (
                options.activationSegments, options.activationSlopeBits
            )
        }
        try model.validate()
        return model
    }

    /// How an average pool runs in the integer model: a rounded shift when every window counts the same
    /// power-of-two number of cells; a convolution with `1 / area` on the channel diagonal (quantized like any
    /// convolution) when every window counts the same number of cells; refused otherwise (windows of different
    /// sizes: padding not counted, or a ceil-mode overhang).
    enum AverageForm { case shift, convolution }

    static func averageForm(_ node: Node, pool: Pool2D, input: [Int]) throws -> AverageForm {
        let p = pool.padding
        let padded = p.top + p.left + p.bottom + p.right > 0
        let floorH = (input[1] + p.top + p.bottom - pool.kernelH) / pool.strideH + 1
        let floorW = (input[2] + p.left + p.right - pool.kernelW) / pool.strideW + 1
        guard !padded || pool.countIncludePad, node.shape[1] == floorH, node.shape[2] == floorW else {
            throw QuantizationError(
                layer: node.name,
                "average pooling needs every window to count the same cells: no ceil-mode overhang, and padding counted in the divisor"
            )
        }
        let area = pool.kernelH * pool.kernelW
        return area & (area - 1) == 0 ? .shift : .convolution
    }

    /// The convolution that averages each channel over `pool`'s window: weight 1 / area from a channel to itself.
    static func averagingConvolution(_ pool: Pool2D, channels: Int) -> Conv2D {
        let taps = pool.kernelH * pool.kernelW
        var weight = [Float](repeating: 0, count: channels * channels * taps)
        for c in 0..<channels {
            for t in 0..<taps { weight[(c * channels + c) * taps + t] = 1 / Float(taps) }
        }
        return Conv2D(
            weight: Tensor(shape: [channels, channels, pool.kernelH, pool.kernelW], data: weight),
            bias: [Float](repeating: 0, count: channels), strideH: pool.strideH, strideW: pool.strideW,
            padding: pool.padding)
    }

    /// Largest |value| of each node over the calibration images, from the float model.
    static func calibrate(_ graph: Graph, nodes: [Int], images: ImageDataset) -> [Int: Float] {
        var peaks = [Int: Float]()
        guard !nodes.isEmpty else { return peaks }
        let executor = FloatExecutor(graph: graph)
        var start = 0
        while start < images.count {
            let range = start..<min(images.count, start + 500)
            let outputs = executor.run(inputs: [images.floatImages(range)], batch: range.count, nodes: nodes)
            for (node, values) in zip(nodes, outputs) {
                peaks[node] = max(peaks[node] ?? 0, values.map(abs).max() ?? 0)
            }
            start = range.upperBound
        }
        return peaks
    }
}

extension Quantizer {
    /// A NaN or infinite parameter has no code (and would trap converting to an integer): refused, by layer and
    /// position, before anything is calibrated.
    static func checkFinite(_ graph: Graph) throws {
        for node in graph.nodes {
            let parameters: [(String, [Float])]
            switch node.op {
            case .conv2d(let conv): parameters = [("weight", conv.weight.data), ("bias", conv.bias)]
            case .dense(let dense): parameters = [("weight", dense.weight.data), ("bias", dense.bias)]
            case .scaleShift(let affine): parameters = [("scale", affine.scale), ("shift", affine.shift)]
            default: continue
            }
            for (role, values) in parameters {
                if let index = values.firstIndex(where: { !$0.isFinite }) {
                    throw QuantizationError(
                        layer: node.name, "\(role) \(index) is \(values[index]); the model's parameters must be finite")
                }
            }
        }
    }
}

/// The graph walked as quantizer steps: a weighted layer absorbs the ReLU or other activation that alone reads
/// it, and a final Softmax is dropped.
struct Plan {
    struct Step { var node: Int; var output: Int; var relu: Bool; var logits: Bool; var activation: Activation? = nil }
    var input: Int
    /// The ScaleShift that normalizes the image, if the graph has one.
    var normalization: Int?
    var steps: [Step] = []
    /// Nodes whose float values set an activation exponent.
    var calibrated: [Int] = []

    init(graph: Graph) throws {
        let inputs = graph.inputs
        guard inputs.count == 1, graph.outputs.count == 1 else {
            throw QuantizationError(layer: "graph", "the integer model takes one input image and gives one output")
        }
        input = inputs[0]
        guard graph.nodes[input].shape.count == 3 else {
            throw QuantizationError(
                layer: graph.nodes[input].name, "the input must be one image [C, H, W], not \(graph.nodes[input].shape)"
            )
        }
        let consumers = graph.consumers()
        // A ScaleShift that alone reads the image is its normalization: folded into the input's codes.
        normalization = graph.inputNormalizationNode(consumers: consumers)
        var output = graph.outputs[0]
        if case .softmax = graph.nodes[output].op { output = graph.nodes[output].inputs[0] }
        var fused = Set<Int>()
        for (index, node) in graph.nodes.enumerated()
        where index != input && index != normalization && !fused.contains(index) {
            if index > output { break }
            if case .constant = node.op {
                throw QuantizationError(
                    layer: node.name, "constant operands have no integer form; fold them into a Conv or Dense bias")
            }
            let sum =
                node.op == .add
                && !node.inputs.contains { if case .constant = graph.nodes[$0].op { true } else { false } }
            if node.inputs.count != 1 && !sum {
                throw QuantizationError(
                    layer: node.name,
                    "\(node.op.name) with \(node.inputs.count) inputs is not supported by the integer model")
            }
            var step = Step(node: index, output: index, relu: false, logits: false)
            switch node.op {
            case .conv2d, .dense:
                if consumers[index].count == 1, index != output {
                    let next = consumers[index][0]
                    if graph.nodes[next].op == .relu {
                        step.relu = true
                    } else if case .activation(let function) = graph.nodes[next].op {
                        step.activation = function
                    }
                    if step.relu || step.activation != nil {
                        step.output = next
                        fused.insert(next)
                    }
                }
                if step.output == output {
                    guard !step.relu && step.activation == nil else {
                        throw QuantizationError(
                            layer: node.name, "the logits layer must not end in \(graph.nodes[output].op.name)")
                    }
                    step.logits = true
                } else {
                    calibrated.append(step.output)
                    // A fused activation's table reads codes of the pre-activation values.
                    if step.activation != nil { calibrated.append(step.node) }
                }
            case .activation:
                calibrated.append(index)
            case .add:
                // A residual sum: a ReLU after it is fused, and its output has an exponent of its own.
                if consumers[index].count == 1, index != output, graph.nodes[consumers[index][0]].op == .relu {
                    (step.relu, step.output) = (true, consumers[index][0])
                    fused.insert(step.output)
                }
                calibrated.append(step.output)
            case .averagePool(let pool):
                // An average pool that runs as a convolution has an output exponent of its own.
                if try Quantizer.averageForm(node, pool: pool, input: graph.nodes[node.inputs[0]].shape) == .convolution
                {
                    calibrated.append(index)
                }
            default:
                break
            }
            if index != output, consumers[step.output].isEmpty {
                throw QuantizationError(layer: node.name, "is not on the path to the output")
            }
            steps.append(step)
        }
        guard let last = steps.last, last.output == output, last.logits else {
            throw QuantizationError(
                layer: graph.nodes[output].name, "the output must be a Conv or Dense layer (the logits)")
        }
    }
}
