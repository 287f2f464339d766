import Approximation
import ArgumentParser
import Datasets
import FloatInference
import Foundation
import NetworkIR
import GoldenModel
import OnnxImport
import Quantization

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure top-1 accuracy of a model on a dataset.")

    @Argument(help: "The model: float (.onnx) or quantized (.q.json, evaluated on the integer golden model).")
    var model: String
    @Option(help: "The dataset (fashion-mnist).") var dataset = "fashion-mnist"
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(help: "Which split: test or train.") var split = "test"
    @Option(help: "Evaluate only the first N images.") var limit: Int?
    @Option(help: "Images per inference batch.") var batchSize = 500
    @OptionGroup var normalizationOptions: NormalizationOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        try reportingErrors {
            guard dataset == "fashion-mnist" else {
                throw CLIError("unknown dataset '\(dataset)' (supported: fashion-mnist)")
            }
            guard let splitValue = FashionMNIST.Split(rawValue: split) else {
                throw CLIError("unknown split '\(split)' (train or test)")
            }
            guard limit.map({ $0 > 0 }) ?? true, batchSize > 0 else {
                throw CLIError("--limit and --batch-size must be positive")
            }
            // The model is read first, so a bad model file is reported before anything else.
            let quantized = model.hasSuffix(".json") ? try QuantizedModel.load(path: model) : nil
            let imported = quantized == nil ? try OnnxImporter.load(path: model) : nil
            var images = try FashionMNIST.load(split: splitValue, directory: data ?? FashionMNIST.defaultDirectory)
            if let limit { images = images.prefix(limit) }
            if let quantized {
                guard try normalizationOptions.normalization() == nil else {
                    throw CLIError(
                        "\(model): a quantized model carries its input normalization; --input-mean/--input-std are for .onnx models"
                    )
                }
                try evaluateQuantized(quantized, images)
                return
            }
            guard let imported else { return }
            let graph = try normalizationOptions.apply(to: imported.graph, model: model)
            guard graph.inputs.count == 1, graph.outputs.count == 1 else {
                throw CLIError(
                    "\(model): eval needs one input and one output, the model has \(graph.inputs.count) and \(graph.outputs.count)"
                )
            }
            let inputShape = graph.nodes[graph.inputs[0]].shape
            guard elementCount(inputShape) == images.imageSize else {
                throw CLIError(
                    "\(model): input \(shapeText(inputShape)) does not take the \(images.rows)x\(images.cols) images of \(images.imageFile ?? images.name)"
                )
            }
            let classes = elementCount(graph.nodes[graph.outputs[0]].shape)
            guard classes > (images.labels.max() ?? 0) else {
                throw CLIError(
                    "\(model): \(classes) outputs cannot score the \((images.labels.max() ?? 0) + 1) classes of \(images.labelFile ?? images.name)"
                )
            }
            let executor = FloatExecutor(graph: graph)
            let progress = Progress("eval", total: images.count)
            let start = Date()
            var correct = 0
            var done = 0
            while done < images.count {
                let range = done..<min(done + batchSize, images.count)
                let logits = executor.run(inputs: [images.floatImages(range)], batch: range.count)[0]
                correct += images.matches(predictions(logits, classes: classes), from: range.lowerBound)
                done = range.upperBound
                progress.update(done, String(format: "top-1 %.2f%%", 100 * Double(correct) / Double(done)))
            }
            progress.finish()
            let seconds = Date().timeIntervalSince(start)
            let accuracy = Double(correct) / Double(images.count)
            if json {
                try printJSON([
                    "model": model, "dataset": images.name, "images": images.count, "correct": correct,
                    "float_top1": accuracy, "seconds": seconds,
                ])
            } else {
                print(
                    String(
                        format: "%@ on %@ (%d images): float top-1 %.2f%% (%d correct), %.1f s",
                        model, images.name, images.count, 100 * accuracy, correct, seconds))
            }
        }
    }

    /// Integer top-1 on the golden model, with the float top-1 of the source model beside it.
    private func evaluateQuantized(_ quantized: QuantizedModel, _ images: ImageDataset) throws {
        let golden = try GoldenModel(quantized)
        guard golden.inputSize == images.imageSize else {
            throw CLIError(
                "\(model): input \(quantized.input.shape) does not take the \(images.rows)x\(images.cols) images of \(images.imageFile ?? images.name)"
            )
        }
        try Accuracy.checkLabels(images, model: quantized)
        let progress = Progress("eval", total: images.count)
        let start = Date()
        var correct = 0, floatCorrect = 0, done = 0
        var integerSeconds = 0.0
        let size = images.imageSize
        let float =
            FileManager.default.fileExists(atPath: quantized.source)
            ? FloatExecutor(graph: try quantized.sourceGraph()) : nil
        while done < images.count {
            let range = done..<min(done + batchSize, images.count)
            let pixels = Array(images.pixels[(range.lowerBound * size)..<(range.upperBound * size)])
            let batchStart = Date()
            let predicted = golden.predictions(pixels: pixels, count: range.count)
            integerSeconds += Date().timeIntervalSince(batchStart)
            correct += images.matches(predicted, from: range.lowerBound)
            if let float {
                let logits = float.run(inputs: [images.floatImages(range)], batch: range.count)[0]
                floatCorrect += images.matches(predictions(logits, classes: golden.classes), from: range.lowerBound)
            }
            done = range.upperBound
            progress.update(done, String(format: "integer top-1 %.2f%%", 100 * Double(correct) / Double(done)))
        }
        progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let accuracy = Double(correct) / Double(images.count)
        let floatAccuracy = float == nil ? nil : Double(floatCorrect) / Double(images.count)
        if json {
            var object: [String: Any] = [
                "model": model, "dataset": images.name, "images": images.count, "correct": correct,
                "integer_top1": accuracy, "seconds": seconds, "integer_seconds": integerSeconds,
                "source": FileReference.forDisplay(quantized.source),
            ]
            if let floatAccuracy { object["float_top1"] = floatAccuracy }
            try printJSON(object)
        } else {
            let floatText =
                floatAccuracy.map {
                    String(format: "float top-1 %.2f%% (%@)", 100 * $0, FileReference.forDisplay(quantized.source))
                }
                ?? "float top-1 unknown (\(quantized.source) not found)"
            print(
                String(
                    format:
                        "%@ on %@ (%d images): integer top-1 %.2f%% (%d correct), %@; %d/%d-bit weights/activations",
                    model, images.name, images.count, 100 * accuracy, correct, floatText, quantized.weightBits,
                    quantized.activationBits))
        }
    }
}

extension ImageDataset {
    /// How many of `predicted` (for the images from index `first` on) equal their labels.
    func matches(_ predicted: [Int], from first: Int) -> Int {
        predicted.enumerated().filter { $0.element == labels[first + $0.offset] }.count
    }
}
