import Foundation
import GoldenModel
import LayerGenerator
import Quantization
import RTLSources
import Verilog

/// What `design.json` records about a generated accelerator (docs/formats.md): what `approxrtl sim` and `synth`
/// need to run it, and what the report shows.
public struct AcceleratorManifest: Codable, Equatable, Sendable {
    public var format = "approxrtl-design"
    public var version = 1
    public var kind = "accelerator"
    public var model: String
    public var arch = "diannao"
    public var top: String
    /// RTL in compile order (relative to the folder); the bench is `bench` in tb/, with tb/ on the include path.
    public var rtl: [String]
    public var bench = "tb_diannao"
    public var config: AcceleratorConfig
    /// "vanilla" or the extensions switched on.
    public var extensions: String
    public var multipliers: Int
    /// NFU-1's products on hard multipliers (the rest are built from LUTs; all of them without a target part).
    public var dspProducts: Int = 0
    /// The reuse lanes' small rank-step multipliers (d * S, e * S), beside `multipliers`.
    public var stepMultipliers: Int = 0
    /// NFU-1's multipliers and NFU-2's adder trees are built (false: every weighted layer runs on the reuse or
    /// the factored lanes).
    public var macArray: Bool = true
    /// The factored lanes' multipliers per output lane (nil: the design has none; M1 then runs on the reuse lanes).
    public var factorValues: Int? = nil
    /// Layers whose codes go through an NFU-3 activation table (0: the design has no table stage).
    public var activationTables: Int = 0
    /// SWC lanes with power-of-two codes: NFU-1 shifts instead of multiplying.
    public var shiftLanes: Bool
    public var dataWidth: Int
    public var weightWidth: Int
    public var accumulatorWidth: Int
    public var logitWidth: Int
    public var activationWords: Int
    public var weightWords: Int
    public var paramWords: Int
    /// Buffer and ROM sizes in bits: activation buffers (both, and the image buffer's two halves), SB, bias/shift ROM.
    public var activationBufferBits: Int
    public var weightBufferBits: Int
    public var paramBufferBits: Int
    public var layers: [LayerEntry]
    public var computeCycles: Int
    /// Cycles to take an image at one pixel per cycle (rows and the zeros that complete patches) and the
    /// first-layer mapping.
    public var loadCycles: Int
    /// Images streamed back to back: cycles between them (the next loads while one computes), and an image's
    /// cycles from its first pixel to its last logit (CompiledNetwork's model; the bench measures both).
    public var intervalCycles: Int? = nil
    public var latencyCycles: Int? = nil
    public var firstLayer: String
    public var images: Int
    /// The golden model's accuracy on the bench images (the RTL's is measured by the bench).
    public var goldenCorrect: Int

    public struct LayerEntry: Codable, Equatable, Sendable {
        public var name: String
        public var op: String
        public var macs: Int
        public var steps: Int
        public var cycles: Int
        public var idealCycles: Double
        /// ideal / actual cycles.
        public var utilization: Double
        /// How the instruction meets the lanes (CompiledNetwork.mapping; nil in designs from before it).
        public var mapping: String? = nil
    }
}

extension AcceleratorManifest {
    /// The manifest of a compiled network whose bench checks `count` images.
    init(
        network: CompiledNetwork, images: RomImages, modelName: String, top: String, rtl: [String], count: Int,
        goldenCorrect: Int
    ) {
        let tn = network.config.tn
        let layers = zip(network.program, zip(network.layerCycles, zip(network.macs, network.idealCycles))).map {
            instruction, rest in
            let (cycles, (macs, ideal)) = rest
            return LayerEntry(
                name: instruction.fusedLayer.map { "\(instruction.layer) + \($0)" } ?? instruction.layer,
                op: "\(instruction.op)", macs: macs, steps: instruction.steps, cycles: cycles, idealCycles: ideal,
                utilization: ideal / Double(cycles), mapping: network.mapping(instruction))
        }
        self.init(
            model: modelName, top: top, rtl: rtl, config: network.config, extensions: network.config.name,
            multipliers: network.multipliers,
            dspProducts: network.dspProducts,
            stepMultipliers: network.stepMultipliers, macArray: network.macArray,
            factorValues: network.factored?.values,
            activationTables: network.tables.count,
            shiftLanes: network.powerOfTwoCodes, dataWidth: network.dataWidth,
            weightWidth: network.weightWidth, accumulatorWidth: network.accumulatorWidth,
            logitWidth: network.logitWidth,
            activationWords: network.activationWords, weightWords: network.weightWords.count,
            paramWords: max(1, network.paramWords.count),
            activationBufferBits: (network.buffers * network.activationWords + 2 * network.imageWords) * tn
                * network.dataWidth,
            weightBufferBits: network.weightWords.count * tn * network.laneBits,
            paramBufferBits: max(1, network.paramWords.count) * images.paramBits,
            layers: layers, computeCycles: network.computeCycles, loadCycles: network.loadCycles,
            intervalCycles: network.intervalCycles, latencyCycles: network.latencyCycles,
            firstLayer: network.loader.rows * network.loader.columns > 1
                ? "patches of \(network.loader.rows) x \(network.loader.columns)" : "channels", images: count,
            goldenCorrect: goldenCorrect)
    }
}

/// A generated accelerator as a handoff folder: RTL, ROM images and program, the bench and its vectors, the file
/// list, FuseSoC core, Yosys script, clock constraint stub, README and the manifest.
public struct AcceleratorDesign: Sendable {
    public var manifest: AcceleratorManifest
    public var files: [String: Data]

    /// The hand-written modules the accelerator is built from, in compile order.
    static let primitives = [
        "rtl/approxrtl_reset_sync.v", "rtl/approxrtl_rom.v", "rtl/approxrtl_ram_sdp.v", "rtl/approxrtl_delay_line.v",
        "rtl/approxrtl_resize.v",
        "rtl/approxrtl_adder_tree_core.v", "rtl/approxrtl_adder_tree.v",
        "rtl/approxrtl_requantize.v", "rtl/approxrtl_pwl_activation.v", "rtl/approxrtl_diannao_sequencer.v",
        "rtl/approxrtl_diannao_reuse.v", "rtl/approxrtl_diannao_factored.v", "rtl/approxrtl_diannao_nfu.v",
        "rtl/approxrtl_diannao_core.v",
    ]

    /// Compiles `model` and writes the folder's files; the bench checks `count` images (pixels, labels) against
    /// the golden model's logits.
    /// With `debugLayers` the bench also checks every word every layer writes against the golden model's codes.
    public static func generate(
        model: QuantizedModel, modelName: String, config: AcceleratorConfig,
        pixels: [UInt8], labels: [Int], count: Int, debugLayers: Bool = false
    ) throws -> AcceleratorDesign {
        let network = try NetworkCompiler.compile(model, config: config)
        let golden = try GoldenModel(model)
        guard pixels.count == count * network.imagePixels, labels.count == count else {
            throw CompileError(
                layer: model.input.name,
                "the bench needs \(count) images of \(network.imagePixels) pixels and their labels")
        }
        let name = topName(modelName)
        let images = RomImages(network)
        var files = images.files
        // The bench's vectors.
        let outcome = golden.run(pixels: pixels, count: count, keepLayers: debugLayers)
        let logits = outcome.logits
        var debugDefines = ""
        if debugLayers {
            let debug = layerWords(network, model: model, layers: outcome.layers, count: count)
            files["vectors/layers.hex"] = lines(debug.words)
            files["vectors/layer_offsets.hex"] = TestVectors.hex(debug.offsets, bits: 32)
            debugDefines =
                "`define DEBUG_LAYERS\n`define LAYER_WORDS \(debug.perImage)\n`define WORD_BITS \(config.tn * network.dataWidth)\n"
                + "`define ACT_ADDR_BITS \(network.addressWidth)\n"
        }
        // The stream order: a pixel's channels one after another (HWC).
        files["vectors/images.hex"] = TestVectors.hex(
            TestVectors.streamOrder(pixels, shape: model.input.shape), bits: 8)
        files["vectors/logits.hex"] = TestVectors.hex(logits, bits: network.logitWidth)
        files["vectors/labels.hex"] = TestVectors.hex(labels, bits: 8)
        let goldenCorrect = (0..<count).filter { s in
            var best = 0
            for c in 1..<network.classes where logits[s * network.classes + c] > logits[s * network.classes + best] {
                best = c
            }
            return best == labels[s]
        }.count
        // RTL: the generated top and the modules it is built from.
        let top: String
        do { top = try VerilogPrinter.print(topModule(name: name, network: network)) } catch let error as VerilogError {
            throw CompileError(layer: model.input.name, "internal: \(error)")
        }
        files["rtl/\(name).v"] = Data(top.utf8)
        for path in primitives { files[path] = Data(EmbeddedSources.text(path)!.utf8) }
        files["tb/tb_diannao.sv"] = Data(EmbeddedSources.text("testbench/tb_diannao.sv")!.utf8)
        files["tb/xorshift.svh"] = Data(EmbeddedSources.text("testbench/xorshift.svh")!.utf8)
        let rtl = primitives + ["rtl/\(name).v"]
        files["files.f"] = Data((rtl.joined(separator: "\n") + "\n").utf8)
        files["tb/tb_config.svh"] = benchConfig(name: name, network: network, count: count, debugDefines: debugDefines)
        let manifest = AcceleratorManifest(
            network: network, images: images, modelName: modelName, top: name, rtl: rtl,
            count: count, goldenCorrect: goldenCorrect)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files["design.json"] = try encoder.encode(manifest) + Data("\n".utf8)
        for (path, text) in AcceleratorHandoff.files(manifest: manifest) { files[path] = Data(text.utf8) }
        return AcceleratorDesign(manifest: manifest, files: files)
    }

    /// Per image, every buffer-writing instruction's output words in buffer order (the golden model's codes), and
    /// each instruction's offset among them (-1: it writes the logits).
    static func layerWords(_ network: CompiledNetwork, model: QuantizedModel, layers: [[Int]], count: Int)
        -> (words: [String], offsets: [Int], perImage: Int)
    {
        let tn = network.config.tn
        var offsets: [Int] = [], perImage = 0
        for layout in network.outputLayouts {
            offsets.append(layout == nil ? -1 : perImage)
            perImage += layout?.wordCount(tn: tn) ?? 0
        }
        let index = Dictionary(uniqueKeysWithValues: model.layers.enumerated().map { ($1.name, $0) })
        var words: [String] = []
        for image in 0..<count {
            for layout in network.outputLayouts.compactMap({ $0 }) {
                let codes = layers[index[layout.layer]!]
                let size = codes.count / count
                for lanes in layout.words(codes[(image * size)..<((image + 1) * size)], tn: tn) {
                    var wide = WideWord(bits: tn * network.dataWidth)
                    for (o, v) in lanes.enumerated() { wide.set(v, at: o * network.dataWidth, bits: network.dataWidth) }
                    words.append(wide.hex)
                }
            }
        }
        return (words, offsets, perImage)
    }

    /// tb/tb_config.svh: what tb_diannao.sv tests.
    static func benchConfig(name: String, network: CompiledNetwork, count: Int, debugDefines: String) -> Data {
        // Generous: every pixel may wait for a gap, every logit for back-pressure.
        let timeout = count * (4 * network.loadCycles + network.computeCycles + 4 * network.classes + 16) + 1000
        return Data(
            """
            // Written by approxrtl generate --arch diannao: what tb_diannao.sv tests.
            `define DUT \(name)
            `define LOGIT_WIDTH \(network.logitWidth)
            `define CLASSES \(network.classes)
            `define PIXELS \(network.imagePixels)
            `define IMAGES \(count)
            `define LAYERS \(network.program.count)
            `define LAYER_BITS \(bitsFor(network.program.count - 1))
            `define TIMEOUT \(timeout)
            \(debugDefines)
            """.utf8)
    }

    /// `<model>_diannao`, a legal lower_snake_case Verilog name from the model file's name.
    public static func topName(_ modelName: String) -> String {
        var stem = modelName
        for suffix in [".json", ".q", ".c", ".onnx"] where stem.hasSuffix(suffix) { stem.removeLast(suffix.count) }
        if stem.hasSuffix(".q") || stem.hasSuffix(".c") { stem.removeLast(2) }
        var name = String(stem.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        if name.first?.isLetter != true { name = "net_" + name }
        return "\(name)_diannao"
    }

    static func lines(_ words: [String]) -> Data { Data(words.map { $0 + "\n" }.joined().utf8) }

    /// The top: diannao_core with the network's widths, sizes and ROM images.
    static func topModule(name: String, network n: CompiledNetwork) -> Module {
        let layerBits = bitsFor(n.program.count - 1)
        let core: [(String, Int)] = [
            ("Tn", n.config.tn), ("DataWidth", n.dataWidth), ("ActWidth", n.activationWidth),
            ("WeightWidth", n.weightWidth),
            ("AccWidth", n.accumulatorWidth), ("ShiftWidth", n.shiftWidth), ("MaxLeftShift", n.maxLeftShift),
            ("LogitWidth", n.logitWidth), ("Classes", n.classes),
            ("LogitTiles", (n.classes + n.config.tn - 1) / n.config.tn),
            ("ImageWidth", n.imageWidth), ("ImageHeight", n.imageHeight),
            ("Channels", n.loader.channels),
            ("PatchRows", n.loader.rows),
            ("PatchColumns", n.loader.columns), ("PatchTop", n.loader.padTop), ("PatchLeft", n.loader.padLeft),
            ("RowWords", n.loader.rowWords), ("StoredRows", n.loader.storedRows), ("LoadRows", n.loader.loadRows),
            ("LoadColumns", n.loader.loadColumns),
            ("ImageWords", n.imageWords), ("ImageAddrWidth", bitsFor(2 * n.imageWords - 1)),
            ("ActWords", n.activationWords), ("Buffers", n.buffers), ("BufAddrWidth", bitsFor(n.activationWords - 1)),
            ("ActAddrWidth", n.addressWidth),
            ("WeightWords", n.weightWords.count), ("WeightAddrWidth", bitsFor(n.weightWords.count - 1)),
            ("ParamWords", max(1, n.paramWords.count)), ("ParamAddrWidth", bitsFor(n.paramWords.count - 1)),
            ("Layers", n.program.count), ("ProgAddrWidth", layerBits), ("ProductWidth", n.productWidth),
            ("LaneBits", n.laneBits), ("MacArray", n.macArray ? 1 : 0), ("DspProducts", n.dspProducts),
            ("FusedPools", n.fusedPools ? 1 : 0), ("FusedTiles", n.fusedTiles),
            ("PixelLanes", n.program.map(\.pixelRows).max() ?? 1),
            ("Strips", n.stripLayout?.pixels ?? 0), ("StripLanes", n.stripLayout?.lanes ?? 1),
            ("StripGroups", n.stripLayout?.groups ?? 1), ("StripTileGroups", n.stripLayout?.tileGroups ?? 1),
            ("StripTiles", n.stripLayout?.tiles ?? 1),
        ]
        // Every unit's parameters, whether the design has it or not (then they say so, and keep widths legal).
        let units = AcceleratorUnits.registered.flatMap { $0.parameters(n) }
        let roms = [
            ("WeightFile", "weights"), ("ParamFile", "params"), ("ProgramFile", "program"), ("TileFile", "tiles"),
            ("TableFile", "tables"),
        ]
        // The zero points packed a byte per channel, channel 0 lowest.
        let zeros: (String, Expr) = ("PixelZeros", .concat(n.pixelZeros.reversed().map { .literal($0, width: 8) }))
        let parameters: [(String, Expr)] =
            (core + units).map { ($0.0, .integer($0.1)) } + [zeros]
            + roms.map { ($0.0, .string("mem/\($0.1).hex")) }
        let ports = [
            Port("clk_i", .input), Port("rst_ni", .input),
            Port("in_tdata_i", .input, .bits(8), comment: "image pixels, row by row"), Port("in_tvalid_i", .input),
            Port("in_tready_o", .output), Port("in_tlast_i", .input),
            Port("out_tdata_o", .output, .bits(n.logitWidth), comment: "logit codes, class by class"),
            Port("out_tvalid_o", .output),
            Port("out_tready_i", .input), Port("out_tlast_o", .output),
            Port("computing_o", .output, comment: "a layer is running"),
            Port("layer_o", .output, layerBits > 1 ? .bits(layerBits) : nil, comment: "which one"),
        ]
        let layerList = n.program.map(\.layer).joined(separator: ", ")
        return Module(
            name,
            comment: """
                DianNao-style accelerator for \(name.replacingOccurrences(of: "_diannao", with: "")) (approxrtl generate --arch diannao): \
                Tn = \(n.config.tn), extensions: \(n.config.name) (\(n.multipliers) multipliers), \(n.program.count) layers (\(layerList)), \
                \(n.computeCycles) compute cycles per image. Image in and logits out on AXI4-Stream; docs/accelerator.md.
                """,
            ports: ports,
            items: [
                .instance(
                    Instance(
                        "approxrtl_diannao_core", "u_core", parameters: parameters,
                        connections: ports.map { ($0.name, .name($0.name)) }))
            ])
    }
}
