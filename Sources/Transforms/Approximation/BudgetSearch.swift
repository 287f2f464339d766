import Foundation
import GoldenModel
import NetworkIR
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
        /// What a step saves: nil for the multiply-accumulates (ModelMetrics' live MACs), else this cost of a model,
        /// lower being better (`compress --cost cycles`: the accelerator's compute cycles per image at Tn).
        public var cost: Cost? = nil
        /// Channels of a layer reduced together by one step (1: channel by channel). The accelerator saves a cycle
        /// only when a whole tile of Tn channels is reduced, so with cycles as the cost a step takes Tn channels:
        /// the layer's least sensitive ones, ranked by their validation loss alone.
        public var group = 1
        /// The golden model's engine for the validation runs (the bench times the search on both).
        public var engine = GoldenModel.Engine.batched
        public init(budget: Double) { self.budget = budget }
    }

    /// A cost the search lowers instead of the multiply-accumulates: its name for the records ("cycles at Tn 16")
    /// and its measure of a model, lower being better.
    public struct Cost: Sendable, Equatable {
        public var name: String
        public var measure: @Sendable (QuantizedModel) throws -> Int
        public init(name: String, measure: @escaping @Sendable (QuantizedModel) throws -> Int) {
            self.name = name; self.measure = measure
        }
        public static func == (a: Cost, b: Cost) -> Bool { a.name == b.name }
    }

    public struct Step: Codable, Equatable, Sendable {
        public var layer: String
        public var channel: Int
        /// A step of several channels (`Options.group`): all of them, `channel` the first.
        public var channels: [Int]? = nil
        public var kind: Kind
        /// M4: the channel's kernel size after the step; M3: its sources.
        public var kernelSize: Int?
        public var sources: [Int]?
        public var macsSaved: Int
        /// With a cost other than the MACs: what the step saved of it.
        public var costSaved: Int? = nil
        /// Validation top-1 (percent) after this step.
        public var validationTop1: Double
    }

    public struct Outcome: Sendable {
        public var model: QuantizedModel
        public var steps: [Step]
        /// Validation top-1 of the model before any step.
        public var baselineTop1: Double
        public var evaluations: Int
        /// With fine-tuning: the float graph the final model was quantized from.
        public var graph: Graph? = nil
    }

    struct Measure {
        var top1: Double
        var crossEntropy: Double
        var fits: Bool
    }

    struct Candidate: Equatable {
        var layer: String
        /// The channels the step reduces (one, or a group).
        var channels: [Int]
        var kind: Kind
        /// M4: the kernel size after the step.
        var size = 0
    }

    /// Fine-tuning between steps (`compress --method slim --finetune`): a trial model and the float graph the
    /// current model came from in, the trial fine-tuned under its reductions (and the tuned graph) out.
    public typealias Refine = (_ trial: QuantizedModel, _ graph: Graph) throws -> (model: QuantizedModel, graph: Graph)

    /// `calibration`: training images for the fits; `validation`: images and labels for the accuracy the budget
    /// is measured on. With `refine` (and the float `graph` of `model`), each step is fine-tuned before the budget
    /// judges it: the candidates are ranked as without, untuned, and the first that fits once tuned is applied.
    /// `progress(phase, done, total, detail)` reports the work as it goes (the detail: steps applied, validation
    /// top-1, time), `note` each step applied and each fine-tuned step refused, with its validation top-1.
    public static func run(
        _ model: QuantizedModel, options: Options, calibration: [UInt8], calibrationCount: Int,
        validation: [UInt8], labels: [Int], refine: (graph: Graph, refine: Refine)? = nil,
        progress: (String, Int, Int, String) -> Void = { _, _, _, _ in }, note: (String) -> Void = { _ in }
    ) throws -> Outcome {
        guard model.weightScale == "channel" else {
            throw QuantizationError(
                layer: "options",
                "the budget search reduces channel by channel and needs per-channel weight scales (quantize --weight-scale channel)"
            )
        }
        guard !options.kinds.isEmpty else {
            throw QuantizationError(layer: "options", "the budget search needs at least one kind of reduction")
        }
        guard options.group >= 1 else {
            throw QuantizationError(layer: "options", "a step reduces at least one channel, not \(options.group)")
        }
        for name in options.layers ?? [] where !model.layers.contains(where: { $0.name == name && $0.kind == .conv2d })
        {
            throw QuantizationError(layer: name, "is not a convolution of the model")
        }
        let searcher = BudgetSearcher(
            model: model, options: options, calibration: (calibration, calibrationCount),
            validation: (validation, labels))
        searcher.refine = refine?.refine
        searcher.graph = refine?.graph
        return try searcher.search(progress: progress, note: note)
    }

    /// `current` with channel `c` of its layer taken from the fully reduced layer: its codes, exponent, bias and
    /// window; M3's coefficients follow a source's new exponent; then widths and shifts settled again.
    static func applyKernel(_ c: Int, from reduced: QuantizedModel.Layer, to current: QuantizedModel) throws
        -> QuantizedModel
    {
        var model = current
        let index = model.layers.firstIndex { $0.name == reduced.name }!
        let old = model.layers[index]
        var layer = old
        let (mine, theirs) = (try layer.numbers(), try reduced.numbers())
        let (channels, fan) = (mine.channels, mine.fan)
        var (codes, exponents, bias) = (mine.weights, mine.exponents, mine.bias)
        var sizes = layer.kernelSizes ?? [Int](repeating: mine.shape[2], count: channels)
        codes.replaceSubrange((c * fan)..<((c + 1) * fan), with: theirs.weights[(c * fan)..<((c + 1) * fan)])
        exponents[c] = theirs.exponents[c]
        bias[c] = theirs.bias[c]
        sizes[c] = reduced.kernelSizes?[c] ?? mine.shape[2]
        layer.weights = codes
        layer.kernelSizes = sizes
        try layer.settleKeepingFeatures(of: old, effectiveWeights: codes, exponents: exponents, bias: bias, in: model)
        model.layers[index] = layer
        try model.validate()
        return model
    }
}
