import ArgumentParser
import Datasets
import Foundation
import OnnxImport
import Quantization

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Quantize a float model to the integer arithmetic of docs/arithmetic.md.",
        discussion:
            "Writes the quantized model as JSON (docs/formats.md): the input of the golden model and the RTL generators."
    )

    @Argument(help: "The float model (.onnx).") var model: String
    @Option(help: "Calibration dataset (fashion-mnist: its training images).") var calib = "fashion-mnist"
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(help: "Calibration images (the first N of the training split).") var calibCount = 2000
    @Option(help: "Weight code width in bits (4 to 16).") var wbits = 8
    @Option(help: "Activation code width in bits (4 to 16).") var abits = 8
    @Option(help: "Largest accumulator width the quantizer may produce.") var maxAccBits = 32
    @Option(help: "Weight exponents per output channel or per layer: channel or layer.") var weightScale = "channel"
    @Option(
        help: "Segments of a piecewise-linear activation table (Sigmoid, Tanh, ...; docs/arithmetic.md section 10).")
    var actSegments = 16
    @Option(help: "Slope width of an activation table, in bits (2 to 16).") var actSlopeBits = 12
    @OptionGroup var normalizationOptions: NormalizationOptions
    @Option(name: .shortAndLong, help: "Where to write the quantized model (.q.json).") var output: String
    @Flag(help: "Overwrite the output if it exists.") var force = false

    func run() throws {
        try reportingErrors {
            guard calib == "fashion-mnist" else {
                throw CLIError("unknown calibration dataset '\(calib)' (supported: fashion-mnist)")
            }
            guard weightScale == "channel" || weightScale == "layer" else {
                throw CLIError("--weight-scale must be channel or layer")
            }
            guard calibCount > 0 else { throw CLIError("--calib-count must be positive") }
            if FileManager.default.fileExists(atPath: output) && !force {
                throw CLIError("\(output) exists; pass --force to overwrite it")
            }
            let imported = try OnnxImporter.load(path: model)
            var calibration: ImageDataset
            do {
                calibration = try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory)
            } catch let error as DatasetError {
                throw CLIError("calibration needs the training images: \(error)")
            }
            calibration = calibration.prefix(calibCount)
            var options = QuantizationOptions()
            options.weightBits = wbits
            options.activationBits = abits
            options.maxAccumulatorBits = maxAccBits
            options.perChannel = weightScale == "channel"
            options.activationSegments = actSegments
            options.activationSlopeBits = actSlopeBits
            let graph = try normalizationOptions.apply(to: imported.graph, model: model)
            var quantized = try Quantizer.quantize(graph, calibration: calibration, source: model, options: options)
            quantized.input.normalization = try normalizationOptions.normalization()
            try writeOutput(quantized.encoded(for: output), to: output, force: force)
            let widths = quantized.layers.compactMap { layer in layer.accumulatorBits.map { "\(layer.name) \($0)" } }
            print(
                "\(model): \(wbits)-bit weights, \(abits)-bit activations, calibrated on \(calibration.count) images; accumulator bits: \(widths.joined(separator: ", ")); wrote \(output)"
            )
        }
    }
}
