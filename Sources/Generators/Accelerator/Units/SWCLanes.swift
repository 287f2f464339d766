import Quantization

/// SWC lanes (M2, `--extensions swc`): the SB holds the scaling-weight codes, NFU-1 multiplies by codes (or shifts,
/// with power-of-two codes) and NFU-3 applies one MAW multiply per output with the channel's scale. Every layer
/// shares one code book; a layer without M2 runs its plain codes with scale 1 (uniform lanes only).
final class SWCLanes: AcceleratorUnit {
    static let name = "swc"
    static func make(_ config: AcceleratorConfig) -> SWCLanes? { config.swc ? SWCLanes() : nil }

    /// The code book every layer shares, the widest code and scale, the largest power-of-two shift.
    var codebook: Codebook?
    var codeWidth = 1, scaleWidth = 1, largestShift = 0

    func prepare(_ layer: inout WeightedLowering) throws {
        if !layer.features.isEmpty { throw layer.fail("approximated features (M3) with SWC lanes are not supported") }
        guard let compression = layer.layer.compression, case .scaled(let m2) = try compression.form() else {
            if codebook == .pow2 {
                throw layer.fail("not compressed with SWC, and the SWC lanes take power-of-two codes only")
            }
            codebook = codebook ?? .uniform
            codeWidth = max(codeWidth, FixedPoint.width(low: layer.weights.min() ?? 0, high: layer.weights.max() ?? 0))
            return
        }
        let book = m2.codebook
        if let codebook, codebook != book {
            throw layer.fail(
                "SWC lanes need one codebook; this layer's is \(book.rawValue), an earlier one's \(codebook.rawValue)")
        }
        codebook = book
        layer.scales = m2.scales
        layer.weights = m2.codes
        codeWidth = max(codeWidth, m2.codeBits)
        scaleWidth = max(scaleWidth, bitsFor(layer.scales.max() ?? 0))
        if book == .pow2 {
            largestShift = max(
                largestShift, layer.weights.map { $0 == 0 ? 0 : abs($0).trailingZeroBitCount }.max() ?? 0)
            layer.weights = layer.weights.map { NetworkCompiler.powerOfTwoLane($0, bits: m2.codeBits) }
        }
    }

    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws {
        network.powerOfTwoCodes = codebook == .pow2
        network.weightWidth = codeWidth
        network.scaleWidth = scaleWidth
        // A product: code times x, or x shifted by the largest power-of-two code and negated.
        network.productWidth =
            network.powerOfTwoCodes ? network.dataWidth + largestShift + 1 : network.dataWidth + codeWidth
    }

    static func parameters(_ n: CompiledNetwork) -> [(String, Int)] {
        [("Swc", n.config.swc ? 1 : 0), ("Pow2Codes", n.powerOfTwoCodes ? 1 : 0), ("ScaleWidth", n.scaleWidth)]
    }
}
