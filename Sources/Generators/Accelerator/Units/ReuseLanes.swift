import GoldenModel
import Quantization

/// M1 reuse lanes (`--extensions reuse`): a layer compressed with sorted-weight approximation gathers each pixel's
/// window into the lanes' window memories (the gather tile, over the whole kernel) and scans every output
/// channel's members in its own sorted order (additions, and a coefficient multiply per part); without other
/// weighted layers the Tn x Tn multipliers are left out.
final class ReuseLanes: AcceleratorUnit {
    static let name = "reuse"
    static func make(_ config: AcceleratorConfig) -> ReuseLanes? { config.reuse ? ReuseLanes() : nil }

    var lanes: CompiledNetwork.ReuseLanes?
    var layers = 0
    /// The reuse form of the layer being lowered (built once, in prepare).
    var plan: ReusePlan?

    func check(_ config: AcceleratorConfig, model: QuantizedModel) throws {
        // The reuse lanes' terms meet the adder trees' sums after log2(Tn) + 2 cycles, no sooner than their own 4.
        guard config.tn >= 4 else {
            throw CompileError(layer: model.input.name, "the reuse lanes need Tn >= 4, not \(config.tn)")
        }
        guard !config.swc else {
            throw CompileError(
                layer: model.input.name, "the reuse lanes (M1) and SWC lanes (M2) are not combined in one design")
        }
    }

    func prepare(_ layer: inout WeightedLowering) throws {
        // The layer's M1 reuse form, when it has one of degree 1 or 2.
        plan = layer.layer.compression.map { ReusePlan($0, weightShape: layer.numbers.shape) }.flatMap {
            $0.degree >= 1 ? $0 : nil
        }
        guard plan != nil else { return }
        if !layer.features.isEmpty {
            throw layer.fail("approximated features (M3) in a layer on the reuse lanes (M1) are not supported")
        }
        layer.onMacArray = false
        layers += 1
    }

    func lower(_ layer: inout WeightedLowering) throws {
        guard let plan else { return }
        let tn = layer.tn, kernel = layer.kernel
        let (rows, columns) = (layer.patches?.rows ?? 1, layer.patches?.columns ?? 1)
        let scan = try NetworkCompiler.reuseScan(
            plan, order: layer.order, source: layer.source, kernel: kernel, patches: layer.patches,
            tn: tn, fail: layer.fail)
        // The gather tile comes first; its bias/shift word is never read.
        let zeros = [Int](repeating: 0, count: tn)
        layer.paramWords.insert(.init(bias: zeros, shift: zeros, scale: zeros), at: 0)
        layer.descriptors =
            [
                TileDescriptor(
                    .gather, kernelHeight: (kernel.height + rows - 1) / rows,
                    kernelWidth: (kernel.width + columns - 1) / columns)
            ]
            + scan.tileSteps.map { TileDescriptor(.scan, steps: $0) }
        layer.instruction.reuse = true
        layer.instruction.outputTiles += 1
        layer.words = scan.words
        let gatherWords = layer.descriptors[0].stepCount(inputTiles: layer.source.tiles)
        lanes = CompiledNetwork.ReuseLanes(
            windowWords: max(lanes?.windowWords ?? 1, gatherWords), dWidth: max(lanes?.dWidth ?? 1, scan.dWidth),
            eWidth: max(lanes?.eWidth ?? 1, scan.eWidth), terms: max(lanes?.terms ?? 2, plan.degree + 1),
            coefficientWidth: max(lanes?.coefficientWidth ?? 2, scan.coefficientWidth))
    }

    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws {
        guard layers > 0, let lanes else {
            throw CompileError(
                layer: model.input.name,
                "--extensions reuse: no layer is compressed with sorted-weight approximation (M1: linear or quadratic)")
        }
        network.reuse = lanes
        // Coefficients and rank steps are extended to the accumulator (any width above the bound is exact).
        network.accumulatorWidth = max(
            network.accumulatorWidth, lanes.coefficientWidth + 1, lanes.dWidth + 1, lanes.eWidth + 1)
    }

    static func parameters(_ n: CompiledNetwork) -> [(String, Int)] {
        [
            ("Reuse", n.reuse == nil ? 0 : 1), ("WindowWords", n.reuse?.windowWords ?? 1),
            ("WindowAddrWidth", n.reuse?.windowAddressWidth ?? 1),
            ("DWidth", n.reuse?.dWidth ?? 1), ("EWidth", n.reuse?.eWidth ?? 1), ("Terms", n.reuse?.terms ?? 2),
            ("ReuseCoefWidth", n.reuse?.coefficientWidth ?? 2),
        ]
    }
}
