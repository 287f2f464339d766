import Quantization

/// One convolution or dense layer as a function of input vectors: the view the layer generators and their
/// benches work in. A convolution's input vector is one im2col window (input channel, ky, kx in ONNX weight
/// order, zeros in the padding); a dense layer's is its input. The outputs are exactly the golden model's for
/// that window: requantized codes, or aligned logits for the last layer.
public struct LayerFunction: Sendable {
    public let layer: QuantizedModel.Layer
    /// Inputs per vector (C * kH * kW, or the dense fan-in) and outputs per vector (the output channels).
    public let fan: Int
    public let channels: Int
    /// The code range of the inputs (docs/arithmetic.md section 3).
    public let inputLow: Int
    public let inputHigh: Int
    private let step: IntegerLayer

    public init(model: QuantizedModel, layer name: String) throws {
        guard let layer = model.layers.first(where: { $0.name == name }) else {
            let weighted = model.layers.filter { $0.kind == .conv2d || $0.kind == .dense }.map(\.name)
            throw QuantizationError(layer: name, "no such layer (weighted layers: \(weighted.joined(separator: ", ")))")
        }
        guard layer.kind == .conv2d || layer.kind == .dense, let shape = layer.weightShape else {
            throw QuantizationError(
                layer: name,
                "a \(layer.kind.rawValue) layer has no weights; only conv2d and dense layers map to a MAC array")
        }
        self.layer = layer
        channels = shape[0]
        fan = shape.reduce(1, *) / channels
        (inputLow, inputHigh) = model.inputRange(of: layer)
        // A convolution on one window is a dense layer over the window: the weights, plan and biases are
        // indexed [channel, k] the same way.
        var dense = layer
        dense.kind = .dense
        dense.shape = [channels]
        dense.weightShape = [channels, fan]
        step = IntegerLayer(dense, input: [fan], activationBits: model.activationBits)
    }

    /// The output codes of `vectors.count / fan` input vectors, `channels` per vector.
    public func outputs(_ vectors: [Int]) -> [Int] {
        precondition(vectors.count % fan == 0, "input length is not a multiple of the fan-in")
        let count = vectors.count / fan
        var result = [Int](repeating: 0, count: count * channels)
        var y = [Int](repeating: 0, count: channels)
        var scratch = Scratch()
        for v in 0..<count {
            step.run(Array(vectors[(v * fan)..<((v + 1) * fan)]), into: &y, scratch: &scratch)
            result.replaceSubrange((v * channels)..<((v + 1) * channels), with: y)
        }
        return result
    }

    /// Input vector `p` (an output pixel, row-major) of a layer whose input tensor is `input` ([C, H, W] codes for
    /// a convolution, the flat input for a dense layer).
    public func window(of input: [Int], inputShape: [Int], pixel p: Int) -> [Int] {
        guard layer.kind == .conv2d, let kernel = layer.kernel, let stride = layer.stride, let pads = layer.pads else {
            return input
        }
        let (height, width) = (inputShape[1], inputShape[2])
        let outW = layer.shape[2]
        let (oy, ox) = (p / outW, p % outW)
        var column = [Int](repeating: 0, count: fan)
        var k = 0
        for c in 0..<inputShape[0] {
            for ky in 0..<kernel[0] {
                for kx in 0..<kernel[1] {
                    let iy = oy * stride[0] - pads[0] + ky, ix = ox * stride[1] - pads[1] + kx
                    if iy >= 0 && iy < height && ix >= 0 && ix < width {
                        column[k] = input[(c * height + iy) * width + ix]
                    }
                    k += 1
                }
            }
        }
        return column
    }

    /// Output pixels per image (1 for a dense layer).
    public var pixels: Int { layer.kind == .conv2d ? layer.shape[1] * layer.shape[2] : 1 }
}

extension GoldenModel {
    /// What `layer` reads for each of `count` images: its input tensor, per image.
    public func layerInputs(of layer: String, pixels: [UInt8], count: Int) -> [[Int]] {
        guard let position = model.layers.firstIndex(where: { $0.name == layer }) else { return [] }
        let source = model.layers[position].input
        if source == model.input.name {
            return (0..<count).map { s in
                (0..<inputSize).map { model.input.code(pixels[s * inputSize + $0], at: $0) }
            }
        }
        let producer = model.layers.firstIndex { $0.name == source }!
        let outcome = run(pixels: pixels, count: count, keepLayers: true)
        let size = model.layers[producer].shape.reduce(1, *)
        return (0..<count).map { s in Array(outcome.layers[producer][(s * size)..<((s + 1) * size)]) }
    }

    /// The per-sample shape of what `layer` reads.
    public func inputShape(of layer: QuantizedModel.Layer) -> [Int] {
        if layer.input == model.input.name { return model.input.shape }
        return model.layers.first { $0.name == layer.input }!.shape
    }
}
