import NetworkIR

/// A network quantized to the integer arithmetic of docs/arithmetic.md: the one value that the golden model
/// runs and the RTL generators read. Stored as JSON (docs/formats.md); `validate()` checks everything a
/// reader relies on.
public struct QuantizedModel: Codable, Equatable, Sendable {
    public static let formatName = "approxrtl-quantized"
    public static let currentVersion = 1

    public var format: String = QuantizedModel.formatName
    public var version: Int = QuantizedModel.currentVersion
    /// Where the float model came from (a file name) and how it was calibrated.
    public var source: String
    /// For a compressed model: the quantized model it was compressed from (a file name).
    public var compressedFrom: String? = nil
    /// For a model compressed after approximation-aware fine-tuning: how it was fine-tuned.
    public var fineTuning: FineTuningRecord? = nil

    public struct FineTuningRecord: Codable, Equatable, Sendable {
        /// The quantized model whose compression was fine-tuned (the float model is its source).
        public var from: String
        public var epochs: Int
        public var learningRate: Double
        /// "reproject" (M1) or "straight-through" (M2).
        public var mode: String
        public init(from: String, epochs: Int, learningRate: Double, mode: String) {
            self.from = from; self.epochs = epochs; self.learningRate = learningRate; self.mode = mode
        }
    }
    public var calibration: Calibration
    public var weightBits: Int
    public var activationBits: Int
    public var maxAccumulatorBits: Int
    /// "channel" or "layer".
    public var weightScale: String
    /// With activation tables: the settings they were fitted with (`--act-segments`, `--act-slope-bits`), so that
    /// a re-quantization (fine-tuning) fits them alike.
    public var activationSegments: Int? = nil
    public var activationSlopeBits: Int? = nil
    public var input: Input
    /// In execution order; each reads the output of the layer (or the input) it names.
    public var layers: [Layer]

    public struct Calibration: Codable, Equatable, Sendable {
        public var dataset: String
        public var images: Int
        /// How activation exponents were chosen ("max-abs").
        public var method: String
    }

    /// The image: codes are the pixels (0...255) less their channel's zero point, with exponent -8.
    public struct Input: Codable, Equatable, Sendable {
        public var name: String
        public var shape: [Int]
        public var exponent: Int
        public var low: Int
        public var high: Int
        /// With an input normalization, per channel: the pixel that enters as code 0 (none: every zero point is 0).
        public var zeroPoints: [Int]? = nil
        /// A normalization given on the command line when quantizing: the float source model does not contain it,
        /// so whatever runs that model applies it (docs/formats.md).
        public var normalization: InputNormalization? = nil

        /// The code of `pixel` at flat index `index` of an image ([C, H, W] order).
        @inline(__always)
        public func code(_ pixel: UInt8, at index: Int) -> Int {
            guard let zeroPoints else { return Int(pixel) }
            return Int(pixel) - zeroPoints[index / (shape[1] * shape[2])]
        }
    }

    public enum Kind: String, Codable, Sendable, CaseIterable {
        case conv2d, dense, maxPool = "max_pool", averagePool = "average_pool", relu, activation, flatten, reshape
        /// The sum of two activations (a residual connection): `input` plus `addend`, docs/arithmetic.md section 4.
        case add
    }

    public struct Layer: Codable, Equatable, Sendable {
        public var name: String
        public var kind: Kind
        /// The name of the layer (or input) this one reads.
        public var input: String
        /// Per-sample output shape.
        public var shape: [Int]
        /// Exponent of the input and output codes.
        public var inputExponent: Int
        public var outputExponent: Int
        /// Range of the output codes (the interval the next layer's accumulator bound uses).
        public var outputLow: Int
        public var outputHigh: Int

        // Convolution and pooling windows: [kH, kW], [sH, sW], [top, left, bottom, right].
        public var kernel: [Int]? = nil
        public var stride: [Int]? = nil
        public var pads: [Int]? = nil

        // Convolution and dense: weight codes in IR order ([M, C, kH, kW] or [out, in]), one exponent per output
        // channel (all equal with per-layer scales), bias codes at accumulator scale.
        public var weightShape: [Int]? = nil
        public var weights: [Int]? = nil
        public var weightExponents: [Int]? = nil
        public var bias: [Int]? = nil
        public var accumulatorBits: Int? = nil
        /// Right shift per output channel (negative: left shift), from the accumulator to the output codes.
        public var shifts: [Int]? = nil
        /// ReLU fused into this layer (applied after rounding, before saturation).
        public var relu: Bool? = nil
        /// An add layer: the second value it reads (a layer or the input) and that value's exponent.
        public var addend: String? = nil
        public var addendExponent: Int? = nil
        /// A piecewise-linear activation (docs/arithmetic.md section 10): fused into a convolution or dense layer,
        /// whose shifts then lead to the table's input exponent, or the whole of an `activation` layer.
        public var activation: PiecewiseLinear? = nil
        /// The logits: accumulators aligned by left shifts, neither rounded nor saturated.
        public var logits: Bool? = nil
        /// A compressed layer stores its weights here instead of in `weights` (Compression.swift).
        public var compression: Compression? = nil
        /// M4, kernel size reduction: output channel c computes with the centred `kernelSizes[c] x kernelSizes[c]`
        /// window of its kernel only; every weight outside it is zero (checked), so the arithmetic is unchanged
        /// and a circuit may skip those taps.
        public var kernelSizes: [Int]? = nil
        /// M3, feature approximation (docs/arithmetic.md section 9): output channels that compute no taps of their
        /// own but a combination of other channels' accumulators.
        public var approximatedFeatures: ApproximatedFeatures? = nil

        public init(
            name: String, kind: Kind, input: String, shape: [Int], inputExponent: Int, outputExponent: Int,
            outputLow: Int, outputHigh: Int
        ) {
            self.name = name; self.kind = kind; self.input = input; self.shape = shape
            self.inputExponent = inputExponent; self.outputExponent = outputExponent
            self.outputLow = outputLow; self.outputHigh = outputHigh
        }
    }
}

/// M3's record on a convolution: channel `channel` of every listed feature has all-zero weights (checked) and its
/// accumulator is `bias[channel] + sum_i coefficients[i] * acc[sources[i]]`, where `acc[k]` is channel k's full
/// accumulator (its bias included) at the same output pixel, before any rounding. The sources compute their own
/// taps (they are never approximated themselves), so the value is exact and the usual requantization of
/// channel `channel` (its exponent, shift, ReLU and saturation) follows.
public struct ApproximatedFeatures: Codable, Equatable, Sendable {
    /// Width of the signed coefficient codes (symmetric: |code| <= 2^(bits-1) - 1).
    public var coefficientBits: Int
    public var features: [Feature]

    public struct Feature: Codable, Equatable, Sendable {
        public var channel: Int
        public var sources: [Int]
        public var coefficients: [Int]
        public init(channel: Int, sources: [Int], coefficients: [Int]) {
            self.channel = channel; self.sources = sources; self.coefficients = coefficients
        }
    }

    public init(coefficientBits: Int, features: [Feature]) {
        self.coefficientBits = coefficientBits; self.features = features
    }

    /// The approximated channels.
    public var channels: Set<Int> { Set(features.map(\.channel)) }
}
