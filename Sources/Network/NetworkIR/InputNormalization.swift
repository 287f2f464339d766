/// The input normalization a model was trained with, in torchvision's convention: on x = pixel / 255, per input
/// channel, `x' = (x - mean[c]) / std[c]` (`transforms.Normalize(mean, std)`).
public struct InputNormalization: Codable, Equatable, Sendable {
    public var mean: [Float]
    public var std: [Float]

    /// One value stands for every channel; otherwise one per channel. Every std must be positive and finite.
    public init(mean: [Float], std: [Float]) throws {
        guard !mean.isEmpty, !std.isEmpty else { throw NormalizationError("give at least one mean and one std") }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw NormalizationError("means must be finite and stds finite and positive")
        }
        self.mean = mean; self.std = std
    }

    /// The per-channel scale and shift for `channels` channels: scale 1 / std, shift -mean / std.
    public func scaleShift(channels: Int) throws -> ScaleShift {
        func expand(_ values: [Float], _ what: String) throws -> [Float] {
            if values.count == channels { return values }
            if values.count == 1 { return Array(repeating: values[0], count: channels) }
            throw NormalizationError("\(values.count) \(what) values for an input of \(channels) channel(s)")
        }
        let (m, s) = (try expand(mean, "mean"), try expand(std, "std"))
        return ScaleShift(scale: s.map { 1 / $0 }, shift: zip(m, s).map { -$0 / $1 })
    }
}

public struct NormalizationError: Error, CustomStringConvertible, Equatable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "input normalization: \(reason)" }
}

extension Graph {
    /// The ScaleShift node that alone reads the one image input: the model's input normalization (the quantizer
    /// folds it into the input's codes), or nil.
    public func inputNormalizationNode(consumers: [[Int]]? = nil) -> Int? {
        guard inputs.count == 1, let input = inputs.first else { return nil }
        let readers = (consumers ?? self.consumers())[input]
        guard readers.count == 1, case .scaleShift = nodes[readers[0]].op else { return nil }
        return readers[0]
    }

    /// The graph with `normalization` applied to its one image input `[C, H, W]`: a ScaleShift node named
    /// `<input>_normalization` reads the input, and everything that read the input reads it instead.
    public func normalizingInput(_ normalization: InputNormalization) throws -> Graph {
        guard inputs.count == 1, let input = inputs.first, nodes[input].shape.count == 3 else {
            throw NormalizationError("needs a model with one image input [C, H, W]")
        }
        let affine = try normalization.scaleShift(channels: nodes[input].shape[0])
        var builder = GraphBuilder()
        var moved = [Int](repeating: 0, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            if index == input {
                let image = try builder.add(node.name, .input, inputShape: node.shape)
                moved[index] = try builder.add(node.name + "_normalization", .scaleShift(affine), inputs: [image])
            } else {
                moved[index] = try builder.add(
                    node.name, node.op, inputs: node.inputs.map { moved[$0] },
                    inputShape: node.op == .input ? node.shape : nil)
            }
        }
        return try builder.build(outputs: outputs.map { moved[$0] })
    }
}
