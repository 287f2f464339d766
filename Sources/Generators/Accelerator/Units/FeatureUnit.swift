import Quantization

/// The feature-approximation unit (M3, `--extensions feature`): a layer's approximated channels form tiles of their
/// own after the computed ones, computed from the kept accumulators of their sources in one step per source (the
/// MAC array's lowering lays the feature tiles out). The unit keeps the computed tiles of a pixel and multiplies
/// each source by its coefficient.
final class FeatureUnit: AcceleratorUnit {
    static let name = "feature"
    static let configKey = "featureUnit"
    static func make(_ config: AcceleratorConfig) -> FeatureUnit? { config.featureUnit ? FeatureUnit() : nil }

    /// The most computed tiles of a layer with features, the widest coefficient.
    var keptTiles = 1, coefficientWidth = 2

    func lower(_ layer: inout WeightedLowering) throws {
        guard !layer.features.isEmpty else { return }
        keptTiles = max(keptTiles, layer.computedTiles)
        if let bits = layer.layer.approximatedFeatures?.coefficientBits {
            coefficientWidth = max(coefficientWidth, bits)
        }
    }

    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws {
        network.keptTiles = keptTiles
        network.coefficientWidth = coefficientWidth
    }

    func verify(_ network: CompiledNetwork, model: QuantizedModel) throws {
        // A feature step's lane (source index, coefficient) shares the SB's lane bits with the MAC words.
        guard network.sourceWidth + network.coefficientWidth <= network.laneBits else {
            throw CompileError(
                layer: model.input.name,
                "a feature step's lane (\(network.sourceWidth)-bit source, \(network.coefficientWidth)-bit coefficient) does not fit the SB's \(network.laneBits) bits per lane"
            )
        }
    }

    static func parameters(_ n: CompiledNetwork) -> [(String, Int)] {
        [
            ("FeatureUnit", n.config.featureUnit ? 1 : 0), ("KeptTiles", n.keptTiles), ("SourceWidth", n.sourceWidth),
            ("CoefWidth", n.coefficientWidth),
        ]
    }
}
