import Foundation
import GoldenModel
import Quantization

public enum NetworkCompiler {
    /// An SWC lane for a power-of-two code: the sign in the top bit, then 0 for zero or k + 1 for 2^k.
    static func powerOfTwoLane(_ code: Int, bits: Int) -> Int {
        code == 0 ? 0 : (code < 0 ? 1 << (bits - 1) : 0) | (abs(code).trailingZeroBitCount + 1)
    }

    /// An activation map in a buffer: `order[p]` is the model's channel at physical channel p (nil: an idle lane
    /// that holds 0), so a layer may store its channels in any order (a function-preserving permutation the
    /// next layer's weights follow). `image`: the map is the image in the image buffer (bank: the buffer its
    /// reader does not write).
    struct Map {
        var order: [Int?]; var height: Int; var width: Int; var bank: Int; var tiles: Int
        var image = false
        /// A strip map's layout (its fused pool packs several pixels per word, `tiles` = its groups); nil: none.
        var strip: StripLayout? = nil
    }

    /// Compiles `model` for the accelerator: every conv, dense and pooling layer becomes one instruction (M4's
    /// reduced-kernel tiles and M3's feature tiles add tiles of their own); a flatten (or a reshape to a
    /// vector) is free, since a dense layer after it reads the map as a convolution whose kernel covers the map.
    /// The active units (AcceleratorUnit) take their part in each weighted layer and add their widths and sizes.
    /// Refuses, naming the layer, what the accelerator cannot run.
    public static func compile(_ model: QuantizedModel, config: AcceleratorConfig = AcceleratorConfig()) throws
        -> CompiledNetwork
    {
        let tn = config.tn
        guard tn >= 2, tn <= 64 else { throw CompileError(layer: model.input.name, "Tn must be 2 to 64, not \(tn)") }
        let units = AcceleratorUnits.active(config)
        for unit in units { try unit.check(config, model: model) }
        let input = model.input.shape
        guard input.count == 3, input[0] <= tn else {
            throw CompileError(
                layer: model.input.name,
                "the image loader puts a pixel's channels on the lanes: at most Tn, not \(input)")
        }
        try model.validate()
        // Convolutions that M4 reduced alike run as the smaller convolutions they are (KernelShrinking.swift).
        let model = try shrinkingKernels(model)
        try model.validate()
        var builder = ProgramBuilder(model: model, config: config, units: units)
        for (position, layer) in model.layers.enumerated() {
            builder.position = position
            try builder.add(layer, last: position == model.layers.count - 1)
        }
        return try builder.finish()
    }
}
