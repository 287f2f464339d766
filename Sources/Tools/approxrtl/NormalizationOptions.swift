import Foundation
import ArgumentParser
import NetworkIR

/// `--input-mean` / `--input-std`: the normalization a float model was trained with, in torchvision's convention
/// (on pixel / 255, per channel), for models that do not contain it themselves.
struct NormalizationOptions: ParsableArguments {
    @Option(
        help: "Input normalization mean(s) on pixel / 255, one or one per channel (e.g. 0.2860 or 0.485,0.456,0.406).")
    var inputMean: String?
    @Option(help: "Input normalization std(s) on pixel / 255, one or one per channel (e.g. 0.3530).")
    var inputStd: String?

    /// The normalization given, or nil when neither option is.
    func normalization() throws -> InputNormalization? {
        guard inputMean != nil || inputStd != nil else { return nil }
        guard let inputMean, let inputStd else { throw CLIError("--input-mean and --input-std go together") }
        func values(_ text: String, _ flag: String) throws -> [Float] {
            try text.split(separator: ",", omittingEmptySubsequences: false).map {
                guard let value = Float($0.trimmingCharacters(in: .whitespaces)) else {
                    throw CLIError("\(flag) '\(text)': '\($0)' is not a number")
                }
                return value
            }
        }
        do {
            return try InputNormalization(mean: values(inputMean, "--input-mean"), std: values(inputStd, "--input-std"))
        } catch let error as NormalizationError {
            throw CLIError("--input-mean/--input-std: \(error.reason)")
        }
    }

    /// `graph` (the model at `path`) with the normalization given applied; refused when the model normalizes its
    /// input itself, which would normalize twice.
    func apply(to graph: Graph, model path: String) throws -> Graph {
        guard let normalization = try normalization() else { return graph }
        if let reader = graph.inputNormalizationNode() {
            throw CLIError(
                "\(path): the model normalizes its input itself (node '\(graph.nodes[reader].name)'); --input-mean/--input-std would normalize it twice"
            )
        }
        do {
            return try graph.normalizingInput(normalization)
        } catch let error as NormalizationError {
            throw CLIError("\(path): \(error)")
        }
    }
}
