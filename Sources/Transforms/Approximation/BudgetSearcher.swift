import Foundation
import GoldenModel
import Quantization

/// One run of the budget search (BudgetSearch.swift describes the method): the candidates, their measurements on
/// the validation images, and the lazy greedy loop that applies them.
final class BudgetSearcher {
    typealias Candidate = BudgetSearch.Candidate
    typealias Measure = BudgetSearch.Measure
    /// A candidate in the greedy list: its score, and the model state (steps applied) it was measured on
    /// (-1: inherited from its predecessor, not measured yet).
    typealias Entry = (candidate: Candidate, order: Int, score: Double, version: Int, measure: Measure)

    let model: QuantizedModel
    let options: BudgetSearch.Options
    let calibration: (pixels: [UInt8], count: Int)
    let validation: (pixels: [UInt8], labels: [Int])
    let classes: Int
    /// The logits' value of one code.
    let unit: Double
    var evaluations = 0
    /// The starting model's predictions, against which the loss's standard error is taken.
    var startPredictions: [Int]? = nil
    /// M4's refit of a whole layer to each smaller size, by `key(layer, size)`.
    var reducedLayers: [String: QuantizedModel.Layer] = [:]
    /// Calibration samples of a layer for M3, computed once per model state.
    var samples: [String: (version: Int, samples: FeatureApproximator.Samples)] = [:]

    init(
        model: QuantizedModel, options: BudgetSearch.Options, calibration: (pixels: [UInt8], count: Int),
        validation: (pixels: [UInt8], labels: [Int])
    ) {
        self.model = model; self.options = options; self.calibration = calibration; self.validation = validation
        let logits = model.layers[model.layers.count - 1]
        (classes, unit) = (logits.shape.reduce(1, *), pow(2, Double(logits.outputExponent)))
    }

    func search(progress: (String, Int, Int) -> Void) throws -> BudgetSearch.Outcome {
        let candidates = try self.candidates()
        let start = try measure(model)
        var entries = try scoreAlone(candidates, start: start, progress: progress)
        var current = model, currentMeasure = start
        var steps: [BudgetSearch.Step] = []
        var scored = entries.count
        var decided = 0
        while let best = entries.indices.max(by: {
            (entries[$0].score, -entries[$0].order) < (entries[$1].score, -entries[$1].order)
        }) {
            let entry = entries.remove(at: best)
            progress("applying", decided, scored)
            guard let trial = try apply(entry.candidate, to: current, version: steps.count) else {
                decided += 1; continue
            }
            if entry.version == steps.count {
                // Measured on this very model already and still the best: apply it (the same trial again, the
                // fits are deterministic).
                steps.append(try step(entry.candidate, before: current, after: trial, top1: entry.measure.top1))
                (current, currentMeasure) = (trial, entry.measure)
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
            let saved = try ModelMetrics(current).total.liveMacs - ModelMetrics(trial).total.liveMacs
            entries.append(
                (
                    entry.candidate, entry.order, score(saved: saved, from: currentMeasure, to: result), steps.count,
                    result
                ))
        }
        return BudgetSearch.Outcome(model: current, steps: steps, baselineTop1: start.top1, evaluations: evaluations)
    }

    /// Scores of single steps on the starting model; those that break the budget alone are dropped.
    func scoreAlone(_ candidates: [Candidate], start: Measure, progress: (String, Int, Int) -> Void) throws -> [Entry] {
        var entries: [Entry] = []
        for (i, candidate) in candidates.enumerated() {
            progress("scoring", i + 1, candidates.count)
            guard let trial = try apply(candidate, to: model, version: 0) else { continue }
            let result = try measure(trial)
            guard result.fits else { continue }
            let saved = try ModelMetrics(model).total.liveMacs - ModelMetrics(trial).total.liveMacs
            entries.append((candidate, i, score(saved: saved, from: start, to: result), 0, result))
        }
        return entries
    }

    /// Validation top-1, mean cross-entropy, and whether the top-1 loss with `margin` standard errors of it stays
    /// within the budget.
    func measure(_ candidate: QuantizedModel) throws -> Measure {
        evaluations += 1
        let labels = validation.labels
        let logits = try GoldenModel(candidate).run(pixels: validation.pixels, count: labels.count).logits
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
        return Measure(
            top1: value, crossEntropy: entropy / n,
            fits: baseline - value + options.margin * 100 * changed.squareRoot() / n <= options.budget)
    }

    /// MACs saved per unit of cross-entropy added: a smooth measure, so that the ranking does not chase the
    /// candidates whose few changed predictions happened to be lucky on the validation images.
    func score(saved: Int, from before: Measure, to after: Measure) -> Double {
        Double(saved) / max(after.crossEntropy - before.crossEntropy, 1e-4)
    }

    func key(_ layer: String, _ size: Int) -> String { "\(layer)/\(size)" }

    /// Every channel's first step. M4's refit of a whole layer to each smaller size is computed once, on the model
    /// as given (from the full kernel: 5x5 to 1x1 is refit from 5x5, not from the 3x3); a step takes one channel of
    /// it. A channel's next step (5x5: 3x3 to 1x1) joins once the first is applied.
    func candidates() throws -> [Candidate] {
        let convolutions = model.layers.filter {
            $0.kind == .conv2d && !($0.logits ?? false) && (options.layers?.contains($0.name) ?? true)
        }
        var candidates: [Candidate] = []
        for layer in convolutions {
            guard let shape = layer.weightShape, layer.compression == nil else { continue }
            let square = options.kinds.contains(.kernel) && shape[2] == shape[3] && shape[2] >= 3
            if square {
                for size in stride(from: shape[2] - 2, through: 1, by: -2) {
                    let reduced = try KernelReducer.reduce(
                        model, layer: layer.name, size: size, pixels: calibration.pixels,
                        images: calibration.count)
                    reducedLayers[key(layer.name, size)] = reduced.layers.first { $0.name == layer.name }!
                }
            }
            for c in 0..<shape[0] {
                if square {
                    candidates.append(Candidate(layer: layer.name, channel: c, kind: .kernel, size: shape[2] - 2))
                }
                if options.kinds.contains(.feature) && shape[0] > options.sources {
                    candidates.append(Candidate(layer: layer.name, channel: c, kind: .feature))
                }
            }
        }
        return candidates
    }

    /// `current` with the candidate applied, or nil when it no longer applies (its channel was reduced,
    /// approximated or became a source).
    func apply(_ candidate: Candidate, to current: QuantizedModel, version: Int) throws -> QuantizedModel? {
        let layer = current.layers.first { $0.name == candidate.layer }!
        let features = layer.approximatedFeatures
        let approximated = features?.channels ?? []
        let pinned = Set(features?.features.flatMap(\.sources) ?? [])
        guard !approximated.contains(candidate.channel) else { return nil }
        switch candidate.kind {
        case .kernel:
            guard (layer.kernelSizes?[candidate.channel] ?? layer.weightShape?[2]) == candidate.size + 2 else {
                return nil
            }
            return try BudgetSearch.applyKernel(
                candidate.channel, from: reducedLayers[key(candidate.layer, candidate.size)]!, to: current)
        case .feature:
            guard !pinned.contains(candidate.channel), layer.shape[0] - approximated.count > options.sources else {
                return nil
            }
            if samples[candidate.layer]?.version != version {
                let computed = try FeatureApproximator.samples(
                    current, layer: candidate.layer, pixels: calibration.pixels,
                    images: calibration.count)
                samples[candidate.layer] = (version, computed)
            }
            return try FeatureApproximator.approximate(
                current, layer: candidate.layer, channels: [candidate.channel], m: options.sources,
                samples: samples[candidate.layer]!.samples,
                coefficientBits: options.coefficientBits
            ).model
        }
    }

    /// The record of an applied step.
    func step(_ candidate: Candidate, before: QuantizedModel, after: QuantizedModel, top1: Double) throws
        -> BudgetSearch.Step
    {
        let layer = after.layers.first { $0.name == candidate.layer }!
        let sources =
            candidate.kind == .feature
            ? layer.approximatedFeatures?.features.first { $0.channel == candidate.channel }?.sources : nil
        return BudgetSearch.Step(
            layer: candidate.layer, channel: candidate.channel, kind: candidate.kind,
            kernelSize: candidate.kind == .kernel ? layer.kernelSizes?[candidate.channel] : nil, sources: sources,
            macsSaved: try ModelMetrics(before).total.liveMacs - ModelMetrics(after).total.liveMacs,
            validationTop1: top1)
    }
}
