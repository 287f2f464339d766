import Quantization

/// A convolution whose weight codes are all zero outside a centred `s x s` window (M4 reduced every channel alike)
/// is compiled as the `s x s` convolution it is: the window's codes, every pad less the margin `(K - s) / 2`.
/// Output pixels, windows and sums are the same (the taps dropped hold zeros, and each window's origin moves in by
/// the margin exactly as the pads shrink), so the golden model of the model as given stays the reference, bit for
/// bit; every mapping (the loader's patches, pixel lanes, strips) then sees the smaller kernel. Layers whose pads
/// are smaller than the margin, compressed layers, and layers with M3 channels keep their kernels (reduced-kernel
/// tiles still skip the zeros).
extension NetworkCompiler {
    static func shrinkingKernels(_ model: QuantizedModel) throws -> QuantizedModel {
        var result = model
        for index in result.layers.indices {
            if let shrunk = try shrunk(result.layers[index]) { result.layers[index] = shrunk }
        }
        return result
    }

    /// The layer as its smallest centred window, or nil when it has no smaller one that the pads allow.
    static func shrunk(_ layer: QuantizedModel.Layer) throws -> QuantizedModel.Layer? {
        guard layer.kind == .conv2d, layer.compression == nil, layer.approximatedFeatures == nil,
            let shape = layer.weightShape, shape.count == 4, shape[2] == shape[3], let codes = layer.weights,
            let pads = layer.pads, pads.count == 4
        else { return nil }
        let (channels, inputs, kernel) = (shape[0], shape[1], shape[2])
        // The widest margin whose ring of taps holds only zeros, as far as every pad allows.
        var margin = 0
        while margin + 1 <= pads.min()!, kernel - 2 * (margin + 1) >= 1 {
            let next = margin + 1, inner = next..<(kernel - next)
            let zeroRing = (0..<(channels * inputs)).allSatisfy { plane in
                (0..<kernel).allSatisfy { y in
                    (0..<kernel).allSatisfy { x in
                        (inner.contains(y) && inner.contains(x)) || codes[(plane * kernel + y) * kernel + x] == 0
                    }
                }
            }
            guard zeroRing else { break }
            margin = next
        }
        guard margin > 0 else { return nil }
        let size = kernel - 2 * margin
        var layer = layer
        layer.weights = (0..<(channels * inputs)).flatMap { plane in
            (margin..<(kernel - margin)).flatMap { y in
                (margin..<(kernel - margin)).map { x in codes[(plane * kernel + y) * kernel + x] }
            }
        }
        layer.weightShape = [channels, inputs, size, size]
        layer.kernel = [size, size]
        layer.pads = pads.map { $0 - margin }
        layer.kernelSizes = layer.kernelSizes.map { sizes in sizes.map { min($0, size) } }
        if layer.kernelSizes?.allSatisfy({ $0 == size }) ?? false { layer.kernelSizes = nil }
        return layer
    }
}
