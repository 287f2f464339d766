import Foundation
import NetworkIR

extension QuantizedModel {
    /// Checks everything the golden model and the generators rely on: version, widths, references, shapes,
    /// code ranges, exponents and shifts, and accumulator widths against the interval bound.
    public func validate() throws {
        try validateHeader()
        try validateNumberRanges()
        var known: [String: Known] = [input.name: (input.shape, input.exponent, input.low, input.high)]
        for (position, layer) in layers.enumerated() {
            func fail(_ reason: String) -> QuantizationError { QuantizationError(layer: layer.name, reason) }
            guard known[layer.name] == nil else { throw fail("a layer or input of this name already exists") }
            guard let source = known[layer.input] else {
                throw fail("reads '\(layer.input)', which no earlier layer produces")
            }
            guard layer.inputExponent == source.exponent else {
                throw fail(
                    "input_exponent \(layer.inputExponent) differs from the exponent \(source.exponent) of '\(layer.input)'"
                )
            }
            let isLast = position == layers.count - 1
            guard (layer.logits ?? false) == isLast else {
                throw fail(isLast ? "the last layer must be the logits" : "only the last layer may be the logits")
            }
            if layer.activation != nil, ![.conv2d, .dense, .activation].contains(layer.kind) {
                throw fail("only convolution, dense and activation layers carry an activation table")
            }
            let expected =
                layer.kind == .add
                ? try validateAdd(layer, source: source, addend: layer.addend.flatMap { known[$0] }, fail: fail)
                : try expectedShape(layer, source: source, fail: fail)
            guard layer.shape == expected else { throw fail("shape \(layer.shape) should be \(expected)") }
            guard layer.outputLow <= layer.outputHigh else { throw fail("output_low exceeds output_high") }
            // Pooling, ReLU and reshaping never widen what they read; an activation table gives codes.
            let bound =
                layer.kind == .activation
                ? FixedPoint.range(bits: activationBits)
                : [.maxPool, .averagePool, .relu, .flatten, .reshape].contains(layer.kind)
                    ? source.low...source.high : nil
            if let bound, !(bound.contains(layer.outputLow) && bound.contains(layer.outputHigh)) {
                throw fail(
                    "output range \(layer.outputLow)...\(layer.outputHigh) lies outside \(bound.lowerBound)...\(bound.upperBound), what it reads can give"
                )
            }
            known[layer.name] = (layer.shape, layer.outputExponent, layer.outputLow, layer.outputHigh)
        }
    }

    /// What a layer reads: the shape, exponent and code range of the value it names.
    private typealias Known = (shape: [Int], exponent: Int, low: Int, high: Int)

    /// The file's header: format, version, widths, scale, input.
    private func validateHeader() throws {
        guard format == QuantizedModel.formatName else {
            throw QuantizationError(layer: "file", "format is '\(format)', expected '\(QuantizedModel.formatName)'")
        }
        guard version == QuantizedModel.currentVersion else {
            throw QuantizationError(
                layer: "file",
                "version \(version) is not supported (this approxrtl reads version \(QuantizedModel.currentVersion))")
        }
        for (field, bits) in [("weight_bits", weightBits), ("activation_bits", activationBits)]
        where !Quantizer.widths.contains(bits) {
            throw QuantizationError(layer: "file", "\(field) \(bits) is outside \(Quantizer.widths)")
        }
        guard (2...62).contains(maxAccumulatorBits) else {
            throw QuantizationError(layer: "file", "max_accumulator_bits must lie in 2...62")
        }
        guard weightScale == "channel" || weightScale == "layer" else {
            throw QuantizationError(layer: "file", "weight_scale must be 'channel' or 'layer', not '\(weightScale)'")
        }
        let zeroPoints = input.zeroPoints ?? []
        guard input.shape.count == 3, input.shape.allSatisfy({ $0 > 0 }), input.exponent == -8,
            input.zeroPoints == nil || zeroPoints.count == input.shape[0],
            zeroPoints.allSatisfy({ (0...255).contains($0) }),
            input.low == -(zeroPoints.max() ?? 0), input.high == 255 - (zeroPoints.min() ?? 0)
        else {
            throw QuantizationError(
                layer: input.name,
                "the input must be [C, H, W] pixel codes with exponent -8: pixels 0...255 less a zero point per channel (0...255), low and high their range"
            )
        }
        if let normalization = input.normalization {
            do {
                _ = try InputNormalization(mean: normalization.mean, std: normalization.std).scaleShift(
                    channels: input.shape[0])
            } catch let error as NormalizationError {
                throw QuantizationError(layer: input.name, "\(error)")
            }
        }
        guard !layers.isEmpty else { throw QuantizationError(layer: "file", "no layers") }
    }

    /// The layer's own fields checked against what it reads; the shape it must produce.
    private func expectedShape(_ layer: Layer, source: Known, fail: (String) -> QuantizationError) throws -> [Int] {
        let expected: [Int]
        switch layer.kind {
        case .conv2d, .dense:
            expected = try validateWeighted(layer, source: source, fail: fail)
        case .maxPool, .averagePool:
            guard let kernel = layer.kernel, source.shape.count == 3,
                let geometry = try? window(layer, input: source.shape, kernel: kernel)
            else {
                throw fail("kernel, stride or pads do not fit the input \(source.shape)")
            }
            if layer.kind == .averagePool {
                let area = kernel[0] * kernel[1]
                guard area & (area - 1) == 0 else {
                    throw fail("average pooling needs a power-of-two window, not \(kernel)")
                }
            }
            guard layer.outputExponent == layer.inputExponent else { throw fail("pooling keeps the exponent") }
            expected = [source.shape[0], geometry.0, geometry.1]
        case .activation:
            guard let table = layer.activation, table.inputExponent == layer.inputExponent else {
                throw fail("an activation layer needs an activation table whose input_exponent is the layer's")
            }
            try check(table, input: (source.low, source.high), layer: layer, fail: fail)
            expected = source.shape
        case .add:
            throw fail("an add layer is checked with its addend")
        case .relu, .flatten, .reshape:
            guard layer.outputExponent == layer.inputExponent else {
                throw fail("\(layer.kind.rawValue) keeps the exponent")
            }
            expected =
                layer.kind == .flatten ? [elementCount(source.shape)] : layer.kind == .relu ? source.shape : layer.shape
            guard elementCount(layer.shape) == elementCount(source.shape) else {
                throw fail("shape \(layer.shape) does not hold the \(elementCount(source.shape)) input values")
            }
        }
        return expected
    }

    /// A residual add: its addend is an earlier value of the same shape and stated exponent; the exponents are close
    /// enough that aligning them cannot overflow (arithmetic.md section 4).
    private func validateAdd(_ layer: Layer, source: Known, addend: Known?, fail: (String) -> QuantizationError) throws
        -> [Int]
    {
        guard let name = layer.addend, let addend else {
            throw fail("reads the addend '\(layer.addend ?? "")', which no earlier layer produces")
        }
        guard addend.shape == source.shape else {
            throw fail("adds '\(name)' of shape \(addend.shape) to '\(layer.input)' of shape \(source.shape)")
        }
        guard layer.addendExponent == addend.exponent else {
            throw fail(
                "addend_exponent \(layer.addendExponent.map(String.init) ?? "missing") differs from the exponent \(addend.exponent) of '\(name)'"
            )
        }
        let exponents = [layer.inputExponent, addend.exponent, layer.outputExponent]
        guard exponents.max()! - exponents.min()! <= 24 else {
            throw fail("the exponents \(exponents) of the add lie more than 24 apart")
        }
        let top = (1 << (activationBits - 1)) - 1
        guard layer.outputLow == ((layer.relu ?? false) ? 0 : -top - 1), layer.outputHigh == top else {
            throw fail("an add's output range is the code range (from 0 with its ReLU)")
        }
        return source.shape
    }

    /// A convolution or dense layer: its numbers, geometry and accumulator width; the shape it produces.
    private func validateWeighted(_ layer: Layer, source: Known, fail: (String) -> QuantizationError) throws -> [Int] {
        let weightLimit = (1 << (weightBits - 1)) - 1
        let expected: [Int]
        guard let shape = layer.weightShape, let exponents = layer.weightExponents,
            let bias = layer.bias, let accBits = layer.accumulatorBits, let shifts = layer.shifts
        else {
            throw fail(
                "a \(layer.kind.rawValue) layer needs weight_shape, weights, weight_exponents, bias, accumulator_bits and shifts"
            )
        }
        let channels = shape.first ?? 0
        guard shape.allSatisfy({ $0 > 0 }), exponents.count == channels, bias.count == channels,
            shifts.count == channels
        else {
            throw fail(
                "weight_exponents (\(exponents.count)), bias (\(bias.count)) and shifts (\(shifts.count)) do not match weight_shape \(shape)"
            )
        }
        // The numbers exist once: plain codes, or a compression that defines them.
        switch (layer.weights, layer.compression) {
        case (let codes?, nil):
            guard codes.count == elementCount(shape) else {
                throw fail("weights (\(codes.count)) do not match weight_shape \(shape)")
            }
            if let bad = codes.first(where: { !(-weightLimit...weightLimit).contains($0) }) {
                throw fail("weight code \(bad) is outside ±\(weightLimit) (\(weightBits)-bit symmetric)")
            }
        case (nil, let compression?):
            try validate(compression, layer: layer, shape: shape)
        case (nil, nil):
            throw fail("a \(layer.kind.rawValue) layer needs weights or a compression")
        case (_?, _?):
            throw fail("has both weights and a compression; a compressed layer stores only the compression")
        }
        let weights = try layer.numbers().weights
        if let sizes = layer.kernelSizes {
            try validateKernelSizes(sizes, weights: weights, shape: shape, kind: layer.kind, fail: fail)
        }
        if layer.kind == .conv2d {
            guard shape.count == 4, source.shape.count == 3, shape[1] == source.shape[0],
                let geometry = try? window(layer, input: source.shape, kernel: [shape[2], shape[3]])
            else {
                throw fail("weight_shape \(shape), kernel, stride or pads do not fit the input \(source.shape)")
            }
            // The generators read the window from kernel; it must be the weights' own.
            if let kernel = layer.kernel, kernel != [shape[2], shape[3]] {
                throw fail("kernel \(kernel) differs from weight_shape's \([shape[2], shape[3]])")
            }
            expected = [channels, geometry.0, geometry.1]
        } else {
            guard shape.count == 2, shape[1] == elementCount(source.shape) else {
                throw fail("weight_shape \(shape) does not take the \(elementCount(source.shape)) input features")
            }
            expected = [channels]
        }
        guard (2...maxAccumulatorBits).contains(accBits) else {
            throw fail("accumulator_bits \(accBits) exceeds max_accumulator_bits \(maxAccumulatorBits)")
        }
        if let features = layer.approximatedFeatures {
            try validate(features, layer: layer, weights: weights, channels: channels, fail: fail)
        }
        try validateAccumulators(
            layer, weights: weights, numbers: (exponents, bias, accBits, shifts), source: source, fail: fail)
        return expected
    }

    /// The accumulator width holds every channel's interval bound; the shifts lead to the output codes.
    private func validateAccumulators(
        _ layer: Layer, weights: [Int], numbers: (exponents: [Int], bias: [Int], accBits: Int, shifts: [Int]),
        source: Known, fail: (String) -> QuantizationError
    ) throws {
        let (exponents, bias, accBits, shifts) = numbers
        let channels = exponents.count
        let activation = FixedPoint.range(bits: activationBits)
        // The stored width must hold the interval bound of every channel (arithmetic.md section 3).
        let (lows, highs) = layer.accumulatorRanges(
            effectiveWeights: weights, bias: bias, inputLow: source.low, inputHigh: source.high)
        for c in 0..<channels {
            guard FixedPoint.range(bits: accBits).contains(lows[c]), FixedPoint.range(bits: accBits).contains(highs[c])
            else {
                throw fail(
                    "channel \(c) can reach \(lows[c])...\(highs[c]), which does not fit accumulator_bits \(accBits)")
            }
        }
        if layer.logits ?? false {
            guard shifts.allSatisfy({ $0 <= 0 }),
                zip(exponents, shifts).allSatisfy({ $0 + layer.inputExponent + $1 == layer.outputExponent })
            else {
                throw fail(
                    "logit shifts must align every channel to output_exponent \(layer.outputExponent) by left shifts")
            }
        } else {
            guard zip(exponents, shifts).allSatisfy({ layer.requantizedExponent - ($0 + layer.inputExponent) == $1 })
            else {
                throw fail(
                    layer.activation == nil
                        ? "shifts must equal output_exponent - (weight exponent + input_exponent)"
                        : "shifts must equal the activation's input_exponent - (weight exponent + input_exponent)")
            }
            guard activation.contains(layer.outputLow), activation.contains(layer.outputHigh) else {
                throw fail("output range \(layer.outputLow)...\(layer.outputHigh) exceeds \(activationBits)-bit codes")
            }
            if let table = layer.activation {
                guard !(layer.relu ?? false) else { throw fail("a layer has a ReLU or an activation table, not both") }
                try check(table, input: (activation.lowerBound, activation.upperBound), layer: layer, fail: fail)
            }
        }
        if layer.logits ?? false, layer.activation != nil { throw fail("the logits take no activation") }
    }

    /// An activation table is well formed and the layer's output range is the one it gives on `input`.
    private func check(
        _ table: PiecewiseLinear, input: (low: Int, high: Int), layer: Layer,
        fail: (String) -> QuantizationError
    ) throws {
        if let problem = table.check(activationBits: activationBits) { throw fail("activation: " + problem) }
        let range = table.outputRange(low: input.low, high: input.high, bits: activationBits)
        guard range == (layer.outputLow, layer.outputHigh) else {
            throw fail(
                "output range \(layer.outputLow)...\(layer.outputHigh) should be \(range.low)...\(range.high), what the activation table gives"
            )
        }
    }

    /// Output rows and columns of a window op (floor formula); throws when the fields are missing or inconsistent.
    private func window(_ layer: Layer, input: [Int], kernel: [Int]) throws -> (Int, Int) {
        guard let stride = layer.stride, let pads = layer.pads, kernel.count == 2, stride.count == 2, pads.count == 4,
            kernel.allSatisfy({ $0 > 0 }), stride.allSatisfy({ $0 > 0 }), pads.allSatisfy({ $0 >= 0 })
        else {
            throw QuantizationError(layer: layer.name, "kernel, stride or pads missing")
        }
        let h = (input[1] + pads[0] + pads[2] - kernel[0]) / stride[0] + 1
        let w = (input[2] + pads[1] + pads[3] - kernel[1]) / stride[1] + 1
        guard h > 0, w > 0 else { throw QuantizationError(layer: layer.name, "window larger than the padded input") }
        return (h, w)
    }

    /// The internal consistency of a compressed layer: widths, code book, permutation, segments, coefficients.
    private func validate(_ compression: Compression, layer: Layer, shape: [Int]) throws {
        func fail(_ reason: String) -> QuantizationError {
            QuantizationError(layer: layer.name, "compression: " + reason)
        }
        let count = elementCount(shape), channels = shape[0], fan = count / channels
        let exponents = layer.weightExponents ?? []
        switch compression.method {
        case .linear, .quadratic:
            guard compression.group != nil else { throw fail("group must be 'layer', 'channel' or 'kernel'") }
            guard let bits = compression.coefficientBits, (2...32).contains(bits), let groups = compression.groups
            else {
                throw fail("a \(compression.method.rawValue) compression needs coefficient_bits (2 to 32) and groups")
            }
            let limit = (1 << (bits - 1)) - 1
            var seen = [Bool](repeating: false, count: count)
            for (g, weightGroup) in groups.enumerated() {
                guard !weightGroup.order.isEmpty else { throw fail("group \(g) is empty") }
                for index in weightGroup.order {
                    guard (0..<count).contains(index), !seen[index] else {
                        throw fail(
                            "group \(g): index \(index) is out of range or already in a group (order must be a permutation)"
                        )
                    }
                    seen[index] = true
                }
                // All members of a group scale alike, so the channels it touches share one exponent.
                let touched = Set(weightGroup.order.map { exponents[$0 / fan] })
                guard touched.count == 1 else {
                    throw fail("group \(g) spans channels with different weight exponents \(touched.sorted())")
                }
                var next = 0
                for segment in weightGroup.segments {
                    guard segment.start == next, segment.count > 0 else {
                        throw fail(
                            "group \(g): segments must be contiguous and non-empty from rank 0 (segment at \(segment.start))"
                        )
                    }
                    let terms = (compression.degree ?? 0) + 1
                    guard segment.coefficients.count == terms else {
                        throw fail(
                            "group \(g): a \(compression.method.rawValue) segment has \(terms) coefficients, not \(segment.coefficients.count)"
                        )
                    }
                    if let bad = segment.coefficients.first(where: { !(-limit...limit).contains($0) }) {
                        throw fail("group \(g): coefficient \(bad) is outside ±\(limit) (\(bits) bits)")
                    }
                    // |C0| + |C1| j + |C2| j^2 bounds every code of the segment; kept far from Int's range.
                    let j = segment.count - 1
                    let bound = segment.coefficients.enumerated().reduce(0) { sum, term in
                        let power = (0..<term.offset).reduce(1) { product, _ in
                            FixedPoint.saturatingMultiply(product, j)
                        }
                        return FixedPoint.saturatingAdd(sum, FixedPoint.saturatingMultiply(abs(term.element), power))
                    }
                    guard bound <= 1 << 40 else {
                        throw fail(
                            "group \(g): the coefficients of the segment at rank \(segment.start) give codes beyond ±2^40"
                        )
                    }
                    next += segment.count
                }
                guard next == weightGroup.order.count else {
                    throw fail("group \(g): segments cover \(next) of \(weightGroup.order.count) ranks")
                }
            }
            // Every weight is in a group, except M4's taps outside the kernel windows, which stay zero.
            guard seen.indices.allSatisfy({ seen[$0] || !layer.isLive($0) }) else {
                throw fail("the groups do not cover all \(count) weights")
            }
        case .swc:
            guard let codebook = compression.codebook?.rawValue else {
                throw fail("codebook must be 'uniform' or 'pow2'")
            }
            guard let codeBits = compression.codeBits, (2...8).contains(codeBits),
                let scaleBits = compression.scaleBits, (2...32).contains(scaleBits),
                let scales = compression.scales, let codes = compression.codes
            else {
                throw fail("an swc compression needs code_bits (2 to 8), scale_bits (2 to 32), scales and codes")
            }
            guard scales.count == channels, codes.count == count else {
                throw fail("scales (\(scales.count)) and codes (\(codes.count)) do not match weight_shape \(shape)")
            }
            if let bad = scales.first(where: { $0 < 0 || $0 > (1 << (scaleBits - 1)) - 1 }) {
                throw fail("scale \(bad) is outside 0...\((1 << (scaleBits - 1)) - 1) (\(scaleBits) bits)")
            }
            if let bad = codes.first(where: { !compression.isCode($0) }) {
                throw fail("code \(bad) is not in the \(codeBits)-bit \(codebook) code book")
            }
        }
    }
}

extension QuantizedModel {
    /// M4's record: one centred window per output channel of a square convolution kernel, of the same parity as
    /// the kernel, with every weight outside it zero.
    func validateKernelSizes(
        _ sizes: [Int], weights: [Int], shape: [Int], kind: Kind, fail: (String) -> QuantizationError
    ) throws {
        guard kind == .conv2d, shape.count == 4, shape[2] == shape[3] else {
            throw fail("kernel_sizes apply to square convolution kernels only")
        }
        let (channels, kernel) = (shape[0], shape[2])
        guard sizes.count == channels else {
            throw fail("kernel_sizes (\(sizes.count)) do not match the \(channels) output channels")
        }
        let fan = weights.count / channels
        for (c, size) in sizes.enumerated() {
            guard size >= 1, size <= kernel, (kernel - size) % 2 == 0 else {
                throw fail("kernel_sizes[\(c)] = \(size) is not a centred window of the \(kernel)x\(kernel) kernel")
            }
            let low = (kernel - size) / 2, high = low + size
            for k in 0..<fan {
                let (ky, kx) = ((k / kernel) % kernel, k % kernel)
                if (ky < low || ky >= high || kx < low || kx >= high) && weights[c * fan + k] != 0 {
                    throw fail(
                        "channel \(c) has a nonzero weight at (\(ky), \(kx)), outside its \(size)x\(size) window")
                }
            }
        }
    }
}

extension QuantizedModel {
    /// M3's record: a convolution's channels, each approximated once, from sources that are computed (not
    /// approximated) and distinct, with coefficients inside their width; the approximated channels' own
    /// weights are all zero.
    func validate(
        _ record: ApproximatedFeatures, layer: Layer, weights: [Int], channels: Int, fail: (String) -> QuantizationError
    ) throws {
        func bad(_ reason: String) -> QuantizationError { fail("approximated_features: " + reason) }
        guard layer.kind == .conv2d, !(layer.logits ?? false) else { throw bad("apply to convolutions only") }
        guard (2...24).contains(record.coefficientBits) else {
            throw bad("coefficient_bits \(record.coefficientBits) is outside 2...24")
        }
        let limit = (1 << (record.coefficientBits - 1)) - 1
        let approximated = record.channels
        guard approximated.count == record.features.count else { throw bad("a channel is approximated twice") }
        let fan = weights.count / channels
        for feature in record.features {
            let j = feature.channel
            guard (0..<channels).contains(j) else {
                throw bad("channel \(j) is not among the \(channels) output channels")
            }
            guard !feature.sources.isEmpty, feature.sources.count == feature.coefficients.count else {
                throw bad(
                    "channel \(j) needs as many coefficients (\(feature.coefficients.count)) as sources (\(feature.sources.count)), at least one"
                )
            }
            guard Set(feature.sources).count == feature.sources.count,
                feature.sources.allSatisfy({ (0..<channels).contains($0) && !approximated.contains($0) })
            else {
                throw bad(
                    "channel \(j)'s sources \(feature.sources) must be distinct computed channels of this layer (not approximated)"
                )
            }
            if let code = feature.coefficients.first(where: { abs($0) > limit }) {
                throw bad(
                    "channel \(j)'s coefficient \(code) is outside ±\(limit) (\(record.coefficientBits)-bit symmetric)")
            }
            guard weights[(j * fan)..<((j + 1) * fan)].allSatisfy({ $0 == 0 }) else {
                throw bad("channel \(j) is approximated but has nonzero weights")
            }
        }
    }
}

extension QuantizedModel.Layer {
    /// Whether weight `index` (IR order) is computed: false for the taps of M3's approximated channels and for
    /// M4's taps outside a channel's window.
    public func isLive(_ index: Int) -> Bool {
        guard let shape = weightShape else { return true }
        if let features = approximatedFeatures {
            let channel = index / (shape.reduce(1, *) / shape[0])
            if features.features.contains(where: { $0.channel == channel }) { return false }
        }
        guard let sizes = kernelSizes, shape.count == 4 else { return true }
        let kernel = shape[2], fan = shape[1] * kernel * kernel
        let size = sizes[index / fan], low = (kernel - size) / 2
        let (ky, kx) = ((index % fan / kernel) % kernel, index % kernel)
        return ky >= low && ky < low + size && kx >= low && kx < low + size
    }
}
