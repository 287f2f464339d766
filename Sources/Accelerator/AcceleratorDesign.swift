import Foundation
import GoldenModel
import LayerGenerator
import Quantization
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
    /// The reuse lanes' small rank-step multipliers (d * S, e * S), beside `multipliers`.
    public var stepMultipliers: Int = 0
    /// NFU-1's multipliers and NFU-2's adder trees are built (false: every weighted layer runs on the reuse lanes).
    public var macArray: Bool = true
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
    /// Buffer and ROM sizes in bits: activation buffers (both), SB, bias/shift ROM.
    public var activationBufferBits: Int
    public var weightBufferBits: Int
    public var paramBufferBits: Int
    public var layers: [LayerEntry]
    public var computeCycles: Int
    /// Cycles to take an image at one pixel per cycle (rows and strip flushes) and the first-layer mapping.
    public var loadCycles: Int
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
    }
}

/// A generated accelerator as a handoff folder: RTL, ROM images and program, the bench and its vectors, the file
/// list, FuseSoC core, Yosys script, clock constraint stub, README and the manifest.
public struct AcceleratorDesign: Sendable {
    public var manifest: AcceleratorManifest
    public var files: [String: Data]

    /// The hand-written modules the accelerator is built from, in compile order.
    static let primitives = ["rtl/rom.v", "rtl/ram_sdp.v", "rtl/delay_line.v", "rtl/adder_tree_core.v", "rtl/adder_tree.v",
                             "rtl/requantize.v", "rtl/pwl_activation.v", "rtl/diannao_sequencer.v", "rtl/diannao_reuse.v", "rtl/diannao_nfu.v",
                             "rtl/diannao_core.v"]

    /// Compiles `model` and writes the folder's files; the bench checks `count` images (pixels, labels) against
    /// the golden model's logits.
    /// With `debugLayers` the bench also checks every word every layer writes against the golden model's codes.
    public static func generate(model: QuantizedModel, modelName: String, config: AcceleratorConfig,
                                pixels: [UInt8], labels: [Int], count: Int, debugLayers: Bool = false) throws -> AcceleratorDesign {
        let network = try NetworkCompiler.compile(model, config: config)
        let golden = try GoldenModel(model)
        guard pixels.count == count * network.imagePixels, labels.count == count else {
            throw CompileError(layer: model.input.name, "the bench needs \(count) images of \(network.imagePixels) pixels and their labels")
        }
        let name = topName(modelName)
        let tn = config.tn
        var files: [String: Data] = [:]
        // ROM images: SB, biases and shifts, program.
        let laneBits = network.laneBits
        files["mem/weights.hex"] = lines(network.weightWords.map { word in
            var wide = WideWord(bits: tn * laneBits)
            switch word {
            case .weights(let lanes):
                // Output lane o's tn weights from bit o * laneBits.
                for (lane, w) in lanes.enumerated() {
                    wide.set(w, at: (lane / tn) * laneBits + (lane % tn) * network.weightWidth, bits: network.weightWidth)
                }
            case .members(let lanes):
                for (o, member) in lanes.enumerated() {
                    if let member, let reuse = network.reuse { setMember(member, in: &wide, at: o * laneBits, reuse: reuse, tn: tn) }
                }
            case .features(let lanes):
                // Lane o: source index, then the coefficient (diannao_nfu.v, feature unit).
                let (sw, cw) = (network.sourceWidth, network.coefficientWidth)
                for (o, lane) in lanes.enumerated() {
                    wide.set(lane.source, at: o * (sw + cw), bits: sw)
                    wide.set(lane.coefficient, at: o * (sw + cw) + sw, bits: cw)
                }
            }
            return wide.hex
        })
        let (aw, sw, cw) = (network.accumulatorWidth, network.shiftWidth, config.swc ? network.scaleWidth : 0)
        // With activation tables a bit per lane after the rest: the lane holds a channel.
        let activeBits = network.tables.isEmpty ? 0 : 1
        let paramBits = tn * (aw + sw + cw + activeBits)
        let none = [Int](repeating: 0, count: tn)
        files["mem/params.hex"] = lines((network.paramWords.isEmpty ? [.init(bias: none, shift: none, scale: none)] : network.paramWords).map { word in
            var wide = WideWord(bits: paramBits)
            for o in 0..<tn {
                wide.set(word.bias[o], at: o * aw, bits: aw)
                wide.set(word.shift[o], at: tn * aw + o * sw, bits: sw)
                if cw > 0 { wide.set(word.scale[o], at: tn * (aw + sw) + o * cw, bits: cw) }
                if activeBits > 0, o < word.active.count, word.active[o] { wide.set(1, at: tn * (aw + sw + cw) + o, bits: 1) }
            }
            return wide.hex
        })
        files["mem/program.hex"] = lines(network.program.map(\.hex))
        files["mem/tiles.hex"] = lines(network.tileDescriptors.isEmpty ? [TileDescriptor().hex] : network.tileDescriptors.map(\.hex))
        // Activation tables (pwl_activation.v): breakpoints, slopes, intercepts, shift, from bit 0.
        files["mem/tables.hex"] = lines(network.tables.isEmpty ? [WideWord(bits: network.tableWidth).hex] : network.tables.indices.map { index in
            let table = network.paddedTable(index)
            var wide = WideWord(bits: network.tableWidth)
            var at = 0
            func put(_ value: Int, _ bits: Int) { wide.set(value, at: at, bits: bits); at += bits }
            for t in table.breakpoints { put(t, network.activationWidth) }
            for a in table.slopes { put(a, network.slopeWidth) }
            for b in table.intercepts { put(b, network.interceptWidth) }
            put(table.shift, network.tableShiftBits)
            return wide.hex
        })
        // The bench's vectors.
        let outcome = golden.run(pixels: pixels, count: count, keepLayers: debugLayers)
        let logits = outcome.logits
        var debugDefines = ""
        if debugLayers {
            // Per image, every buffer-writing instruction's output words in buffer order; offsets per instruction.
            var offsets: [Int] = [], perImage = 0
            for layout in network.outputLayouts {
                offsets.append(layout == nil ? -1 : perImage)
                perImage += layout?.wordCount(tn: tn) ?? 0
            }
            let index = Dictionary(uniqueKeysWithValues: model.layers.enumerated().map { ($1.name, $0) })
            var words: [String] = []
            for image in 0..<count {
                for layout in network.outputLayouts.compactMap({ $0 }) {
                    let codes = outcome.layers[index[layout.layer]!]
                    let size = codes.count / count
                    for lanes in layout.words(codes[(image * size)..<((image + 1) * size)], tn: tn) {
                        var wide = WideWord(bits: tn * network.dataWidth)
                        for (o, v) in lanes.enumerated() { wide.set(v, at: o * network.dataWidth, bits: network.dataWidth) }
                        words.append(wide.hex)
                    }
                }
            }
            files["vectors/layers.hex"] = lines(words)
            files["vectors/layer_offsets.hex"] = TestVectors.hex(offsets, bits: 32)
            debugDefines = "`define DEBUG_LAYERS\n`define LAYER_WORDS \(perImage)\n`define WORD_BITS \(tn * network.dataWidth)\n"
                + "`define ACT_ADDR_BITS \(bitsFor(network.activationWords - 1))\n"
        }
        files["vectors/images.hex"] = TestVectors.hex(pixels.map(Int.init), bits: 8)
        files["vectors/logits.hex"] = TestVectors.hex(logits, bits: network.logitWidth)
        files["vectors/labels.hex"] = TestVectors.hex(labels, bits: 8)
        let goldenCorrect = (0..<count).filter { s in
            var best = 0
            for c in 1..<network.classes where logits[s * network.classes + c] > logits[s * network.classes + best] { best = c }
            return best == labels[s]
        }.count
        // RTL: the generated top and the modules it is built from.
        let top: String
        do { top = try VerilogPrinter.print(topModule(name: name, network: network)) } catch let error as VerilogError {
            throw CompileError(layer: model.input.name, "internal: \(error)")
        }
        files["rtl/\(name).v"] = Data(top.utf8)
        let embedded = Dictionary(EmbeddedSources.files.map { ($0.path, $0.text) }, uniquingKeysWith: { a, _ in a })
        for path in primitives { files[path] = Data(embedded[path]!.utf8) }
        files["tb/tb_diannao.sv"] = Data(embedded["testbench/tb_diannao.sv"]!.utf8)
        files["tb/xorshift.svh"] = Data(embedded["testbench/xorshift.svh"]!.utf8)
        let rtl = primitives + ["rtl/\(name).v"]
        files["files.f"] = Data((rtl.joined(separator: "\n") + "\n").utf8)
        // Generous: every pixel may wait for a gap, every logit for back-pressure.
        let timeout = count * (4 * network.loadCycles + network.computeCycles + 4 * network.classes + 16) + 1000
        files["tb/tb_config.svh"] = Data("""
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
        let layers = zip(network.program, zip(network.layerCycles, zip(network.macs, network.idealCycles))).map { instruction, rest in
            let (cycles, (macs, ideal)) = rest
            return AcceleratorManifest.LayerEntry(name: instruction.layer, op: "\(instruction.op)", macs: macs, steps: instruction.steps,
                                                  cycles: cycles, idealCycles: ideal, utilization: ideal / Double(cycles))
        }
        let manifest = AcceleratorManifest(
            model: modelName, top: name, rtl: rtl, config: config, extensions: config.name, multipliers: network.multipliers,
            stepMultipliers: network.stepMultipliers, macArray: network.macArray, activationTables: network.tables.count,
            shiftLanes: network.powerOfTwoCodes, dataWidth: network.dataWidth,
            weightWidth: network.weightWidth, accumulatorWidth: network.accumulatorWidth, logitWidth: network.logitWidth,
            activationWords: network.activationWords, weightWords: network.weightWords.count, paramWords: max(1, network.paramWords.count),
            activationBufferBits: 2 * network.activationWords * tn * network.dataWidth,
            weightBufferBits: network.weightWords.count * tn * laneBits,
            paramBufferBits: max(1, network.paramWords.count) * paramBits,
            layers: layers, computeCycles: network.computeCycles, loadCycles: network.loadCycles,
            firstLayer: network.stripWidth > 1 ? "strips of \(network.stripWidth)" : "channels", images: count, goldenCorrect: goldenCorrect)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files["design.json"] = try encoder.encode(manifest) + Data("\n".utf8)
        for (path, text) in Handoff.files(manifest: manifest) { files[path] = Data(text.utf8) }
        return AcceleratorDesign(manifest: manifest, files: files)
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

    /// A member in its lane (diannao_reuse.v), from bit 0: window address, lane select, first, last, d, e
    /// (quadratic), the coefficients (zero except at a part's end).
    static func setMember(_ member: CompiledNetwork.Member, in wide: inout WideWord, at lsb: Int, reuse: CompiledNetwork.ReuseLanes, tn: Int) {
        var at = lsb
        func put(_ value: Int, _ bits: Int) { wide.set(value, at: at, bits: bits); at += bits }
        put(member.address, reuse.windowAddressWidth)
        put(member.lane, bitsFor(tn - 1))
        put(member.first ? 1 : 0, 1)
        put(member.last ? 1 : 0, 1)
        put(member.d, reuse.dWidth)
        if reuse.terms == 3 { put(member.e, reuse.eWidth) }
        for t in 0..<reuse.terms { put(t < member.coefficients.count ? member.coefficients[t] : 0, reuse.coefficientWidth) }
    }

    static func lines(_ words: [String]) -> Data { Data(words.map { $0 + "\n" }.joined().utf8) }

    /// The top: diannao_core with the network's widths, sizes and ROM images.
    static func topModule(name: String, network n: CompiledNetwork) -> Module {
        let layerBits = bitsFor(n.program.count - 1)
        let parameters: [(String, Expr)] = [
            ("Tn", .integer(n.config.tn)), ("DataWidth", .integer(n.dataWidth)), ("ActWidth", .integer(n.activationWidth)),
            ("WeightWidth", .integer(n.weightWidth)), ("AccWidth", .integer(n.accumulatorWidth)), ("ShiftWidth", .integer(n.shiftWidth)),
            ("MaxLeftShift", .integer(n.maxLeftShift)), ("LogitWidth", .integer(n.logitWidth)), ("Classes", .integer(n.classes)),
            ("LogitTiles", .integer((n.classes + n.config.tn - 1) / n.config.tn)), ("ImageWidth", .integer(n.imageWidth)),
            ("ImageHeight", .integer(n.imageHeight)), ("StripWidth", .integer(n.stripWidth)), ("StripPad", .integer(n.stripPad)),
            ("ActWords", .integer(n.activationWords)), ("ActAddrWidth", .integer(bitsFor(n.activationWords - 1))),
            ("WeightWords", .integer(n.weightWords.count)), ("WeightAddrWidth", .integer(bitsFor(n.weightWords.count - 1))),
            ("ParamWords", .integer(max(1, n.paramWords.count))), ("ParamAddrWidth", .integer(bitsFor(n.paramWords.count - 1))),
            ("Layers", .integer(n.program.count)), ("ProgAddrWidth", .integer(layerBits)),
            ("Swc", .integer(n.config.swc ? 1 : 0)), ("Pow2Codes", .integer(n.powerOfTwoCodes ? 1 : 0)),
            ("ScaleWidth", .integer(n.scaleWidth)), ("ProductWidth", .integer(n.productWidth)),
            ("FeatureUnit", .integer(n.config.featureUnit ? 1 : 0)), ("KeptTiles", .integer(n.keptTiles)),
            ("SourceWidth", .integer(n.sourceWidth)), ("CoefWidth", .integer(n.coefficientWidth)),
            ("LaneBits", .integer(n.laneBits)), ("MacArray", .integer(n.macArray ? 1 : 0)), ("Reuse", .integer(n.reuse == nil ? 0 : 1)),
            ("WindowWords", .integer(n.reuse?.windowWords ?? 1)), ("WindowAddrWidth", .integer(n.reuse?.windowAddressWidth ?? 1)),
            ("DWidth", .integer(n.reuse?.dWidth ?? 1)), ("EWidth", .integer(n.reuse?.eWidth ?? 1)), ("Terms", .integer(n.reuse?.terms ?? 2)),
            ("ReuseCoefWidth", .integer(n.reuse?.coefficientWidth ?? 2)),
            ("Pwl", .integer(n.tables.isEmpty ? 0 : 1)), ("Tables", .integer(max(1, n.tables.count))),
            ("TableAddrWidth", .integer(bitsFor(n.tables.count - 1))), ("Segments", .integer(n.tableSegments)),
            ("SlopeWidth", .integer(n.slopeWidth)), ("InterceptWidth", .integer(n.interceptWidth)),
            ("TableShiftBits", .integer(n.tableShiftBits)),
            ("WeightFile", .string("mem/weights.hex")), ("ParamFile", .string("mem/params.hex")), ("ProgramFile", .string("mem/program.hex")),
            ("TileFile", .string("mem/tiles.hex")), ("TableFile", .string("mem/tables.hex")),
        ]
        let ports = [
            Port("clk_i", .input), Port("rst_ni", .input),
            Port("in_tdata_i", .input, .bits(8), comment: "image pixels, row by row"), Port("in_tvalid_i", .input),
            Port("in_tready_o", .output), Port("in_tlast_i", .input),
            Port("out_tdata_o", .output, .bits(n.logitWidth), comment: "logit codes, class by class"), Port("out_tvalid_o", .output),
            Port("out_tready_i", .input), Port("out_tlast_o", .output),
            Port("computing_o", .output, comment: "a layer is running"), Port("layer_o", .output, layerBits > 1 ? .bits(layerBits) : nil, comment: "which one"),
        ]
        let layerList = n.program.map(\.layer).joined(separator: ", ")
        return Module(
            name, comment: """
                DianNao-style accelerator for \(name.replacingOccurrences(of: "_diannao", with: "")) (approxrtl generate --arch diannao): \
                Tn = \(n.config.tn), extensions: \(n.config.name) (\(n.multipliers) multipliers), \(n.program.count) layers (\(layerList)), \
                \(n.computeCycles) compute cycles per image. Image in and logits out on AXI4-Stream; docs/accelerator.md.
                """,
            ports: ports,
            items: [.instance(Instance("diannao_core", "u_core", parameters: parameters,
                                       connections: ports.map { ($0.name, .name($0.name)) }))])
    }
}
