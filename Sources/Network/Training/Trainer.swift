import Datasets
import Dispatch
import Foundation
import NetworkIR

/// How learning rate changes over the run.
public enum LearningRateSchedule: String, Sendable, CaseIterable {
    case constant
    /// Half a cosine from the initial rate down to zero at the last step.
    case cosine
}

public struct TrainingOptions: Sendable {
    public var epochs = 10
    public var batchSize = 64
    public var optimizer = OptimizerKind.adamDefault
    public var learningRate: Float = 1e-3
    public var schedule = LearningRateSchedule.cosine
    public var weightDecay: Float = 0
    /// Seeds the validation split and the shuffling (the weights are seeded where the graph is built).
    public var seed: UInt64 = 1
    /// Training images held out for validation (chosen by a seeded permutation).
    public var validationCount = 5000
    public var workers = ProcessInfo.processInfo.activeProcessorCount
    /// Constrained training (approximation-aware fine-tuning): a map of the flat parameters onto the allowed set.
    public var projection: Projection? = nil

    public init() {}
}

/// Keeps the parameters on a constraint set during training. `reproject`: projected SGD, the parameters are
/// projected after every step. `straightThrough`: the forward and backward passes see the projected parameters,
/// the update goes to the unprojected ones (for constraint sets whose projection would undo small steps, such as
/// rounding to a code book). Either way the trained parameters end projected.
public struct Projection: Sendable {
    public enum Mode: String, Sendable { case reproject, straightThrough = "straight-through" }
    public var mode: Mode
    public var apply: @Sendable (inout [Float]) -> Void

    public init(mode: Mode, apply: @escaping @Sendable (inout [Float]) -> Void) {
        self.mode = mode; self.apply = apply
    }
}

public struct EpochSummary: Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    /// nil when no images are held out.
    public var validationAccuracy: Double?
    public var seconds: Double
    public var images: Int
}

public enum TrainingEvent: Sendable {
    /// After each mini-batch: running mean loss and accuracy over the epoch so far.
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double, accuracy: Double)
    case epoch(EpochSummary)
}

/// Mini-batch training of a `TrainableNetwork` with softmax cross-entropy.
///
/// A batch is cut into shards of `shardSize` samples; workers take shards round-robin, each shard's gradient
/// goes to its own buffer, and the buffers are summed in shard order. The result is therefore bitwise the same
/// for a given seed whatever the number of workers.
public final class Trainer {
    public static let shardSize = 16

    public let network: TrainableNetwork
    public let options: TrainingOptions
    public private(set) var parameters: [Float]
    private var optimizer: Optimizer
    private let workspaces: [ShardWorkspace]
    /// One gradient buffer per shard of the largest batch seen so far, `parameterCount` floats each.
    private var shardGrads: UnsafeMutablePointer<Float>
    private var shardGradCapacity = 0

    public init(graph: Graph, options: TrainingOptions = TrainingOptions()) throws {
        let network = try TrainableNetwork(graph: graph)
        self.network = network
        self.options = options
        parameters = network.initialParameters()
        optimizer = Optimizer(kind: options.optimizer, weightDecay: options.weightDecay, isWeight: network.isWeight)
        workspaces = (0..<max(1, options.workers)).map { _ in
            ShardWorkspace(network: network, capacity: Trainer.shardSize)
        }
        shardGrads = .allocate(capacity: 1)
    }

    deinit { shardGrads.deallocate() }

    /// The template graph carrying the current parameters.
    public func trainedGraph() throws -> Graph { try network.graph(with: parameters) }

    /// The indices of the images `fit` holds out for validation from `count` images with `seed`: images a model
    /// trained that way never saw, so later measurements (the budget search) can use them honestly.
    public static func heldOut(count: Int, validation: Int, seed: UInt64) -> [Int] {
        var random = SeededGenerator(seed: seed)
        return Array(random.permutation(count)[..<validation])
    }

    /// Trains on `data` for `options.epochs` epochs, holding out `options.validationCount` images.
    public func fit(_ data: ImageDataset, onEvent: (TrainingEvent) -> Void = { _ in }) throws -> [EpochSummary] {
        guard data.imageSize == network.inputSize else {
            throw GraphError(
                node: "input", op: "Input",
                reason:
                    "the network takes \(network.inputSize) values per sample, the images have \(data.imageSize)"
            )
        }
        guard data.labels.allSatisfy({ (0..<network.classes).contains($0) }) else {
            throw GraphError(node: "output", op: "Loss", reason: "labels must lie in 0..<\(network.classes)")
        }
        guard options.validationCount >= 0, options.validationCount < data.count, options.batchSize > 0,
            options.epochs >= 0
        else {
            throw GraphError(
                node: "options", op: "Trainer",
                reason: "need 0 <= validation < \(data.count) images, a positive batch size and epochs >= 0")
        }
        var random = SeededGenerator(seed: options.seed)
        let order = random.permutation(data.count)
        let validation = Array(order[..<options.validationCount])
        assert(
            validation == Trainer.heldOut(count: data.count, validation: options.validationCount, seed: options.seed))
        var train = Array(order[options.validationCount...])
        let batches = (train.count + options.batchSize - 1) / options.batchSize
        let totalSteps = max(1, batches * options.epochs)
        var step = 0
        var summaries: [EpochSummary] = []
        var latent: [Float]? = options.projection?.mode == .straightThrough ? parameters : nil
        for epoch in 1...max(1, options.epochs) where options.epochs > 0 {
            let start = Date()
            random.shuffle(&train)
            var lossSum = 0.0, correct = 0, seen = 0
            for batch in 0..<batches {
                let indices = Array(
                    train[(batch * options.batchSize)..<min(train.count, (batch + 1) * options.batchSize)])
                // Straight-through: the step is computed at the projected point and applied to the latent one.
                if let latent {
                    parameters = latent
                    options.projection!.apply(&parameters)
                }
                let result = run(count: indices.count, gradScale: 1 / Float(indices.count), wantGradient: true) {
                    workspace, range in
                    workspace.load(data, indices: indices[range])
                }
                let rate: Float
                switch options.schedule {
                case .constant: rate = options.learningRate
                case .cosine:
                    rate = options.learningRate * Float(0.5 * (1 + cos(Double.pi * Double(step) / Double(totalSteps))))
                }
                if latent != nil {
                    optimizer.update(&latent!, gradient: result.gradient, learningRate: rate)
                } else {
                    optimizer.update(&parameters, gradient: result.gradient, learningRate: rate)
                    if options.projection?.mode == .reproject { options.projection!.apply(&parameters) }
                }
                step += 1
                lossSum += result.loss; correct += result.correct; seen += indices.count
                onEvent(
                    .batch(
                        epoch: epoch, batch: batch + 1, batches: batches, loss: lossSum / Double(seen),
                        accuracy: Double(correct) / Double(seen)))
            }
            // Validation, and what the caller reads afterwards, see projected parameters (the latent ones stay).
            if let latent { parameters = latent }
            if let projection = options.projection { projection.apply(&parameters) }
            let summary = EpochSummary(
                epoch: epoch, trainLoss: lossSum / Double(seen), trainAccuracy: Double(correct) / Double(seen),
                validationAccuracy: validation.isEmpty ? nil : accuracy(on: data, indices: validation),
                seconds: Date().timeIntervalSince(start), images: seen)
            summaries.append(summary)
            onEvent(.epoch(summary))
        }
        return summaries
    }

    /// Top-1 accuracy of the current parameters on `indices` of `data` (all of it by default).
    public func accuracy(on data: ImageDataset, indices: [Int]? = nil) -> Double {
        let chosen = indices ?? Array(0..<data.count)
        guard !chosen.isEmpty else { return 0 }
        var correct = 0
        var done = 0
        while done < chosen.count {
            let slice = Array(chosen[done..<min(chosen.count, done + 1024)])
            correct +=
                run(count: slice.count, gradScale: 0, wantGradient: false) { workspace, range in
                    workspace.load(data, indices: slice[range])
                }.correct
            done += slice.count
        }
        return Double(correct) / Double(chosen.count)
    }

    /// Mean loss and its gradient with respect to the flat parameters, for float inputs given directly
    /// (`inputs` holds `labels.count` samples, batch-major). Used by the gradient checks.
    public func lossAndGradient(inputs: [Float], labels: [Int]) -> (loss: Double, gradient: [Float], correct: Int) {
        precondition(inputs.count == labels.count * network.inputSize)
        let size = network.inputSize
        let result = inputs.withUnsafeBufferPointer { buffer in
            let source = SendablePointer(buffer.baseAddress!)
            return run(count: labels.count, gradScale: 1 / Float(labels.count), wantGradient: true) {
                workspace, range in
                workspace.load(floats: source.pointer + range.lowerBound * size, labels: labels[range])
            }
        }
        return (result.loss / Double(labels.count), result.gradient, result.correct)
    }

    /// Replaces the parameters (same length), e.g. to probe the loss in a gradient check.
    public func setParameters(_ values: [Float]) {
        precondition(values.count == parameters.count)
        parameters = values
    }

    /// Runs `count` samples through the network in shards across the workers; `fill` loads shard samples
    /// (a range of 0..<count) into a workspace. Returns the summed loss, correct count and summed gradient.
    private func run(
        count: Int, gradScale: Float, wantGradient: Bool,
        fill: @escaping @Sendable (ShardWorkspace, Range<Int>) -> Void
    ) -> (loss: Double, correct: Int, gradient: [Float]) {
        let shards = (count + Trainer.shardSize - 1) / Trainer.shardSize
        let parameterCount = network.parameterCount
        if wantGradient && shards > shardGradCapacity {
            shardGrads.deallocate()
            shardGrads = .allocate(capacity: max(1, shards * parameterCount))
            shardGradCapacity = shards
        }
        var losses = [Double](repeating: 0, count: shards)
        var corrects = [Int](repeating: 0, count: shards)
        let workers = min(workspaces.count, shards)
        let network = self.network
        let workspaces = self.workspaces
        parameters.withUnsafeBufferPointer { params in
            losses.withUnsafeMutableBufferPointer { lossBuffer in
                corrects.withUnsafeMutableBufferPointer { correctBuffer in
                    let shared = SendableShardState(
                        parameters: params.baseAddress!, losses: lossBuffer.baseAddress!,
                        corrects: correctBuffer.baseAddress!, grads: shardGrads)
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let workspace = workspaces[worker]
                        for shard in stride(from: worker, to: shards, by: workers) {
                            let range = (shard * Trainer.shardSize)..<min(count, (shard + 1) * Trainer.shardSize)
                            fill(workspace, range)
                            let grad = wantGradient ? shared.grads + shard * parameterCount : nil
                            let outcome = workspace.step(
                                network, samples: range.count, parameters: shared.parameters,
                                gradScale: gradScale, parameterGrad: grad)
                            shared.losses[shard] = outcome.loss
                            shared.corrects[shard] = outcome.correct
                        }
                    }
                }
            }
        }
        var gradient: [Float] = []
        if wantGradient && shards > 0 {
            gradient = Array(UnsafeBufferPointer(start: shardGrads, count: parameterCount))
            gradient.withUnsafeMutableBufferPointer { sum in
                for shard in 1..<shards {
                    let g = shardGrads + shard * parameterCount
                    for i in 0..<parameterCount { sum[i] += g[i] }
                }
            }
        }
        return (losses.reduce(0, +), corrects.reduce(0, +), gradient)
    }
}

/// Raw pointers handed to the worker closures; each shard's slots are written by exactly one worker.
private struct SendableShardState: @unchecked Sendable {
    let parameters: UnsafePointer<Float>
    let losses: UnsafeMutablePointer<Double>
    let corrects: UnsafeMutablePointer<Int>
    let grads: UnsafeMutablePointer<Float>
}

struct SendablePointer: @unchecked Sendable {
    let pointer: UnsafePointer<Float>
    init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

extension ShardWorkspace {
    /// Loads images (pixel / 255, the float input encoding) and labels.
    func load(_ data: ImageDataset, indices: ArraySlice<Int>) {
        let size = data.imageSize
        let x = values[inputIndex]
        data.pixels.withUnsafeBufferPointer { pixels in
            for (slot, index) in indices.enumerated() {
                let src = pixels.baseAddress! + index * size
                let dst = x + slot * size
                for i in 0..<size { dst[i] = Float(src[i]) / 255 }
                labels[slot] = Int32(data.labels[index])
            }
        }
    }

    func load(floats: UnsafePointer<Float>, labels source: ArraySlice<Int>) {
        values[inputIndex].update(from: floats, count: source.count * inputSize)
        for (slot, label) in source.enumerated() { labels[slot] = Int32(label) }
    }

    /// Forward, loss and (when `parameterGrad` is given) backward for the loaded shard. The shard's gradient
    /// buffer is overwritten, not added to.
    func step(
        _ network: TrainableNetwork, samples: Int, parameters: UnsafePointer<Float>, gradScale: Float,
        parameterGrad: UnsafeMutablePointer<Float>?
    ) -> (loss: Double, correct: Int) {
        forward(network, samples: samples, parameters: parameters)
        let outcome = softmaxCrossEntropy(
            logits: values[network.logits], labels: labels, samples: samples,
            classes: network.classes, gradScale: gradScale,
            grad: parameterGrad == nil ? nil : grads[network.logits])
        if let parameterGrad {
            parameterGrad.update(repeating: 0, count: network.parameterCount)
            backward(network, samples: samples, parameters: parameters, parameterGrad: parameterGrad)
        }
        return outcome
    }
}
