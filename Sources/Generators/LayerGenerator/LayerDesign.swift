import Foundation
import GoldenModel
import Quantization
import RTLSources
import Verilog

/// What `design.json` records about a generated layer unit (docs/formats.md): enough for `approxrtl sim` and
/// `synth` to run it and for a reader to know what it computes.
public struct DesignManifest: Codable, Equatable, Sendable {
    public var format = "approxrtl-design"
    public var version = 1
    public var kind = "layer"
    public var model: String
    public var layer: String
    public var arch: String
    /// linear, quadratic, swc, or none (an uncompressed layer).
    public var method: String
    public var top: String
    /// RTL in compile order (relative to the folder); the bench is tb/tb_layer.sv with tb/ on the include path.
    public var rtl: [String]
    public var lanes: Int
    public var multipliers: Int
    public var fan: Int
    public var channels: Int
    public var inputWidth: Int
    public var outputWidth: Int
    public var accumulatorWidth: Int
    /// Compute cycles per batch of `lanes` vectors; a batch also takes fan cycles per vector to load and channels
    /// per vector to drain.
    public var computeCyclesPerBatch: Int
    /// Multipliers by what they multiply: count and operand widths.
    public var multiplierList: [MultiplierEntry]
    /// Datapath adders by what they add: count and result width (control counters not included).
    public var adderList: [AdderEntry]
    public var vectors: Int
    public var frame: Int

    public struct MultiplierEntry: Codable, Equatable, Sendable {
        public var what: String
        public var count: Int
        public var widths: [Int]
    }

    public struct AdderEntry: Codable, Equatable, Sendable {
        public var what: String
        public var count: Int
        public var width: Int
    }

    /// Multipliers and adders of the datapath, the units the paper's hardware comparison counts.
    public var datapathUnits: Int { multiplierList.reduce(0) { $0 + $1.count } + adderList.reduce(0) { $0 + $1.count } }

    /// Cycles per output vector in steady state with full batches: compute, load and drain are sequential.
    public var cyclesPerVector: Double { Double(computeCyclesPerBatch + lanes * (fan + channels)) / Double(lanes) }
    public var computeCyclesPerVector: Double { Double(computeCyclesPerBatch) / Double(lanes) }
}

/// A generated layer unit as a folder: RTL, ROM images, the bench and its vectors, the file list and the manifest.
public struct LayerDesign: Sendable {
    public var manifest: DesignManifest
    /// Relative path -> contents, written as they are.
    public var files: [String: Data]

    /// The default pool size: the fewest multipliers (a divisor of `lanes`) for which the pool keeps up with the
    /// scan, so the step stays Fan + 2 cycles; all lanes' worth when even that is not enough.
    public static func defaultMultipliers(_ numbers: LayerNumbers, lanes: Int) throws -> Int {
        let layout = try ReuseArray.layout(numbers)
        for m in 1...lanes where lanes % m == 0 {
            if (lanes / m) * layout.parts * layout.terms + 3 <= layout.scanLength + 2 { return m }
        }
        return lanes
    }

    /// Generates the unit for `layer` of `model` with its bench. `inputs` are the bench's input vectors (a multiple
    /// of the fan-in); the expected outputs come from the golden model (`LayerFunction`).
    public static func generate(
        model: QuantizedModel, modelName: String, layer: String, arch: Architecture, lanes: Int,
        multipliers: Int?, inputs: [Int], frame: Int
    ) throws -> LayerDesign {
        guard lanes >= 1, lanes <= 64 else {
            throw GeneratorError(layer: layer, "--lanes must be 1 to 64, not \(lanes)")
        }
        guard frame >= 1 else { throw GeneratorError(layer: layer, "the frame must hold at least one vector") }
        let numbers = try LayerNumbers(model: model, layer: layer)
        guard !inputs.isEmpty, inputs.count % numbers.fan == 0 else {
            throw GeneratorError(layer: layer, "the bench needs whole input vectors of \(numbers.fan) codes")
        }
        for (i, x) in inputs.enumerated() where x < numbers.function.inputLow || x > numbers.function.inputHigh {
            throw GeneratorError(
                layer: layer,
                "bench input \(i) is \(x), outside the layer's input range \(numbers.function.inputLow)...\(numbers.function.inputHigh)"
            )
        }
        let name = moduleName(layer: layer, arch: arch)
        let (unit, pool) = try generateUnit(numbers, arch: arch, lanes: lanes, multipliers: multipliers, name: name)
        var files: [String: Data] = [:]
        let text: String
        do { text = try VerilogPrinter.print(unit.module) } catch let error as VerilogError {
            throw GeneratorError(layer: layer, "internal: \(error)")
        }
        files["rtl/\(name).v"] = Data(text.utf8)
        let primitives =
            [
                "rtl/approxrtl_rom.v", "rtl/approxrtl_requantize.v", "rtl/approxrtl_resize.v",
                "rtl/approxrtl_multiplier.v", "rtl/approxrtl_row_sum.v",
            ] + unit.sources
        let carried = Set(primitives + ["testbench/tb_layer.sv", "testbench/xorshift.svh"])
        for path in carried.sorted() {
            let source = EmbeddedSources.text(path)!
            let file = (path as NSString).lastPathComponent
            files[(path.hasPrefix("rtl/") ? "rtl/" : "tb/") + file] = Data(source.utf8)
        }
        for memory in unit.memories { files["mem/\(memory.file)"] = TestVectors.hex(memory.values, bits: memory.width) }
        let vectors = inputs.count / numbers.fan
        let expected = numbers.function.outputs(inputs)
        files["vectors/input.hex"] = TestVectors.hex(inputs, bits: numbers.inputWidth)
        files["vectors/expected.hex"] = TestVectors.hex(expected, bits: numbers.outputWidth)
        let rtl = primitives + ["rtl/\(name).v"]
        files["files.f"] = Data((rtl.joined(separator: "\n") + "\n").utf8)
        files["tb/tb_config.svh"] = benchConfig(
            name: name, numbers: numbers, vectors: vectors, lanes: lanes, frame: frame,
            computeCycles: unit.computeCycles)
        let manifest = DesignManifest(
            model: modelName, layer: layer, arch: arch.rawValue, method: numbers.compression?.method.rawValue ?? "none",
            top: name, rtl: rtl,
            lanes: lanes, multipliers: arch == .baseline ? lanes : pool, fan: numbers.fan, channels: numbers.channels,
            inputWidth: numbers.inputWidth, outputWidth: numbers.outputWidth,
            accumulatorWidth: numbers.accumulatorWidth,
            computeCyclesPerBatch: unit.computeCycles,
            multiplierList: unit.multipliers.map {
                DesignManifest.MultiplierEntry(what: $0.what, count: $0.count, widths: [$0.widths.0, $0.widths.1])
            },
            adderList: unit.adders.map { DesignManifest.AdderEntry(what: $0.what, count: $0.count, width: $0.width) },
            vectors: vectors, frame: frame)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files["design.json"] = try encoder.encode(manifest) + Data("\n".utf8)
        for (path, text) in LayerHandoff.files(manifest: manifest, memories: unit.memories.map { "mem/\($0.file)" }) {
            files[path] = Data(text.utf8)
        }
        return LayerDesign(manifest: manifest, files: files)
    }

    /// The unit of `arch`, and its pool of coefficient multipliers (reuse arrays; 0 for the baseline).
    static func generateUnit(_ numbers: LayerNumbers, arch: Architecture, lanes: Int, multipliers: Int?, name: String)
        throws
        -> (unit: GeneratedUnit, pool: Int)
    {
        switch arch {
        case .baseline:
            return (BaselineArray(numbers: numbers, lanes: lanes, name: name).generate(), 0)
        case .reuse:
            if let multipliers, multipliers < 1 || lanes % multipliers != 0 {
                throw GeneratorError(
                    layer: numbers.layer.name, "--multipliers \(multipliers) must divide --lanes \(lanes)")
            }
            let layout = try ReuseArray.layout(numbers)
            if case .contiguous = layout.scan {
                return try StreamingReuseArray(numbers: numbers, lanes: lanes, name: name)
                    .generate(layout: layout, multipliers: multipliers)
            }
            let pool = try multipliers ?? defaultMultipliers(numbers, lanes: lanes)
            return (try ReuseArray(numbers: numbers, lanes: lanes, multipliers: pool, name: name).generate(), pool)
        }
    }

    /// tb/tb_config.svh: what tb_layer.sv tests. The timeout is generous: every beat may wait for gaps and
    /// back-pressure, every batch computes in full.
    static func benchConfig(
        name: String, numbers: LayerNumbers, vectors: Int, lanes: Int, frame: Int, computeCycles: Int
    ) -> Data {
        let batches = (vectors + lanes - 1) / lanes + (vectors + frame - 1) / frame
        let timeout = 4 * vectors * (numbers.fan + numbers.channels) + batches * (computeCycles + 8) + 1000
        return Data(
            """
            // Written by approxrtl generate: what tb_layer.sv tests.
            `define DUT \(name)
            `define IN_WIDTH \(numbers.inputWidth)
            `define OUT_WIDTH \(numbers.outputWidth)
            `define FAN \(numbers.fan)
            `define CHANNELS \(numbers.channels)
            `define VECTORS \(vectors)
            `define FRAME \(frame)
            `define TIMEOUT \(timeout)
            `define COMPUTE \(computeCycles)

            """.utf8)
    }

    /// `<layer>_<arch>`, made a legal lower_snake_case Verilog name.
    public static func moduleName(layer: String, arch: Architecture) -> String {
        var name = String(layer.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
        if name.first?.isLetter != true { name = "layer_" + name }
        return "\(name)_\(arch.rawValue)"
    }

    public static func loadManifest(directory: URL) throws -> DesignManifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(
            DesignManifest.self, from: Data(contentsOf: directory.appendingPathComponent("design.json")))
    }
}

/// Input vectors for a layer bench from real images: windows spread over the images and the output pixels, then
/// two extremes (every input at the end of its range that drives channel 0's accumulator up, then down).
public enum LayerStimulus {
    public static func vectors(golden: GoldenModel, layer: String, pixels: [UInt8], images: Int, count: Int) throws
        -> [Int]
    {
        let function = try LayerFunction(model: golden.model, layer: layer)
        let tensors = golden.layerInputs(of: layer, pixels: pixels, count: images)
        let shape = golden.inputShape(of: function.layer)
        var result: [Int] = []
        let real = max(0, count - 2)
        for i in 0..<real {
            let image = i % images
            // A prime stride spreads the windows over the picture, border and centre alike.
            let pixel = (i / images * 7919 + image * 131) % function.pixels
            result += function.window(of: tensors[image], inputShape: shape, pixel: pixel)
        }
        if count >= 2 {
            let weights = function.layer.effectiveWeights ?? []
            let up = (0..<function.fan).map { weights[$0] >= 0 ? function.inputHigh : function.inputLow }
            result += up
            result += up.map { $0 == function.inputHigh ? function.inputLow : function.inputHigh }
        }
        return result
    }
}
