import Datasets
import Foundation
import NetworkIR
import Quantization
import Training

public struct FineTuneOptions: Sendable {
    public var epochs = 2
    public var learningRate: Float = 1e-4
    public var batchSize = 64
    public var seed: UInt64 = 1
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    /// How M1 layers are kept on their structure (M2 always trains straight-through).
    public var m1Mode = Projection.Mode.straightThrough
    public init() {}

    /// The trainer's settings for these epochs, rate, batch, seed and workers, with every image trained on (no
    /// hold-out) under `projection`.
    func training(projection: Projection) -> TrainingOptions {
        var training = TrainingOptions()
        training.epochs = epochs
        training.learningRate = learningRate
        training.batchSize = batchSize
        training.seed = seed
        training.workers = workers
        training.validationCount = 0
        training.projection = projection
        return training
    }
}

/// Approximation-aware fine-tuning (optional; everything else is retraining-free). The float model is trained
/// further while its compressed layers are kept on the method's constraint set, then quantized and compressed
/// again with the same settings:
/// - M1: projected SGD. After every step each group is sorted again and every segment (same sizes as the
///   retraining-free compression chose) is replaced by its real least-squares polynomial.
/// - M2: straight-through. The passes see every filter rounded to MAW / top * code, the update goes to the
///   unrounded weights (rounding would undo the small steps of a projected update).
public enum FineTuning {
    /// The projection of the float parameters of `network` onto the structure of the compressed layers.
    public static func projection(
        for compressed: QuantizedModel, network: TrainableNetwork, m1Mode: Projection.Mode = .straightThrough
    ) throws -> Projection {
        var steps: [@Sendable (inout [Float]) -> Void] = []
        var mode = m1Mode
        for layer in compressed.layers {
            guard let compression = layer.compression, let shape = layer.weightShape else { continue }
            guard let ranges = network.parameterRanges(of: layer.name) else {
                throw QuantizationError(
                    layer: layer.name, "the float model has no conv or dense node of this name to fine-tune")
            }
            let base = ranges.weight.lowerBound
            let channels = shape[0], fan = ranges.weight.count / channels
            switch compression.method {
            case .linear, .quadratic:
                // The projection is the compressor's own integer fit: per exponent domain the coefficient
                // exponent from the current largest |w|, then the rounded coefficients of each segment (sizes
                // fixed), so the fine-tuned weights are what the final compression will store.
                // Constant segments (every C1 zero) stay constant.
                let constant = (compression.groups ?? []).allSatisfy {
                    $0.segments.allSatisfy { $0.coefficients.dropFirst().allSatisfy { $0 == 0 } }
                }
                let degree: PolynomialDegree =
                    compression.method == .quadratic ? .quadratic : constant ? .constant : .linear
                let bits = compression.coefficientBits ?? 16
                let groups = (compression.groups ?? []).map { group in
                    (members: group.order.map { base + $0 }, counts: group.segments.map(\.count))
                }
                // Groups that share an exponent: the whole layer, or the groups of one output channel.
                let domains: [[Int]] =
                    compression.group == .layer
                    ? [Array(groups.indices)]
                    : Dictionary(grouping: groups.indices) { (groups[$0].members[0] - base) / fan }.sorted {
                        $0.key < $1.key
                    }.map(\.value)
                steps.append { parameters in
                    for domain in domains {
                        let values = domain.map { g in groups[g].members.map { Double(parameters[$0]) } }
                        guard values.contains(where: { $0.contains { $0 != 0 } }) else { continue }
                        let (exponent, fits) = SortedWeightCompressor.fitDomain(values, bits: bits) {
                            position, scaled in
                            SortedWeightFit.fit(scaled, counts: groups[domain[position]].counts, degree: degree)
                        }
                        let unit = pow(2, Double(exponent))
                        for (g, fit) in zip(domain, fits) {
                            for (i, w) in fit.weights().enumerated() {
                                parameters[groups[g].members[i]] = Float(Double(w) * unit)
                            }
                        }
                    }
                }
            case .swc:
                mode = .straightThrough
                let codebook = compression.codebook ?? .uniform
                let bits = compression.codeBits ?? 4, threshold = compression.threshold ?? 0
                let top = codebook == .uniform ? (1 << (bits - 1)) - 1 : Compression.largestPowerOfTwoCode(bits: bits)
                steps.append { parameters in
                    for c in 0..<channels {
                        let row = (base + c * fan)..<(base + (c + 1) * fan)
                        let maw = row.map { abs(Double(parameters[$0])) }.max() ?? 0
                        guard maw > 0 else { continue }
                        for i in row {
                            let ratio = Double(parameters[i]) / maw
                            let code =
                                abs(ratio) < threshold
                                ? 0 : ScalingWeightCompressor.code(ratio * Double(top), codebook: codebook, top: top)
                            parameters[i] = Float(maw / Double(top) * Double(code))
                        }
                    }
                }
            }
        }
        let all = steps
        return Projection(mode: mode) { parameters in for step in all { step(&parameters) } }
    }

    /// The settings `quantized` was made with, to quantize a fine-tuned graph alike.
    static func quantizationOptions(like quantized: QuantizedModel) -> QuantizationOptions {
        var quantization = QuantizationOptions()
        quantization.weightBits = quantized.weightBits
        quantization.activationBits = quantized.activationBits
        quantization.maxAccumulatorBits = quantized.maxAccumulatorBits
        quantization.perChannel = quantized.weightScale == "channel"
        quantization.activationSegments = quantized.activationSegments ?? quantization.activationSegments
        quantization.activationSlopeBits = quantized.activationSlopeBits ?? quantization.activationSlopeBits
        return quantization
    }

    /// Fine-tunes `graph` under the structure of `compressed` on `train` (no validation hold-out), then quantizes
    /// it like `quantized` (same widths, calibration on the first images of `train`) and compresses the same
    /// layers with `method`. Returns the fine-tuned float graph and the new compressed model.
    public static func run(
        graph: Graph, quantized: QuantizedModel, compressed: QuantizedModel, method: Method, train: ImageDataset,
        source: String, options: FineTuneOptions, maxAccumulatorBits: Int? = nil,
        onEvent: (TrainingEvent) -> Void = { _ in }
    ) throws -> (graph: Graph, quantized: QuantizedModel, compressed: QuantizedModel) {
        let training = options.training(
            projection: try projection(
                for: compressed, network: TrainableNetwork(graph: graph), m1Mode: options.m1Mode))
        let tuner = try Trainer(graph: graph, options: training)
        _ = try tuner.fit(train, onEvent: onEvent)
        let tuned = try tuner.trainedGraph()
        let requantized = try Quantizer.quantize(
            tuned, calibration: train.prefix(quantized.calibration.images), source: source,
            options: quantizationOptions(like: quantized))
        let layers = compressed.layers.filter { $0.compression != nil }
        // M1 keeps the segment sizes it was fine-tuned with; the boundaries of a fresh choice could fall elsewhere.
        var final = method
        if case .sortedWeights(var options) = method {
            options.segmentCounts = Dictionary(
                uniqueKeysWithValues: layers.map { layer in
                    (layer.name, (layer.compression?.groups ?? []).map { $0.segments.map(\.count) })
                })
            final = .sortedWeights(options)
        }
        let recompressed = try ModelCompressor.compress(
            requantized, method: final, layers: layers.map(\.name), maxAccumulatorBits: maxAccumulatorBits)
        return (tuned, requantized, recompressed)
    }
}
