import GoldenModel
import Quantization

/// The accuracy-budget search of DESIGN.md section 2 (`compress --method slim --budget B`): apply data-driven
/// reductions greedily, the one saving the most multiply-accumulates per point of validation accuracy lost
/// first, while the loss stays within the budget. Validation is the integer golden model on images kept apart
/// from calibration and from the test set. Deterministic: ties go to the earlier candidate (layer order, then
/// channel order).
///
/// Candidates today are M4's (one output channel of a convolution, its kernel reduced by one step, K to K - 2,
/// refit by least squares); M3's feature approximations join them with issue 6.
public enum BudgetSearch {
    public struct Step: Codable, Equatable, Sendable {
        public var layer: String
        public var channel: Int
        public var kernelSize: Int
        public var macsSaved: Int
        /// Validation top-1 (percent) after this step.
        public var validationTop1: Double
    }

    public struct Outcome: Sendable {
        public var model: QuantizedModel
        public var steps: [Step]
        /// Validation top-1 of the model before any step.
        public var baselineTop1: Double
        public var evaluations: Int
    }

    /// `calibration`: training images for the refits; `validation`: images and labels for the accuracy the budget
    /// is measured on. `progress(step, evaluated, total)` reports the work as it goes.
    /// `layers` limits the candidates to those convolutions (default: all).
    public static func run(_ model: QuantizedModel, budget: Double, calibration: [UInt8], calibrationCount: Int,
                           validation: [UInt8], labels: [Int], layers: [String]? = nil,
                           progress: (Int, Int, Int) -> Void = { _, _, _ in }) throws -> Outcome {
        guard model.weightScale == "channel" else {
            throw QuantizationError(layer: "options", "the budget search reduces channel by channel and needs per-channel weight scales (quantize --weight-scale channel)")
        }
        func top1(_ candidate: QuantizedModel) throws -> Double {
            let predictions = try GoldenModel(candidate).predictions(pixels: validation, count: labels.count)
            return 100 * Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(max(labels.count, 1))
        }
        // Every channel of every square convolution can lose one step of its kernel; the refit of a whole layer
        // is computed once, on the model as given, and a candidate takes one channel of it.
        var reducedLayers: [String: QuantizedModel.Layer] = [:]
        var candidates: [(layer: String, channel: Int, saved: Int)] = []
        for name in layers ?? [] where !model.layers.contains(where: { $0.name == name && $0.kind == .conv2d }) {
            throw QuantizationError(layer: name, "is not a convolution of the model")
        }
        for layer in model.layers where layer.kind == .conv2d && (layers?.contains(layer.name) ?? true) {
            guard let shape = layer.weightShape, shape.count == 4, shape[2] == shape[3], shape[2] >= 3, layer.compression == nil,
                  layer.kernelSizes == nil else { continue }
            let reduced = try KernelReducer.reduce(model, layer: layer.name, size: shape[2] - 2, pixels: calibration, images: calibrationCount)
            reducedLayers[layer.name] = reduced.layers.first { $0.name == layer.name }!
            let pixels = layer.shape[1] * layer.shape[2]
            let saved = shape[1] * (shape[2] * shape[2] - (shape[2] - 2) * (shape[2] - 2)) * pixels
            for c in 0..<shape[0] { candidates.append((layer.name, c, saved)) }
        }
        let baseline = try top1(model)
        var current = model
        var steps: [Step] = []
        var evaluations = 0
        while !candidates.isEmpty {
            var best: (index: Int, score: Double, model: QuantizedModel, top1: Double)?
            var overBudget: Set<Int> = []
            for (i, candidate) in candidates.enumerated() {
                let trial = try apply(candidate, from: reducedLayers[candidate.layer]!, to: current)
                let accuracy = try top1(trial)
                evaluations += 1
                progress(steps.count, i + 1, candidates.count)
                guard baseline - accuracy <= budget else { overBudget.insert(i); continue }
                // MACs saved per point this step loses; a step that loses nothing counts as losing a hundredth.
                let stepLoss = (steps.last?.validationTop1 ?? baseline) - accuracy
                let score = Double(candidate.saved) / max(stepLoss, 0.01)
                if best == nil || score > best!.score { best = (i, score, trial, accuracy) }
            }
            guard let chosen = best else { break }
            let candidate = candidates[chosen.index]
            // A candidate over the budget now is not tried again: later steps only add loss to what it would
            // cost (not a proof, accuracy is not monotone, but it keeps the search to a few passes).
            candidates = candidates.enumerated().filter { $0.offset != chosen.index && !overBudget.contains($0.offset) }.map(\.element)
            current = chosen.model
            steps.append(Step(layer: candidate.layer, channel: candidate.channel,
                              kernelSize: reducedLayers[candidate.layer]!.kernelSizes![candidate.channel],
                              macsSaved: candidate.saved, validationTop1: chosen.top1))
        }
        return Outcome(model: current, steps: steps, baselineTop1: baseline, evaluations: evaluations)
    }

    /// `current` with channel `candidate.channel` of its layer taken from the fully reduced layer: its codes,
    /// exponent, bias and window; then widths and shifts settled again.
    static func apply(_ candidate: (layer: String, channel: Int, saved: Int), from reduced: QuantizedModel.Layer,
                      to current: QuantizedModel) throws -> QuantizedModel {
        var model = current
        let index = model.layers.firstIndex { $0.name == candidate.layer }!
        var layer = model.layers[index]
        let shape = layer.weightShape!, channels = shape[0], fan = shape.reduce(1, *) / channels
        let c = candidate.channel
        var codes = layer.weights!, exponents = layer.weightExponents!, bias = layer.bias!
        var sizes = layer.kernelSizes ?? [Int](repeating: shape[2], count: channels)
        codes.replaceSubrange((c * fan)..<((c + 1) * fan), with: reduced.weights![(c * fan)..<((c + 1) * fan)])
        exponents[c] = reduced.weightExponents![c]
        bias[c] = reduced.bias![c]
        sizes[c] = reduced.kernelSizes![c]
        layer.weights = codes
        layer.kernelSizes = sizes
        let range = model.inputRange(of: layer)
        try layer.settle(effectiveWeights: codes, exponents: exponents, bias: bias, inputLow: range.low, inputHigh: range.high,
                         maxAccumulatorBits: model.maxAccumulatorBits)
        model.layers[index] = layer
        try model.validate()
        return model
    }
}
