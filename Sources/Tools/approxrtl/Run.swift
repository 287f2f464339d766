import ArgumentParser
import Datasets
import FloatInference
import Foundation
import NetworkIR
import OnnxImport

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Float inference on a NumPy batch: input .npy [N, ...] in, first output .npy out.")

    @Argument(help: "The model (.onnx).") var model: String
    @Option(help: "Input batch (.npy, shape [N, ...] matching the model input).") var input: String
    @Option(name: .shortAndLong, help: "Where to write the output (.npy).") var output: String
    @OptionGroup var normalizationOptions: NormalizationOptions
    @Flag(help: "Overwrite an existing output file.") var force = false

    func run() throws {
        try reportingErrors {
            let imported = try OnnxImporter.load(path: model)
            let graph = try normalizationOptions.apply(to: imported.graph, model: model)
            guard graph.inputs.count == 1 else {
                throw CLIError("\(model): run needs a model with one input, it has \(graph.inputs.count)")
            }
            let array = try NpyArray.read(path: input)
            let sampleShape = graph.nodes[graph.inputs[0]].shape
            guard array.shape.count == sampleShape.count + 1, Array(array.shape.dropFirst()) == sampleShape else {
                throw CLIError(
                    "\(input): shape \(array.shape) does not match the model input \(shapeText(sampleShape))")
            }
            let batch = array.shape[0]
            let result = FloatExecutor(graph: graph).run(inputs: [array.data], batch: batch)[0]
            let outputShape = [batch] + graph.nodes[graph.outputs[0]].shape
            try writeOutput(NpyArray(shape: outputShape, data: result).encoded(), to: output, force: force)
        }
    }
}
