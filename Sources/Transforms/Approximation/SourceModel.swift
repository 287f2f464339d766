import Foundation
import NetworkIR
import OnnxImport
import Quantization

extension QuantizedModel {
    /// The float model this model was quantized from, as the quantizer saw it: the source file with the input
    /// normalization given on the command line (the file itself does not contain that one).
    public func sourceGraph() throws -> Graph {
        let graph = try OnnxImporter.load(path: source).graph
        guard let normalization = input.normalization else { return graph }
        do {
            return try graph.normalizingInput(normalization)
        } catch let error as NormalizationError {
            throw TransformError("\(source): \(error)")
        }
    }
}
