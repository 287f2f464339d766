import ArgumentParser
import Datasets
import Foundation
import NetworkIR
import OnnxExport
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a built-in architecture on a dataset and write it as ONNX.",
        discussion: """
            Deterministic for a given seed, whatever the number of cores. The seed draws the initial weights, the \
            validation split and the shuffling. After training, the model's top-1 on the test split is measured \
            and stored in the model's metadata with the command line.
            """)

    @Option(help: "Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).") var arch:
        Architecture
    @Option(help: "The dataset (fashion-mnist).") var dataset: DatasetName = .fashionMNIST
    @Option(help: "Folder with the dataset's IDX files (default: \(FashionMNIST.defaultDirectory)).") var data: String?
    @Option(help: "Passes over the training images.") var epochs = 10
    @Option(help: "Seed of weights, split and shuffling.") var seed: UInt64 = 1
    @Option(help: "Optimizer: adam or sgd.") var optimizer: OptimizerName = .adam
    @Option(help: "Initial learning rate (default 0.001 for adam, 0.05 for sgd).") var lr: Float?
    @Option(help: "Momentum of sgd.") var momentum: Float = 0.9
    @Option(help: "L2 weight decay on weights (not biases).") var weightDecay: Float = 0
    @Option(help: "Learning-rate schedule: cosine or constant.") var schedule: LearningRateSchedule = .cosine
    @Option(help: "Images per mini-batch.") var batchSize = 64
    @Option(help: "Training images held out for validation.") var validation = 5000
    @Option(help: "Train on the first N training images only (quick runs).") var limit: Int?
    @Option(name: .shortAndLong, help: "Where to write the model (.onnx).") var output: String
    @Flag(help: "Overwrite the output if it exists.") var force = false
    @Flag(help: "Print one JSON object instead of text.") var json = false

    enum DatasetName: String, ExpressibleByArgument { case fashionMNIST = "fashion-mnist" }
    enum OptimizerName: String, ExpressibleByArgument { case adam, sgd }

    func run() throws {
        try reportingErrors {
            guard epochs > 0, batchSize > 0, validation >= 0, limit.map({ $0 > 0 }) ?? true else {
                throw CLIError("--epochs, --batch-size and --limit must be positive, --validation not negative")
            }
            guard (lr ?? 1) > 0, (0..<1).contains(momentum), weightDecay >= 0 else {
                throw CLIError("--lr must be positive, --momentum lie in 0..<1, --weight-decay not be negative")
            }
            if FileManager.default.fileExists(atPath: output) && !force {
                throw CLIError("\(output) exists; pass --force to overwrite it")
            }
            let directory = data ?? FashionMNIST.defaultDirectory
            var trainSet = try FashionMNIST.load(split: .train, directory: directory)
            if let limit { trainSet = trainSet.prefix(limit) }
            guard validation < trainSet.count else {
                throw CLIError("--validation \(validation) leaves no training images out of \(trainSet.count)")
            }
            let testSet = try FashionMNIST.load(split: .test, directory: directory)
            let graph = try arch.build(
                input: [1, trainSet.rows, trainSet.cols], classes: FashionMNIST.classNames.count, seed: seed)
            let trainer = try Trainer(graph: graph, options: trainingOptions())
            var lines: [[String: Any]] = []
            let summaries = try trainer.fit(trainSet, onEvent: reporter { lines.append($0) })
            let testAccuracy = trainer.accuracy(on: testSet)
            let trained = try trainer.trainedGraph()
            let command = commandLine()
            let model = try OnnxExporter.serialized(
                trained, docString: "Trained by approxrtl: \(command)",
                metadata: metadata(command: command, test: testAccuracy, last: summaries.last!))
            try writeOutput(model, to: output, force: force)
            let parameters = trained.totalCost.parameters
            if json {
                try printJSON([
                    "arch": arch.rawValue, "seed": seed, "epochs": lines, "test_top1": testAccuracy,
                    "test_images": testSet.count, "parameters": parameters, "output": output,
                ])
            } else {
                print(
                    String(
                        format: "%@: %d parameters, test top-1 %.2f%% on %d images; wrote %@",
                        arch.rawValue, parameters, 100 * testAccuracy, testSet.count, output))
            }
        }
    }

    func trainingOptions() -> TrainingOptions {
        var options = TrainingOptions()
        switch optimizer {
        case .adam: options.optimizer = .adamDefault; options.learningRate = lr ?? 1e-3
        case .sgd: options.optimizer = .sgd(momentum: momentum); options.learningRate = lr ?? 0.05
        }
        options.epochs = epochs
        options.batchSize = batchSize
        options.schedule = schedule
        options.weightDecay = weightDecay
        options.seed = seed
        options.validationCount = validation
        return options
    }

    /// Progress bars per epoch on a terminal, a line per finished epoch, and each epoch's summary to `record`.
    func reporter(_ record: @escaping ([String: Any]) -> Void) -> (TrainingEvent) -> Void {
        let progress = Progress("train", total: 1)
        return { event in
            switch event {
            case .batch(let epoch, let batch, let batches, let loss, let accuracy):
                if batch % 8 == 0 || batch == batches {
                    Progress("epoch \(epoch)/\(epochs)", total: batches)
                        .update(batch, String(format: "loss %.4f  acc %.2f%%", loss, 100 * accuracy))
                }
            case .epoch(let summary):
                progress.finish()
                let validationText =
                    summary.validationAccuracy.map { String(format: ", validation %.2f%%", 100 * $0) } ?? ""
                if !json {
                    // Written unbuffered so that a log file shows each epoch as it ends.
                    let text = String(
                        format: "epoch %d/%d: loss %.4f, train %.2f%%%@, %.1f s (%.0f images/s)\n",
                        summary.epoch, epochs, summary.trainLoss, 100 * summary.trainAccuracy, validationText,
                        summary.seconds, Double(summary.images) / summary.seconds)
                    FileHandle.standardOutput.write(Data(text.utf8))
                }
                var line: [String: Any] = [
                    "epoch": summary.epoch, "loss": summary.trainLoss, "train_top1": summary.trainAccuracy,
                    "seconds": summary.seconds, "images": summary.images,
                ]
                if let v = summary.validationAccuracy { line["validation_top1"] = v }
                record(line)
            }
        }
    }

    /// The model's provenance, stored in its ONNX metadata.
    func metadata(command: String, test: Double, last: EpochSummary) -> [(String, String)] {
        var metadata: [(String, String)] = [
            ("approxrtl.arch", arch.rawValue),
            ("approxrtl.command", command),
            ("approxrtl.dataset", "fashion-mnist"),
            ("approxrtl.epochs", "\(epochs)"),
            ("approxrtl.seed", "\(seed)"),
            ("approxrtl.test_top1", String(format: "%.4f", test)),
            ("approxrtl.train_top1", String(format: "%.4f", last.trainAccuracy)),
            ("approxrtl.validation", "\(validation)"),
        ]
        if let v = last.validationAccuracy { metadata.append(("approxrtl.validation_top1", String(format: "%.4f", v))) }
        return metadata
    }

    /// The command as a user would retype it (without --force and -o, which do not change the model).
    private func commandLine() -> String {
        var words = [
            "approxrtl", "train", "--arch", arch.rawValue, "--dataset", dataset.rawValue, "--epochs", "\(epochs)",
            "--seed", "\(seed)",
        ]
        if optimizer != .adam { words += ["--optimizer", optimizer.rawValue] }
        if let lr { words += ["--lr", "\(lr)"] }
        if optimizer == .sgd && momentum != 0.9 { words += ["--momentum", "\(momentum)"] }
        if weightDecay != 0 { words += ["--weight-decay", "\(weightDecay)"] }
        if schedule != .cosine { words += ["--schedule", schedule.rawValue] }
        if batchSize != 64 { words += ["--batch-size", "\(batchSize)"] }
        if validation != 5000 { words += ["--validation", "\(validation)"] }
        if let limit { words += ["--limit", "\(limit)"] }
        return words.joined(separator: " ")
    }
}

extension Architecture: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
