@testable import Accelerator
import Approximation
import NetworkIR
import Quantization
import TestSupport
import XCTest

final class NetworkCompilerTests: XCTestCase {
    func testInstructionFieldsLandWhereTheDocumentSays() {
        let instruction = Instruction(
            layer: "x", op: .averagePool, relu: true, logits: false, source: 1, destination: 0,
            inputHeight: 28, inputWidth: 27, inputTiles: 2, outputHeight: 14, outputWidth: 13, outputTiles: 3,
            kernelHeight: 5, kernelWidth: 3, strideHeight: 2, strideWidth: 1, padTop: 2, padLeft: 1,
            poolShift: 2, weightBase: 0x123456, paramBase: 0xabcd)
        // By hand from docs/accelerator.md: op 2 | relu << 2 | source << 4 = 0x16; then the byte fields, the nibbles
        // (kernel 5, 3 -> 0x35 as [63:56]; strides 2, 1 -> 0x12; pads 2, 1 -> 0x12; pool shift 2), the bases.
        let layerWord: String =
            "abcd" + "123456" + "0" + "2" + "12" + "12" + "35" + "03" + "0d" + "0e" + "02" + "1b" + "1c" + "16"
        XCTAssertEqual(String(instruction.hex.suffix(32)), layerWord)
        // The address word above it: row words 27 * 2 = 54 = 0x36 (bits 151:128), per output row 2 * 54 = 108 = 0x6c,
        // per output column 1 * 2 = 2, origin (-2 * 27 - 1) * 2 = -110 = 0xffff92 in 24 bits, per kernel column
        // step 1 * 2 = 2 (bits 231:216); bits 255:232 zero.
        let addressWord: String = "000000" + "0002" + "ffff92" + "0002" + "00006c" + "000036"
        XCTAssertEqual(instruction.hex.count, 96)
        XCTAssertEqual(String(instruction.hex.dropFirst(32).prefix(32)), addressWord)
        // The fused pool's word (bits 383:256): a 1 x 1 window steps like an output pixel, 2 rows of 27 pixels of
        // 2 tiles = 108 words, 1 column = 2 words; with a 2 x 3 window twice and three times that. Above them
        // (bits 335:328) the output words per output pixel: its 3 tiles, and (bits 343:336) from one tile to the
        // next: 1.
        XCTAssertEqual(
            String(instruction.hex.prefix(32)), "0000000000" + "01" + "03" + "00006c" + "000002" + "01" + "02" + "11")
        var fused = instruction
        (fused.fusedHeight, fused.fusedWidth) = (2, 3)
        XCTAssertEqual(
            String(fused.hex.prefix(32)), "0000000000" + "01" + "03" + "0000d8" + "000006" + "03" + "04" + "32")
        // A strip writer of 3 groups, 2 from each of its tiles: 3 words per pixel, 2 from one tile to the next.
        var strips = instruction
        (strips.writesStrips, strips.stripGroups, strips.stripTileGroups) = (true, 3, 2)
        XCTAssertEqual(String(strips.hex.prefix(14)), "0000000000" + "02" + "03")
        // A residual add reading buffers 2 and 1 into buffer 2: the buffers' low bits stay at bits 4 and 5 (now
        // 0: op 2 | relu << 2 = 0x06), their high bits are bits 235 and 236, the add flag bit 237 and the addend's
        // buffer bits 239:238, so bits 239:232 are 0x78.
        var sum = instruction
        (sum.source, sum.destination, sum.addendSource) = (2, 2, 1)
        XCTAssertEqual(String(sum.hex.suffix(2)), "06")
        XCTAssertEqual(String(sum.hex.dropFirst(32).prefix(6)), "000078")
        // A factored layer: bit 240, the low bit of bits 243:240 (hex digit 26 from the right of the address word).
        var factored = instruction
        factored.factored = true
        XCTAssertEqual(String(factored.hex.dropFirst(32).prefix(6)), "000100")
        // On a patch of 3 x 5 pixels a kernel-row step is 3 rows and a kernel-column step 5 words; the output row
        // steps stride_h rows of pixels as before.
        var patches = instruction
        (patches.patchRows, patches.patchColumns, patches.inputTiles) = (3, 5, 1)
        XCTAssertEqual(
            String(patches.hex.dropFirst(32).prefix(32)), "000000" + "0005" + "ffffc9" + "0001" + "000036" + "000051")
        XCTAssertNil(instruction.overflowingField)
        var big = instruction
        big.kernelHeight = 16
        XCTAssertEqual(big.overflowingField?.name, "kernel_height")
    }

    func testCycleModelCountsStepsFetchAndDrain() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 2)
        var separate = AcceleratorConfig(tn: 4)
        separate.fusePooling = false
        XCTAssertEqual(try NetworkCompiler.compile(model, config: separate).drain, 4 + 2 + 7)
        // Its max pool fused into conv1: the fold's and the combiner's registers add two cycles.
        let network = try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4))
        XCTAssertEqual(network.program.compactMap(\.fusedLayer), ["pool1"])
        XCTAssertEqual(network.drain, 4 + 2 + 7 + 2)
        for (instruction, cycles) in zip(network.program, network.layerCycles) {
            XCTAssertEqual(cycles, instruction.steps + 3 + network.drain)
            if instruction.op == .multiplyAccumulate {
                XCTAssertEqual(
                    instruction.steps,
                    instruction.outputHeight * instruction.outputWidth * instruction.fusedHeight
                        * instruction.fusedWidth * instruction.outputTiles * instruction.kernelHeight
                        * instruction.kernelWidth * instruction.inputTiles,
                    "no reductions: full tiles; a fused pool's window of the convolution's pixels per output pixel")
            }
        }
        // Every multiply-accumulate of the model is one of the steps' Tn x Tn products.
        for (instruction, macs) in zip(network.program, network.macs) where instruction.op == .multiplyAccumulate {
            XCTAssertLessThanOrEqual(macs, instruction.steps * 16)
            XCTAssertGreaterThan(macs, 0)
        }
    }

    /// The reuse lanes' scan words hold each channel's parts from the highest rank down, and summing the members'
    /// inputs the way diannao_reuse.v does reproduces the layer's dense product with its approximated weights.
    func testReuseMembersReproduceTheApproximatedWeights() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 2)
        var options = SortedWeightOptions()
        options.segments = 3
        let compressed = try ModelCompressor.compress(model, method: .sortedWeights(options), maxAccumulatorBits: 40)
        let network = try NetworkCompiler.compile(compressed, config: AcceleratorConfig(tn: 4, reuse: true))
        XCTAssertFalse(network.macArray)
        let first = network.program[0], layer = compressed.layers[0]
        XCTAssertEqual(layer.kind, .conv2d)
        XCTAssertTrue(first.reuse)
        // Window word and lane -> input position: the gather tile walks ky, kx, then input tiles (one here), or the
        // loader's patches (word: the patch's step, row-major over the window; lane: row * columns + column).
        let (kh, kw) = (layer.kernel![0], layer.kernel![1])
        let loader = network.loader, patches = loader.rows * loader.columns > 1
        func position(_ member: CompiledNetwork.Member) -> Int {
            guard patches else { return member.lane * kh * kw + member.address }
            let across = (kw + loader.columns - 1) / loader.columns
            let ky = (member.address / across) * loader.rows + member.lane / loader.columns
            let kx = (member.address % across) * loader.columns + member.lane % loader.columns
            return ky * kw + kx
        }
        let weights = layer.effectiveWeights!, channels = layer.weightShape![0], fan = weights.count / channels
        let scanSteps = Array(first.tileSteps.dropFirst())
        var word = first.weightBase, checked = 0
        for (t, steps) in scanSteps.enumerated() {
            // Each lane: a unit input at every position in turn gives the weight there (linearity of the reuse form).
            for o in 0..<4 where t * 4 + o < channels {
                let m = t * 4 + o
                var recovered = [Int](repeating: 0, count: fan)
                for k in 0..<fan {
                    var (s, j, acc) = (0, 0, 0)
                    for step in 0..<steps {
                        guard case .members(let lanes) = network.weightWords[word + step], let member = lanes[o] else {
                            continue
                        }
                        let x = position(member) == k ? 1 : 0
                        s = (member.first ? 0 : s) + x
                        j = (member.first ? 0 : j) + member.d * s
                        if member.last { acc += member.coefficients[0] * s + member.coefficients[1] * j }
                    }
                    recovered[k] = acc
                }
                XCTAssertEqual(recovered, Array(weights[(m * fan)..<((m + 1) * fan)]), "channel \(m)")
                checked += 1
            }
            word += steps
        }
        XCTAssertEqual(checked, channels)
    }

    /// A factored lane's field, by hand: the distinct nonzero weights ascending, each weight's index into them (0:
    /// zero), packed as Tn indices then the values (approxrtl_diannao_factored.v).
    func testFactoredFieldsIndexEachLanesDistinctWeights() throws {
        let lane = CompiledNetwork.Factors(weights: [0, 5, -3, 5])
        XCTAssertEqual(lane.values, [-3, 5])
        XCTAssertEqual(lane.indices, [0, 2, 1, 2])
        let lanes = CompiledNetwork.FactoredLanes(values: 2, valueWidth: 4)
        XCTAssertEqual(lanes.indexWidth, 2)
        XCTAssertEqual(lanes.laneWidth(tn: 4), 4 * 2 + 2 * 4)
        XCTAssertEqual(lanes.extraLatency, 0)
        XCTAssertEqual(CompiledNetwork.FactoredLanes(values: 3, valueWidth: 4).extraLatency, 1)
        XCTAssertEqual(CompiledNetwork.FactoredLanes(values: 8, valueWidth: 4).extraLatency, 2)
    }

    func testRefusesWhatTheAcceleratorCannotRun() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 1)
        // (M3 without the feature unit: AcceleratorSimulationTests, on a real M3 model.)
        // Images with more channels than lanes (a pixel's channels share its word).
        var wide = model
        wide.input.shape = [17] + model.input.shape.dropFirst()
        XCTAssertThrowsError(try NetworkCompiler.compile(wide)) { error in
            XCTAssertTrue("\(error)".contains("at most Tn"), "\(error)")
        }
        // A lane count outside the supported range.
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 1)))
        // Reuse lanes on a model without M1, with too few lanes, or beside SWC lanes.
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4, reuse: true))) {
            error in
            XCTAssertTrue("\(error)".contains("no layer is compressed with sorted-weight approximation"), "\(error)")
        }
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 2, reuse: true))) {
            error in
            XCTAssertTrue("\(error)".contains("Tn >= 4"), "\(error)")
        }
        XCTAssertThrowsError(
            try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4, swc: true, reuse: true))
        ) { error in
            XCTAssertTrue("\(error)".contains("not combined"), "\(error)")
        }
        // An activation that no weighted layer absorbs (here after a pooling layer): NFU-3's table maps a weighted
        // layer's results, so the layer is named and refused.
        var b = GraphBuilder()
        var x = try b.add("image", .input, inputShape: [1, 6, 6])
        x = try b.add(
            "conv",
            .conv2d(Conv2D(weight: Tensor(shape: [2, 1, 3, 3], data: (0..<18).map { Float($0 % 5) * 0.1 - 0.2 }))),
            inputs: [x])
        x = try b.add("pool", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [x])
        x = try b.add("late_sigmoid", .activation(.sigmoid), inputs: [x])
        x = try b.add("flatten", .flatten, inputs: [x])
        x = try b.add(
            "fc", .dense(Dense(weight: Tensor(shape: [3, 8], data: (0..<24).map { Float($0 % 7) * 0.1 - 0.3 }))),
            inputs: [x])
        let graph = try b.build(outputs: [x])
        let standalone = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(5, shape: [1, 6, 6], seed: 3), source: "standalone")
        XCTAssertEqual(standalone.layers.first { $0.name == "late_sigmoid" }?.kind, .activation)
        XCTAssertThrowsError(try NetworkCompiler.compile(standalone, config: AcceleratorConfig(tn: 2))) { error in
            XCTAssertTrue("\(error)".contains("layer 'late_sigmoid'") && "\(error)".contains("not fused"), "\(error)")
        }
    }

    /// Instruction bit 7 and bits 84-87 name the layer's activation table; the tables are padded to the widest.
    func testActivationTablesAreNamedByTheInstructionAndPadded() throws {
        let graph = try RandomNetworks.graph(seed: 1, activations: [.leakyRelu(alpha: 0.1), .sigmoid, .sigmoid])
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: 1), source: "random")
        var config = AcceleratorConfig(tn: 4)
        config.fusePooling = false
        let network = try NetworkCompiler.compile(model, config: config)
        let withTables = network.program.filter { $0.table != nil }
        XCTAssertEqual(withTables.map(\.table), (0..<withTables.count).map { Optional($0) })
        XCTAssertEqual(network.tables.count, model.layers.filter { $0.activation != nil }.count)
        XCTAssertEqual(network.drain, 4 + 2 + 7 + 1, "the activation stage adds a cycle")
        XCTAssertEqual(network.multipliers, 16 + 4)
        var instruction = withTables.last!
        instruction.table = 5
        let word = instruction.hex
        // Nibble 21 from the right holds bits 84-87; bit 7 is the top bit of the lowest byte.
        XCTAssertEqual(Array(word)[95 - 21], "5")
        XCTAssertEqual(Int(String(word.suffix(2)), radix: 16)! & 0x80, 0x80)
        // LeakyRelu has two segments, Sigmoid 16: the LeakyRelu table repeats its breakpoint and its last segment.
        let leaky = network.paddedTable(0)
        XCTAssertEqual(network.tables[0].segments, 2)
        XCTAssertEqual(network.tableSegments, 16)
        XCTAssertEqual(leaky.breakpoints, [Int](repeating: network.tables[0].breakpoints[0], count: 15))
        XCTAssertEqual(Set(leaky.slopes.dropFirst()), [network.tables[0].slopes[1]])
        // Every code maps the same through the padded table as through the model's.
        for x in -128...127 {
            var k = 0
            for t in leaky.breakpoints where x >= t { k += 1 }
            XCTAssertEqual(
                min(max((leaky.slopes[k] * x + leaky.intercepts[k]) >> leaky.shift, -128), 127),
                network.tables[0].apply(x, bits: 8), "code \(x)")
        }
    }

    /// design.json keeps one flag per extension under the keys docs/formats.md names; they read back the same.
    func testConfigKeepsOneFlagPerExtensionInDesignJSON() throws {
        let config = AcceleratorConfig(tn: 8, kernelTiles: true, featureUnit: true, firstLayer: .channels)
        XCTAssertEqual(config.name, "kernel+feature")
        XCTAssertEqual(AcceleratorUnits.extensionNames, ["swc", "kernel", "feature", "reuse"])
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(config), as: UTF8.self)
        XCTAssertEqual(
            text,
            #"{"feature_unit":true,"first_layer":"channels","fuse_pooling":true,"kernel_tiles":true,"reuse":false,"swc":false,"tn":8}"#
        )
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertEqual(try decoder.decode(AcceleratorConfig.self, from: Data(text.utf8)), config)
        // A design.json written before an extension existed reads with it off ("strips", the mapping's old name, as
        // patches; pools as passes of their own, as they ran then).
        let older = #"{"first_layer":"strips","swc":true,"tn":16}"#
        var expected = AcceleratorConfig(tn: 16, swc: true)
        expected.fusePooling = false
        XCTAssertEqual(try decoder.decode(AcceleratorConfig.self, from: Data(older.utf8)), expected)
    }
}
