import Foundation
import NetworkIR

extension QuantizedModel {
    /// Checks everything the golden model and the generators rely on: version, widths, references, shapes,
    /// code ranges, exponents and shifts, and accumulator widths against the interval bound.
    public func validate() throws {
        guard format == QuantizedModel.formatName else {
            throw QuantizationError(layer: "file", "format is '\(format)', expected '\(QuantizedModel.formatName)'")
        }
        guard version == QuantizedModel.currentVersion else {
            throw QuantizationError(layer: "file", "version \(version) is not supported (this approxrtl reads version \(QuantizedModel.currentVersion))")
        }
        for (field, bits) in [("weight_bits", weightBits), ("activation_bits", activationBits)] where !Quantizer.widths.contains(bits) {
            throw QuantizationError(layer: "file", "\(field) \(bits) is outside \(Quantizer.widths)")
        }
        guard (2...62).contains(maxAccumulatorBits) else { throw QuantizationError(layer: "file", "max_accumulator_bits must lie in 2...62") }
        guard weightScale == "channel" || weightScale == "layer" else {
            throw QuantizationError(layer: "file", "weight_scale must be 'channel' or 'layer', not '\(weightScale)'")
        }
        guard input.shape.count == 3, input.shape.allSatisfy({ $0 > 0 }), input.low == 0, input.high == 255, input.exponent == -8 else {
            throw QuantizationError(layer: input.name, "the input must be [C, H, W] pixel codes 0...255 with exponent -8")
        }
        guard !layers.isEmpty else { throw QuantizationError(layer: "file", "no layers") }
        var known: [String: (shape: [Int], exponent: Int, low: Int, high: Int)] = [input.name: (input.shape, input.exponent, input.low, input.high)]
        let activation = FixedPoint.range(bits: activationBits)
        let weightLimit = (1 << (weightBits - 1)) - 1
        for (position, layer) in layers.enumerated() {
            func fail(_ reason: String) -> QuantizationError { QuantizationError(layer: layer.name, reason) }
            guard known[layer.name] == nil else { throw fail("a layer or input of this name already exists") }
            guard let source = known[layer.input] else { throw fail("reads '\(layer.input)', which no earlier layer produces") }
            guard layer.inputExponent == source.exponent else {
                throw fail("input_exponent \(layer.inputExponent) differs from the exponent \(source.exponent) of '\(layer.input)'")
            }
            let isLast = position == layers.count - 1
            guard (layer.logits ?? false) == isLast else {
                throw fail(isLast ? "the last layer must be the logits" : "only the last layer may be the logits")
            }
            let expected: [Int]
            switch layer.kind {
            case .conv2d, .dense:
                guard let shape = layer.weightShape, let weights = layer.weights, let exponents = layer.weightExponents,
                      let bias = layer.bias, let accBits = layer.accumulatorBits, let shifts = layer.shifts else {
                    throw fail("a \(layer.kind.rawValue) layer needs weight_shape, weights, weight_exponents, bias, accumulator_bits and shifts")
                }
                let channels = shape.first ?? 0
                guard shape.allSatisfy({ $0 > 0 }), weights.count == elementCount(shape), exponents.count == channels,
                      bias.count == channels, shifts.count == channels else {
                    throw fail("weights (\(weights.count)), weight_exponents (\(exponents.count)), bias (\(bias.count)) and shifts (\(shifts.count)) do not match weight_shape \(shape)")
                }
                if let bad = weights.first(where: { abs($0) > weightLimit }) {
                    throw fail("weight code \(bad) is outside ±\(weightLimit) (\(weightBits)-bit symmetric)")
                }
                if layer.kind == .conv2d {
                    guard shape.count == 4, source.shape.count == 3, shape[1] == source.shape[0],
                          let geometry = try? window(layer, input: source.shape, kernel: [shape[2], shape[3]]) else {
                        throw fail("weight_shape \(shape), kernel, stride or pads do not fit the input \(source.shape)")
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
                // The stored width must hold the interval bound of every channel (arithmetic.md section 3).
                let fan = weights.count / channels
                for c in 0..<channels {
                    var low = bias[c], high = bias[c]
                    for k in 0..<fan {
                        let q = weights[c * fan + k]
                        low += min(q * source.low, q * source.high)
                        high += max(q * source.low, q * source.high)
                    }
                    guard FixedPoint.range(bits: accBits).contains(low), FixedPoint.range(bits: accBits).contains(high) else {
                        throw fail("channel \(c) can reach \(low)...\(high), which does not fit accumulator_bits \(accBits)")
                    }
                }
                if layer.logits ?? false {
                    guard shifts.allSatisfy({ $0 <= 0 }),
                          zip(exponents, shifts).allSatisfy({ $0 + layer.inputExponent + $1 == layer.outputExponent }) else {
                        throw fail("logit shifts must align every channel to output_exponent \(layer.outputExponent) by left shifts")
                    }
                } else {
                    guard zip(exponents, shifts).allSatisfy({ layer.outputExponent - ($0 + layer.inputExponent) == $1 }) else {
                        throw fail("shifts must equal output_exponent - (weight exponent + input_exponent)")
                    }
                    guard activation.contains(layer.outputLow), activation.contains(layer.outputHigh) else {
                        throw fail("output range \(layer.outputLow)...\(layer.outputHigh) exceeds \(activationBits)-bit codes")
                    }
                }
            case .maxPool, .averagePool:
                guard let kernel = layer.kernel, source.shape.count == 3, let geometry = try? window(layer, input: source.shape, kernel: kernel) else {
                    throw fail("kernel, stride or pads do not fit the input \(source.shape)")
                }
                if layer.kind == .averagePool {
                    let area = kernel[0] * kernel[1]
                    guard area & (area - 1) == 0 else { throw fail("average pooling needs a power-of-two window, not \(kernel)") }
                }
                guard layer.outputExponent == layer.inputExponent else { throw fail("pooling keeps the exponent") }
                expected = [source.shape[0], geometry.0, geometry.1]
            case .relu, .flatten, .reshape:
                guard layer.outputExponent == layer.inputExponent else { throw fail("\(layer.kind.rawValue) keeps the exponent") }
                expected = layer.kind == .flatten ? [elementCount(source.shape)] : layer.kind == .relu ? source.shape : layer.shape
                guard elementCount(layer.shape) == elementCount(source.shape) else { throw fail("shape \(layer.shape) does not hold the \(elementCount(source.shape)) input values") }
            }
            guard layer.shape == expected else { throw fail("shape \(layer.shape) should be \(expected)") }
            guard layer.outputLow <= layer.outputHigh else { throw fail("output_low exceeds output_high") }
            known[layer.name] = (layer.shape, layer.outputExponent, layer.outputLow, layer.outputHigh)
        }
    }

    /// Output rows and columns of a window op (floor formula); throws when the fields are missing or inconsistent.
    private func window(_ layer: Layer, input: [Int], kernel: [Int]) throws -> (Int, Int) {
        guard let stride = layer.stride, let pads = layer.pads, kernel.count == 2, stride.count == 2, pads.count == 4,
              kernel.allSatisfy({ $0 > 0 }), stride.allSatisfy({ $0 > 0 }), pads.allSatisfy({ $0 >= 0 }) else {
            throw QuantizationError(layer: layer.name, "kernel, stride or pads missing")
        }
        let h = (input[1] + pads[0] + pads[2] - kernel[0]) / stride[0] + 1
        let w = (input[2] + pads[1] + pads[3] - kernel[1]) / stride[1] + 1
        guard h > 0, w > 0 else { throw QuantizationError(layer: layer.name, "window larger than the padded input") }
        return (h, w)
    }
}
