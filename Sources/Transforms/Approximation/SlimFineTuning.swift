import Datasets
import Foundation
import NetworkIR
import Quantization
import Training

/// Fine-tuning of a slimmed model (M4 and M3, `compress --method slim --finetune`), as the slimming paper
/// retrains: the float model is trained further with every reduced channel's taps outside its window held at zero
/// (projected SGD, so the forward pass sees exactly the reduced kernels), then quantized like the original and the
/// reductions applied again: the kernels cropped to the same windows (exact, the taps outside are zero) and the
/// approximated channels (M3) fitted again from the tuned layer on the calibration images. The M3 channels train
/// as computed channels; their approximation is refitted, not trained.
public struct SlimFineTuner {
    public var options: FineTuneOptions
    /// Training images (the validation images of the search left out), the calibration images of the fits, and
    /// those the quantizer calibrates on (the original model's: the first N training images).
    public var train: ImageDataset
    public var calibration: ImageDataset
    public var requantization: ImageDataset
    /// The name the re-quantized model records as its source.
    public var source: String
    /// M3: computed channels per approximated one, and the coefficient width (the search's).
    public var sources: Int
    public var coefficientBits: Int

    public init(
        options: FineTuneOptions, train: ImageDataset, calibration: ImageDataset, requantization: ImageDataset,
        source: String, sources: Int, coefficientBits: Int
    ) {
        self.options = options; self.train = train; self.calibration = calibration
        self.requantization = requantization; self.source = source
        self.sources = sources; self.coefficientBits = coefficientBits
    }

    /// `graph` trained under the reductions of `slimmed` (quantized alike from `quantized`'s settings), and the
    /// re-quantized model with the same reductions.
    public func run(
        graph: Graph, quantized: QuantizedModel, slimmed: QuantizedModel, onEvent: (TrainingEvent) -> Void = { _ in }
    ) throws -> (model: QuantizedModel, graph: Graph) {
        let network = try TrainableNetwork(graph: graph)
        let training = options.training(projection: try Self.windows(of: slimmed, network: network))
        let tuner = try Trainer(graph: try Self.seeded(network, from: slimmed), options: training)
        _ = try tuner.fit(train, onEvent: onEvent)
        let tuned = try tuner.trainedGraph()
        let requantized = try Quantizer.quantize(
            tuned, calibration: requantization, source: source, options: FineTuning.quantizationOptions(like: quantized)
        )
        return (try reapply(slimmed, to: requantized), tuned)
    }

    /// The float graph with every reduced channel's weights and bias taken from `slimmed` (the reduction's
    /// least-squares refit, dequantized), so that training starts from the model the search measured rather than
    /// from a cropped kernel. A layer that reads a normalized image keeps its own: its codes hold the folded gain.
    static func seeded(_ network: TrainableNetwork, from slimmed: QuantizedModel) throws -> Graph {
        var parameters = network.initialParameters()
        let normalized = slimmed.input.zeroPoints != nil
        for layer in slimmed.layers {
            guard let sizes = layer.kernelSizes, let kernel = layer.weightShape?[2],
                !(normalized && layer.input == slimmed.input.name), let ranges = network.parameterRanges(of: layer.name)
            else { continue }
            let numbers = try layer.numbers()
            let fan = numbers.fan
            for (c, size) in sizes.enumerated() where size < kernel {
                let unit = pow(2, Double(numbers.exponents[c]))
                for k in 0..<fan {
                    parameters[ranges.weight.lowerBound + c * fan + k] = Float(
                        Double(numbers.weights[c * fan + k]) * unit)
                }
                parameters[ranges.bias.lowerBound + c] = Float(
                    Double(numbers.bias[c]) * pow(2, Double(numbers.exponents[c] + layer.inputExponent)))
            }
        }
        return try network.graph(with: parameters)
    }

    /// The projection that holds every reduced channel's taps outside its centred window at zero.
    static func windows(of slimmed: QuantizedModel, network: TrainableNetwork) throws -> Projection {
        var zeros: [Int] = []
        for layer in slimmed.layers {
            guard let sizes = layer.kernelSizes, let shape = layer.weightShape, shape.count == 4 else { continue }
            guard let ranges = network.parameterRanges(of: layer.name) else {
                throw QuantizationError(
                    layer: layer.name, "the float model has no conv node of this name to fine-tune")
            }
            let (inputs, kernel) = (shape[1], shape[2])
            for (c, size) in sizes.enumerated() where size < kernel {
                let margin = (kernel - size) / 2
                for i in 0..<inputs {
                    for y in 0..<kernel {
                        for x in 0..<kernel
                        where !(margin..<(margin + size)).contains(y)
                            || !(margin..<(margin + size)).contains(x)
                        {
                            zeros.append(ranges.weight.lowerBound + ((c * inputs + i) * kernel + y) * kernel + x)
                        }
                    }
                }
            }
        }
        let all = zeros
        return Projection(mode: .reproject) { parameters in for index in all { parameters[index] = 0 } }
    }

    /// `model` (re-quantized from the tuned graph) with `slimmed`'s reductions: each reduced channel cropped to its
    /// window, then each layer's approximated channels fitted again.
    func reapply(_ slimmed: QuantizedModel, to model: QuantizedModel) throws -> QuantizedModel {
        var result = model
        for layer in slimmed.layers {
            guard let sizes = layer.kernelSizes, let kernel = layer.weightShape?[2] else { continue }
            for size in Set(sizes).filter({ $0 < kernel }).sorted(by: >) {
                let channels = Set(sizes.indices.filter { sizes[$0] == size })
                result = try KernelReducer.reduce(
                    result, layer: layer.name, size: size, pixels: calibration.pixels, images: calibration.count,
                    refit: false, channels: channels)
            }
        }
        for layer in slimmed.layers {
            guard let record = layer.approximatedFeatures, !record.channels.isEmpty else { continue }
            let samples = try FeatureApproximator.samples(
                result, layer: layer.name, pixels: calibration.pixels, images: calibration.count)
            result = try FeatureApproximator.approximate(
                result, layer: layer.name, channels: record.channels.sorted(), m: sources, samples: samples,
                coefficientBits: coefficientBits
            ).model
        }
        return result
    }
}
