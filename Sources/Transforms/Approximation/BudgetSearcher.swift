import Foundation
import GoldenModel
import NetworkIR
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
    /// The input codes of the layer the latest candidate changed, on the validation images: candidates of the same
    /// layer on the same model run from there (one layer's worth kept: candidates come layer by layer).
    var layerInputs: LayerInputs? = nil
    /// M4's refit of a whole layer to each smaller size, by `key(layer, size)`.
    var reducedLayers: [String: QuantizedModel.Layer] = [:]
    /// Calibration samples of a layer for M3, computed once per model state.
    var samples: [String: (version: Int, samples: FeatureApproximator.Samples)] = [:]
    /// Fine-tuning between steps, and the float graph the current model was quantized from.
    var refine: BudgetSearch.Refine?
    var graph: Graph?

    init(
        model: QuantizedModel, options: BudgetSearch.Options, calibration: (pixels: [UInt8], count: Int),
        validation: (pixels: [UInt8], labels: [Int])
    ) {
        self.model = model; self.options = options; self.calibration = calibration; self.validation = validation
        let logits = model.layers[model.layers.count - 1]
        (classes, unit) = (logits.shape.reduce(1, *), pow(2, Double(logits.outputExponent)))
    }

    func search(progress: (String, Int, Int, String) -> Void, note: (String) -> Void) throws -> BudgetSearch.Outcome {
        let started = Date()
        let candidates = try self.candidates()
        guard !candidates.isEmpty else {
            throw QuantizationError(
                layer: options.layers?.joined(separator: ",") ?? "model",
                "nothing to slim: the budget search reduces convolutions (M4: square kernels of 3x3 or more; M3: layers with more channels than --sources), and \(options.layers == nil ? "the model has" : "these layers have") none"
            )
        }
        let start = try measure(model)
        var entries = try scoreAlone(candidates, start: start) { progress("scoring", $0, $1, "") }
        if options.group > 1 { entries = try grouped(entries, start: start) { progress("scoring tiles", $0, $1, "") } }
        var current = model, currentMeasure = start
        var steps: [BudgetSearch.Step] = []
        var scored = entries.count
        var decided = 0
        while let best = entries.indices.max(by: {
            (entries[$0].score, -entries[$0].order) < (entries[$1].score, -entries[$1].order)
        }) {
            let entry = entries.remove(at: best)
            progress(
                "applying", decided, scored,
                String(
                    format: "%d steps, validation %.2f%%, %.0f s", steps.count, currentMeasure.top1,
                    Date().timeIntervalSince(started)))
            guard let trial = try apply(entry.candidate, to: current, version: steps.count) else {
                decided += 1; continue
            }
            if let refine, let graph {
                // Tuned under its reductions, then judged: applied if it fits and still saves. A step that saves
                // nothing untuned (a queued next size of a tile that costs no fewer cycles) is not worth tuning.
                decided += 1
                guard try saving(from: current, to: trial) > 0 else { continue }
                guard let tuned = try representable({ try refine(trial, graph) }) else {
                    note("\(describe(entry.candidate)): tuned, exceeds the accumulators: passed over")
                    continue
                }
                let result = try measure(tuned.model)
                let saved = try saving(from: current, to: tuned.model)
                guard result.fits, saved > 0 else {
                    note(verdict(entry.candidate, result, saved: saved, applied: false))
                    continue
                }
                note(verdict(entry.candidate, result, saved: saved, applied: true))
                steps.append(try step(entry.candidate, before: current, after: tuned.model, top1: result.top1))
                (current, currentMeasure, self.graph) = (tuned.model, result, tuned.graph)
                scored += queueNextKernelStep(after: entry, in: &entries)
                continue
            }
            if entry.version == steps.count {
                // Measured on this very model already and still the best: apply it (the same trial again, the
                // fits are deterministic).
                note(
                    verdict(entry.candidate, entry.measure, saved: try saving(from: current, to: trial), applied: true))
                steps.append(try step(entry.candidate, before: current, after: trial, top1: entry.measure.top1))
                (current, currentMeasure) = (trial, entry.measure)
                decided += 1
                scored += queueNextKernelStep(after: entry, in: &entries)
                continue
            }
            let result = try measure(trial, changing: entry.candidate.layer)
            guard result.fits else { decided += 1; continue }
            let saved = try saving(from: current, to: trial)
            guard saved > 0 else { decided += 1; continue }
            entries.append(
                (
                    entry.candidate, entry.order, score(saved: saved, from: currentMeasure, to: result), steps.count,
                    result
                ))
        }
        return BudgetSearch.Outcome(
            model: current, steps: steps, baselineTop1: start.top1, evaluations: evaluations, graph: graph)
    }

    /// After an applied kernel step, the same channels' next one (K - 2 to K - 4) joins the list with its
    /// predecessor's score until it is measured. Returns how many entries joined.
    func queueNextKernelStep(after entry: Entry, in entries: inout [Entry]) -> Int {
        var next = entry.candidate
        next.size -= 2
        guard next.kind == .kernel && next.size >= 1 else { return 0 }
        entries.append((next, entry.order, entry.score, -1, entry.measure))
        return 1
    }

    /// Scores of single steps on the starting model; those that break the budget alone are dropped.
    func scoreAlone(_ candidates: [Candidate], start: Measure, progress: (Int, Int) -> Void) throws -> [Entry] {
        var entries: [Entry] = []
        for (i, candidate) in candidates.enumerated() {
            progress(i + 1, candidates.count)
            guard let trial = try apply(candidate, to: model, version: 0) else { continue }
            let result = try measure(trial, changing: candidate.layer)
            // With fine-tuning the budget judges the tuned step, not this one.
            guard result.fits || refine != nil else { continue }
            // Alone, a channel saves no cycle when the cost counts whole tiles; its loss still ranks it.
            let saved = options.group > 1 ? 0 : try saving(from: model, to: trial)
            guard saved > 0 || options.group > 1 else { continue }
            entries.append((candidate, i, score(saved: saved, from: start, to: result), 0, result))
        }
        return entries
    }

    /// Steps of `options.group` channels: per layer, kind and size, the channels that fit the budget alone in the
    /// order of the loss each adds alone, in consecutive groups; each group scored on the starting model (those
    /// that save nothing, or break the budget, are dropped).
    func grouped(_ singles: [Entry], start: Measure, progress: (Int, Int) -> Void) throws -> [Entry] {
        var groups: [Candidate] = []
        var seen: [String: [Entry]] = [:], keys: [String] = []
        for entry in singles {
            let c = entry.candidate, key = "\(c.layer)/\(c.kind.rawValue)/\(c.size)"
            if seen[key] == nil { keys.append(key) }
            seen[key, default: []].append(entry)
        }
        for key in keys {
            let ranked = seen[key]!.sorted {
                ($0.measure.crossEntropy, $0.order) < ($1.measure.crossEntropy, $1.order)
            }
            for first in stride(from: 0, to: ranked.count, by: options.group) {
                var group = ranked[first].candidate
                group.channels = ranked[first..<min(first + options.group, ranked.count)].map(\.candidate.channels[0])
                    .sorted()
                groups.append(group)
            }
        }
        var entries: [Entry] = []
        for (i, group) in groups.enumerated() {
            progress(i + 1, groups.count)
            guard let trial = try apply(group, to: model, version: 0) else { continue }
            let result = try measure(trial, changing: group.layer)
            let saved = try saving(from: model, to: trial)
            guard result.fits || refine != nil, saved > 0 else { continue }
            entries.append((group, i, score(saved: saved, from: start, to: result), 0, result))
        }
        return entries
    }

    /// What `after` saves against `before`: the cost's difference, or the live multiply-accumulates'.
    func saving(from before: QuantizedModel, to after: QuantizedModel) throws -> Int {
        if let cost = options.cost { return try cost.measure(before) - cost.measure(after) }
        return try ModelMetrics(before).total.liveMacs - ModelMetrics(after).total.liveMacs
    }

    /// Validation top-1, mean cross-entropy, and whether the top-1 loss with `margin` standard errors of it stays
    /// within the budget. `layer`: the only layer in which `candidate` may differ from the last model measured
    /// with the same layer (the run starts there when the layers before it are indeed the same).
    func measure(_ candidate: QuantizedModel, changing layer: String? = nil) throws -> Measure {
        evaluations += 1
        let labels = validation.labels
        let logits = try validationLogits(candidate, changing: layer)
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

    /// The candidate's logits on the validation images; from the changed layer's cached inputs where they hold.
    func validationLogits(_ candidate: QuantizedModel, changing layer: String?) throws -> [Int] {
        let golden = try GoldenModel(candidate)
        let (pixels, count) = (validation.pixels, validation.labels.count)
        if options.engine == .batched, let layer,
            let position = candidate.layers.firstIndex(where: { $0.name == layer }),
            position > 0
        {
            if let cached = layerInputs, cached.position == position, let logits = golden.run(from: cached) {
                return logits
            }
            if let inputs = golden.inputs(ofLayer: position, pixels: pixels, count: count),
                let logits = golden.run(from: inputs)
            {
                layerInputs = inputs
                return logits
            }
        }
        return golden.run(pixels: pixels, count: count, engine: options.engine).logits
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
                    candidates.append(Candidate(layer: layer.name, channels: [c], kind: .kernel, size: shape[2] - 2))
                }
                if options.kinds.contains(.feature) && shape[0] > options.sources {
                    candidates.append(Candidate(layer: layer.name, channels: [c], kind: .feature))
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
        let channels = candidate.channels
        guard !channels.contains(where: approximated.contains) else { return nil }
        switch candidate.kind {
        case .kernel:
            for c in channels {
                guard (layer.kernelSizes?[c] ?? layer.weightShape?[2]) == candidate.size + 2 else { return nil }
            }
            if refine != nil && version > 0 {
                // Fine-tuning changed the layer since the refits of the starting model: refit from it.
                return try KernelReducer.reduce(
                    current, layer: candidate.layer, size: candidate.size, pixels: calibration.pixels,
                    images: calibration.count, channels: Set(channels))
            }
            var model = current
            for c in channels {
                model = try BudgetSearch.applyKernel(
                    c, from: reducedLayers[key(candidate.layer, candidate.size)]!, to: model)
            }
            return model
        case .feature:
            guard !channels.contains(where: pinned.contains),
                layer.shape[0] - approximated.count - channels.count >= options.sources
            else {
                return nil
            }
            if samples[candidate.layer]?.version != version {
                let computed = try FeatureApproximator.samples(
                    current, layer: candidate.layer, pixels: calibration.pixels,
                    images: calibration.count)
                samples[candidate.layer] = (version, computed)
            }
            return try representable {
                try FeatureApproximator.approximate(
                    current, layer: candidate.layer, channels: channels, m: options.sources,
                    samples: samples[candidate.layer]!.samples,
                    coefficientBits: options.coefficientBits
                ).model
            }
        }
    }

    /// `make()`'s result, or nil when it exceeds the model's accumulators (an M3 fit after fine-tuning, say): such
    /// a step is passed over like one that no longer applies; any other error ends the search.
    func representable<T>(_ make: () throws -> T) throws -> T? {
        do {
            return try make()
        } catch let error as QuantizationError where error.exceedsAccumulator {
            return nil
        }
    }

    /// A step in words: "conv2 channels 0-15 to 3x3", "conv2 channel 4 approximated".
    func describe(_ candidate: Candidate) -> String {
        let c = candidate.channels
        let which = c.count == 1 ? "channel \(c[0])" : "\(c.count) channels \(c.first!)-\(c.last!)"
        let what = candidate.kind == .kernel ? "to \(candidate.size)x\(candidate.size)" : "approximated"
        return "\(candidate.layer) \(which) \(what)"
    }

    /// The line a step's decision prints: what it saves and the validation top-1 it leaves.
    func verdict(_ candidate: Candidate, _ result: Measure, saved: Int, applied: Bool) -> String {
        let unit = options.cost?.name ?? "multiply-accumulates"
        let outcome = applied ? "applied" : result.fits ? "saves nothing: refused" : "over the budget: refused"
        let top1 = String(format: "%.2f%%", result.top1)
        return
            "\(describe(candidate))\(refine == nil ? "" : " (tuned)"): saves \(saved) \(unit), validation \(top1): \(outcome)"
    }

    /// The record of an applied step.
    func step(_ candidate: Candidate, before: QuantizedModel, after: QuantizedModel, top1: Double) throws
        -> BudgetSearch.Step
    {
        let layer = after.layers.first { $0.name == candidate.layer }!
        let channel = candidate.channels[0]
        let sources =
            candidate.kind == .feature
            ? layer.approximatedFeatures?.features.first { $0.channel == channel }?.sources : nil
        return BudgetSearch.Step(
            layer: candidate.layer, channel: channel, channels: candidate.channels.count > 1 ? candidate.channels : nil,
            kind: candidate.kind, kernelSize: candidate.kind == .kernel ? layer.kernelSizes?[channel] : nil,
            sources: sources, macsSaved: try ModelMetrics(before).total.liveMacs - ModelMetrics(after).total.liveMacs,
            costSaved: try options.cost.map { try $0.measure(before) - $0.measure(after) }, validationTop1: top1)
    }
}
