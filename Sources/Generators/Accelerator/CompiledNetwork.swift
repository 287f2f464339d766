import Quantization

/// A network compiled for the accelerator: the program, the SB and bias/shift ROM images, the widths and sizes
/// the RTL is instantiated with, and the cycle model. Everything comes from the one quantized (or compressed) model.
public struct CompiledNetwork: Sendable {
    public var config: AcceleratorConfig
    public var program: [Instruction]
    /// SB words: `tn * tn` weight codes (lane `o * tn + i` is the weight from input lane i to output lane o), or
    /// for a feature step one (source channel, coefficient) pair per output lane, or for a scan step one member
    /// per output lane (nil: the lane idles), or for a factored step one (indices, values) field per output lane.
    public var weightWords: [SBWord]
    public enum SBWord: Sendable, Equatable {
        case weights([Int])
        case features([(source: Int, coefficient: Int)])
        case members([Member?])
        case factors([Factors])
        public static func == (a: SBWord, b: SBWord) -> Bool {
            switch (a, b) {
            case let (.weights(x), .weights(y)): return x == y
            case let (.features(x), .features(y)):
                return x.map(\.source) == y.map(\.source) && x.map(\.coefficient) == y.map(\.coefficient)
            case let (.members(x), .members(y)): return x == y
            case let (.factors(x), .factors(y)): return x == y
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
    /// A factored step's field of one output lane: per input lane an index (0: weight zero, u: `values[u - 1]`)
    /// and the lane's distinct nonzero weights of the word.
    public struct Factors: Sendable, Equatable {
        public var indices: [Int], values: [Int]
        /// The field of `tn` weights: their distinct nonzero values in ascending order, and each weight's index.
        public init(weights: [Int]) {
            values = Array(Set(weights.filter { $0 != 0 })).sorted()
            let slot = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, $0 + 1) })
            indices = weights.map { slot[$0] ?? 0 }
        }
    }
    /// The factored lanes' values per output lane and their width (nil: no layer runs on them).
    public var factored: FactoredLanes?
    public struct FactoredLanes: Sendable, Equatable {
        public var values: Int, valueWidth: Int
        /// Bits of an index: 0 and `1 ... values`.
        public var indexWidth: Int { bitsFor(values) }
        /// A lane's field (approxrtl_diannao_factored.v): `tn` indices, then the values.
        public func laneWidth(tn: Int) -> Int { tn * indexWidth + values * valueWidth }
        /// Cycles the sum over the values adds to the pipeline (approxrtl_diannao_nfu.v FactorExtra).
        public var extraLatency: Int { values > 2 ? bitsFor(values - 1) - 1 : 0 }
    }
    /// The reuse lanes' sizes and widths (nil: no layer runs on them).
    public var reuse: ReuseLanes?
    public struct ReuseLanes: Sendable, Equatable {
        /// Window words per lane (the largest gather tile), the rank step widths, coefficients per part, their width.
        public var windowWords: Int, dWidth: Int, eWidth: Int, terms: Int, coefficientWidth: Int
        public var windowAddressWidth: Int { bitsFor(windowWords - 1) }
        /// A member's bits (approxrtl_diannao_reuse.v): address, lane select, first, last, d, e (quadratic), coefficients.
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
    public var tableWidth: Int {
        (tableSegments - 1) * activationWidth + tableSegments * (slopeWidth + interceptWidth) + tableShiftBits
    }
    /// NFU-1's multipliers and NFU-2's adder trees are built (some weighted layer multiplies weights).
    public var macArray: Bool
    /// SB bits per output lane: a MAC word's `tn` weights and a scan word's member share the width (just the
    /// member's when no layer runs on the MAC array).
    public var laneBits: Int {
        max(
            macArray ? config.tn * weightWidth : 0, reuse?.memberWidth(tn: config.tn) ?? 0,
            factored?.laneWidth(tn: config.tn) ?? 0)
    }
    /// Per instruction: how its output map lies in the buffer (nil for the logits).
    public var outputLayouts: [OutputLayout?]
    /// One per bias/shift word: how that output tile steps.
    public var tileDescriptors: [TileDescriptor]
    /// Feature unit: computed tiles kept per pixel, bits of a source index, coefficient width.
    public var keptTiles: Int
    public var sourceWidth: Int { bitsFor(keptTiles * config.tn - 1) }
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
    /// The largest left shift that aligns the logits; they are that much wider than the accumulators.
    public var logitLeftShift: Int
    public var logitWidth: Int { accumulatorWidth + logitLeftShift }
    public var classes: Int
    /// Bytes (beats) per image: its pixels times their channels.
    public var imagePixels: Int { imageWidth * imageHeight * loader.channels }
    public var imageWidth: Int
    public var imageHeight: Int
    /// Per channel, the pixel the loader turns into code 0 (an input normalization's zero points; 0 without one).
    public var pixelZeros: [Int] = [0]
    /// How the loader writes the image: patches of the first convolution's kernel, or one pixel per word.
    public var loader: ImageLoader
    /// Cycles to take an image at one pixel per cycle: every row's pixels and the zeros that complete patches.
    public var loadCycles: Int { loader.cycles }
    /// Words per activation buffer (the largest map, channel-tiled; the image has a buffer of its own).
    public var activationWords: Int
    /// Activation buffers: 2, or 3 when a residual connection keeps a block's input while its layers alternate.
    public var buffers = 2
    /// Words per half of the image buffer (the loader fills one half while the network runs on the other).
    public var imageWords: Int { loader.words }
    /// Bits of an input address: either activation buffer or the image buffer's two halves.
    public var addressWidth: Int { bitsFor(max(activationWords, 2 * imageWords) - 1) }
    /// Per instruction (one per conv, dense and pooling layer): the multiply-accumulates it does for the model, padding taps included (as ModelMetrics
    /// counts them; M4 channels their window's taps, M3 channels one per source); 0 for pooling.
    public var macs: [Int]

    /// Cycles a step's result takes to reach a buffer after its last step is counted: the sequencer's output
    /// register, memory read, the memories' output registers, the buffer select's register, the products' two
    /// stages, the adder tree's levels, the accumulator, NFU-3's three stages (MAW multiply, rounding, shifts), the
    /// register before the buffers, the write, the activation stage when there are tables, the MAW multiply's
    /// second cycle with SWC lanes, with fused pools the fold's and the combiner's registers, and a strip map's
    /// further groups of a writer tile, written one per cycle after the first (approxrtl_diannao_core.v `Drain`, plus the
    /// sequencer's register).
    public var drain: Int {
        4 + bitsFor(config.tn - 1) + 7 + (tables.isEmpty ? 0 : 1) + (config.swc ? 1 : 0) + (fusedPools ? 2 : 0)
            + (factored?.extraLatency ?? 0) + (stripLayout?.tileGroups ?? 1) - 1
    }

    /// The strip layout of the design's strip maps (one per design), if any.
    public var stripLayout: StripLayout? { outputLayouts.lazy.compactMap { $0?.strip }.first }

    /// Some convolution runs a fused max pool (the core's combiner stage is built).
    public var fusedPools: Bool { program.contains { $0.fusedLayer != nil } }
    /// Output tiles of the widest convolution with a fused pool (the combiner keeps a running max per tile).
    public var fusedTiles: Int { program.filter { $0.fusedLayer != nil }.map(\.outputTiles).max() ?? 1 }

    /// Cycles a layer takes before its first step: instruction fetch, decode, and the first tile descriptors.
    public static let fetchCycles = 3

    /// Cycles of each layer: fetch, one per step, and the drain.
    public var layerCycles: [Int] { program.map { Self.fetchCycles + $0.steps + drain } }

    /// How an instruction meets the lanes (docs/accelerator.md, "Mapping"), for the reports.
    public func mapping(_ instruction: Instruction) -> String {
        if instruction.op == .maxPool || instruction.op == .averagePool {
            return
                "a pass of its own: \(instruction.kernelHeight) x \(instruction.kernelWidth) windows, channels on the lanes"
        }
        var parts =
            instruction.reuse
            ? ["reuse lanes: one output channel per lane"]
            : [
                instruction.readsStrips
                    ? "\(instruction.patchColumns) kernel columns of \(stripLayout?.lanes ?? 0) input channels on the input lanes (strips)"
                    : instruction.patchRows * instruction.patchColumns > 1
                        ? "kernel taps on the input lanes (patches of \(instruction.patchRows) x \(instruction.patchColumns))"
                        : "input channels on the input lanes",
                instruction.pixelRows > 1
                    ? "output channels of \(instruction.pixelRows) pixels, one below the other, on the output lanes"
                    : "output channels on the output lanes",
            ]
        if instruction.factored, let factored {
            parts.append(
                "factored lanes: each output lane sums the inputs that share a weight, then \(factored.values) multiplies"
            )
        }
        if let pool = instruction.fusedLayer {
            let height = instruction.fusedHeight * instruction.pixelRows
            parts.append("\(pool) (max over \(height) x \(instruction.fusedWidth)) fused into the drain")
        }
        if instruction.writesStrips, let strip = stripLayout {
            parts.append(
                "writes strips of \(strip.pixels) pixels x \(strip.lanes) channels (\(strip.groups) words per pixel)")
        }
        return parts.joined(separator: "; ")
    }

    /// `macs / (tn * tn)` per layer: the cycles with every multiplier busy.
    public var idealCycles: [Double] { macs.map { Double($0) / Double(config.tn * config.tn) } }

    /// Cycles the sequencer runs per image (the layers); the image's pixels, two cycles to start and the logits
    /// come on top.
    public var computeCycles: Int { layerCycles.reduce(0, +) }

    /// Cycles from one image's run ending to the next one's starting (its logits move to the emit registers,
    /// the start is registered), when the next image is already loaded.
    public static let startCycles = 2

    /// Cycles between images streamed back to back at one pixel per cycle: the next image loads into the image
    /// buffer's other half while one computes, so the slower of the two sets the pace.
    public var intervalCycles: Int { max(computeCycles + Self.startCycles, loadCycles) }

    /// Cycles from an image's first pixel to its last logit, one pixel and one logit per cycle: loading, the
    /// start, computing, and the logits leaving (the first the cycle after the run's end).
    public var latencyCycles: Int { loadCycles + Self.startCycles + computeCycles + classes }

    /// NFU-1's multipliers (none with power-of-two SWC codes: shifts; none without the MAC array), the MAW
    /// multipliers of SWC lanes, the coefficient multipliers of the feature unit and of the reuse lanes, and the
    /// activation tables' slope multipliers.
    public var multipliers: Int {
        (powerOfTwoCodes || !macArray ? 0 : config.tn * config.tn) + (config.swc ? config.tn : 0)
            + (config.featureUnit ? config.tn : 0)
            + (reuse.map { config.tn * $0.terms } ?? 0) + (factored.map { config.tn * $0.values } ?? 0)
            + (tables.isEmpty ? 0 : config.tn)
    }

    /// Table `index` as NFU-3 reads it (approxrtl_pwl_activation.v): padded to `tableSegments` by repeating its last
    /// breakpoint (the lowest code when it has none) and its last segment, so the segment count lands on a copy.
    public func paddedTable(_ index: Int) -> (breakpoints: [Int], slopes: [Int], intercepts: [Int], shift: Int) {
        let table = tables[index]
        let extra = tableSegments - table.segments
        let lastBreakpoint = table.breakpoints.last ?? -(1 << (activationWidth - 1))
        return (
            table.breakpoints + [Int](repeating: lastBreakpoint, count: extra),
            table.slopes + [Int](repeating: table.slopes.last!, count: extra),
            table.intercepts + [Int](repeating: table.intercepts.last!, count: extra), table.shift
        )
    }

    /// Hard multipliers (18 x 18) a product of `a` by `b` bits takes.
    static func hardMultipliers(_ a: Int, _ b: Int) -> Int { ((a + 17) / 18) * ((b + 17) / 18) }

    /// Hard multipliers the design needs besides NFU-1's products: SWC's MAW multiplies, the feature unit's and the
    /// reuse lanes' coefficient multiplies, the activation tables' slopes (counted as wide as they are).
    public var otherHardMultipliers: Int {
        let tn = config.tn
        var count = config.swc ? tn * Self.hardMultipliers(accumulatorWidth, scaleWidth + 1) : 0
        if config.featureUnit { count += tn * Self.hardMultipliers(accumulatorWidth, coefficientWidth) }
        if let reuse { count += tn * reuse.terms * Self.hardMultipliers(accumulatorWidth, reuse.coefficientWidth) }
        if let factored {
            count += tn * factored.values * Self.hardMultipliers(dataWidth + bitsFor(tn - 1), factored.valueWidth)
        }
        if !tables.isEmpty { count += tn * Self.hardMultipliers(activationWidth, slopeWidth) }
        return count
    }

    /// NFU-1's products on hard multipliers: all of them, or with a target part those its multipliers leave (the
    /// rest are built from LUTs, approxrtl_diannao_nfu.v).
    public var dspProducts: Int {
        let all = macArray && !powerOfTwoCodes ? config.tn * config.tn : 0
        guard let budget = config.hardMultipliers else { return all }
        return max(0, min(all, budget - otherHardMultipliers))
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
    /// A strip map's layout (StripLayout: several pixels per word, `groups` words per pixel); nil: one pixel per
    /// word, `order.count / tn` words.
    public var strip: StripLayout? = nil
    /// Buffer words per image, Tn lanes each.
    public func wordCount(tn: Int) -> Int { height * width * (strip?.groups ?? order.count / tn) }
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
                result.append(
                    (0..<tn).map { o in order[t * tn + o].map { codes[codes.startIndex + $0 * pixels + p] } ?? 0 })
            }
        }
        guard let strip else { return result }
        let lanes = (0..<pixels).map { p in result[p * tiles..<(p + 1) * tiles].flatMap { $0 } }
        return (0..<pixels).flatMap { strip.words(pixel: $0, width: width, pooled: lanes, tn: tn) }
    }
}

/// Bits of an unsigned value up to `maximum` (at least 1).
func bitsFor(_ maximum: Int) -> Int { max(1, Int.bitWidth - max(maximum, 0).leadingZeroBitCount) }
