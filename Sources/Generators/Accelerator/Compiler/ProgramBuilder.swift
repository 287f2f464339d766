import Quantization

/// The compiler's state while it walks the model's layers: the program so far, the ROM words, where each layer's
/// output lies, and the widths the core must have. `finish` reduces it, with the units' contributions, into the
/// compiled network.
struct ProgramBuilder {
    let model: QuantizedModel
    let config: AcceleratorConfig
    let units: [any AcceleratorUnit]
    /// How the loader writes the image (patches of the first convolution's kernel, or one pixel per word).
    var loader: ImageLoader
    var maps: [String: NetworkCompiler.Map]
    var program: [Instruction] = []
    var weightWords: [CompiledNetwork.SBWord] = []
    var paramWords: [CompiledNetwork.ParamWord] = []
    var tileDescriptors: [TileDescriptor] = []
    var layouts: [OutputLayout?] = []
    var macs: [Int] = []
    /// Per instruction: the words it writes (the buffers are sized for the largest); which instruction wrote
    /// each map.
    var writtenWords: [Int] = []
    var writer: [String: Int] = [:]
    var accumulatorWidth = 2, minShift = 0, maxShift = 1, maxLeft = 1
    /// The widest weight the MAC array multiplies: the model's codes, or wider approximated weights (M1's
    /// coefficient-domain weights, docs/arithmetic.md section 7.1); layers that multiply on it.
    var macWeightWidth: Int
    var macLayers = 0
    var logitsLayer: QuantizedModel.Layer?
    /// The layer being added (its position in the model), and the last position that reads each layer's map (a
    /// flatten's readers read its input's words).
    var position = 0
    let lastRead: [String: Int]
    /// The highest activation buffer written so far.
    var highestBank = 1

    init(model: QuantizedModel, config: AcceleratorConfig, units: [any AcceleratorUnit]) {
        self.model = model; self.config = config; self.units = units
        let input = model.input.shape
        // Patches of a first convolution's kernel on the image, when they save steps; for a dense layer over the
        // image (an MLP), patches of the whole image when the steps fit the instruction's kernel fields.
        loader = .plain(height: input[1], width: input[2], channels: input[0])
        if input[0] > 1 {
            // Several channels: one pixel per word, its channels on the lanes.
        } else if config.firstLayer == .patches, let dense = ImageLoader.denseWindow(model),
            let patches = try? ImageLoader.best(
                for: dense, height: input[1], width: input[2], tn: config.tn, maxSteps: Instruction.kernelLimit)
        {
            loader = patches
        } else if config.firstLayer == .patches, let first = model.layers.first, first.kind == .conv2d,
            first.input == model.input.name
        {
            // Pixel lanes when a max pool follows (it folds them), if the patches for their windows' union exist.
            let rows = ImageLoader.pixelRows(
                first: first, next: model.layers.dropFirst().first, config: config,
                scanned: ReuseLanes.scans(first, model: model, config: config))
            if let patches = try? ImageLoader.best(
                for: first, height: input[1], width: input[2], tn: config.tn, pixelRows: rows)
                ?? ImageLoader.best(for: first, height: input[1], width: input[2], tn: config.tn)
            {
                loader = patches
            }
        }
        maps = [
            model.input.name: .init(
                order: Array(0..<input[0]), height: loader.storedRows, width: loader.rowWords, bank: 1, tiles: 1,
                image: true)
        ]
        macWeightWidth = model.weightBits
        lastRead = Self.lastReads(model)
    }

    static func lastReads(_ model: QuantizedModel) -> [String: Int] {
        let kinds = Dictionary(model.layers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var last: [String: Int] = [:]
        for (position, layer) in model.layers.enumerated() {
            for name in [layer.input] + (layer.addend.map { [$0] } ?? []) {
                var read: String? = name
                while let current = read {
                    last[current] = position
                    let producer = kinds[current]
                    read = producer.map { $0.kind == .flatten || $0.kind == .reshape } == true ? producer?.input : nil
                }
            }
        }
        return last
    }

    /// The activation buffer a layer writes: the lowest one whose map no layer from this one on still reads.
    /// Without skip connections that is the buffer the layer does not read (they alternate); a residual block's
    /// input stays where it is until its add, which takes a third buffer.
    mutating func destinationBank(for layer: QuantizedModel.Layer) throws -> Int {
        let busy = Set(maps.filter { !$0.value.image && lastRead[$0.key, default: -1] >= position }.map(\.value.bank))
        guard let bank = (0..<3).first(where: { !busy.contains($0) }) else {
            throw CompileError(
                layer: layer.name,
                "\(layer.kind.rawValue): three activation buffers hold maps that later layers read; the accelerator has at most three"
            )
        }
        highestBank = max(highestBank, bank)
        return bank
    }

    mutating func add(_ layer: QuantizedModel.Layer, last: Bool) throws {
        guard let source = maps[layer.input] else {
            throw CompileError(layer: layer.name, "reads '\(layer.input)', which no layer before it writes")
        }
        if let logitsLayer {
            throw CompileError(
                layer: layer.name, "follows the logits layer '\(logitsLayer.name)'; the logits must be the last layer")
        }
        let fail = { (reason: String) in CompileError(layer: layer.name, "\(layer.kind.rawValue): \(reason)") }
        switch layer.kind {
        case .flatten, .reshape:
            // The words stay where they are; a dense layer reads the map in the flatten order (channel, y, x) (the
            // image's patches: the image's pixels).
            let channels = source.order.compactMap { $0 }.count
            let pixels = source.image ? model.input.shape[1] * model.input.shape[2] : source.height * source.width
            guard layer.shape.count == 1, layer.shape[0] == channels * pixels else {
                throw fail("only a flatten to a vector is supported, not shape \(layer.shape)")
            }
            maps[layer.name] = source
            return
        case .relu:
            throw fail("a ReLU that is not fused into a convolution or dense layer is not supported")
        case .activation:
            throw fail(
                "an activation (\(layer.activation?.function ?? "?")) that is not fused into a convolution or dense layer is not supported; NFU-3's table maps a weighted layer's outputs"
            )
        case .add:
            guard let name = layer.addend, let addend = maps[name] else {
                throw fail("reads '\(layer.addend ?? "?")', which no layer before it writes")
            }
            try addResidual(layer, source: source, addend: addend)
        case .conv2d, .dense:
            try addWeighted(layer, source: source, last: last)
        case .maxPool, .averagePool:
            try addPooling(layer, source: source)
        }
        let written = maps[layer.name]!
        writtenWords[writer[layer.name]!] = written.height * written.width * written.tiles
    }

    mutating func emit(_ instruction: Instruction, fail: (String) -> CompileError) throws {
        if let bad = instruction.overflowingField {
            throw fail("\(bad.name) = \(bad.value) does not fit the instruction's \(bad.bits) bits")
        }
        program.append(instruction)
        writtenWords.append(0)
    }

    mutating func addPooling(_ layer: QuantizedModel.Layer, source: NetworkCompiler.Map) throws {
        let fail = { (reason: String) in CompileError(layer: layer.name, "\(layer.kind.rawValue): \(reason)") }
        let window = try layer.window()
        let (kh, kw) = (window.kernelHeight, window.kernelWidth)
        let area = kh * kw
        if layer.kind == .averagePool, area & (area - 1) != 0 {
            throw fail("an average over \(area) values is not a shift")
        }
        let (oh, ow) = (layer.shape[1], layer.shape[2])
        if fuse(layer, window: window, source: source) { return }
        let destination = try destinationBank(for: layer)
        var instruction = Instruction(
            layer: layer.name, op: layer.kind == .maxPool ? .maxPool : .averagePool, relu: false, logits: false,
            source: source.bank, destination: destination,
            inputHeight: source.height, inputWidth: source.width, inputTiles: source.tiles,
            outputHeight: oh, outputWidth: ow, outputTiles: source.tiles,
            kernelHeight: kh, kernelWidth: kw, strideHeight: window.strideHeight, strideWidth: window.strideWidth,
            padTop: window.padTop, padLeft: window.padLeft, poolShift: area.trailingZeroBitCount,
            weightBase: 0, paramBase: 0)
        instruction.image = source.image
        try emit(instruction, fail: fail)
        writer[layer.name] = program.count - 1
        macs.append(0)
        maps[layer.name] = .init(order: source.order, height: oh, width: ow, bank: destination, tiles: source.tiles)
        layouts.append(
            source.order.count < config.tn
                ? nil : OutputLayout(layer: layer.name, order: source.order, height: oh, width: ow))
    }

    /// Fuses a max pool into the convolution that wrote its input (docs/accelerator.md, "Fused pooling"): when the
    /// pool's window is its stride, it has no padding, and nothing else reads the convolution's map, the
    /// convolution's instruction walks its pixels window by window and writes only each window's max. Returns
    /// whether it did.
    mutating func fuse(_ layer: QuantizedModel.Layer, window: QuantizedModel.Layer.Window, source: NetworkCompiler.Map)
        -> Bool
    {
        let (kh, kw) = (window.kernelHeight, window.kernelWidth)
        guard config.fusePooling, layer.kind == .maxPool, let index = writer[layer.input], index == program.count - 1,
            program[index].op == .multiplyAccumulate, program[index].fusedLayer == nil, !program[index].logits,
            kh % program[index].pixelRows == 0,
            kh == window.strideHeight, kw == window.strideWidth, window.padTop == 0, window.padLeft == 0,
            window.padBottom == 0, window.padRight == 0,
            layer.shape[1] == source.height / kh, layer.shape[2] == source.width / kw,
            model.layers.filter({ $0.input == layer.input }).count == 1
        else { return false }
        program[index].fusedHeight = kh / program[index].pixelRows
        program[index].fusedWidth = kw
        program[index].fusedLayer = layer.name
        program[index].outputHeight = layer.shape[1]
        program[index].outputWidth = layer.shape[2]
        maps[layer.name] = .init(
            order: source.order, height: layer.shape[1], width: layer.shape[2], bank: source.bank, tiles: source.tiles)
        writer[layer.name] = index
        layouts[index] = OutputLayout(
            layer: layer.name, order: source.order, height: layer.shape[1], width: layer.shape[2])
        // Cycles between two written tiles' pooled pixels: a window's steps with one tile, else at least a tile's.
        let steps = program[index].tileSteps, written = program[index].pixelWords
        let window = program[index].fusedHeight * program[index].fusedWidth * steps.reduce(0, +)
        let spacing = written == 1 ? window : steps.min() ?? 0
        // A reuse layer's gather tile writes nothing, so its written tiles' words would not follow its tile count.
        if !(program[index].reuse && written > 1),
            let strip = stripLayout(layer, channels: source.order, writerSteps: spacing)
        {
            program[index].writesStrips = true
            program[index].stripGroups = strip.groups
            program[index].stripTileGroups = strip.tileGroups
            maps[layer.name]!.strip = strip
            maps[layer.name]!.tiles = strip.groups
            layouts[index]!.strip = strip
        }
        return true
    }

    /// The strip layout a fused pool's map should be written in (docs/accelerator.md, "Strips"), if any: its one
    /// reader is a convolution without padding on the MAC array, and strips take fewer of the reader's steps
    /// (over the largest window its channels keep) than one pixel per word. A design has one strip layout (the
    /// core's wiring), so a later map takes strips only in the layout the first one chose. `writerSteps`: the
    /// writer's cycles between two tiles' pooled pixels.
    func stripLayout(_ pool: QuantizedModel.Layer, channels order: [Int?], writerSteps: Int) -> StripLayout? {
        let readers = model.layers.filter { $0.input == pool.name }
        guard readers.count == 1, let reader = readers.first, reader.kind == .conv2d,
            let span = order.lastIndex(where: { $0 != nil }).map({ $0 + 1 }),
            let window = try? reader.window(),
            [window.padTop, window.padLeft, window.padBottom, window.padRight] == [0, 0, 0, 0],
            !ReuseLanes.scans(reader, model: model, config: config),
            // M4: the largest window any of the reader's channels keeps.
            case let size = reader.kernelSizes?.max() ?? max(window.kernelHeight, window.kernelWidth),
            let strip = StripLayout.best(
                span: span, kernel: (min(size, window.kernelHeight), min(size, window.kernelWidth)), tn: config.tn,
                maxGroups: writerSteps)
        else { return nil }
        let chosen = layouts.compactMap { $0?.strip }.first
        return chosen == nil || chosen == strip ? strip : nil
    }

    /// A convolution or dense layer: the units prepare it, the lanes' order is fixed, the units (or the MAC
    /// array) lower its tiles, and the instruction, words and widths are kept.
    mutating func addWeighted(_ layer: QuantizedModel.Layer, source: NetworkCompiler.Map, last: Bool) throws {
        let patches = source.image && (loader.rows * loader.columns > 1 || loader.pixelRows > 1) ? loader : nil
        var lowering = try WeightedLowering(
            layer, config: config, source: source, patches: patches,
            image: source.image ? (model.input.shape[1], model.input.shape[2]) : nil)
        if !lowering.features.isEmpty && !config.featureUnit {
            throw lowering.fail("approximated features (M3) need the feature-approximation unit (--extensions feature)")
        }
        for unit in units { try unit.prepare(&lowering) }
        if lowering.onMacArray && !lowering.factored {
            macLayers += 1
            macWeightWidth = max(
                macWeightWidth, FixedPoint.width(low: lowering.weights.min() ?? 0, high: lowering.weights.max() ?? 0))
        }
        try lowering.checkShape()
        lowering.arrange()
        let destination = try destinationBank(for: layer)
        lowering.instruction = lowering.makeInstruction(
            weightBase: weightWords.count, paramBase: paramWords.count, destination: destination)
        for unit in units { try unit.lower(&lowering) }
        if lowering.descriptors.isEmpty { lowering.lowerOnMacArray() }
        try lowering.refoldDenseWalk()
        let inputTiles = lowering.instruction.inputTiles
        lowering.instruction.tileSteps = lowering.descriptors.map { $0.stepCount(inputTiles: inputTiles) }
        let instruction = lowering.instruction!
        for index in lowering.descriptors.indices {
            let d = lowering.descriptors[index]
            lowering.descriptors[index].tapOffset =
                d.tapY * instruction.pixelRowWords + (d.tapX + d.columnShift) * instruction.inputTiles
        }
        try emit(lowering.instruction, fail: lowering.fail)
        writer[layer.name] = program.count - 1
        if let bad = lowering.descriptors.lazy.compactMap(\.overflowingField).first {
            throw lowering.fail(
                "a tile's \(bad.name) = \(bad.value) does not fit the tile descriptor's \(bad.bits) bits")
        }
        weightWords += lowering.words
        paramWords += lowering.paramWords
        tileDescriptors += lowering.descriptors
        macs.append(lowering.macs)
        try keepWidths(of: lowering, last: last)
        let outTiles = lowering.order.count / config.tn
        let (oh, ow) = lowering.output
        maps[layer.name] = .init(order: lowering.order, height: oh, width: ow, bank: destination, tiles: outTiles)
        layouts.append(
            layer.logits ?? false ? nil : OutputLayout(layer: layer.name, order: lowering.order, height: oh, width: ow))
    }

    /// The accumulator and shift widths a weighted layer needs; the logits' own checks.
    mutating func keepWidths(of lowering: WeightedLowering, last: Bool) throws {
        let layer = lowering.layer, shifts = lowering.numbers.shifts
        accumulatorWidth = max(accumulatorWidth, lowering.numbers.accumulatorBits)
        let (lowest, highest) = (shifts.min() ?? 0, shifts.max() ?? 0)
        minShift = min(minShift, lowest)
        maxShift = max(maxShift, highest)
        maxLeft = max(maxLeft, -lowest)
        guard layer.logits ?? false else { return }
        let channels = lowering.outChannels
        guard last else { throw lowering.fail("the logits must be the last layer") }
        guard channels <= 255 else { throw lowering.fail("\(channels) logits; at most 255 are supported") }
        guard lowering.order.prefix(channels).elementsEqual((0..<channels).map { Optional($0) }) else {
            throw lowering.fail("the logits must keep their order")
        }
        logitsLayer = layer
    }

    /// The compiled network: the plain core's widths, then each unit's contribution, then the units' checks.
    func finish() throws -> CompiledNetwork {
        guard let logitsLayer else {
            throw CompileError(
                layer: model.layers.last?.name ?? model.input.name, "the model ends without a logits layer")
        }
        let tn = config.tn, input = model.input.shape
        let dataWidth = max(model.activationBits, FixedPoint.width(low: model.input.low, high: model.input.high))
        var network = CompiledNetwork(
            config: config, program: program,
            weightWords: weightWords.isEmpty ? [.weights([Int](repeating: 0, count: tn * tn))] : weightWords,
            reuse: nil, tables: [], tableSegments: 2, slopeWidth: 2, interceptWidth: 2, tableShiftBits: 1,
            macArray: macLayers > 0,
            outputLayouts: layouts, tileDescriptors: tileDescriptors, keptTiles: 1, coefficientWidth: 2,
            paramWords: paramWords,
            powerOfTwoCodes: false, scaleWidth: 1, productWidth: dataWidth + macWeightWidth, dataWidth: dataWidth,
            activationWidth: model.activationBits, weightWidth: macWeightWidth,
            // The accumulators also hold pooled codes and window sums (at most 16 codes of a 4-bit shift).
            accumulatorWidth: max(accumulatorWidth, dataWidth + 4),
            shiftWidth: FixedPoint.width(low: minShift, high: maxShift),
            maxLeftShift: maxLeft, logitLeftShift: max(0, -(logitsLayer.shifts?.min() ?? 0)),
            classes: logitsLayer.shape[0],
            imageWidth: input[2], imageHeight: input[1], loader: loader,
            activationWords: max(1, writtenWords.max() ?? 1), macs: macs)
        network.buffers = highestBank + 1
        network.pixelZeros = model.input.zeroPoints ?? [Int](repeating: 0, count: model.input.shape[0])
        for unit in units { try unit.finish(&network, model: model) }
        for unit in units { try unit.verify(network, model: model) }
        return network
    }
}
