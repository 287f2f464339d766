import ArgumentParser
import Datasets
import EDAFlows
import Foundation
import GoldenModel
import Accelerator
import LayerGenerator
import Quantization

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Generate the RTL of one layer (reuse or baseline array) or of the whole network (DianNao-style accelerator) with its self-checking bench.",
        discussion: """
            --arch diannao compiles the whole network for the DianNao-style accelerator and writes a handoff folder: rtl/, \
            mem/ (SB, biases and shifts, program), tb/ and vectors/ (the first --images test images and the golden model's \
            logits), files.f, a FuseSoC .core, synth.ys, constraints.sdc, README.md and design.json (docs/accelerator.md).

            --arch reuse or baseline writes a design folder: rtl/ (the unit and the primitives it uses), mem/ (ROM images), tb/ (the bench), \
            vectors/ (stimulus from real test images and the golden model's expected outputs), files.f and design.json. \
            Run it with `approxrtl sim DIR` and estimate its size with `approxrtl synth DIR` (docs/rtl.md).
            """)

    @Argument(help: "The compressed (.c.json) or quantized (.q.json) model.") var model: String
    @Option(help: "The conv or dense layer (reuse and baseline).") var layer: String?
    @Option(
        help:
            "reuse (the compressed layer's reuse form), baseline (plain multiply-accumulate), or diannao (the whole network)."
    ) var arch: String = "reuse"
    @Option(help: "diannao: lanes, Tn (Tn x Tn multipliers).") var tn = 16
    @Flag(help: "diannao: the bench also checks every word every layer writes against the golden model.")
    var debugLayers = false
    @Option(
        help:
            "diannao: the first convolution's mapping: patches (a patch of kernel taps per word on the lanes; the compiler picks the patch) or channels (DianNao's: input channels on the lanes)."
    ) var firstLayer = "patches"
    @Flag(
        help:
            "diannao: run every pooling layer as a pass of its own (by default a max pool whose window is its stride runs in the drain of the convolution before it)."
    ) var separatePooling = false
    @Option(
        help:
            "diannao: the ECP5 part the design is for (25k, 45k or 85k: LFE5U-25F/45F/85F): NFU-1 products beyond its hard multipliers are built from LUTs, and design.json records the part."
    ) var targetDevice: ECP5Device?
    @Option(
        help:
            "diannao: extensions, comma-separated: swc (SWC lanes, for an M2-compressed model), kernel (reduced-kernel tiles, M4), feature (the feature-approximation unit, M3), reuse (M1 reuse lanes, for a model with sorted-weight approximation); none for vanilla DianNao."
    ) var extensions = "none"
    @Option(help: "Input vectors computed together (lanes).") var lanes = 4
    @Option(
        help: "Coefficient multipliers of the reuse array (a divisor of --lanes; default: the fewest that keep up).")
    var multipliers: Int?
    @Option(help: "Bench vectors: windows of real test images, plus two extremes.") var vectors = 64
    @Option(help: "Test images the windows come from (diannao: the images the bench streams; default 100).") var images:
        Int?
    @Option(help: "Vectors per frame (in_tlast closes a batch at a frame's end).") var frame = 5
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Flag(help: "Replace an existing output folder.") var force = false

    func run() throws {
        try reportingErrors {
            try checkOptionRanges([
                ("--tn", tn, 2...64), ("--lanes", lanes, 1...64), ("--vectors", vectors, 1...1_000_000),
                ("--images", images ?? 1, 1...1_000_000), ("--frame", frame, 1...1_000_000),
            ])
            if arch == "diannao" { return try generateAccelerator() }
            guard let architecture = Architecture(rawValue: arch) else {
                throw CLIError("--arch must be reuse, baseline or diannao, not '\(arch)'")
            }
            guard let layer else { throw CLIError("--arch \(arch) needs --layer") }
            let images = self.images ?? 8
            guard vectors >= 1, images >= 1 else { throw CLIError("--vectors and --images must be positive") }
            let quantized = try QuantizedModel.load(path: model)
            let golden = try GoldenModel(quantized)
            let dataset = try FashionMNIST.load(split: .test, directory: data ?? FashionMNIST.defaultDirectory).prefix(
                images)
            guard dataset.count == images else { throw CLIError("the test split has only \(dataset.count) images") }
            guard golden.inputSize == dataset.imageSize else {
                throw CLIError(
                    "\(model): input \(quantized.input.shape) does not take the \(dataset.rows)x\(dataset.cols) images of \(dataset.imageFile ?? dataset.name)"
                )
            }
            let design: LayerDesign
            do {
                let inputs = try LayerStimulus.vectors(
                    golden: golden, layer: layer, pixels: dataset.pixels, images: images, count: vectors)
                design = try LayerDesign.generate(
                    model: quantized, modelName: (model as NSString).lastPathComponent, layer: layer,
                    arch: architecture,
                    lanes: lanes, multipliers: multipliers, inputs: inputs, frame: frame)
            } catch let error as GeneratorError {
                throw CLIError("\(model): \(error)")
            }
            try writeFolder(design.files, to: output, force: force)
            let m = design.manifest
            print(
                "wrote \(output): \(m.top) (\(m.method), \(m.lanes) lanes\(architecture == .reuse ? ", \(m.multipliers) pool multipliers" : "")), "
                    + "\(m.computeCyclesPerBatch) compute cycles per batch, bench of \(m.vectors) vectors")
        }
    }
}

extension Generate {
    func generateAccelerator() throws {
        if layer != nil { throw CLIError("--arch diannao generates the whole network; drop --layer") }
        let count = images ?? 100
        let chosen = Set(extensions.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }).subtracting([
            "none", "",
        ])
        let known = Set(AcceleratorUnits.extensionNames)
        if let unknown = chosen.subtracting(known).sorted().first {
            throw CLIError(
                "--extensions: unknown extension '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        guard count >= 1 else { throw CLIError("--images must be positive") }
        guard let mapping = AcceleratorConfig.FirstLayerMapping(name: firstLayer) else {
            throw CLIError("--first-layer must be patches or channels, not '\(firstLayer)'")
        }
        let quantized = try QuantizedModel.load(path: model)
        let dataset = try FashionMNIST.load(split: .test, directory: data ?? FashionMNIST.defaultDirectory).prefix(
            count)
        guard dataset.count == count else { throw CLIError("the test split has only \(dataset.count) images") }
        let design: AcceleratorDesign
        do {
            design = try AcceleratorDesign.generate(
                model: quantized, modelName: (model as NSString).lastPathComponent,
                config: config(extensions: chosen, mapping: mapping), pixels: dataset.pixels,
                labels: dataset.labels, count: count, debugLayers: debugLayers)
        } catch let error as CompileError {
            throw CLIError("\(model): \(error)")
        }
        // The report goes into the folder with everything else, in one atomic write.
        try writeFolder(
            design.files.merging(try HandoffReport.files(HandoffReport.Report(design: design.manifest))) { a, _ in a },
            to: output, force: force)
        let m = design.manifest
        print(
            "wrote \(output): \(m.top) (Tn = \(m.config.tn), \(m.extensions), \(m.multipliers) multipliers, \(m.layers.count) layers), "
                + "\(m.computeCycles) compute cycles per image, bench of \(m.images) images")
    }
}

extension Generate {
    /// The accelerator's configuration from the options.
    func config(extensions: Set<String>, mapping: AcceleratorConfig.FirstLayerMapping) -> AcceleratorConfig {
        var config = AcceleratorConfig(tn: tn, extensions: extensions, firstLayer: mapping)
        config.fusePooling = !separatePooling
        if let device = targetDevice {
            config.targetDevice = device.partName
            config.hardMultipliers = device.multipliers
        }
        return config
    }
}
