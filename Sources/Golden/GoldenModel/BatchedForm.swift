import IntegerKernels
import MatrixKernels
import Quantization

/// How the golden model runs a batch layer by layer: activation codes in 32-bit buffers, sample-major; the
/// weighted layers as 16-bit GEMMs (`GemmLayer`), max pooling and copies in place, and every other layer (or a
/// weighted layer a GEMM cannot hold) one sample at a time through its reference step, so the results are the
/// reference form's exactly. `init` returns nil for a model whose codes may not fit 16 bits; it then runs in the
/// reference form throughout.
struct BatchedForm: Sendable {
    /// How a convolution's GEMM reads its input. With stride 1 both ways it is "direct": the GEMM reads B straight
    /// from pair planes of the padded input (ar_gemm_direct, no im2col matrix), pair row k starting at
    /// `offsets[k]` in a sample's planes, and every output row spans paddedW columns (the last kernelW - 1
    /// ignored). Otherwise B is a packed im2col matrix, one column per output pixel.
    struct Columns: Sendable {
        let direct: Bool
        let offsets: [Int]
        let paddedH: Int
        let paddedW: Int
        /// Columns per sample, and the words after the last plane that the ignored columns may read.
        let perSample: Int
        let slack: Int

        init(_ g: ConvGeometry) {
            direct = g.strideW == 1 && g.strideH == 1
            paddedW = g.outW + g.kernelW - 1
            paddedH = g.outH + g.kernelH - 1
            perSample = direct ? g.outH * paddedW : g.pixels
            slack = direct ? g.kernelW + Int(AR_PANEL) : 0
            let (plane, width, perRow) = (paddedH * paddedW, paddedW, ar_even(g.kernelW) / 2)
            var offsets: [Int] = []
            if direct && Self.pairsChannels(g) {
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
    static let chunkColumns = 1024

    init?(model: QuantizedModel, layers: [IntegerLayer]) {
        // Every code then fits 16 bits: requantized codes saturate to the activation width, and the other layers
        // (pooling, ReLU, copies) only pass codes on. The logits may be wider: only the last layer may be logits.
        let zeroPoints = model.input.zeroPoints ?? [0]
        guard model.activationBits <= 16, zeroPoints.allSatisfy({ (-32_512...32_768).contains($0) }),
            layers.dropLast().allSatisfy({ !$0.logits })
        else { return nil }
        batch = Self.batchSize
        var steps: [Step] = [], chunks: [Int] = []
        var packedSize = 1, productSize = 1, rowSize = batch, planesSize = 1
        for step in layers {
            var chunk = batch
            if let gemm = GemmLayer(step) {
                let columns = step.geometry.map(Columns.init)
                steps.append(.gemm(gemm, columns))
                let perSample = columns?.perSample ?? 1
                chunk = max(1, min(batch, Self.chunkColumns / perSample))
                rowSize = max(rowSize, perSample)
                if let columns, columns.direct, let g = step.geometry {
                    planesSize = max(planesSize, chunk * g.channels * columns.paddedH * columns.paddedW + columns.slack)
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
