import Foundation
import GoldenModel
import Quantization

/// M4, kernel size reduction (DESIGN.md section 2), on one convolution of a quantized model: every output
/// channel keeps the centred `size x size` window of its kernel. The kept weights are refit by least squares so
/// that the layer's outputs on calibration windows change as little as possible (with a bias correction), or
/// only cropped (`refit: false`, the fallback); then they are quantized again (docs/arithmetic.md section 6:
/// the smallest exponent that holds them) and the accumulator width and shifts are settled again. The result is
/// a plain quantized model whose zeros outside the windows are recorded in `kernelSizes` (and checked).
public enum KernelReducer {
    /// `channels`: the output channels to reduce (default all); the others keep their kernels, codes, exponents and
    /// biases (the budget search reduces a layer channel by channel). A channel already reduced keeps its record
    /// unless chosen again.
    public static func reduce(
        _ model: QuantizedModel, layer name: String, size: Int, pixels: [UInt8], images: Int,
        refit: Bool = true, channels chosen: Set<Int>? = nil, windowLimit: Int = 4000
    ) throws -> QuantizedModel {
        guard let index = model.layers.firstIndex(where: { $0.name == name }) else {
            throw QuantizationError(layer: name, "no layer of this name")
        }
        var layer = model.layers[index]
        guard layer.kind == .conv2d, let (shape, codes, exponents) = try? layer.plainWeights(), shape.count == 4,
            shape[2] == shape[3]
        else {
            throw QuantizationError(
                layer: name, "kernel size reduction needs an uncompressed convolution with a square kernel")
        }
        let (channels, inputChannels, kernel) = (shape[0], shape[1], shape[2])
        guard size >= 1, size < kernel, (kernel - size) % 2 == 0 else {
            throw QuantizationError(
                layer: name, "a \(size)x\(size) window is not a centred reduction of the \(kernel)x\(kernel) kernel")
        }
        let fan = inputChannels * kernel * kernel
        // M3's approximated channels compute no taps: nothing to reduce.
        let approximated = layer.approximatedFeatures?.channels ?? []
        let selected = (chosen ?? Set(0..<channels)).subtracting(approximated)
        guard (chosen ?? []).allSatisfy({ (0..<channels).contains($0) }) else {
            throw QuantizationError(
                layer: name, "channels \((chosen ?? []).sorted()) are not all among the \(channels) output channels")
        }
        let taps = KernelReduction.window(channels: inputChannels, kernel: kernel, reduced: size)

        let real = (0..<(channels * fan)).map { Double(codes[$0]) * pow(2, Double(exponents[$0 / fan])) }
        let (kept, corrections) =
            refit
            ? try leastSquares(
                model, layer: layer, taps: taps, real: real, pixels: pixels, images: images, windowLimit: windowLimit)
            : ((0..<channels).map { c in taps.map { real[c * fan + $0] } }, [Double](repeating: 0, count: channels))
        var sizes = layer.kernelSizes ?? [Int](repeating: kernel, count: channels)
        for c in selected { sizes[c] = size }
        let (newCodes, newExponents, newBias) = requantized(
            layer, model: model, kept: kept, corrections: corrections, taps: taps,
            real: real, exponents: exponents, selected: selected)
        let old = layer
        layer.weights = newCodes
        layer.kernelSizes = sizes
        try layer.settleKeepingFeatures(
            of: old, effectiveWeights: newCodes, exponents: newExponents, bias: newBias, in: model)
        var result = model
        result.layers[index] = layer
        try result.validate()
        return result
    }

    /// The kept taps refit by least squares (with a bias correction per channel) so that the layer's outputs on
    /// calibration windows, in real units and spread over the images and output pixels, change the least.
    static func leastSquares(
        _ model: QuantizedModel, layer: QuantizedModel.Layer, taps: [Int], real: [Double], pixels: [UInt8],
        images: Int, windowLimit: Int
    ) throws -> (kept: [[Double]], corrections: [Double]) {
        let golden = try GoldenModel(model)
        let function = try LayerFunction(model: model, layer: layer.name)
        let tensors = golden.layerInputs(of: layer.name, pixels: pixels, count: images)
        let inputShape = golden.inputShape(of: layer)
        let channels = layer.bias?.count ?? 0, fan = real.count / max(channels, 1)
        let total = images * function.pixels
        let unit = pow(2, Double(layer.inputExponent))
        var system = NormalEquations(columns: taps.count + 1, rightHandSides: channels)
        var row = [Double](repeating: 1, count: taps.count + 1)
        var targets = [Double](repeating: 0, count: channels)
        for sample in stride(from: 0, to: total, by: max(1, total / windowLimit)) {
            let window = function.window(
                of: tensors[sample / function.pixels], inputShape: inputShape, pixel: sample % function.pixels)
            for (i, t) in taps.enumerated() { row[i] = Double(window[t]) * unit }
            for c in 0..<channels {
                var y = 0.0
                for k in 0..<fan where window[k] != 0 { y += real[c * fan + k] * Double(window[k]) }
                targets[c] = y * unit
            }
            system.add(row, targets)
        }
        let solutions = system.solve()
        return (solutions.map { Array($0.prefix(taps.count)) }, solutions.map { $0[taps.count] })
    }

    /// Quantized again: per channel (or one exponent for the layer), the smallest exponent that holds the codes;
    /// the channels not `selected` keep their real weights and bias at the (possibly common) exponent.
    static func requantized(
        _ layer: QuantizedModel.Layer, model: QuantizedModel, kept: [[Double]], corrections: [Double], taps: [Int],
        real: [Double], exponents: [Int], selected: Set<Int>
    ) -> (codes: [Int], exponents: [Int], bias: [Int]) {
        let channels = kept.count, fan = real.count / max(channels, 1)
        let limit = (1 << (model.weightBits - 1)) - 1
        let magnitudes = kept.map { $0.map(abs).max() ?? 0 }
        var newExponents = (0..<channels).map {
            selected.contains($0) ? FixedPoint.exponent(forMagnitude: magnitudes[$0], limit: limit) : exponents[$0]
        }
        if model.weightScale == "layer" {
            // One exponent for the layer: the channels left alone keep their codes only if it does not change.
            let peaks = (0..<channels).map {
                selected.contains($0) ? magnitudes[$0] : real[($0 * fan)..<(($0 + 1) * fan)].map(abs).max() ?? 0
            }
            let common = FixedPoint.exponent(forMagnitude: peaks.max() ?? 0, limit: limit)
            newExponents = newExponents.map { _ in common }
        }
        var newCodes = [Int](repeating: 0, count: channels * fan)
        let bias = layer.bias ?? []
        var newBias = bias
        for c in 0..<channels {
            let realBias = Double(bias[c]) * pow(2, Double(exponents[c] + layer.inputExponent))
            if selected.contains(c) {
                for (i, t) in taps.enumerated() {
                    newCodes[c * fan + t] = min(
                        max(FixedPoint.code(kept[c][i], exponent: newExponents[c]), -limit), limit)
                }
                newBias[c] = FixedPoint.code(realBias + corrections[c], exponent: newExponents[c] + layer.inputExponent)
            } else {
                for k in 0..<fan {
                    newCodes[c * fan + k] = FixedPoint.code(real[c * fan + k], exponent: newExponents[c])
                }
                newBias[c] = FixedPoint.code(realBias, exponent: newExponents[c] + layer.inputExponent)
            }
        }
        return (newCodes, newExponents, newBias)
    }
}
