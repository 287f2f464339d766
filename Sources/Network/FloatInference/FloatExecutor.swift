import Dispatch
import Foundation
import MatrixKernels
import NetworkIR

/// Batched float32 inference over a `Graph`: the reference every later stage is checked against.
///
/// The batch is split into contiguous chunks, one per core; each chunk runs the whole graph in its own
/// workspace, allocated once per call. Every sample is computed by the same loops in the same order, so a
/// sample's result does not depend on the batch it was in or on the number of workers.
public final class FloatExecutor: Sendable {
    public let graph: Graph
    private let kernels: [Kernel]
    private let workers: Int

    public init(graph: Graph, workers: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.graph = graph
        self.kernels = graph.nodes.map { Kernel(node: $0, graph: graph) }
        self.workers = max(1, workers)
    }

    /// Runs a batch. `inputs` holds one array per graph input, `batch` samples each, batch-major.
    /// Returns the values of `nodes` (default: the graph outputs), batch-major.
    public func run(inputs: [[Float]], batch: Int, nodes requested: [Int]? = nil) -> [[Float]] {
        let inputNodes = graph.inputs
        precondition(inputs.count == inputNodes.count, "expected \(inputNodes.count) input arrays, got \(inputs.count)")
        for (array, node) in zip(inputs, inputNodes) {
            precondition(
                array.count == batch * elementCount(graph.nodes[node].shape), "input size does not match the batch")
        }
        let wanted = requested ?? graph.outputs
        var results = wanted.map { [Float](repeating: 0, count: batch * elementCount(graph.nodes[$0].shape)) }
        guard batch > 0 else { return results }
        let chunks = min(workers, batch)
        let inputPointers = inputs.map { array -> UnsafeMutablePointer<Float> in
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: array.count)
            pointer.initialize(from: array, count: array.count)
            return pointer
        }
        let outputPointers = results.map { UnsafeMutablePointer<Float>.allocate(capacity: $0.count) }
        defer {
            inputPointers.forEach { $0.deallocate() }
            outputPointers.forEach { $0.deallocate() }
        }
        let shared = SharedPointers(inputs: inputPointers, outputs: outputPointers)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lower = batch * chunk / chunks
            let upper = batch * (chunk + 1) / chunks
            self.runChunk(lower..<upper, shared: shared, wanted: wanted)
        }
        for index in results.indices {
            results[index].withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.update(from: outputPointers[index], count: buffer.count)
            }
        }
        return results
    }

    private func runChunk(_ samples: Range<Int>, shared: SharedPointers, wanted: [Int]) {
        let count = samples.count
        let workspace = Workspace(graph: graph, samples: samples, inputs: shared.inputs)
        defer { workspace.release() }
        for (index, node) in graph.nodes.enumerated() where node.op != .input {
            kernels[index].run(
                inputs: node.inputs.map { workspace.values[$0] }, output: workspace.values[index],
                samples: count, scratch: workspace.scratch)
        }
        for (ordinal, node) in wanted.enumerated() {
            let size = elementCount(graph.nodes[node].shape)
            let value = workspace.values[node]
            for s in 0..<count {
                (shared.outputs[ordinal] + (samples.lowerBound + s) * size).update(from: value.sample(s), count: size)
            }
        }
    }
}

/// Raw pointers handed to the worker closures; each worker touches only its own sample range.
private struct SharedPointers: @unchecked Sendable {
    let inputs: [UnsafeMutablePointer<Float>]
    let outputs: [UnsafeMutablePointer<Float>]
}

/// One node's values for a chunk of samples. A constant has stride 0: every sample sees the same data.
struct ValueBuffer {
    let base: UnsafeMutablePointer<Float>
    let stride: Int
    func sample(_ s: Int) -> UnsafeMutablePointer<Float> { base + s * stride }
}

/// A worker's buffers: one per node for its samples, plus the scratch space of the kernels.
/// Graph inputs are not copied: their buffers point at the worker's slice of the caller's batch.
private final class Workspace {
    var values: [ValueBuffer] = []
    let scratch: KernelScratch
    private var owned: [UnsafeMutablePointer<Float>] = []

    init(graph: Graph, samples range: Range<Int>, inputs: [UnsafeMutablePointer<Float>]) {
        let samples = range.count
        var scratchSize = 1
        var inputOrdinal = 0
        for node in graph.nodes {
            if node.op == .input {
                let size = elementCount(node.shape)
                values.append(ValueBuffer(base: inputs[inputOrdinal] + range.lowerBound * size, stride: size))
                inputOrdinal += 1
                continue
            }
            if case .constant(let tensor) = node.op {
                let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, tensor.count))
                pointer.initialize(from: tensor.data, count: tensor.count)
                owned.append(pointer)
                values.append(ValueBuffer(base: pointer, stride: 0))
                continue
            }
            let size = elementCount(node.shape)
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, size * samples))
            owned.append(pointer)
            values.append(ValueBuffer(base: pointer, stride: size))
            if case .conv2d(let conv) = node.op {
                scratchSize = max(
                    scratchSize, conv.inChannels * conv.kernelH * conv.kernelW * node.shape[1] * node.shape[2])
            }
        }
        scratch = KernelScratch(col: .allocate(capacity: scratchSize), gemm: GemmScratch())
    }

    func release() {
        owned.forEach { $0.deallocate() }
        scratch.col.deallocate()
    }
}
