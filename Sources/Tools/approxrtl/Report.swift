import Approximation
import ArgumentParser
import Datasets
import Foundation
import Quantization

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-layer and total compression metrics of a (compressed) model, and optionally its accuracy.",
        discussion: """
            Parameters are counted the papers' way (stored numbers, permutation excluded) and as honest storage bits \
            (permutation, segment boundaries and biases included); operations are those of the reuse form that the \
            golden model runs. With --eval: float top-1 of the source model, integer top-1 of the uncompressed \
            model (when its file is there) and of this one, on the test set.
            """)

    @Argument(help: "The model (.c.json or .q.json).") var model: String
    @Flag(help: "Also measure top-1 accuracy on the test set.") var eval = false
    @Option(help: "The dataset (fashion-mnist).") var dataset = "fashion-mnist"
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(help: "Evaluate only the first N test images.") var limit: Int?
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        try reportingErrors {
            let compressed = try QuantizedModel.load(path: model)
            let metrics = try ModelMetrics(compressed)
            var accuracies: [String: Double] = [:]
            if eval {
                let images = try Accuracy.testImages(dataset: dataset, data: data, limit: limit)
                let progress = Progress("report", total: images.count)
                accuracies["integer_top1"] = try Accuracy.integer(compressed, on: images, progress: progress)
                progress.finish()
                if let from = compressed.compressedFrom, FileManager.default.fileExists(atPath: from) {
                    accuracies["uncompressed_integer_top1"] = try Accuracy.integer(
                        QuantizedModel.load(path: from), on: images)
                }
                accuracies["float_top1"] = try Accuracy.float(of: compressed, on: images)
                accuracies["images"] = Double(images.count)
            }
            if json {
                var object: [String: Any] = [
                    "model": model, "source": FileReference.forDisplay(compressed.source),
                    "metrics": try jsonObject(metrics),
                    "param_reduction": metrics.paramReduction, "storage_reduction": metrics.storageReduction,
                    "multiplies_eliminated": metrics.multipliesEliminated, "operations_saved": metrics.operationsSaved,
                ]
                if let from = compressed.compressedFrom { object["compressed_from"] = from }
                for (key, value) in accuracies { object[key] = key == "images" ? Int(value) as Any : value }
                try printJSON(object)
                return
            }
            print(
                "\(model): from \(compressed.compressedFrom ?? "(not compressed)"), float model \(FileReference.forDisplay(compressed.source))"
            )
            print(metricsTable(metrics))
            print(metricsSummary(metrics))
            if eval {
                func percent(_ key: String) -> String {
                    accuracies[key].map { String(format: "%.2f%%", 100 * $0) } ?? "unknown"
                }
                let loss =
                    accuracies["uncompressed_integer_top1"].map {
                        String(format: " (%.2f points lost to compression)", 100 * ($0 - accuracies["integer_top1"]!))
                    } ?? ""
                print(
                    "top-1 on \(Int(accuracies["images"]!)) test images: float \(percent("float_top1")), integer \(percent("uncompressed_integer_top1")), compressed \(percent("integer_top1"))\(loss)"
                )
            }
        }
    }
}
