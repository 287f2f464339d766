import Approximation
import ArgumentParser
import Datasets
import Foundation
import Quantization

struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank the output features (channels) of each convolution for feature approximation (M3).",
        discussion: """
            Per channel: its position in the QR-with-column-pivoting order of the filter matrix (0: most independent), \
            the pivot |R_kk| it was picked with, and its data-driven sensitivity: the relative residual of its \
            least-squares fit from the --sources most independent other channels on calibration images (0: exactly \
            reproduced, 1: no better than its mean). `compress --method feature` approximates the least sensitive.
            """)

    @Argument(help: "The quantized model (.q.json).") var model: String
    @Option(help: "Only these convolutions (comma-separated; default: all but the logits).") var layers: String?
    @Option(help: "Computed channels each fit uses.") var sources = 4
    @Option(help: "Training images whose pixels calibrate the fits.") var calibCount = 200
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Flag(help: "Print one JSON object instead of the tables.") var json = false

    func run() throws {
        try reportingErrors {
            let quantized = try QuantizedModel.load(path: model)
            let names =
                layers.map { $0.split(separator: ",").map(String.init) }
                ?? quantized.layers.filter { $0.kind == .conv2d && !($0.logits ?? false) }.map(\.name)
            let train = try FashionMNIST.load(split: .train, directory: data ?? FashionMNIST.defaultDirectory).prefix(
                calibCount)
            var report: [[String: Any]] = []
            for name in names {
                let ranking = try FeatureApproximator.rankFeatures(
                    quantized, layer: name, m: sources, pixels: train.pixels, images: train.count)
                report.append([
                    "layer": name,
                    "channels": ranking.map {
                        [
                            "channel": $0.channel, "position": $0.position, "pivot": $0.pivot,
                            "sensitivity": $0.sensitivity,
                        ] as [String: Any]
                    },
                ])
                if !json {
                    print(
                        "\(name): \(ranking.count) channels, sensitivity from \(sources) sources on \(train.count) images"
                    )
                    print(
                        table(
                            ["channel", "QR position", "pivot", "sensitivity"],
                            ranking.sorted { $0.sensitivity < $1.sensitivity }.map {
                                [
                                    "\($0.channel)", "\($0.position)", String(format: "%.4g", $0.pivot),
                                    String(format: "%.4f", $0.sensitivity),
                                ]
                            }, rightAligned: [1, 2, 3]))
                }
            }
            if json {
                try printJSON(["model": model, "sources": sources, "calibration_images": train.count, "layers": report])
            }
        }
    }
}
