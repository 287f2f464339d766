import GoldenModel
import Quantization

/// M1 reuse (`--extensions reuse`), in one of two forms chosen from the compressed model:
/// - **factored lanes**, when every M1 layer's output channels have at most Tn / 2 distinct nonzero weights (the
///   weights repeat: constant segments, or few codes): the layer keeps the MAC array's steps and mapping, and each
///   output lane sums the inputs that share a weight and multiplies each sum once (Tn / 2 multipliers per lane or
///   fewer instead of Tn);
/// - **reuse lanes** otherwise: a layer gathers each pixel's window into the lanes' window memories (the gather
///   tile, over the whole kernel) and scans every output channel's members in its own sorted order (additions,
///   and a coefficient multiply per part).
/// Without other weighted layers the Tn x Tn multipliers are left out.
final class ReuseLanes: AcceleratorUnit {
    static let name = "reuse"
    static func make(_ config: AcceleratorConfig) -> ReuseLanes? { config.reuse ? ReuseLanes() : nil }

    var lanes: CompiledNetwork.ReuseLanes?
    var factoredLanes: CompiledNetwork.FactoredLanes?
    var layers = 0
    /// The reuse form of the layer being lowered (built once, in prepare).
    var plan: ReusePlan?
    /// The most distinct nonzero weights of any M1 layer's output channel, and whether that is few enough for the
    /// factored lanes (set by check).
    var distinct = 0
    var factoredForm = false

    func check(_ config: AcceleratorConfig, model: QuantizedModel) throws {
        // The reuse lanes' terms meet the adder trees' sums after log2(Tn) + 2 cycles, no sooner than their own 4.
        guard config.tn >= 4 else {
            throw CompileError(layer: model.input.name, "the reuse lanes need Tn >= 4, not \(config.tn)")
        }
        guard !config.swc else {
            throw CompileError(
                layer: model.input.name, "the reuse lanes (M1) and SWC lanes (M2) are not combined in one design")
        }
        distinct = try Self.distinctWeights(model)
        factoredForm = distinct <= config.tn / 2
    }

    /// The most distinct nonzero weights of any M1 layer's output channel.
    static func distinctWeights(_ model: QuantizedModel) throws -> Int {
        var distinct = 0
        for layer in model.layers where isSortedWeight(layer) {
            let numbers = try layer.numbers()
            let fan = numbers.weights.count / max(1, numbers.channels)
            for c in 0..<numbers.channels {
                distinct = max(distinct, Set(numbers.weights[(c * fan)..<((c + 1) * fan)].filter { $0 != 0 }).count)
            }
        }
        return distinct
    }

    /// Whether `layer` runs on the scanning reuse lanes (with their own lane order: no pixel lanes, no strips).
    static func scans(_ layer: QuantizedModel.Layer, model: QuantizedModel, config: AcceleratorConfig) -> Bool {
        guard config.reuse, isSortedWeight(layer) else { return false }
        return ((try? distinctWeights(model)) ?? Int.max) > config.tn / 2
    }

    /// The layer is compressed with M1 (linear or quadratic sorted-weight approximation).
    static func isSortedWeight(_ layer: QuantizedModel.Layer) -> Bool {
        guard let method = layer.compression?.method else { return false }
        return method == .linear || method == .quadratic
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
        if factoredForm { layer.factored = true } else { layer.onMacArray = false }
        layers += 1
    }

    func lower(_ layer: inout WeightedLowering) throws {
        guard let plan else { return }
        if factoredForm { return lowerFactored(&layer) }
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

    /// The MAC array's tiles and steps, each word's weights re-coded per output lane as indices into its distinct
    /// values.
    func lowerFactored(_ layer: inout WeightedLowering) {
        if layer.descriptors.isEmpty { layer.lowerOnMacArray() }
        let tn = layer.tn
        var values = factoredLanes?.values ?? 1
        layer.words = layer.words.map { word in
            guard case .weights(let weights) = word else { return word }
            let lanes = (0..<tn).map { o in CompiledNetwork.Factors(weights: Array(weights[(o * tn)..<((o + 1) * tn)]))
            }
            values = max(values, lanes.map(\.values.count).max() ?? 0)
            return .factors(lanes)
        }
        layer.instruction.factored = true
        let width = FixedPoint.width(low: layer.weights.min() ?? 0, high: layer.weights.max() ?? 0)
        factoredLanes = .init(values: values, valueWidth: max(factoredLanes?.valueWidth ?? 2, width))
    }

    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws {
        if factoredForm {
            guard layers > 0, let factoredLanes else { throw Self.noLayer(model) }
            network.factored = factoredLanes
            return
        }
        guard layers > 0, let lanes else { throw Self.noLayer(model) }
        network.reuse = lanes
        // Coefficients and rank steps are extended to the accumulator (any width above the bound is exact).
        network.accumulatorWidth = max(
            network.accumulatorWidth, lanes.coefficientWidth + 1, lanes.dWidth + 1, lanes.eWidth + 1)
    }

    static func noLayer(_ model: QuantizedModel) -> CompileError {
        CompileError(
            layer: model.input.name,
            "--extensions reuse: no layer is compressed with sorted-weight approximation (M1: linear or quadratic)")
    }

    static func parameters(_ n: CompiledNetwork) -> [(String, Int)] {
        [
            ("Factored", n.factored == nil ? 0 : 1), ("FactorValues", n.factored?.values ?? 1),
            ("IndexWidth", n.factored?.indexWidth ?? 1), ("FactorValueWidth", n.factored?.valueWidth ?? 2),
            ("Reuse", n.reuse == nil ? 0 : 1), ("WindowWords", n.reuse?.windowWords ?? 1),
            ("WindowAddrWidth", n.reuse?.windowAddressWidth ?? 1),
            ("DWidth", n.reuse?.dWidth ?? 1), ("EWidth", n.reuse?.eWidth ?? 1), ("Terms", n.reuse?.terms ?? 2),
            ("ReuseCoefWidth", n.reuse?.coefficientWidth ?? 2),
        ]
    }
}
