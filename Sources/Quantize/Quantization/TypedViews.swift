/// Typed views of the model file's optional fields: what each kind of layer and each compression method must
/// carry, with no optional left. The file is checked once (`validate()`, which builds these views); code past that
/// reads them instead of force-unwrapping the stored optionals, and an unvalidated value gets an error naming the
/// layer, not a trap.
extension QuantizedModel.Layer {
    /// A convolution's or pooling layer's window.
    public struct Window: Equatable, Sendable {
        public var kernelHeight: Int, kernelWidth: Int
        public var strideHeight: Int, strideWidth: Int
        public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    }

    /// A convolution's or dense layer's numbers: the weight shape, the (approximated) weight codes, one exponent,
    /// bias code and shift per output channel, the accumulator width.
    public struct Numbers: Sendable {
        public var shape: [Int]
        public var weights: [Int]
        public var exponents: [Int]
        public var bias: [Int]
        public var shifts: [Int]
        public var accumulatorBits: Int
        public var channels: Int { shape[0] }
        /// Weights per output channel.
        public var fan: Int { weights.count / max(shape[0], 1) }
    }

    /// The layer by kind, with the fields that kind needs.
    public enum Op: Sendable {
        case conv2d(Window, Numbers)
        case dense(Numbers)
        case maxPool(Window), averagePool(Window)
        case activation(PiecewiseLinear)
        case relu, flatten, reshape
        /// A residual add: the addend's name and exponent.
        case add(addend: String, exponent: Int)
    }

    public func window() throws -> Window {
        guard let k = kernel, let s = stride, let p = pads, k.count == 2, s.count == 2, p.count == 4 else {
            throw QuantizationError(
                layer: name, "a \(kind.rawValue) layer needs kernel [kH, kW], stride [sH, sW] and pads [t, l, b, r]")
        }
        return Window(
            kernelHeight: k[0], kernelWidth: k[1], strideHeight: s[0], strideWidth: s[1],
            padTop: p[0], padLeft: p[1], padBottom: p[2], padRight: p[3])
    }

    public func numbers() throws -> Numbers {
        guard let shape = weightShape, !shape.isEmpty, let exponents = weightExponents, let bias, let shifts,
            let accumulatorBits, let weights = effectiveWeights
        else {
            throw QuantizationError(
                layer: name,
                "a \(kind.rawValue) layer needs weight_shape, weights or a compression, weight_exponents, bias, accumulator_bits and shifts"
            )
        }
        return Numbers(
            shape: shape, weights: weights, exponents: exponents, bias: bias, shifts: shifts,
            accumulatorBits: accumulatorBits)
    }

    public func op() throws -> Op {
        switch kind {
        case .conv2d: return .conv2d(try window(), try numbers())
        case .dense: return .dense(try numbers())
        case .maxPool: return .maxPool(try window())
        case .averagePool: return .averagePool(try window())
        case .activation:
            guard let activation else { throw QuantizationError(layer: name, "an activation layer needs its table") }
            return .activation(activation)
        case .relu: return .relu
        case .flatten: return .flatten
        case .reshape: return .reshape
        case .add:
            guard let addend, let addendExponent else {
                throw QuantizationError(layer: name, "an add layer needs addend and addend_exponent")
            }
            return .add(addend: addend, exponent: addendExponent)
        }
    }
}

extension Compression {
    /// M1: the polynomial degree, the grouping, the coefficient width and the groups.
    public struct Sorted: Sendable {
        public var degree: Int
        public var grouping: Grouping
        public var coefficientBits: Int
        public var groups: [WeightGroup]
    }

    /// M2: the code book, the code and scale widths, one scale per output channel, one code per weight.
    public struct Scaled: Sendable {
        public var codebook: Codebook
        public var codeBits: Int
        public var scaleBits: Int
        public var scales: [Int]
        public var codes: [Int]
    }

    /// The method with its parameters.
    public enum Form: Sendable {
        case sorted(Sorted)
        case scaled(Scaled)
    }

    public func form() throws -> Form {
        switch method {
        case .linear, .quadratic:
            guard let group, let coefficientBits, let groups else {
                throw QuantizationError(
                    layer: "compression", "\(method.rawValue) needs group, coefficient_bits and groups")
            }
            return .sorted(
                Sorted(
                    degree: method == .linear ? 1 : 2, grouping: group, coefficientBits: coefficientBits, groups: groups
                ))
        case .swc:
            guard let codebook, let codeBits, let scaleBits, let scales, let codes else {
                throw QuantizationError(
                    layer: "compression", "swc needs codebook, code_bits, scale_bits, scales and codes")
            }
            return .scaled(
                Scaled(codebook: codebook, codeBits: codeBits, scaleBits: scaleBits, scales: scales, codes: codes))
        }
    }
}
