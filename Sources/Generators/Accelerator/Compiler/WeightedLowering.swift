import GoldenModel
import Quantization

/// A convolution or dense layer on its way to an instruction: its geometry (a dense layer is a convolution whose
/// kernel covers the map it reads), what the SB holds, the order of its output channels on the lanes, and, once
/// lowered, its tile descriptors, SB words and bias/shift words. The compiler fills in the plain MAC-array
/// lowering; the active units change what they own (AcceleratorUnit).
struct WeightedLowering {
    let layer: QuantizedModel.Layer
    /// The layer's weight shape, exponents, biases, shifts and accumulator width.
    let numbers: QuantizedModel.Layer.Numbers
    let config: AcceleratorConfig
    /// The map the layer reads and the number of channels in it.
    let source: NetworkCompiler.Map
    let sourceChannels: Int
    let outChannels: Int
    let kernel: (height: Int, width: Int)
    let stride: (height: Int, width: Int)
    let pads: (top: Int, left: Int)
    let output: (height: Int, width: Int)
    /// The layer reads the loader's patches (the input lanes carry a patch of the kernel's taps: one step per
    /// patch, no left padding); nil: a map of channels.
    let patches: ImageLoader?

    /// What the SB holds per weight (IR order) and each output channel's scale (1 without SWC lanes).
    var weights: [Int]
    var scales: [Int]
    /// Computed channels in lane order, then M3's approximated channels (their tiles follow the computed ones).
    var computed: [Int]
    var features: [ApproximatedFeatures.Feature]
    /// Kernel size per output channel for reduced-kernel tiles (nil: every tile over the full kernel).
    var tileSizes: [Int]?
    /// Whether the weights are multiplied on the MAC array (false: a unit runs the layer).
    var onMacArray = true
    /// The MAC array's steps run on the factored lanes instead (the weights re-coded per output lane).
    var factored = false

    /// Set once the channel order is fixed: the model's channel on each physical lane (nil: idle).
    var order: [Int?] = []
    var computedTiles = 0
    var instruction: Instruction! = nil
    var descriptors: [TileDescriptor] = []
    var words: [CompiledNetwork.SBWord] = []
    var paramWords: [CompiledNetwork.ParamWord] = []

    var taps: Int { kernel.height * kernel.width }
    var tn: Int { config.tn }
    func fail(_ reason: String) -> CompileError { CompileError(layer: layer.name, "\(layer.kind.rawValue): \(reason)") }

    /// `image`: the image's height and width when the layer reads it (the map's are the loader's stored ones).
    init(
        _ layer: QuantizedModel.Layer, config: AcceleratorConfig, source: NetworkCompiler.Map, patches: ImageLoader?,
        image: (height: Int, width: Int)? = nil
    ) throws {
        self.layer = layer; self.config = config; self.source = source; self.patches = patches
        numbers = try layer.numbers()
        sourceChannels = source.order.compactMap { $0 }.count
        outChannels = numbers.channels
        weights = numbers.weights
        scales = [Int](repeating: 1, count: outChannels)
        let approximated = layer.approximatedFeatures?.features ?? []
        let featureChannels = Set(approximated.map(\.channel))
        computed = (0..<outChannels).filter { !featureChannels.contains($0) }
        features = approximated.sorted { $0.channel < $1.channel }
        if layer.kind == .conv2d {
            let window = try layer.window()
            (kernel, stride) = ((window.kernelHeight, window.kernelWidth), (window.strideHeight, window.strideWidth))
            (pads, output) = ((window.padTop, window.padLeft), (layer.shape[1], layer.shape[2]))
        } else {
            // A dense layer over the image's patches covers the image, not the stored map.
            let covered = patches == nil ? (source.height, source.width) : image ?? (source.height, source.width)
            (kernel, stride, pads, output) = (covered, (1, 1), (0, 0), (1, 1))
        }
    }

    /// Checks the weights against the map the layer reads.
    func checkShape() throws {
        let shape = numbers.shape
        if layer.kind == .conv2d {
            guard shape[1] == sourceChannels else {
                throw fail("weights for \(shape[1]) input channels, the input has \(sourceChannels)")
            }
        } else {
            guard shape[1] == sourceChannels * kernel.height * kernel.width else {
                throw fail("\(shape[1]) inputs, the map it reads has \(sourceChannels * kernel.height * kernel.width)")
            }
        }
    }

    /// Fixes the lane order: computed channels, whole tiles of them, then the approximated channels' tiles; and
    /// one bias/shift word per output tile.
    mutating func arrange() {
        let tn = self.tn
        let tiles = { (channels: Int) in (channels + tn - 1) / tn }
        computedTiles = tiles(computed.count)
        let outTiles = computedTiles + tiles(features.count)
        order = [Int?](repeating: nil, count: outTiles * tn)
        for (p, m) in computed.enumerated() { order[p] = m }
        for (p, f) in features.enumerated() { order[computedTiles * tn + p] = f.channel }
        let (bias, shifts, scales, order) = (numbers.bias, numbers.shifts, self.scales, self.order)
        // Pixel lanes: output lane o computes channel `order[o % (tn / pixelRows)]` of pixel row o / (tn / pixelRows).
        let group = tn / (patches?.pixelRows ?? 1)
        paramWords = (0..<outTiles).map { t in
            let lanes = (0..<tn).map { o in order[t * tn + o % group] }
            return .init(
                bias: lanes.map { $0.map { bias[$0] } ?? 0 }, shift: lanes.map { $0.map { shifts[$0] } ?? 0 },
                scale: lanes.map { $0.map { scales[$0] } ?? 0 }, active: lanes.map { $0 != nil })
        }
    }

    /// The instruction before its tiles: `weightBase` and `paramBase` are where its SB and bias/shift words start.
    func makeInstruction(weightBase: Int, paramBase: Int, destination: Int) -> Instruction {
        // A strip map steps a word's pixels per kernel-column step (StripLayout).
        let rows = patches?.rows ?? 1, columns = patches?.columns ?? source.strip?.pixels ?? 1
        let columnSteps = source.strip?.columnSteps(kernel.width) ?? (kernel.width + columns - 1) / columns
        // Pixel lanes: a step covers the union of the windows of the pixels one below the other.
        let union = kernel.height + ((patches?.pixelRows ?? 1) - 1) * stride.height
        var instruction = Instruction(
            layer: layer.name, op: .multiplyAccumulate, relu: layer.relu ?? false, logits: layer.logits ?? false,
            source: source.bank, destination: destination,
            inputHeight: source.height, inputWidth: source.width, inputTiles: source.tiles,
            outputHeight: output.height, outputWidth: output.width, outputTiles: order.count / tn,
            kernelHeight: (union + rows - 1) / rows, kernelWidth: columnSteps,
            strideHeight: stride.height, strideWidth: stride.width,
            // The loader stores the padding of patches (their left columns, and with several rows their top ones).
            padTop: rows > 1 ? 0 : pads.top, padLeft: patches == nil ? pads.left : 0,
            poolShift: 0,
            weightBase: weightBase, paramBase: paramBase)
        (instruction.patchRows, instruction.patchColumns) = (rows, columns)
        instruction.pixelRows = patches?.pixelRows ?? 1
        instruction.readsStrips = source.strip != nil
        instruction.image = source.image
        return instruction
    }

    /// The MAC array's lowering: its tiles (reduced-kernel and feature tiles included) and SB words.
    mutating func lowerOnMacArray() {
        descriptors = NetworkCompiler.macTileDescriptors(
            order: order, computedTiles: computedTiles, featureSteps: features.map(\.sources.count).max() ?? 0,
            sizes: tileSizes, kernel: kernel, patches: patches, strideHeight: stride.height, strip: source.strip,
            tn: tn)
        words = NetworkCompiler.macWords(
            descriptors: descriptors, order: order, weights: weights, features: features, source: source,
            kernel: kernel, patches: patches, strideHeight: stride.height, tn: tn)
    }

    /// The instruction's 4-bit kernel fields cannot walk a dense layer over a map wider or taller than 15 pixels
    /// (an MLP on a 28 x 28 image). A dense layer reads its input words in order, so any loop nest over the same
    /// count of words reads the same words in the same order, SB words included: the walk is refolded into a
    /// `kernel height x kernel width` window of pixels of `input tiles` words (the most words per pixel that fit
    /// 8 bits). Layers that fit are left as they are.
    mutating func refoldDenseWalk() throws {
        let limit = Instruction.kernelLimit
        guard layer.kind == .dense, patches == nil, kernel.height > limit || kernel.width > limit else { return }
        guard descriptors.allSatisfy({ $0.kind != .feature && $0.tapY == 0 && $0.tapX == 0 }) else {
            throw fail(
                "a dense layer over \(kernel.height) x \(kernel.width) pixels cannot take approximated features (M3)")
        }
        let count = kernel.height * kernel.width * source.tiles
        let walk = (1...min(255, count)).reversed().lazy.compactMap { tiles -> (Int, Int, Int)? in
            guard count % tiles == 0 else { return nil }
            let pixels = count / tiles
            return (1...limit).first { pixels % $0 == 0 && pixels / $0 <= limit }.map { ($0, pixels / $0, tiles) }
        }.first
        guard let (height, width, tiles) = walk else {
            throw fail(
                "its \(count) input words have no walk the instruction holds (at most 255 words per pixel, 15 x 15 pixels)"
            )
        }
        (instruction.inputHeight, instruction.inputWidth, instruction.inputTiles) = (height, width, tiles)
        (instruction.kernelHeight, instruction.kernelWidth) = (height, width)
        for index in descriptors.indices where descriptors[index].kind != .scan {
            (descriptors[index].kernelHeight, descriptors[index].kernelWidth) = (height, width)
        }
    }

    /// The multiply-accumulates the layer does for the model, counted as the rest of approxrtl counts them
    /// (ModelMetrics): every tap, padding included; an M4 channel its window's taps, an M3 channel one per source.
    var macs: Int {
        let (kh, kw) = kernel
        let sizes = layer.kernelSizes ?? [Int](repeating: max(kh, kw), count: outChannels)
        let perPixel =
            computed.map { layer.kind == .conv2d ? min(sizes[$0], kh) * min(sizes[$0], kw) : taps }.reduce(0, +)
            * sourceChannels
        return (perPixel + features.map(\.sources.count).reduce(0, +)) * output.height * output.width
    }
}
