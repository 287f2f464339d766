/// One instruction of the accelerator's program: a layer's loop nest and where its numbers live
/// (docs/accelerator.md, "Program"). Encoded as a 384-bit word, fields from bit 0 up: the layer's fields, then
/// the address word, the constants the sequencer steps its addresses by (derived from the fields, so that no
/// multiplier sits on an address path), then the fused pool's word.
public struct Instruction: Equatable, Sendable, Codable {
    public enum Op: Int, Sendable, Codable {
        case multiplyAccumulate = 0, maxPool = 1, averagePool = 2
        /// M3: one step per source (inputTiles holds their number), on the kept accumulators.
        case feature = 3
    }

    public var layer: String
    public var op: Op
    public var relu: Bool
    /// The results are the logits (kept in registers and streamed out), not a buffer's words.
    public var logits: Bool
    /// M1 reuse lanes: output tile 0 is the gather tile, tiles 1 ... write output tiles 0 ....
    public var reuse: Bool = false
    /// The layer's MAC steps run on the factored lanes: each output lane sums its inputs by the index the SB gives
    /// them and multiplies each sum by one of its values (docs/accelerator.md, "Factored lanes").
    public var factored: Bool = false
    /// NFU-3's activation table `table` maps the requantized codes (a fused Sigmoid, Tanh, ...); nil: none.
    public var table: Int? = nil
    /// Buffers read and written (0, 1, or 2 where a residual connection needs a third).
    public var source: Int
    public var destination: Int
    /// A residual add (docs/accelerator.md, "Residual add"): the buffer the addend is read from. Each output tile
    /// takes two steps at the same word, from `source` and then from this buffer; nil for every other layer.
    public var addendSource: Int? = nil
    public var inputHeight: Int, inputWidth: Int, inputTiles: Int
    public var outputHeight: Int, outputWidth: Int, outputTiles: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideHeight: Int, strideWidth: Int
    public var padTop: Int, padLeft: Int
    /// Average pooling: log2 of the window area.
    public var poolShift: Int
    /// First SB word and first bias/shift word of the layer.
    public var weightBase: Int
    public var paramBase: Int
    /// Weighted layers: the steps of each output tile (tile descriptors), in tile order; the nest's step count.
    public var tileSteps: [Int] = []
    /// A layer on the loader's patches steps `patchRows` image rows per kernel-row step and `patchColumns`
    /// columns per kernel-column step (ImageLoader); 1 and 1 on any other map.
    public var patchRows = 1, patchColumns = 1
    /// The layer reads the image buffer (the half the loader filled), not buffer `source`.
    public var image = false
    /// A max pool fused into the convolution (its window, which is also its stride; 1 x 1: none): the output
    /// pixels are the pool's, each the max over a window of the convolution's pixels, which the sequencer walks
    /// window by window.
    public var fusedHeight = 1, fusedWidth = 1
    /// The fused pool layer's name (nil: none).
    public var fusedLayer: String? = nil
    /// Pixel lanes: output pixels per step, one below the other (the first layer on patches, before a fused max
    /// pool, which folds the lanes' groups: docs/accelerator.md, "Pixel lanes"); an output row step is that many
    /// rows, and `fusedHeight` counts such steps.
    public var pixelRows = 1
    /// The layer's fused pool writes a strip map for the next convolution (StripLayout), `stripGroups` words per
    /// pooled pixel, `stripTileGroups` of them from each output tile.
    public var writesStrips = false
    public var stripGroups = 1
    public var stripTileGroups = 1
    /// The layer reads a strip map: a kernel-column step covers a word's pixels (patchColumns of them).
    public var readsStrips = false

    /// Bits of the encoding.
    public static let bits = 384
    /// The largest kernel height or width the 4-bit fields hold.
    public static let kernelLimit = 15

    /// Bit position and width of every field, in the order of the encoding.
    static let fields: [(name: String, lsb: Int, bits: Int)] = [
        ("op", 0, 2), ("relu", 2, 1), ("logits", 3, 1), ("source", 4, 1), ("destination", 5, 1), ("reuse", 6, 1),
        ("activation", 7, 1),
        ("input_height", 8, 8), ("input_width", 16, 8), ("input_tiles", 24, 8),
        ("output_height", 32, 8), ("output_width", 40, 8), ("output_tiles", 48, 8),
        ("kernel_height", 56, 4), ("kernel_width", 60, 4), ("stride_height", 64, 4), ("stride_width", 68, 4),
        ("pad_top", 72, 4), ("pad_left", 76, 4), ("pool_shift", 80, 4), ("table", 84, 4), ("weight_base", 88, 24),
        ("param_base", 112, 16),
        ("row_words", 128, 24), ("output_row_words", 152, 24), ("output_column_words", 176, 16),
        ("origin_word", 192, 24), ("column_words", 216, 16), ("image", 232, 1),
        ("fold", 233, 1), ("strips", 234, 1), ("source_high", 235, 1), ("destination_high", 236, 1), ("addend", 237, 1),
        ("addend_source", 238, 2), ("factored", 240, 1), ("fused_height", 256, 4), ("fused_width", 260, 4),
        ("fused_stride_height", 264, 8),
        ("fused_stride_width", 272, 8), ("fused_column_words", 280, 24), ("fused_row_words", 304, 24),
        ("pixel_words", 328, 8), ("tile_words", 336, 8),
    ]
    /// Fields in two's complement (the others are unsigned).
    static let signedFields: Set = ["origin_word"]

    /// Input words per input row; per kernel-row step (a patch's rows); per kernel-column step (a patch's
    /// columns); per output row (stride_h input rows); per output column (stride_w pixels).
    public var pixelRowWords: Int { inputWidth * inputTiles }
    public var rowWords: Int { patchRows * pixelRowWords }
    public var columnWords: Int { patchColumns * inputTiles }
    public var outputRowWords: Int { pixelRows * strideHeight * pixelRowWords }
    public var outputColumnWords: Int { strideWidth * inputTiles }
    /// A fused pool's window steps: input pixels and words per window column and per window row.
    public var fusedStrideHeight: Int { fusedHeight * pixelRows * strideHeight }
    public var fusedStrideWidth: Int { fusedWidth * strideWidth }
    public var fusedColumnWords: Int { fusedWidth * outputColumnWords }
    public var fusedRowWords: Int { fusedHeight * outputRowWords }
    /// Output words per output pixel: its written tiles, or a strip map's groups.
    public var pixelWords: Int { writesStrips ? stripGroups : outputTiles - (reuse ? 1 : 0) }
    /// Output words from one output tile to the next within a pixel: 1, or a strip map's groups per tile.
    public var tileWords: Int { writesStrips ? stripTileGroups : 1 }
    /// The word of the first output pixel's window origin (-pad_top, -pad_left), before adding a tile's tap.
    public var originWord: Int { (-padTop * inputWidth - padLeft) * inputTiles }

    var values: [Int] {
        [
            op.rawValue, relu ? 1 : 0, logits ? 1 : 0, source & 1, destination & 1, reuse ? 1 : 0, table == nil ? 0 : 1,
            inputHeight, inputWidth,
            inputTiles, outputHeight, outputWidth, outputTiles, kernelHeight, kernelWidth, strideHeight, strideWidth,
            padTop, padLeft,
            poolShift, table ?? 0, weightBase, paramBase, rowWords, outputRowWords, outputColumnWords, originWord,
            columnWords, image ? 1 : 0, pixelRows > 1 ? 1 : 0, writesStrips ? 1 : 0, source >> 1, destination >> 1,
            addendSource == nil ? 0 : 1, addendSource ?? 0, factored ? 1 : 0, fusedHeight, fusedWidth,
            fusedStrideHeight,
            fusedStrideWidth,
            fusedColumnWords, fusedRowWords, pixelWords, tileWords,
        ]
    }

    /// The field that does not fit its bits, if any (the compiler refuses such a layer).
    public var overflowingField: (name: String, value: Int, bits: Int)? {
        for (field, value) in zip(Self.fields, values) {
            let signed = Self.signedFields.contains(field.name)
            let (low, high) = signed ? (-(1 << (field.bits - 1)), 1 << (field.bits - 1)) : (0, 1 << field.bits)
            if value < low || value >= high { return (field.name, value, field.bits) }
        }
        return nil
    }

    /// The word as 96 hex digits, most significant first.
    public var hex: String {
        var word = WideWord(bits: Self.bits)
        for (field, value) in zip(Self.fields, values) { word.set(value, at: field.lsb, bits: field.bits) }
        return word.hex
    }

    /// Steps of the loop nest: one per cycle.
    public var steps: Int {
        if op == .maxPool || op == .averagePool {
            return outputHeight * outputWidth * outputTiles * kernelHeight * kernelWidth
        }
        return outputHeight * outputWidth * fusedHeight * fusedWidth * tileSteps.reduce(0, +)
    }
}

/// How one output tile of a weighted layer steps (the sequencer's tile ROM, 64 bits from bit 0: kernel height and
/// width, first tap y and x, 4 bits each; steps, 12 bits; kind, 2 bits; 2 reserved; the first tap's word offset,
/// 24 bits): a MAC tile over a window of the kernel,
/// a feature tile of `steps` steps (M3), or for M1's reuse lanes the pixel's gather tile (over the whole kernel,
/// like a MAC tile) and scan tiles of `steps` steps.
public struct TileDescriptor: Equatable, Sendable {
    public enum Kind: Int, Sendable { case multiplyAccumulate = 0, feature = 1, gather = 2, scan = 3 }
    public var kind: Kind
    public var kernelHeight: Int, kernelWidth: Int, tapY: Int, tapX: Int
    /// Feature and scan tiles: their steps (0 for the others).
    public var steps: Int
    /// The first tap's offset in buffer words from the window's origin: `tapY * rowWords + tapX * inputTiles` of
    /// the layer's instruction (the compiler sets it once the instruction exists).
    public var tapOffset = 0
    /// On a strip map: pixels from the tile's first tap column to the column of the word its first step reads
    /// (a word ends on its last pixel; StripLayout.leading), which `tapOffset` includes. Not encoded.
    public var columnShift = 0

    public init(
        _ kind: Kind = .multiplyAccumulate, kernelHeight: Int = 1, kernelWidth: Int = 1, tapY: Int = 0, tapX: Int = 0,
        steps: Int = 0
    ) {
        self.kind = kind; self.kernelHeight = kernelHeight; self.kernelWidth = kernelWidth; self.tapY = tapY;
        self.tapX = tapX; self.steps = steps
    }

    /// Field widths in encoding order.
    static let fields: [(name: String, bits: Int)] = [
        ("kernel height", 4), ("kernel width", 4), ("first tap y", 4), ("first tap x", 4), ("steps", 12), ("kind", 2),
        ("reserved", 2), ("tap offset", 24),
    ]
    var values: [Int] { [kernelHeight, kernelWidth, tapY, tapX, steps, kind.rawValue, 0, tapOffset] }

    /// The field that does not fit its bits, if any (the compiler refuses such a layer).
    public var overflowingField: (name: String, value: Int, bits: Int)? {
        for (field, value) in zip(Self.fields, values) where value < 0 || value >= 1 << field.bits {
            return (field.name, value, field.bits)
        }
        return nil
    }

    /// Steps of this tile per output pixel when the layer reads `inputTiles` words per kernel tap.
    public func stepCount(inputTiles: Int) -> Int {
        kind == .feature || kind == .scan ? steps : kernelHeight * kernelWidth * inputTiles
    }

    public var hex: String {
        var word = WideWord(bits: 64)
        var lsb = 0
        for (field, value) in zip(Self.fields, values) { word.set(value, at: lsb, bits: field.bits); lsb += field.bits }
        return word.hex
    }
}

/// A wide bit vector written as hex for `$readmemh` (lanes packed from bit 0 up, two's complement).
public struct WideWord: Equatable, Sendable {
    public let bits: Int
    private var limbs: [UInt64]

    public init(bits: Int) {
        self.bits = bits
        limbs = [UInt64](repeating: 0, count: (bits + 63) / 64)
    }

    /// Writes the low `width` bits of `value` (two's complement) at bit `lsb`.
    public mutating func set(_ value: Int, at lsb: Int, bits width: Int) {
        for b in 0..<width where (value >> min(b, 63)) & 1 == 1 {
            let position = lsb + b
            limbs[position / 64] |= 1 << UInt64(position % 64)
        }
    }

    public var hex: String {
        let digits = (bits + 3) / 4
        var text = ""
        text.reserveCapacity(digits)
        for d in stride(from: digits - 1, through: 0, by: -1) {
            let position = d * 4
            // Nibbles never straddle two limbs (64 is a multiple of 4).
            let nibble = (limbs[position / 64] >> UInt64(position % 64)) & 0xF
            text.append(Character(String(nibble, radix: 16)))
        }
        return text
    }
}
