import Quantization

/// A residual add on the MAC array (docs/accelerator.md, "Residual add"; the arithmetic is docs/arithmetic.md
/// section 4): a 1 x 1 layer whose output tile t takes two steps at word t of the pixel, the first from the
/// input's buffer and the second from the addend's, each multiplied by a diagonal of power-of-two weights that
/// aligns it to the finer of the two exponents. NFU-3's requantization of that exact sum (bias 0, the shift to
/// the output exponent, the fused ReLU, saturation) is the contract's rounding.
extension ProgramBuilder {
    mutating func addResidual(_ layer: QuantizedModel.Layer, source: NetworkCompiler.Map, addend: NetworkCompiler.Map)
        throws
    {
        let fail = { (reason: String) in CompileError(layer: layer.name, "add: \(reason)") }
        guard !config.swc, !config.reuse else {
            throw fail(
                "a residual add runs on the MAC array's plain weights, which the swc and reuse extensions replace; generate without them"
            )
        }
        guard !source.image, !addend.image, source.strip == nil, addend.strip == nil, source.order == addend.order,
            source.height == addend.height, source.width == addend.width, source.tiles == addend.tiles
        else {
            throw fail(
                "'\(layer.input)' and '\(layer.addend ?? "?")' lie differently in their buffers (channel order, tiles, size or strips), so no word of one matches the other's"
            )
        }
        let (ea, eb) = (layer.inputExponent, layer.addendExponent ?? layer.inputExponent)
        let finest = min(ea, eb)
        let (wa, wb) = (1 << (ea - finest), 1 << (eb - finest))
        let shift = layer.outputExponent - finest
        let destination = try destinationBank(for: layer)
        let tn = config.tn, tiles = source.tiles
        var instruction = Instruction(
            layer: layer.name, op: .multiplyAccumulate, relu: layer.relu ?? false, logits: false,
            source: source.bank, destination: destination,
            inputHeight: source.height, inputWidth: source.width, inputTiles: tiles,
            outputHeight: source.height, outputWidth: source.width, outputTiles: tiles,
            kernelHeight: 1, kernelWidth: 1, strideHeight: 1, strideWidth: 1, padTop: 0, padLeft: 0, poolShift: 0,
            weightBase: weightWords.count, paramBase: paramWords.count)
        instruction.addendSource = addend.bank
        instruction.tileSteps = [Int](repeating: 2, count: tiles)
        try emit(instruction, fail: fail)
        writer[layer.name] = program.count - 1
        // Output tile t reads word t of the pixel (the descriptor's tap offset) from both buffers.
        tileDescriptors += (0..<tiles).map { t in
            var descriptor = TileDescriptor()
            descriptor.tapOffset = t
            return descriptor
        }
        for t in 0..<tiles {
            let lanes = (0..<tn).map { source.order[t * tn + $0] != nil }
            for weight in [wa, wb] {
                var word = [Int](repeating: 0, count: tn * tn)
                for o in 0..<tn where lanes[o] { word[o * tn + o] = weight }
                weightWords.append(.weights(word))
            }
            paramWords.append(
                .init(
                    bias: [Int](repeating: 0, count: tn), shift: lanes.map { $0 ? shift : 0 },
                    scale: lanes.map { $0 ? 1 : 0 }, active: lanes))
        }
        macs.append(0)
        macLayers += 1
        macWeightWidth = max(macWeightWidth, FixedPoint.width(low: 0, high: max(wa, wb)))
        let code = 1 << (model.activationBits - 1)
        accumulatorWidth = max(accumulatorWidth, FixedPoint.width(low: -code * (wa + wb), high: (code - 1) * (wa + wb)))
        (minShift, maxShift, maxLeft) = (min(minShift, shift, 0), max(maxShift, shift), max(maxLeft, -shift))
        maps[layer.name] = .init(
            order: source.order, height: source.height, width: source.width, bank: destination, tiles: tiles)
        layouts.append(OutputLayout(layer: layer.name, order: source.order, height: source.height, width: source.width))
    }
}
