import Foundation
import GoldenModel
import Quantization

/// The accuracy-budget search of DESIGN.md section 2 (`compress --method slim --budget B`): apply M3 and M4
/// greedily, the reduction saving the most multiply-accumulates per unit of validation loss first, while the
/// top-1 loss stays within the budget. Validation is the integer golden model on images kept apart from
/// calibration and from the test set. Deterministic: ties go to the earlier candidate (layer order, then
/// channel, M4 before M3).
///
/// Candidates, one per output channel of every convolution and method:
/// - `kernel` (M4): the channel's square kernel reduced by one step, K to K - 2, refit by least squares (after a
///   step is applied, the channel's next step, K - 2 to K - 4, becomes a candidate);
/// - `feature` (M3): the channel approximated from `sources` computed channels of its layer.
///
/// Lazy greedy: every candidate is first scored alone on the starting model (MACs saved per unit of validation
/// cross-entropy added, a smooth stand-in for the points lost that does not reward lucky flips); then the best-scored candidate is evaluated on the current model: if its
/// score was measured on the current model it is applied, otherwise it is measured again and goes back into the
/// list. A candidate that would take the loss over the budget, or that no longer applies (its channel was
/// reduced, approximated or became a source), is dropped. This is the exact greedy order whenever a step never
/// makes another one cheaper, and needs a few evaluations per step instead of one per remaining candidate.
public enum BudgetSearch {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case kernel, feature
    }

    public struct Options: Sendable {
        public var budget: Double
        /// Standard errors of the measured loss added before it is compared with the budget: the validation images
        /// are a sample, and a search that picks among many candidates favours those that were lucky on it.
        public var margin = 1.0
        public var kinds: [Kind] = Kind.allCases
        /// M3: computed channels per approximated one, and the coefficient width.
        public var sources = 4
        public var coefficientBits = 8
        /// Only these convolutions (default: all but the logits).
        public var layers: [String]? = nil
        public init(budget: Double) { self.budget = budget }
    }

    public struct Step: Codable, Equatable, Sendable {
        public var layer: String
        public var channel: Int
        public var kind: Kind
        /// M4: the channel's kernel size after the step; M3: its sources.
        public var kernelSize: Int?
        public var sources: [Int]?
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

    struct Measure {
        var top1: Double
        var crossEntropy: Double
        var fits: Bool
    }

    struct Candidate: Equatable {
        var layer: String
        var channel: Int
        var kind: Kind
        /// M4: the kernel size after the step.
        var size = 0
    }

    /// `calibration`: training images for the fits; `validation`: images and labels for the accuracy the budget
    /// is measured on. `progress(phase, done, total)` reports the work as it goes.
    public static func run(_ model: QuantizedModel, options: Options, calibration: [UInt8], calibrationCount: Int,
                           validation: [UInt8], labels: [Int], progress: (String, Int, Int) -> Void = { _, _, _ in }) throws -> Outcome {
        guard model.weightScale == "channel" else {
            throw QuantizationError(layer: "options", "the budget search reduces channel by channel and needs per-channel weight scales (quantize --weight-scale channel)")
        }
        guard !options.kinds.isEmpty else { throw QuantizationError(layer: "options", "the budget search needs at least one kind of reduction") }
        for name in options.layers ?? [] where !model.layers.contains(where: { $0.name == name && $0.kind == .conv2d }) {
            throw QuantizationError(layer: name, "is not a convolution of the model")
        }
        var evaluations = 0
        var startPredictions: [Int]? = nil
        let classes = model.layers.last!.shape.reduce(1, *), unit = pow(2, Double(model.layers.last!.outputExponent))
        // Validation top-1, mean cross-entropy, and whether the top-1 loss with `margin` standard errors of it stays
        // within the budget.
        func measure(_ candidate: QuantizedModel) throws -> Measure {
            evaluations += 1
            let logits = try GoldenModel(candidate).run(pixels: validation, count: labels.count).logits
            var predictions = [Int](repeating: 0, count: labels.count)
            var entropy = 0.0
            for (s, label) in labels.enumerated() {
                let row = logits[(s * classes)..<((s + 1) * classes)].map { Double($0) * unit }
                let top = row.max()!
                predictions[s] = row.firstIndex(of: top)!
                entropy += log(row.reduce(0) { $0 + exp($1 - top) }) + top - row[label]
            }
            let n = Double(max(labels.count, 1))
            let value = 100 * Double(zip(predictions, labels).filter { $0 == $1 }.count) / n
            let start = startPredictions ?? predictions
            startPredictions = start
            // The loss is a difference of paired outcomes; its standard error is at most sqrt(changed) / n.
            let changed = Double(zip(predictions, start).filter { $0 != $1 }.count)
            let baseline = 100 * Double(zip(start, labels).filter { $0 == $1 }.count) / n
            return Measure(top1: value, crossEntropy: entropy / n,
                           fits: baseline - value + options.margin * 100 * changed.squareRoot() / n <= options.budget)
        }
        // MACs saved per unit of cross-entropy added: a smooth measure, so that the ranking does not chase the
        // candidates whose few changed predictions happened to be lucky on the validation images.
        func score(saved: Int, from before: Measure, to after: Measure) -> Double {
            Double(saved) / max(after.crossEntropy - before.crossEntropy, 1e-4)
        }
        let convolutions = model.layers.filter { $0.kind == .conv2d && !($0.logits ?? false) && (options.layers?.contains($0.name) ?? true) }
        // M4's refit of a whole layer to each smaller size is computed once, on the model as given (from the full
        // kernel: 5x5 to 1x1 is refit from 5x5, not from the 3x3); a step takes one channel of it. A channel's
        // first step is a candidate from the start, its next one (5x5: 3x3 to 1x1) once the first is applied.
        var reducedLayers: [String: QuantizedModel.Layer] = [:]
        func key(_ layer: String, _ size: Int) -> String { "\(layer)/\(size)" }
        var candidates: [Candidate] = []
        for layer in convolutions {
            guard let shape = layer.weightShape, layer.compression == nil else { continue }
            let square = options.kinds.contains(.kernel) && shape[2] == shape[3] && shape[2] >= 3
            if square {
                for size in stride(from: shape[2] - 2, through: 1, by: -2) {
                    let reduced = try KernelReducer.reduce(model, layer: layer.name, size: size, pixels: calibration, images: calibrationCount)
                    reducedLayers[key(layer.name, size)] = reduced.layers.first { $0.name == layer.name }!
                }
            }
            for c in 0..<shape[0] {
                if square { candidates.append(Candidate(layer: layer.name, channel: c, kind: .kernel, size: shape[2] - 2)) }
                if options.kinds.contains(.feature) && shape[0] > options.sources { candidates.append(Candidate(layer: layer.name, channel: c, kind: .feature)) }
            }
        }

        // Calibration samples of a layer for M3, computed once per model state.
        var samples: [String: (version: Int, samples: FeatureApproximator.Samples)] = [:]
        func apply(_ candidate: Candidate, to current: QuantizedModel, version: Int) throws -> QuantizedModel? {
            let layer = current.layers.first { $0.name == candidate.layer }!
            let features = layer.approximatedFeatures
            let approximated = features?.channels ?? []
            let pinned = Set(features?.features.flatMap(\.sources) ?? [])
            guard !approximated.contains(candidate.channel) else { return nil }
            switch candidate.kind {
            case .kernel:
                guard (layer.kernelSizes?[candidate.channel] ?? layer.weightShape![2]) == candidate.size + 2 else { return nil }
                return try applyKernel(candidate.channel, from: reducedLayers[key(candidate.layer, candidate.size)]!, to: current)
            case .feature:
                guard !pinned.contains(candidate.channel), layer.shape[0] - approximated.count > options.sources else { return nil }
                if samples[candidate.layer]?.version != version {
                    samples[candidate.layer] = (version, try FeatureApproximator.samples(current, layer: candidate.layer, pixels: calibration, images: calibrationCount))
                }
                return try FeatureApproximator.approximate(current, layer: candidate.layer, channels: [candidate.channel], m: options.sources,
                                                           samples: samples[candidate.layer]!.samples, coefficientBits: options.coefficientBits).model
            }
        }
        func step(_ candidate: Candidate, before: QuantizedModel, after: QuantizedModel, top1: Double) -> Step {
            let layer = after.layers.first { $0.name == candidate.layer }!
            return Step(layer: candidate.layer, channel: candidate.channel, kind: candidate.kind,
                        kernelSize: candidate.kind == .kernel ? layer.kernelSizes![candidate.channel] : nil,
                        sources: candidate.kind == .feature ? layer.approximatedFeatures!.features.first { $0.channel == candidate.channel }!.sources : nil,
                        macsSaved: ModelMetrics(before).total.liveMacs - ModelMetrics(after).total.liveMacs, validationTop1: top1)
        }

        let start = try measure(model)
        // Scores of single steps on the starting model.
        var entries: [(candidate: Candidate, order: Int, score: Double, version: Int, measure: Measure)] = []
        for (i, candidate) in candidates.enumerated() {
            progress("scoring", i + 1, candidates.count)
            guard let trial = try apply(candidate, to: model, version: 0) else { continue }
            let result = try measure(trial)
            guard result.fits else { continue }
            let saved = ModelMetrics(model).total.liveMacs - ModelMetrics(trial).total.liveMacs
            entries.append((candidate, i, score(saved: saved, from: start, to: result), 0, result))
        }
        var current = model, currentMeasure = start
        var steps: [Step] = []
        var scored = entries.count
        var decided = 0
        while let best = entries.indices.max(by: { (entries[$0].score, -entries[$0].order) < (entries[$1].score, -entries[$1].order) }) {
            let entry = entries.remove(at: best)
            progress("applying", decided, scored)
            guard let trial = try apply(entry.candidate, to: current, version: steps.count) else { decided += 1; continue }
            if entry.version == steps.count {
                // Measured on this very model already and still the best: apply it (the same trial again, the
                // fits are deterministic).
                steps.append(step(entry.candidate, before: current, after: trial, top1: entry.measure.top1))
                current = trial
                currentMeasure = entry.measure
                decided += 1
                // The channel's next kernel step joins, with its predecessor's score until it is measured.
                var next = entry.candidate
                next.size -= 2
                if next.kind == .kernel && next.size >= 1 {
                    entries.append((next, entry.order, entry.score, -1, entry.measure))
                    scored += 1
                }
                continue
            }
            let result = try measure(trial)
            guard result.fits else { decided += 1; continue }
            let saved = ModelMetrics(current).total.liveMacs - ModelMetrics(trial).total.liveMacs
            entries.append((entry.candidate, entry.order, score(saved: saved, from: currentMeasure, to: result), steps.count, result))
        }
        return Outcome(model: current, steps: steps, baselineTop1: start.top1, evaluations: evaluations)
    }

    /// `current` with channel `c` of its layer taken from the fully reduced layer: its codes, exponent, bias and
    /// window; M3's coefficients follow a source's new exponent; then widths and shifts settled again.
    static func applyKernel(_ c: Int, from reduced: QuantizedModel.Layer, to current: QuantizedModel) throws -> QuantizedModel {
        var model = current
        let index = model.layers.firstIndex { $0.name == reduced.name }!
        let old = model.layers[index]
        var layer = old
        let shape = layer.weightShape!, channels = shape[0], fan = shape.reduce(1, *) / channels
        var codes = layer.weights!, exponents = layer.weightExponents!, bias = layer.bias!
        var sizes = layer.kernelSizes ?? [Int](repeating: shape[2], count: channels)
        codes.replaceSubrange((c * fan)..<((c + 1) * fan), with: reduced.weights![(c * fan)..<((c + 1) * fan)])
        exponents[c] = reduced.weightExponents![c]
        bias[c] = reduced.bias![c]
        sizes[c] = reduced.kernelSizes![c]
        layer.weights = codes
        layer.kernelSizes = sizes
        try layer.settleKeepingFeatures(of: old, effectiveWeights: codes, exponents: exponents, bias: bias, in: model)
        model.layers[index] = layer
        try model.validate()
        return model
    }
}
