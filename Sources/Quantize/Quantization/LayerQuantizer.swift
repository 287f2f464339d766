import Foundation
import NetworkIR

/// The quantizer's walk over the plan: one step (a node with the activation fused into it) to one integer layer,
/// keeping each value's exponent and code range for the layers that read it.
struct LayerQuantizer {
    /// Per value: the name of the layer that produces it, its exponent, its code range, and, when it is the image
    /// itself (up to reshapes and pooling), how its codes relate to the float model's input.
    struct Value { var name: String; var exponent: Int; var low: Int; var high: Int; var image: ImageCodes? }

    /// The image's codes per channel: the float model's (normalized) input is `gain * code * 2^exponent + offset`.
    struct ImageCodes {
        var gain: [Double]
        var offset: [Double]
        /// The channel of weight `k` of a layer with `fan` weights per output reading the image.
        func channel(_ k: Int, fan: Int) -> Int { k / (fan / gain.count) }
    }

    let graph: Graph
    let options: QuantizationOptions
    /// Largest |value| of each calibrated node.
    let peaks: [Int: Float]
    var values = [Int: Value]()
    var top: Int { (1 << (options.activationBits - 1)) - 1 }

    init(graph: Graph, options: QuantizationOptions, peaks: [Int: Float]) {
        self.graph = graph; self.options = options; self.peaks = peaks
    }

    /// The integer layer of `step`; records the value it produces.
    mutating func quantize(_ step: Plan.Step) throws -> QuantizedModel.Layer {
        let node = graph.nodes[step.node]
        guard let source = values[node.inputs[0]] else {
            throw QuantizationError(layer: node.name, "reads a value the quantizer did not produce")
        }
        var layer = QuantizedModel.Layer(
            name: node.name, kind: .flatten, input: source.name, shape: graph.nodes[step.output].shape,
            inputExponent: source.exponent, outputExponent: source.exponent,
            outputLow: source.low, outputHigh: source.high)
        var produced = Value(
            name: node.name, exponent: source.exponent, low: source.low, high: source.high, image: source.image)
        switch node.op {
        case .conv2d, .dense:
            try weighted(node, step: step, source: source, into: &layer)
            produced = Value(
                name: node.name, exponent: layer.outputExponent, low: layer.outputLow, high: layer.outputHigh,
                image: nil)
        case .relu:
            // On the image the codes keep their meaning only where the normalization's offsets are zero.
            if let image = source.image, image.offset.contains(where: { $0 != 0 }) {
                throw QuantizationError(
                    layer: node.name, "a ReLU directly on the normalized image has no exact integer form")
            }
            layer.kind = .relu
            layer.outputLow = max(0, source.low); layer.outputHigh = max(0, source.high)
            produced.low = layer.outputLow; produced.high = layer.outputHigh
        case .activation(let function):
            // Not fused: the table reads the input codes as they are.
            layer.kind = .activation
            let exponent = FixedPoint.exponent(forMagnitude: Double(peaks[step.output] ?? 0), limit: top)
            let table = fitTable(function, source.exponent, exponent)
            layer.activation = table
            layer.outputExponent = exponent
            (layer.outputLow, layer.outputHigh) = table.outputRange(
                low: source.low, high: source.high, bits: options.activationBits)
            produced = Value(
                name: node.name, exponent: exponent, low: layer.outputLow, high: layer.outputHigh, image: nil)
        case .averagePool(let pool)
        where try Quantizer.averageForm(node, pool: pool, input: graph.nodes[node.inputs[0]].shape) == .convolution:
            let channels = graph.nodes[node.inputs[0]].shape[0]
            let conv = Quantizer.averagingConvolution(pool, channels: channels)
            try weighted(node, as: .conv2d(conv), step: step, source: source, into: &layer)
            produced = Value(
                name: node.name, exponent: layer.outputExponent, low: layer.outputLow, high: layer.outputHigh,
                image: nil)
        case .maxPool(let pool), .averagePool(let pool):
            try pooling(node, pool: pool, into: &layer)
        case .flatten:
            layer.kind = .flatten
        case .add:
            try residual(node, step: step, source: source, into: &layer)
            produced = Value(
                name: node.name, exponent: layer.outputExponent, low: layer.outputLow, high: layer.outputHigh,
                image: nil)
        case .reshape:
            layer.kind = .reshape
        default:
            throw QuantizationError(layer: node.name, "\(node.op.name) has no integer form in the arithmetic contract")
        }
        values[step.output] = produced
        return layer
    }

    /// The weights and biases of a layer reading the image's codes (arithmetic.md section 2): each weight times its
    /// channel's gain, each bias plus the weights times their channels' offsets. Other layers' as they are.
    func imageFolded(_ weight: [Float], _ bias: [Float], outputs: Int, image: ImageCodes?) -> ([Double], [Double]) {
        guard let image else { return (weight.map(Double.init), bias.map(Double.init)) }
        let fan = weight.count / outputs
        var scaled = [Double](repeating: 0, count: weight.count)
        var biases = bias.map(Double.init)
        for m in 0..<outputs {
            for k in 0..<fan {
                let c = image.channel(k, fan: fan), w = Double(weight[m * fan + k])
                scaled[m * fan + k] = w * image.gain[c]
                biases[m] += w * image.offset[c]
            }
        }
        return (scaled, biases)
    }

    /// An activation table from pre-activation codes of exponent `input` to output codes of exponent `output`.
    func fitTable(_ function: Activation, _ input: Int, _ output: Int) -> PiecewiseLinear {
        PiecewiseLinear.fit(
            function, activationBits: options.activationBits, inputExponent: input, outputExponent: output,
            segments: options.activationSegments, slopeBits: options.activationSlopeBits)
    }

    /// A convolution or dense layer: weight and bias codes, the output exponent (and the fused activation's table),
    /// then the shifts and accumulator width (`settle`).
    /// `op` stands in for the node's own (an average pool running as a convolution).
    func weighted(
        _ node: Node, as op: Op? = nil, step: Plan.Step, source: Value, into layer: inout QuantizedModel.Layer
    ) throws {
        let (weight, bias, shape): ([Float], [Float], [Int])
        let op = op ?? node.op
        if case .conv2d(let conv) = op {
            (weight, bias, shape) = (conv.weight.data, conv.bias, conv.weight.shape)
            layer.kind = .conv2d
            layer.kernel = [conv.kernelH, conv.kernelW]
            layer.stride = [conv.strideH, conv.strideW]
            layer.pads = [conv.padding.top, conv.padding.left, conv.padding.bottom, conv.padding.right]
        } else if case .dense(let dense) = op {
            (weight, bias, shape) = (dense.weight.data, dense.bias, dense.weight.shape)
            layer.kind = .dense
        } else {
            fatalError("unreachable")
        }
        let (scaled, biases) = imageFolded(weight, bias, outputs: shape[0], image: source.image)
        let (codes, exponents) = weightCodes(scaled, channels: shape[0])
        let biasCodes = (0..<shape[0]).map {
            FixedPoint.code(biases[$0], exponent: exponents[$0] + source.exponent)
        }
        layer.weightShape = shape
        layer.weights = codes
        layer.relu = step.relu
        if step.logits {
            layer.logits = true
        } else {
            let exponent = FixedPoint.exponent(forMagnitude: Double(peaks[step.output] ?? 0), limit: top)
            layer.outputExponent = exponent
            (layer.outputLow, layer.outputHigh) = (step.relu ? 0 : -top - 1, top)
            if let function = step.activation {
                // The accumulator is requantized to the pre-activation codes, which the table maps.
                let pre = FixedPoint.exponent(forMagnitude: Double(peaks[step.node] ?? 0), limit: top)
                let table = fitTable(function, pre, exponent)
                layer.activation = table
                (layer.outputLow, layer.outputHigh) = table.outputRange(
                    low: -top - 1, high: top, bits: options.activationBits)
            }
        }
        try layer.settle(
            effectiveWeights: codes, exponents: exponents, bias: biasCodes, inputLow: source.low,
            inputHigh: source.high,
            maxAccumulatorBits: options.maxAccumulatorBits)
    }

    /// Weight codes with one exponent per output channel (or one for the layer), saturated to the code range.
    func weightCodes(_ scaled: [Double], channels: Int) -> (codes: [Int], exponents: [Int]) {
        let weightLimit = (1 << (options.weightBits - 1)) - 1
        let fan = scaled.count / channels
        var exponents: [Int]
        if options.perChannel {
            exponents = (0..<channels).map { c in
                FixedPoint.exponent(
                    forMagnitude: scaled[(c * fan)..<((c + 1) * fan)].map(abs).max() ?? 0, limit: weightLimit)
            }
        } else {
            let peak = scaled.map(abs).max() ?? 0
            exponents = [Int](repeating: FixedPoint.exponent(forMagnitude: peak, limit: weightLimit), count: channels)
        }
        let codes = scaled.indices.map { i in
            min(max(FixedPoint.code(scaled[i], exponent: exponents[i / fan]), -weightLimit), weightLimit)
        }
        return (codes, exponents)
    }

    /// A residual add: the second value's name and exponent; the output exponent from calibration.
    func residual(_ node: Node, step: Plan.Step, source: Value, into layer: inout QuantizedModel.Layer) throws {
        guard let addend = values[node.inputs[1]] else {
            throw QuantizationError(layer: node.name, "reads a value the quantizer did not produce")
        }
        guard source.image == nil, addend.image == nil else {
            throw QuantizationError(layer: node.name, "an Add of the image itself has no integer form")
        }
        guard graph.nodes[node.inputs[0]].shape == graph.nodes[node.inputs[1]].shape else {
            throw QuantizationError(layer: node.name, "adds values of different shapes (broadcasting is not supported)")
        }
        layer.kind = .add
        layer.addend = addend.name
        layer.addendExponent = addend.exponent
        layer.relu = step.relu
        layer.outputExponent = FixedPoint.exponent(forMagnitude: Double(peaks[step.output] ?? 0), limit: top)
        (layer.outputLow, layer.outputHigh) = (step.relu ? 0 : -top - 1, top)
    }

    /// Max and average pooling: the window as it is; average pooling only where it is exact.
    func pooling(_ node: Node, pool: Pool2D, into layer: inout QuantizedModel.Layer) throws {
        var isAverage = false
        if case .averagePool = node.op { isAverage = true }
        layer.kind = isAverage ? .averagePool : .maxPool
        layer.kernel = [pool.kernelH, pool.kernelW]
        layer.stride = [pool.strideH, pool.strideW]
        let p = pool.padding
        layer.pads = [p.top, p.left, p.bottom, p.right]
        let inShape = graph.nodes[node.inputs[0]].shape
        guard node.shape[1] == (inShape[1] + p.top + p.bottom - pool.kernelH) / pool.strideH + 1,
            node.shape[2] == (inShape[2] + p.left + p.right - pool.kernelW) / pool.strideW + 1
        else {
            throw QuantizationError(layer: node.name, "ceil-mode pooling is not in the integer model")
        }
        if isAverage { _ = try Quantizer.averageForm(node, pool: pool, input: inShape) }
    }
}
