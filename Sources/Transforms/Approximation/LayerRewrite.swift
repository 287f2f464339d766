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
    func replacingWeights(
        with compression: Compression, exponents: [Int], in model: QuantizedModel,
        maxAccumulatorBits: Int
    ) throws -> QuantizedModel.Layer {
        let numbers = try self.numbers()
        var result = self
        var compression = compression
        compression.originalAccumulatorBits = accumulatorBits
        result.weights = nil
        result.compression = compression
        let newBias = zip(numbers.bias, zip(numbers.exponents, exponents)).map { b, e in
            e.1 <= e.0 ? b << (e.0 - e.1) : FixedPoint.code(Double(b), exponent: e.1 - e.0)
        }
        try result.settleKeepingFeatures(
            of: self, effectiveWeights: try result.numbers().weights, exponents: exponents, bias: newBias,
            in: model, maxAccumulatorBits: maxAccumulatorBits)
        return result
    }
}

extension QuantizedModel.Layer {
    /// `settle` after the codes, exponents or biases of a layer changed: M3's combinations (as recorded in `old`)
    /// are quantized again for the sources' new exponents first (the same real combination).
    mutating func settleKeepingFeatures(
        of old: QuantizedModel.Layer, effectiveWeights codes: [Int], exponents: [Int], bias: [Int],
        in model: QuantizedModel, maxAccumulatorBits: Int? = nil
    ) throws {
        let limit = maxAccumulatorBits ?? model.maxAccumulatorBits
        var exponents = exponents, bias = bias
        if let record = old.approximatedFeatures {
            try quantizeFeatures(
                try FeatureApproximator.realFeatures(record, layer: old), coefficientBits: record.coefficientBits,
                effectiveWeights: codes, exponents: &exponents, bias: &bias, in: model, maxAccumulatorBits: limit)
        }
        let range = model.inputRange(of: self)
        try settle(
            effectiveWeights: codes, exponents: exponents, bias: bias, inputLow: range.low, inputHigh: range.high,
            maxAccumulatorBits: limit)
    }
}
