import ArgumentParser
import Datasets
import Foundation
import GoldenModel
import Quantization

struct Vectors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write testbench vectors: input images and the golden model's per-layer outputs and logits.",
        discussion: "One $readmemh file per value plus manifest.json (docs/formats.md), from the test split.")

    @Argument(help: "The quantized model (.q.json).") var model: String
    @Option(help: "How many test images.") var count = 16
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @Flag(help: "Replace files in an existing output folder.") var force = false

    func run() throws {
        try reportingErrors {
            guard count > 0 else { throw CLIError("--count must be positive") }
            let quantized = try QuantizedModel.load(path: model)
            let golden = try GoldenModel(quantized)
            let images = try FashionMNIST.load(split: .test, directory: data ?? FashionMNIST.defaultDirectory).prefix(
                count)
            guard images.count == count else { throw CLIError("the test split has only \(images.count) images") }
            guard golden.inputSize == images.imageSize else {
                throw CLIError(
                    "\(model): input \(quantized.input.shape) does not take the \(images.rows)x\(images.cols) images of \(images.imageFile ?? images.name)"
                )
            }
            let vectors = TestVectors(
                golden: golden, modelName: model, dataset: images.name, pixels: images.pixels,
                labels: images.labels, count: count)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw CLIError("\(output) exists and is not a folder") }
            } else {
                try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            }
            for name in vectors.files.keys.sorted() {
                try writeOutput(
                    vectors.files[name]!, to: (output as NSString).appendingPathComponent(name), force: force)
            }
            let correct = zip(vectors.manifest.predictions, images.labels).filter { $0 == $1 }.count
            print(
                "wrote \(vectors.files.count) files for \(count) images to \(output) (golden model: \(correct)/\(count) correct)"
            )
        }
    }
}
