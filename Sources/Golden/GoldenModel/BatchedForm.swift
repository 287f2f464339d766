import IntegerKernels
import MatrixKernels
import Quantization

/// How the golden model runs a batch layer by layer: activation codes in 32-bit buffers, sample-major; the
/// weighted layers as 16-bit GEMMs, or 8-bit ones over quad planes (`GemmLayer`), max pooling and copies in place,
/// and every other layer (or a weighted layer a GEMM cannot hold) one sample at a time through its reference step,
/// so the results are the reference form's exactly. `init` returns nil for a model whose codes may not fit 16
/// bits; it then runs in the reference form throughout.
struct BatchedForm: Sendable {
    /// How a convolution's GEMM reads its input. With stride 1 both ways it is "direct": the GEMM reads B straight
    /// from pair planes of the padded input (ar_gemm_direct, no im2col matrix), pair row k starting at
    /// `offsets[k]` in a sample's planes, and every output row spans paddedW columns (the last kernelW - 1
    /// ignored). Otherwise B is a packed im2col matrix, one column per output pixel.
    ///
    /// With `quads` (inputs 0 ... 255, channels a multiple of 4, 8-bit weights) four channels share a word
    /// (ar_quad_channels) and `offsets` has one entry per quad row.
    struct Columns: Sendable {
        let direct: Bool
        let quads: Bool
        let offsets: [Int]
        let paddedH: Int
        let paddedW: Int
        /// Columns per sample, and the words after the last plane that the ignored columns may read.
        let perSample: Int
        let slack: Int

        init(_ g: ConvGeometry, quads: Bool) {
            direct = g.strideW == 1 && g.strideH == 1
            self.quads = quads
            paddedW = g.outW + g.kernelW - 1
            paddedH = g.outH + g.kernelH - 1
            perSample = direct ? g.outH * paddedW : g.pixels
            slack = direct ? g.kernelW + Int(AR_PANEL) : 0
            let (plane, width, perRow) = (paddedH * paddedW, paddedW, ar_even(g.kernelW) / 2)
            var offsets: [Int] = []
            if quads {
                for quad in 0..<(g.channels / 4) {
                    for ky in 0..<g.kernelH {
                        for kx in 0..<g.kernelW { offsets.append(quad * plane + ky * width + kx) }
                    }
                }
            } else if direct && Self.pairsChannels(g) {
                for pair in 0..<(g.channels / 2) {
                    for ky in 0..<g.kernelH {
                        for kx in 0..<g.kernelW { offsets.append(pair * plane + ky * width + kx) }
                    }
                }
            } else if direct {
                for c in 0..<g.channels {
                    for ky in 0..<g.kernelH {
                        for p in 0..<perRow { offsets.append(c * plane + ky * width + 2 * p) }
                    }
                }
            }
            self.offsets = offsets
        }

        /// A direct convolution over an even number of channels pairs neighbouring channels (no padding tap);
        /// otherwise taps of a kernel row pair up.
        static func pairsChannels(_ g: ConvGeometry) -> Bool {
            g.strideW == 1 && g.strideH == 1 && g.channels % 2 == 0
        }

        /// A direct convolution whose channels fill whole quads.
        static func quadsChannels(_ g: ConvGeometry) -> Bool {
            g.strideW == 1 && g.strideH == 1 && g.channels % 4 == 0
        }

        /// Words of one sample's planes: a plane per channel, channel pair or channel quad.
        func sampleWords(_ g: ConvGeometry) -> Int {
            g.channels * paddedH * paddedW / (quads ? 4 : Self.pairsChannels(g) ? 2 : 1)
        }

        /// C columns per sample in the direct form: whole panels.
        var panelColumns: Int { BatchedForm.panelColumns(perSample) }
    }

    enum Step: Sendable {
        case gemm(GemmLayer, Columns?)
        case maxPool
        case copy
        case reference
    }

    let steps: [Step]
    /// Samples per batch, and per im2col chunk of each convolution (bounded so its columns stay in cache).
    let batch: Int
    let chunks: [Int]
    let packedSize: Int
    let productSize: Int
    /// Words of the pair planes of the largest direct convolution's chunk.
    let planesSize: Int
    /// The longest run of one channel's outputs finished at once (a batch, a convolution's pixels or a direct
    /// convolution's wide columns).
    let rowSize: Int

    static let batchSize = 64
    /// Bytes of one layer's input and output codes that a batch should stay within, so that each layer hands its
    /// outputs to the next through the cache: VGG-small (100 KB per sample at conv2) ran 1.3x faster at 16 samples
    /// than at 64, LeNet-5 (22 KB) fastest at 64.
    static let cacheBytes = 2 << 20
    static let chunkColumns = 1024

    /// `sources[p]`: the value layer p reads (0 the input, q + 1 layer q's output). `quads`: use the 8-bit
    /// kernel where a convolution's inputs allow it (by default where this machine has its vector version).
    init?(model: QuantizedModel, layers: [IntegerLayer], sources: [Int], quads: Bool = ar_quads_supported() != 0) {
        // Every code then fits 16 bits: requantized codes saturate to the activation width, and the other layers
        // (pooling, ReLU, copies) only pass codes on. The logits may be wider: only the last layer may be logits.
        let zeroPoints = model.input.zeroPoints ?? [0]
        guard model.activationBits <= 16, zeroPoints.allSatisfy({ (-32_512...32_768).contains($0) }),
            layers.dropLast().allSatisfy({ !$0.logits })
        else { return nil }
        batch = Self.batch(layers)
        var steps: [Step] = [], chunks: [Int] = []
        var packedSize = 1, productSize = 1, rowSize = batch, planesSize = 1
        let bytes = Self.byteCodes(layers, sources: sources)
        for (position, step) in layers.enumerated() {
            var chunk = batch
            if let gemm = GemmLayer(step, quads: quads && bytes[sources[position]]) {
                let columns = step.geometry.map { Columns($0, quads: gemm.quads != nil) }
                steps.append(.gemm(gemm, columns))
                let perSample = columns?.perSample ?? 1
                chunk = max(1, min(batch, Self.chunkColumns / perSample))
                rowSize = max(rowSize, perSample)
                if let columns, columns.direct, let g = step.geometry {
                    planesSize = max(planesSize, chunk * columns.sampleWords(g) + columns.slack)
                    productSize = max(productSize, gemm.rows * chunk * columns.panelColumns)
                } else {
                    packedSize = max(packedSize, ar_packed_size(gemm.depth, chunk * perSample))
                    productSize = max(productSize, gemm.rows * Self.panelColumns(chunk * perSample))
                }
            } else if step.kind == .maxPool, let pool = step.poolGeometry, pool.everyWindowHasCells {
                steps.append(.maxPool)
            } else if step.kind == .flatten || step.kind == .reshape {
                steps.append(.copy)
            } else {
                steps.append(.reference)
            }
            chunks.append(chunk)
        }
        self.steps = steps
        self.chunks = chunks
        self.packedSize = packedSize
        self.productSize = productSize
        self.rowSize = rowSize
        self.planesSize = planesSize
    }
}

extension BatchedForm {
    /// The largest power of two up to `batchSize` (at least 8) whose layers' codes fit `cacheBytes`.
    static func batch(_ layers: [IntegerLayer]) -> Int {
        let perSample = layers.map { 4 * ($0.inputShape.reduce(1, *) + $0.layer.shape.reduce(1, *)) }.max() ?? 1
        var batch = batchSize
        while batch > 8 && batch * perSample > cacheBytes { batch /= 2 }
        return batch
    }

    /// Per value (the input, then each layer's output), whether its codes always lie in 0 ... 255: outputs
    /// requantized with ReLU to at most 9 bits, and what pooling, ReLU and copies make of such codes. The input's
    /// codes are not assumed to.
    static func byteCodes(_ layers: [IntegerLayer], sources: [Int]) -> [Bool] {
        var bytes = [false]
        for (position, step) in layers.enumerated() {
            switch step.kind {
            case .conv2d, .dense:
                bytes.append(step.relu && step.activation == nil && !step.logits && step.bits <= 9)
            case .relu:
                bytes.append(step.bits <= 9)
            case .maxPool, .flatten, .reshape:
                bytes.append(bytes[sources[position]])
            default:
                bytes.append(false)
            }
        }
        return bytes
    }

    /// `n` columns rounded up to whole panels of the packed layout.
    static func panelColumns(_ n: Int) -> Int { (n + Int(AR_PANEL) - 1) / Int(AR_PANEL) * Int(AR_PANEL) }
}

extension PoolGeometry {
    /// True when no window lies wholly in the padding (the reference then never outputs its empty value).
    var everyWindowHasCells: Bool {
        for oy in 0..<outH {
            for ox in 0..<outW where window(oy, ox).rows.isEmpty || window(oy, ox).cols.isEmpty { return false }
        }
        return true
    }
}
