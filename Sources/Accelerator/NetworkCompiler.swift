import Foundation
import GoldenModel
import Quantization

/// The accelerator's configuration (docs/accelerator.md, "Parameters").
public struct AcceleratorConfig: Equatable, Sendable, Codable {
    /// Lanes: input and output channels per step (Tn x Tn multipliers).
    public var tn: Int
    /// SWC lanes: the SB holds M2's scaling-weight codes; NFU-1 multiplies by codes (or shifts, with power-of-two
    /// codes) and NFU-3 applies one MAW multiply per output.
    public var swc: Bool
    /// Reduced-kernel tiles (M4): a layer's output channels are ordered by kernel size, and tiles whose channels
    /// all have a smaller kernel step over its centred window only.
    public var kernelTiles: Bool
    /// The feature-approximation unit (M3): approximated channels form tiles of their own, computed from the
    /// kept accumulators of their sources in one step per source.
    public var featureUnit: Bool
    /// M1 reuse lanes: a layer compressed with sorted-weight approximation gathers each pixel's window into the
    /// lanes' window memories and scans every output channel's members in its own sorted order (additions, and a
    /// coefficient multiply per part); without other weighted layers the Tn x Tn multipliers are left out.
    public var reuse: Bool
    /// How the first convolution of a one-channel image meets the lanes: `strips` (the loader packs a row of the
    /// kernel's taps into one word, so the input lanes carry kx) or `channels` (DianNao's mapping: input channels
    /// on the lanes, one of Tn busy for a one-channel image).
    public var firstLayer: FirstLayerMapping
    public enum FirstLayerMapping: String, Sendable, Codable, CaseIterable { case strips, channels }

    public init(tn: Int = 16, swc: Bool = false, kernelTiles: Bool = false, featureUnit: Bool = false, reuse: Bool = false,
                firstLayer: FirstLayerMapping = .strips) {
        self.tn = tn; self.swc = swc; self.kernelTiles = kernelTiles; self.featureUnit = featureUnit; self.reuse = reuse; self.firstLayer = firstLayer
    }

    /// The extensions switched on, by name ("vanilla" when none).
    public var name: String {
        let on = [(swc, "swc"), (kernelTiles, "kernel"), (featureUnit, "feature"), (reuse, "reuse")].filter(\.0).map(\.1)
        return on.isEmpty ? "vanilla" : on.joined(separator: "+")
    }
}

/// Why a model cannot run on the accelerator: the layer, and the reason.
public struct CompileError: Error, CustomStringConvertible, Equatable {
    public var layer: String
    public var reason: String
    public init(layer: String, _ reason: String) { self.layer = layer; self.reason = reason }
    public var description: String { "layer '\(layer)': \(reason)" }
}

/// A network compiled for the accelerator: the program, the SB and bias/shift ROM images, the widths and sizes
/// the RTL is instantiated with, and the cycle model. Everything comes from the one quantized (or compressed) model.
public struct CompiledNetwork: Sendable {
    public var config: AcceleratorConfig
    public var program: [Instruction]
    /// SB words: `tn * tn` weight codes (lane `o * tn + i` is the weight from input lane i to output lane o), or
    /// for a feature step one (source channel, coefficient) pair per output lane, or for a scan step one member
    /// per output lane (nil: the lane idles).
    public var weightWords: [SBWord]
    public enum SBWord: Sendable, Equatable {
        case weights([Int])
        case features([(source: Int, coefficient: Int)])
        case members([Member?])
        public static func == (a: SBWord, b: SBWord) -> Bool {
            switch (a, b) {
            case let (.weights(x), .weights(y)): return x == y
            case let (.features(x), .features(y)): return x.map(\.source) == y.map(\.source) && x.map(\.coefficient) == y.map(\.coefficient)
            case let (.members(x), .members(y)): return x == y
            default: return false
            }
        }
    }
    /// A scan step of one reuse lane: the input it adds (window word and lane), whether it starts or ends a part
    /// (members run from the part's highest rank down), the rank steps d and e it multiplies the suffix sum by,
    /// and at a part's end its coefficients (docs/arithmetic.md section 7.1).
    public struct Member: Sendable, Equatable {
        public var address: Int, lane: Int, first: Bool, last: Bool, d: Int, e: Int
        public var coefficients: [Int]
    }
    /// The reuse lanes' sizes and widths (nil: no layer runs on them).
    public var reuse: ReuseLanes?
    public struct ReuseLanes: Sendable, Equatable {
        /// Window words per lane (the largest gather tile), the rank step widths, coefficients per part, their width.
        public var windowWords: Int, dWidth: Int, eWidth: Int, terms: Int, coefficientWidth: Int
        public var windowAddressWidth: Int { bitsFor(windowWords - 1) }
        /// A member's bits (diannao_reuse.v): address, lane select, first, last, d, e (quadratic), coefficients.
        public func memberWidth(tn: Int) -> Int {
            windowAddressWidth + bitsFor(tn - 1) + 2 + dWidth + (terms == 3 ? eWidth : 0) + terms * coefficientWidth
        }
    }
    /// NFU-3's activation tables, one per layer with a fused activation (the instruction names its table), each
    /// padded to `tableSegments` segments (docs/accelerator.md, "Activation tables").
    public var tables: [PiecewiseLinear]
    public var tableSegments: Int
    /// Widths of a table's slopes, intercepts and shift field.
    public var slopeWidth: Int, interceptWidth: Int, tableShiftBits: Int
    /// Bits of a table word: breakpoints, slopes, intercepts, shift.
    public var tableWidth: Int { (tableSegments - 1) * activationWidth + tableSegments * (slopeWidth + interceptWidth) + tableShiftBits }
    /// NFU-1's multipliers and NFU-2's adder trees are built (some weighted layer multiplies weights).
    public var macArray: Bool
    /// SB bits per output lane: a MAC word's `tn` weights, or a scan word's member when that is wider.
    public var laneBits: Int
    /// Per instruction: how its output map lies in the buffer (nil for the logits).
    public var outputLayouts: [OutputLayout?]
    /// One per bias/shift word: how that output tile steps.
    public var tileDescriptors: [TileDescriptor]
    /// Feature unit: computed tiles kept per pixel, bits of a source index, coefficient width.
    public var keptTiles: Int
    public var sourceWidth: Int
    public var coefficientWidth: Int
    /// One word per output tile: `tn` biases (accumulator scale), `tn` shifts and with SWC lanes `tn` scales.
    public var paramWords: [ParamWord]
    /// With activation tables also a bit per lane: it holds a channel (idle lanes keep their 0).
    public struct ParamWord: Sendable {
        public var bias: [Int]; public var shift: [Int]; public var scale: [Int]
        public var active: [Bool] = []
    }
    /// SWC lanes: power-of-two codes (SB lanes are a sign and a log2 index), the scale width, the product width.
    public var powerOfTwoCodes: Bool
    public var scaleWidth: Int
    public var productWidth: Int
    public var dataWidth: Int
    public var activationWidth: Int
    public var weightWidth: Int
    public var accumulatorWidth: Int
    public var shiftWidth: Int
    public var maxLeftShift: Int
    public var logitWidth: Int
    public var classes: Int
    public var imagePixels: Int { imageWidth * imageHeight }
    public var imageWidth: Int
    public var imageHeight: Int
    /// The loader's strips: pixels per word and strips left of the image (1 and 0: one pixel per word).
    public var stripWidth: Int
    public var stripPad: Int
    /// Cycles to take an image at one pixel per cycle: every row's pixels and its strip flush.
    public var loadCycles: Int { imageHeight * (imageWidth + stripWidth - 1) }
    /// Words per activation buffer (the largest map, channel-tiled).
    public var activationWords: Int
    /// Per instruction (one per conv, dense and pooling layer): the multiply-accumulates it does for the model, padding taps included (as ModelMetrics
    /// counts them; M4 channels their window's taps, M3 channels one per source); 0 for pooling.
    public var macs: [Int]

    /// Cycles a step's result takes to reach a buffer: memory read, products, the adder tree's levels, the
    /// accumulator, the write, and the activation stage when there are tables (diannao_core.v `Drain`).
    public var drain: Int { bitsFor(config.tn - 1) + 3 + (tables.isEmpty ? 0 : 1) }

    /// Cycles of each layer: instruction fetch and decode, one per step, and the drain.
    public var layerCycles: [Int] { program.map { 2 + $0.steps + drain } }

    /// `macs / (tn * tn)` per layer: the cycles with every multiplier busy.
    public var idealCycles: [Double] { macs.map { Double($0) / Double(config.tn * config.tn) } }

    /// Cycles the sequencer runs per image (the layers); the image's pixels, two cycles to start and the logits
    /// come on top.
    public var computeCycles: Int { layerCycles.reduce(0, +) }

    /// NFU-1's multipliers (none with power-of-two SWC codes: shifts; none without the MAC array), the MAW
    /// multipliers of SWC lanes, the coefficient multipliers of the feature unit and of the reuse lanes, and the
    /// activation tables' slope multipliers.
    public var multipliers: Int {
        (powerOfTwoCodes || !macArray ? 0 : config.tn * config.tn) + (config.swc ? config.tn : 0) + (config.featureUnit ? config.tn : 0)
            + (reuse.map { config.tn * $0.terms } ?? 0) + (tables.isEmpty ? 0 : config.tn)
    }

    /// Table `index` as NFU-3 reads it (pwl_activation.v): padded to `tableSegments` by repeating its last
    /// breakpoint (the lowest code when it has none) and its last segment, so the segment count lands on a copy.
    public func paddedTable(_ index: Int) -> (breakpoints: [Int], slopes: [Int], intercepts: [Int], shift: Int) {
        let table = tables[index]
        let extra = tableSegments - table.segments
        let lastBreakpoint = table.breakpoints.last ?? -(1 << (activationWidth - 1))
        return (table.breakpoints + [Int](repeating: lastBreakpoint, count: extra),
                table.slopes + [Int](repeating: table.slopes.last!, count: extra),
                table.intercepts + [Int](repeating: table.intercepts.last!, count: extra), table.shift)
    }

    /// The reuse lanes' rank-step multipliers (d * S, e * S; small constants): none when every d is 0 or 1 and
    /// the parts are linear (an addition).
    public var stepMultipliers: Int {
        guard let reuse else { return 0 }
        return config.tn * ((reuse.dWidth > 1 ? 1 : 0) + (reuse.terms == 3 ? 1 : 0))
    }
}

/// Where a layer's output lies in a buffer: word `(y * width + x) * tiles + t`, lane o holds the model's channel
/// `order[t * tn + o]` (nil: an idle lane, 0).
public struct OutputLayout: Sendable {
    public var layer: String
    public var order: [Int?]
    public var height: Int
    public var width: Int
    /// Buffer words per image, Tn lanes each.
    public func wordCount(tn: Int) -> Int { height * width * (order.count / tn) }
    init(layer: String, order: [Int?], height: Int, width: Int) {
        self.layer = layer; self.order = order; self.height = height; self.width = width
    }

    /// The buffer words of one image's output of this layer from its codes in the model's order (channel, y, x).
    public func words(_ codes: ArraySlice<Int>, tn: Int) -> [[Int]] {
        let tiles = order.count / tn, pixels = height * width
        var result: [[Int]] = []
        result.reserveCapacity(pixels * tiles)
        for p in 0..<pixels {
            for t in 0..<tiles {
                result.append((0..<tn).map { o in order[t * tn + o].map { codes[codes.startIndex + $0 * pixels + p] } ?? 0 })
            }
        }
        return result
    }
}

/// Bits of an unsigned value up to `maximum` (at least 1).
func bitsFor(_ maximum: Int) -> Int { max(1, Int.bitWidth - max(maximum, 0).leadingZeroBitCount) }

public enum NetworkCompiler {
    /// An SWC lane for a power-of-two code: the sign in the top bit, then 0 for zero or k + 1 for 2^k.
    static func powerOfTwoLane(_ code: Int, bits: Int) -> Int {
        code == 0 ? 0 : (code < 0 ? 1 << (bits - 1) : 0) | (abs(code).trailingZeroBitCount + 1)
    }

    /// An activation map in a buffer: `order[p]` is the model's channel at physical channel p (nil: an idle lane
    /// that holds 0), so a layer may store its channels in any order (a function-preserving permutation the
    /// next layer's weights follow).
    struct Map { var order: [Int?]; var height: Int; var width: Int; var bank: Int; var tiles: Int }

    /// Compiles `model` for the accelerator: every conv, dense and pooling layer becomes one instruction (M4's
    /// reduced-kernel tiles and M3's feature tiles add instructions of their own); a flatten (or a reshape to a
    /// vector) is free, since a dense layer after it reads the map as a convolution whose kernel covers the map.
    /// Refuses, naming the layer, what the accelerator cannot run.
    public static func compile(_ model: QuantizedModel, config: AcceleratorConfig = AcceleratorConfig()) throws -> CompiledNetwork {
        let tn = config.tn
        guard tn >= 2, tn <= 64 else { throw CompileError(layer: model.input.name, "Tn must be 2 to 64, not \(tn)") }
        if config.reuse {
            // The reuse lanes' terms meet the adder trees' sums after log2(Tn) + 2 cycles, no sooner than their own 4.
            guard tn >= 4 else { throw CompileError(layer: model.input.name, "the reuse lanes need Tn >= 4, not \(tn)") }
            guard !config.swc else { throw CompileError(layer: model.input.name, "the reuse lanes (M1) and SWC lanes (M2) are not combined in one design") }
        }
        let input = model.input.shape
        guard input.count == 3, input[0] == 1 else {
            throw CompileError(layer: model.input.name, "the image loader takes one-channel images, not shape \(input)")
        }
        guard model.input.low >= 0, model.input.high <= 255 else {
            throw CompileError(layer: model.input.name, "the image loader takes 8-bit pixels (0...255), not \(model.input.low)...\(model.input.high)")
        }
        try model.validate()
        // Strips for a first convolution on the image (a row of its kernel per word), when they fit the lanes.
        var (stripWidth, stripPad) = (1, 0)
        if config.firstLayer == .strips, let first = model.layers.first, first.kind == .conv2d, first.input == model.input.name,
           let kernel = first.kernel, let pads = first.pads, kernel[1] > 1, kernel[1] <= tn, pads[1] < kernel[1] {
            (stripWidth, stripPad) = (kernel[1], pads[1])
        }
        let stripWords = input[1] * (input[2] + stripPad)
        var maps = [model.input.name: Map(order: [0], height: input[1], width: input[2] + stripPad, bank: 0, tiles: 1)]
        var program: [Instruction] = []
        var weightWords: [CompiledNetwork.SBWord] = []
        var paramWords: [CompiledNetwork.ParamWord] = []
        var macs: [Int] = []
        var accumulatorWidth = 2, minShift = 0, maxShift = 1, maxLeft = 1
        var logitsLayer: QuantizedModel.Layer?
        var activationWords = stripWords
        // SWC lanes: the codebook every layer shares, the widest code and scale, the largest power-of-two shift.
        var codebook: String?, codeWidth = 1, scaleWidth = 1, largestShift = 0
        // The widest weight the MAC array multiplies: the model's codes, or wider approximated weights (M1's
        // coefficient-domain weights, docs/arithmetic.md section 7.1).
        var macWeightWidth = model.weightBits
        // Feature unit: the most computed tiles of a layer with features, the widest coefficient.
        var keptTiles = 1, coefficientWidth = 2
        var tileDescriptors: [TileDescriptor] = []
        var layouts: [OutputLayout?] = []
        // Reuse lanes: their sizes and widths; weighted layers on them and on the MAC array.
        var reuseLanes: CompiledNetwork.ReuseLanes?
        var reuseLayers = 0, macLayers = 0
        // NFU-3's activation tables, one per layer that has one.
        var tables: [PiecewiseLinear] = []
        let tiles = { (channels: Int) in (channels + tn - 1) / tn }

        for (position, layer) in model.layers.enumerated() {
            guard let source = maps[layer.input] else { throw CompileError(layer: layer.name, "reads '\(layer.input)', which no layer before it writes") }
            guard logitsLayer == nil else { throw CompileError(layer: layer.name, "follows the logits layer '\(logitsLayer!.name)'; the logits must be the last layer") }
            let fail = { (reason: String) in CompileError(layer: layer.name, "\(layer.kind.rawValue): \(reason)") }
            func emit(_ instruction: Instruction) throws {
                if let bad = instruction.overflowingField { throw fail("\(bad.name) = \(bad.value) does not fit the instruction's \(bad.bits) bits") }
                program.append(instruction)
            }
            let sourceChannels = source.order.compactMap { $0 }.count
            switch layer.kind {
            case .flatten, .reshape:
                // The words stay where they are; a dense layer reads the map in the flatten order (channel, y, x).
                guard layer.shape.count == 1, layer.shape[0] == sourceChannels * source.height * source.width else {
                    throw fail("only a flatten to a vector is supported, not shape \(layer.shape)")
                }
                maps[layer.name] = source
                continue
            case .relu:
                throw fail("a ReLU that is not fused into a convolution or dense layer is not supported")
            case .activation:
                throw fail("an activation (\(layer.activation?.function ?? "?")) that is not fused into a convolution or dense layer is not supported; NFU-3's table maps a weighted layer's outputs")
            case .conv2d, .dense:
                let shape = layer.weightShape!, bias = layer.bias!, shifts = layer.shifts!
                let outChannels = shape[0]
                let approximated = layer.approximatedFeatures?.features ?? []
                if !approximated.isEmpty && !config.featureUnit {
                    throw fail("approximated features (M3) need the feature-approximation unit (--extensions feature)")
                }
                if !approximated.isEmpty && config.swc { throw fail("approximated features (M3) with SWC lanes are not supported") }
                let plan = layer.compression.map { ReusePlan($0, weightShape: shape) }
                let reuseLayer = config.reuse && (plan?.degree ?? 0) >= 1
                if reuseLayer && !approximated.isEmpty { throw fail("approximated features (M3) in a layer on the reuse lanes (M1) are not supported") }
                // What the SB holds: weight codes, or with SWC lanes the scaling-weight codes and per-channel scales.
                var weights = layer.effectiveWeights!
                var scales = [Int](repeating: 1, count: outChannels)
                if config.swc {
                    if let m2 = layer.compression, m2.method == .swc {
                        let book = m2.codebook ?? "uniform"
                        if let codebook, codebook != book { throw fail("SWC lanes need one codebook; this layer's is \(book), an earlier one's \(codebook)") }
                        codebook = book
                        scales = m2.scales!
                        weights = m2.codes!
                        codeWidth = max(codeWidth, m2.codeBits!)
                        scaleWidth = max(scaleWidth, bitsFor(scales.max()!))
                        if book == "pow2" {
                            largestShift = max(largestShift, weights.map { $0 == 0 ? 0 : abs($0).trailingZeroBitCount }.max() ?? 0)
                            weights = weights.map { Self.powerOfTwoLane($0, bits: m2.codeBits!) }
                        }
                    } else {
                        // A layer without M2 runs its plain codes with scale 1 (uniform lanes only).
                        if codebook == "pow2" { throw fail("not compressed with SWC, and the SWC lanes take power-of-two codes only") }
                        codebook = codebook ?? "uniform"
                        codeWidth = max(codeWidth, FixedPoint.width(low: weights.min() ?? 0, high: weights.max() ?? 0))
                    }
                }
                if reuseLayer { reuseLayers += 1 } else {
                    macLayers += 1
                    if !config.swc { macWeightWidth = max(macWeightWidth, FixedPoint.width(low: weights.min() ?? 0, high: weights.max() ?? 0)) }
                }
                // Geometry: a dense layer is a convolution whose kernel covers the map it reads.
                let (kh, kw, sh, sw, pt, pl, oh, ow): (Int, Int, Int, Int, Int, Int, Int, Int)
                if layer.kind == .conv2d {
                    guard shape[1] == sourceChannels else { throw fail("weights for \(shape[1]) input channels, the input has \(sourceChannels)") }
                    (kh, kw) = (layer.kernel![0], layer.kernel![1])
                    (sh, sw) = (layer.stride![0], layer.stride![1])
                    (pt, pl) = (layer.pads![0], layer.pads![1])
                    (oh, ow) = (layer.shape[1], layer.shape[2])
                } else {
                    guard shape[1] == sourceChannels * source.height * source.width else {
                        throw fail("\(shape[1]) inputs, the map it reads has \(sourceChannels * source.height * source.width)")
                    }
                    (kh, kw, sh, sw, pt, pl, oh, ow) = (source.height, source.width, 1, 1, 0, 0, 1, 1)
                }
                let taps = kh * kw
                // On strips the input lanes carry the kernel's columns: one step per kernel row, no left padding.
                let strips = layer.input == model.input.name && stripWidth > 1
                // Output channel order: computed channels first (by kernel size, largest first, with reduced-kernel
                // tiles), whole tiles of them, then the approximated channels' tiles.
                let featureChannels = Set(approximated.map(\.channel))
                let sizes = layer.kernelSizes ?? [Int](repeating: max(kh, kw), count: outChannels)
                var computed = (0..<outChannels).filter { !featureChannels.contains($0) }
                if config.kernelTiles { computed = computed.enumerated().sorted { (sizes[$0.1], -$0.0) > (sizes[$1.1], -$1.0) }.map(\.1) }
                let computedTiles = tiles(computed.count), featureTiles = tiles(approximated.count)
                let outTiles = computedTiles + featureTiles
                var order = [Int?](repeating: nil, count: outTiles * tn)
                for (p, m) in computed.enumerated() { order[p] = m }
                let features = approximated.sorted { $0.channel < $1.channel }
                for (p, f) in features.enumerated() { order[computedTiles * tn + p] = f.channel }
                let logits = layer.logits ?? false
                let paramBase = paramWords.count
                // Reuse lanes: the gather tile comes first; its parameter word is never read.
                if reuseLayer { paramWords.append(.init(bias: [Int](repeating: 0, count: tn), shift: [Int](repeating: 0, count: tn), scale: [Int](repeating: 0, count: tn))) }
                for t in 0..<outTiles {
                    let lanes = order[(t * tn)..<((t + 1) * tn)]
                    paramWords.append(.init(bias: lanes.map { $0.map { bias[$0] } ?? 0 }, shift: lanes.map { $0.map { shifts[$0] } ?? 0 },
                                            scale: lanes.map { $0.map { scales[$0] } ?? 0 }, active: lanes.map { $0 != nil }))
                }
                var instruction = Instruction(
                    layer: layer.name, op: .multiplyAccumulate, relu: layer.relu ?? false, logits: logits,
                    source: source.bank, destination: 1 - source.bank,
                    inputHeight: source.height, inputWidth: source.width, inputTiles: source.tiles,
                    outputHeight: oh, outputWidth: ow, outputTiles: outTiles, kernelHeight: kh, kernelWidth: strips ? 1 : kw,
                    strideHeight: sh, strideWidth: sw, padTop: pt, padLeft: strips ? 0 : pl, poolShift: 0,
                    weightBase: weightWords.count, paramBase: paramBase)
                if let table = layer.activation {
                    instruction.table = tables.count
                    tables.append(table)
                }
                let descriptors: [TileDescriptor]
                if reuseLayer, let plan {
                    // Reuse lanes: the gather tile over the whole kernel, then one scan tile per output tile.
                    let scan = try reuseScan(plan, order: order, source: source, kernel: (kh, kw), strips: strips, tn: tn, fail: fail)
                    descriptors = [TileDescriptor(.gather, kernelHeight: kh, kernelWidth: strips ? 1 : kw)]
                        + scan.tileSteps.map { TileDescriptor(.scan, steps: $0) }
                    instruction.reuse = true
                    instruction.outputTiles = outTiles + 1
                    weightWords += scan.words
                    let gatherWords = descriptors[0].stepCount(inputTiles: source.tiles)
                    reuseLanes = CompiledNetwork.ReuseLanes(
                        windowWords: max(reuseLanes?.windowWords ?? 1, gatherWords), dWidth: max(reuseLanes?.dWidth ?? 1, scan.dWidth),
                        eWidth: max(reuseLanes?.eWidth ?? 1, scan.eWidth), terms: max(reuseLanes?.terms ?? 2, plan.degree + 1),
                        coefficientWidth: max(reuseLanes?.coefficientWidth ?? 2, scan.coefficientWidth))
                } else {
                    descriptors = macTileDescriptors(order: order, computedTiles: computedTiles, featureSteps: features.map(\.sources.count).max() ?? 0,
                                                     sizes: config.kernelTiles && layer.kind == .conv2d ? sizes : nil, kernel: (kh, kw), strips: strips, tn: tn)
                    weightWords += macWords(descriptors: descriptors, order: order, weights: weights, features: features, source: source,
                                            kernelWidth: kw, taps: taps, stripWidth: strips ? stripWidth : 0, tn: tn)
                }
                instruction.tileSteps = descriptors.map { $0.stepCount(inputTiles: source.tiles) }
                try emit(instruction)
                if let bad = descriptors.lazy.compactMap(\.overflowingField).first {
                    throw fail("a tile's \(bad.name) = \(bad.value) does not fit the tile descriptor's \(bad.bits) bits")
                }
                tileDescriptors += descriptors
                if !features.isEmpty { keptTiles = max(keptTiles, computedTiles) }
                if let bits = layer.approximatedFeatures?.coefficientBits, !features.isEmpty { coefficientWidth = max(coefficientWidth, bits) }
                // Counted as the rest of approxrtl counts them (ModelMetrics): every tap, padding included; an
                // M4 channel its window's taps, an M3 channel one per source.
                let computedMacs = computed.map { layer.kind == .conv2d ? min(sizes[$0], kh) * min(sizes[$0], kw) : taps }.reduce(0, +) * sourceChannels
                macs.append((computedMacs + features.map(\.sources.count).reduce(0, +)) * oh * ow)
                accumulatorWidth = max(accumulatorWidth, layer.accumulatorBits!)
                minShift = min(minShift, shifts.min()!)
                maxShift = max(maxShift, shifts.max()!)
                maxLeft = max(maxLeft, -shifts.min()!)
                if logits {
                    guard position == model.layers.count - 1 else { throw fail("the logits must be the last layer") }
                    guard outChannels <= 255 else { throw fail("\(outChannels) logits; at most 255 are supported") }
                    guard order.prefix(outChannels).elementsEqual((0..<outChannels).map { Optional($0) }) else { throw fail("the logits must keep their order") }
                    logitsLayer = layer
                }
                maps[layer.name] = Map(order: order, height: oh, width: ow, bank: 1 - source.bank, tiles: outTiles)
                layouts.append(logits ? nil : OutputLayout(layer: layer.name, order: order, height: oh, width: ow))
            case .maxPool, .averagePool:
                let (kh, kw) = (layer.kernel![0], layer.kernel![1])
                let area = kh * kw
                if layer.kind == .averagePool, area & (area - 1) != 0 { throw fail("an average over \(area) values is not a shift") }
                try emit(Instruction(
                    layer: layer.name, op: layer.kind == .maxPool ? .maxPool : .averagePool, relu: false, logits: false,
                    source: source.bank, destination: 1 - source.bank,
                    inputHeight: source.height, inputWidth: source.width, inputTiles: source.tiles,
                    outputHeight: layer.shape[1], outputWidth: layer.shape[2], outputTiles: source.tiles,
                    kernelHeight: kh, kernelWidth: kw, strideHeight: layer.stride![0], strideWidth: layer.stride![1],
                    padTop: layer.pads![0], padLeft: layer.pads![1], poolShift: area.trailingZeroBitCount,
                    weightBase: 0, paramBase: 0))
                macs.append(0)
                maps[layer.name] = Map(order: source.order, height: layer.shape[1], width: layer.shape[2], bank: 1 - source.bank, tiles: source.tiles)
                layouts.append(source.order.count < tn ? nil : OutputLayout(layer: layer.name, order: source.order, height: layer.shape[1], width: layer.shape[2]))
            }
            let written = maps[layer.name]!
            activationWords = max(activationWords, written.height * written.width * written.tiles)
        }
        guard let logitsLayer else { throw CompileError(layer: model.layers.last?.name ?? model.input.name, "the model ends without a logits layer") }
        if config.reuse && reuseLayers == 0 {
            throw CompileError(layer: model.input.name, "--extensions reuse: no layer is compressed with sorted-weight approximation (M1: linear or quadratic)")
        }
        let dataWidth = max(model.activationBits, FixedPoint.width(low: model.input.low, high: model.input.high))
        // The accumulators also hold pooled codes and window sums (at most 16 codes of a 4-bit shift).
        accumulatorWidth = max(accumulatorWidth, dataWidth + 4)
        // The reuse lanes extend coefficients and rank steps to the accumulator (any width above the bound is exact).
        if let lanes = reuseLanes { accumulatorWidth = max(accumulatorWidth, lanes.coefficientWidth + 1, lanes.dWidth + 1, lanes.eWidth + 1) }
        let shiftWidth = FixedPoint.width(low: minShift, high: maxShift)
        let logitLeft = max(0, -(logitsLayer.shifts!.min()!))
        let powerOfTwo = config.swc && codebook == "pow2"
        let weightWidth = config.swc ? codeWidth : macWeightWidth
        // A product: code (or weight) times x, or x shifted by the largest power-of-two code and negated.
        let productWidth = powerOfTwo ? dataWidth + largestShift + 1 : dataWidth + weightWidth
        let sourceWidth = bitsFor(keptTiles * tn - 1)
        // SB bits per lane: a MAC word's tn weights and a scan word's member share the width (just the member's
        // when no layer runs on the MAC array).
        let laneBits = max(macLayers > 0 ? tn * weightWidth : 0, reuseLanes?.memberWidth(tn: tn) ?? 0)
        // Tables share one width; at least two segments, so the segment select has a bit.
        let tableSegments = max(2, tables.map(\.segments).max() ?? 2)
        let slopeWidth = tables.map(\.slopeBits).max() ?? 2, interceptWidth = tables.map(\.interceptBits).max() ?? 2
        let tableShiftBits = bitsFor(tables.map(\.shift).max() ?? 0)
        if config.featureUnit, sourceWidth + coefficientWidth > laneBits {
            throw CompileError(layer: model.input.name, "a feature step's lane (\(sourceWidth)-bit source, \(coefficientWidth)-bit coefficient) does not fit the SB's \(laneBits) bits per lane")
        }
        return CompiledNetwork(
            config: config, program: program, weightWords: weightWords.isEmpty ? [.weights([Int](repeating: 0, count: tn * tn))] : weightWords,
            reuse: reuseLanes, tables: tables, tableSegments: tableSegments, slopeWidth: slopeWidth, interceptWidth: interceptWidth,
            tableShiftBits: tableShiftBits, macArray: macLayers > 0, laneBits: laneBits,
            outputLayouts: layouts, tileDescriptors: tileDescriptors, keptTiles: keptTiles, sourceWidth: sourceWidth, coefficientWidth: coefficientWidth,
            paramWords: paramWords, powerOfTwoCodes: powerOfTwo, scaleWidth: scaleWidth, productWidth: productWidth,
            dataWidth: dataWidth, activationWidth: model.activationBits, weightWidth: weightWidth,
            accumulatorWidth: accumulatorWidth, shiftWidth: shiftWidth, maxLeftShift: maxLeft,
            logitWidth: accumulatorWidth + logitLeft, classes: logitsLayer.shape[0],
            imageWidth: input[2], imageHeight: input[1], stripWidth: stripWidth, stripPad: stripPad,
            activationWords: activationWords, macs: macs)
    }
}
