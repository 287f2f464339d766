import Foundation
import Quantization

extension QuantizedModel.Layer {
    /// The plain weight codes of an uncompressed conv2d or dense layer, or a clear error.
    func plainWeights() throws -> (shape: [Int], codes: [Int], exponents: [Int]) {
        guard let shape = weightShape, let codes = weights, let exponents = weightExponents, bias != nil else {
            throw QuantizationError(layer: name, "only an uncompressed conv2d or dense layer can be compressed")
        }
        return (shape, codes, exponents)
    }

    /// This layer with `compression` in place of its codes and `exponents` as its weight exponents: biases move to
    /// the new exponents (exact when finer, rounded half away from zero when coarser), then the accumulator
    /// width and shifts are settled over the approximated weights (refused over `maxAccumulatorBits`).
    func replacingWeights(with compression: Compression, exponents: [Int], in model: QuantizedModel,
                          maxAccumulatorBits: Int) throws -> QuantizedModel.Layer {
        var result = self
        var compression = compression
        compression.originalAccumulatorBits = accumulatorBits
        result.weights = nil
        result.compression = compression
        var newBias = zip(bias!, zip(weightExponents!, exponents)).map { b, e in
            e.1 <= e.0 ? b << (e.0 - e.1) : FixedPoint.code(Double(b), exponent: e.1 - e.0)
        }
        var exponents = exponents
        if let record = approximatedFeatures {
            // M3's coefficients follow their sources to the new exponents (the same real combination).
            try result.quantizeFeatures(FeatureApproximator.realFeatures(record, layer: self), coefficientBits: record.coefficientBits,
                                        effectiveWeights: result.effectiveWeights!, exponents: &exponents, bias: &newBias, in: model)
        }
        let range = model.inputRange(of: self)
        try result.settle(effectiveWeights: result.effectiveWeights!, exponents: exponents, bias: newBias,
                          inputLow: range.low, inputHigh: range.high, maxAccumulatorBits: maxAccumulatorBits)
        return result
    }
}
