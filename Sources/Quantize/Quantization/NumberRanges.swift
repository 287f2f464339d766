import NetworkIR

/// The range every number of a model file must lie in, checked before any other check computes with it. The
/// limits are far beyond any model the tool handles and small enough that the validator's sums and products of
/// them cannot overflow (an element count at most 2^31, codes at most 2^32, an exponent at most 2^8).
enum NumberRanges {
    static let dimension = 1...SizeLimits.dimension
    static let window = 1...(1 << 16)
    static let padding = 0...(1 << 16)
    static let exponent = -256...256
    static let code = -(1 << 32)...(1 << 32)
    static let bias = -(1 << 62)...(1 << 62)
    static let bits = 1...64
    static let index = 0...(1 << 31)
    static let maxNameBytes = 1024
}

extension QuantizedModel {
    /// Every number of the file within `NumberRanges`; the first one outside is named with its field.
    func validateNumberRanges() throws {
        // Names reach every message and the generated RTL: a megabyte-long one is refused, not printed.
        let names = [input.name] + layers.flatMap { [$0.name, $0.input] + [$0.addend].compactMap { $0 } }
        if let long = names.first(where: { $0.utf8.count > NumberRanges.maxNameBytes }) {
            throw QuantizationError(
                layer: String(long.prefix(40)) + "...",
                "a name of \(long.utf8.count) bytes (at most \(NumberRanges.maxNameBytes))")
        }
        try check(input.shape, NumberRanges.dimension, "input.shape", layer: input.name)
        try checkCount(input.shape, "input.shape", layer: input.name)
        try check([input.exponent], NumberRanges.exponent, "input.exponent", layer: input.name)
        try check([input.low, input.high], NumberRanges.code, "input.low and input.high", layer: input.name)
        for layer in layers { try layer.validateNumberRanges() }
    }
}

extension QuantizedModel.Layer {
    fileprivate func validateNumberRanges() throws {
        func check(_ values: [Int]?, _ range: ClosedRange<Int>, _ field: String) throws {
            try Quantization.check(values ?? [], range, field, layer: name)
        }
        try check(shape, NumberRanges.dimension, "shape")
        try checkCount(shape, "shape", layer: name)
        try check(kernel, NumberRanges.window, "kernel")
        try check(stride, NumberRanges.window, "stride")
        try check(pads, NumberRanges.padding, "pads")
        try check(weightShape, NumberRanges.dimension, "weight_shape")
        if let weightShape { try checkCount(weightShape, "weight_shape", layer: name) }
        try check(weights, NumberRanges.code, "weights")
        try check(
            [inputExponent, outputExponent] + [addendExponent].compactMap { $0 }, NumberRanges.exponent, "exponents")
        try check(weightExponents, NumberRanges.exponent, "weight_exponents")
        try check(shifts, NumberRanges.exponent, "shifts")
        try check([outputLow, outputHigh], NumberRanges.bias, "output_low and output_high")
        try check(bias, NumberRanges.bias, "bias")
        try check(accumulatorBits.map { [$0] }, NumberRanges.bits, "accumulator_bits")
        try check(kernelSizes, NumberRanges.padding, "kernel_sizes")
        if let table = activation {
            try check([table.inputExponent, table.shift], NumberRanges.exponent, "activation.input_exponent and shift")
            try check(table.breakpoints + table.slopes, NumberRanges.code, "activation.breakpoints and slopes")
            try check(table.intercepts, NumberRanges.bias, "activation.intercepts")
            try check([table.slopeBits, table.interceptBits], NumberRanges.bits, "activation bit widths")
        }
        if let compression { try validateNumberRanges(compression) }
        if let features = approximatedFeatures {
            try check([features.coefficientBits], NumberRanges.bits, "approximated_features.coefficient_bits")
            for feature in features.features {
                try check([feature.channel] + feature.sources, NumberRanges.index, "approximated_features channels")
                try check(feature.coefficients, NumberRanges.code, "approximated_features coefficients")
            }
        }
    }

    private func validateNumberRanges(_ compression: Compression) throws {
        func check(_ values: [Int]?, _ range: ClosedRange<Int>, _ field: String) throws {
            try Quantization.check(values ?? [], range, "compression." + field, layer: name)
        }
        let widths = [
            compression.coefficientBits, compression.codeBits, compression.scaleBits,
            compression.originalAccumulatorBits,
        ].compactMap { $0 }
        try check(widths, NumberRanges.bits, "bit widths")
        try check(compression.scales, NumberRanges.code, "scales")
        try check(compression.codes, NumberRanges.code, "codes")
        for group in compression.groups ?? [] {
            try check(group.order, NumberRanges.index, "groups.order")
            for segment in group.segments {
                try check([segment.start, segment.count], NumberRanges.index, "groups.segments start and count")
                try check(segment.coefficients, NumberRanges.code, "groups.segments coefficients")
            }
        }
    }
}

/// Every value of `values` in `range`, or an error naming the field, the value and the range.
private func check(_ values: [Int], _ range: ClosedRange<Int>, _ field: String, layer: String) throws {
    if let bad = values.first(where: { !range.contains($0) }) {
        throw QuantizationError(
            layer: layer, "\(field): \(bad) lies outside \(range.lowerBound)...\(range.upperBound)")
    }
}

/// The element count of a shape whose dimensions are already within range stays within NetworkIR's size limit.
private func checkCount(_ shape: [Int], _ field: String, layer: String) throws {
    guard checkedElementCount(shape) != nil else {
        throw QuantizationError(layer: layer, "\(field) \(shape) holds more than 2^31 values")
    }
}
