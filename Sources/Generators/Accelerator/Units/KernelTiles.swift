import Quantization

/// Reduced-kernel tiles (M4, `--extensions kernel`): a convolution's computed channels are ordered by kernel size,
/// largest first, so that tiles whose channels all have a smaller kernel step over its centred window only.
final class KernelTiles: AcceleratorUnit {
    static let name = "kernel"
    static let configKey = "kernelTiles"
    static func make(_ config: AcceleratorConfig) -> KernelTiles? { config.kernelTiles ? KernelTiles() : nil }

    func prepare(_ layer: inout WeightedLowering) throws {
        let full = max(layer.kernel.height, layer.kernel.width)
        let sizes = layer.layer.kernelSizes ?? [Int](repeating: full, count: layer.outChannels)
        // Stable: equal sizes keep the model's order.
        layer.computed = layer.computed.enumerated().sorted { (sizes[$0.1], -$0.0) > (sizes[$1.1], -$1.0) }.map(\.1)
        if layer.layer.kind == .conv2d { layer.tileSizes = sizes }
    }
}
