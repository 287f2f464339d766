import GoldenModel
import Quantization

/// Which datapath a layer unit computes its dot products with (docs/rtl.md, "Layer units").
public enum Architecture: String, Sendable, CaseIterable {
    /// M1: suffix sums in sorted order, then coefficient multiplies; M2: code products, then one scale multiply.
    case reuse
    /// One multiply-accumulate per weight, the layer's (approximated) weight codes read from ROM.
    case baseline
}

/// Why a layer unit cannot be generated: names the layer and the reason.
public struct GeneratorError: Error, CustomStringConvertible, Equatable {
    public var layer: String
    public var reason: String
    public init(layer: String, _ reason: String) { self.layer = layer; self.reason = reason }
    public var description: String { "layer '\(layer)': \(reason)" }
}

/// Bits of an unsigned counter that reaches `maximum` (at least 1).
func unsignedBits(_ maximum: Int) -> Int { max(1, Int.bitWidth - max(maximum, 1).leadingZeroBitCount) }

/// Bits of a two's complement value in `low ... high` (at least 2, so that a sign bit exists).
func signedBits(_ low: Int, _ high: Int) -> Int { max(2, FixedPoint.width(low: low, high: high)) }

/// Everything a layer unit needs, read from the compressed model: the one source of the numbers, shared with the
/// golden model (`LayerFunction`, `ReusePlan`). Widths come from the model's proven bounds; nothing is recomputed.
public struct LayerNumbers: Sendable {
    public let function: LayerFunction
    public var layer: QuantizedModel.Layer { function.layer }
    public var fan: Int { function.fan }
    public var channels: Int { function.channels }
    /// Two's complement width of an input code (9 for the image's 0...255).
    public let inputWidth: Int
    /// The accumulator width the quantizer proved (docs/arithmetic.md section 3); every reuse register uses it.
    public let accumulatorWidth: Int
    /// Output code width: the activation width, or the aligned logits' width.
    public let outputWidth: Int
    public let relu: Bool
    public let logits: Bool
    public let bias: [Int]
    public let shifts: [Int]
    public let shiftWidth: Int
    /// The approximated weight codes w'[c, k] (the stored codes for an uncompressed layer) and their width.
    public let weights: [Int]
    public let weightWidth: Int
    /// The reuse form, when the layer is compressed.
    public let plan: ReusePlan?
    public let compression: Compression?

    public init(model: QuantizedModel, layer name: String) throws {
        function = try LayerFunction(model: model, layer: name)
        let layer = function.layer
        inputWidth = signedBits(function.inputLow, function.inputHigh)
        guard let acc = layer.accumulatorBits, let bias = layer.bias, let shifts = layer.shifts,
            let weights = layer.effectiveWeights
        else {
            throw GeneratorError(layer: name, "the layer has no accumulator width, biases, shifts or weights")
        }
        // M3 combines accumulators across output channels, which the per-channel layer arrays never hold at once.
        guard layer.approximatedFeatures == nil else {
            throw GeneratorError(
                layer: name,
                "approximated features (M3) are not supported by the layer arrays (reuse, baseline); the accelerator runs them"
            )
        }
        // The layer arrays' output stage is requantize.v (rounding, ReLU, saturation) and nothing after it.
        if let table = layer.activation {
            throw GeneratorError(
                layer: name,
                "the activation \(table.function) is not supported by the layer arrays (reuse, baseline), whose outputs end in requantization; the accelerator (--arch diannao) runs it in NFU-3's table"
            )
        }
        accumulatorWidth = acc
        logits = layer.logits ?? false
        relu = layer.relu ?? false
        outputWidth = logits ? signedBits(layer.outputLow, layer.outputHigh) : model.activationBits
        self.bias = bias
        self.shifts = shifts
        shiftWidth = signedBits(shifts.min()!, shifts.max()!)
        self.weights = weights
        weightWidth = signedBits(weights.min() ?? 0, weights.max() ?? 0)
        compression = layer.compression
        let shape = [function.channels, function.fan]
        plan = layer.compression.map { ReusePlan($0, weightShape: shape) }
        // Refuse what the circuit cannot hold: the widths are re-derived bounds, checked here once more.
        for (c, b) in bias.enumerated() where !FixedPoint.range(bits: acc).contains(b) {
            throw GeneratorError(layer: name, "bias \(b) of channel \(c) does not fit the \(acc)-bit accumulator")
        }
        guard acc <= 62 else {
            throw GeneratorError(layer: name, "a \(acc)-bit accumulator is wider than the generator supports (62)")
        }
        if logits, let low = shifts.min(), low < -32 {
            throw GeneratorError(
                layer: name, "a logit alignment shift of \(-low) bits is more than the generator supports (32)")
        }
    }

    /// The largest input magnitude, max(|low|, |high|): the moments' bounds start from it.
    public var inputMagnitude: Int { max(abs(function.inputLow), abs(function.inputHigh)) }

    /// The largest left shift of the requantization (0 when every shift is a right shift).
    public var maxLeftShift: Int { max(0, -(shifts.min() ?? 0)) }
}
