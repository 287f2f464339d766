import Approximation
import Datasets
import FloatInference
import Foundation
import GoldenModel
import NetworkIR
import OnnxImport
import Quantization

/// Top-1 accuracies measured the same way by `eval`, `report` and `sweep`.
enum Accuracy {
    /// Integer top-1 of a quantized or compressed model on the golden model, in batches of 500.
    static func integer(_ model: QuantizedModel, on images: ImageDataset, progress: Progress? = nil) throws -> Double {
        let golden = try GoldenModel(model)
        guard golden.inputSize == images.imageSize else {
            throw CLIError(
                "the model's input \(model.input.shape) does not take the \(images.rows)x\(images.cols) images of \(images.imageFile ?? images.name)"
            )
        }
        try checkLabels(images, model: model)
        let size = images.imageSize
        var correct = 0, done = 0
        while done < images.count {
            let range = done..<min(done + 500, images.count)
            let pixels = Array(images.pixels[(range.lowerBound * size)..<(range.upperBound * size)])
            correct += images.matches(golden.predictions(pixels: pixels, count: range.count), from: range.lowerBound)
            done = range.upperBound
            progress?.update(done)
        }
        return Double(correct) / Double(max(images.count, 1))
    }

    /// Every label is one of the model's classes; a label beyond them would only count as a wrong answer.
    static func checkLabels(_ images: ImageDataset, model: QuantizedModel) throws {
        let classes = model.layers.last.map { $0.shape.reduce(1, *) } ?? 0
        if let index = images.labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            throw CLIError(
                "\(images.labelFile ?? images.name): label \(images.labels[index]) of image \(index) is outside the model's \(classes) classes"
            )
        }
    }

    /// Float top-1 of the float model a quantized model was made from, or nil when its file is not there.
    static func float(of model: QuantizedModel, on images: ImageDataset) throws -> Double? {
        guard FileManager.default.fileExists(atPath: model.source) else { return nil }
        let graph = try model.sourceGraph()
        let executor = FloatExecutor(graph: graph)
        let classes = elementCount(graph.nodes[graph.outputs[0]].shape)
        var correct = 0, done = 0
        while done < images.count {
            let range = done..<min(done + 500, images.count)
            let logits = executor.run(inputs: [images.floatImages(range)], batch: range.count)[0]
            correct += images.matches(predictions(logits, classes: classes), from: range.lowerBound)
            done = range.upperBound
        }
        return Double(correct) / Double(max(images.count, 1))
    }

    /// The test images of a dataset option, optionally only the first `limit`.
    static func testImages(dataset: String, data: String?, limit: Int?) throws -> ImageDataset {
        guard dataset == "fashion-mnist" else {
            throw CLIError("unknown dataset '\(dataset)' (supported: fashion-mnist)")
        }
        guard limit.map({ $0 > 0 }) ?? true else { throw CLIError("--limit must be positive") }
        let images = try FashionMNIST.load(split: .test, directory: data ?? FashionMNIST.defaultDirectory)
        return limit.map { images.prefix($0) } ?? images
    }
}
