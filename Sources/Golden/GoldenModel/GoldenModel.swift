import Dispatch
import Foundation
import Quantization

/// The bit-exact integer model: runs a `QuantizedModel` exactly as docs/arithmetic.md defines it. Every RTL
/// output is compared with this, and integer accuracy is measured with it.
///
/// Codes live in Int32 buffers; accumulators are Int64, so no intermediate can overflow whatever widths the
/// file states. Batches are split across cores; each sample is computed independently.
public final class GoldenModel: Sendable {
    public let model: QuantizedModel
    let steps: [IntegerLayer]
    let sources: [Int]
    /// Per layer, the value an add layer adds (nil for the others).
    let addends: [Int?]
    let sizes: [Int]
    /// The batched form, nil when the model's codes do not fit it.
    let batched: BatchedForm?
    let pool = BufferPool()
    public let classes: Int
    public let inputSize: Int

    public init(_ model: QuantizedModel) throws {
        try model.validate()
        self.model = model
        var shapes = [model.input.name: model.input.shape]
        var index = [model.input.name: 0]
        var steps: [IntegerLayer] = [], sources: [Int] = [], addends: [Int?] = []
        var sizes = [model.input.shape.reduce(1, *)]
        for layer in model.layers {
            steps.append(IntegerLayer(layer, input: shapes[layer.input]!, activationBits: model.activationBits))
            sources.append(index[layer.input]!)
            addends.append(layer.addend.flatMap { index[$0] })
            shapes[layer.name] = layer.shape
            index[layer.name] = sizes.count
            sizes.append(layer.shape.reduce(1, *))
        }
        self.steps = steps
        self.sources = sources
        self.addends = addends
        self.sizes = sizes
        classes = sizes.last!
        inputSize = sizes[0]
        batched = BatchedForm(model: model, layers: steps, sources: sources)
    }

    /// How `run` computes: `batched` (the default) runs the weighted layers as integer GEMMs over a batch, on
    /// their dense equivalent; `reference` runs one sample at a time, compressed layers in their reuse form. The
    /// two give the same integers (the tests hold them equal); `reference` is the oracle and the bench's baseline.
    public enum Engine: Sendable {
        case batched, reference
    }

    /// The layers `.batched` runs as integer GEMMs (the others run their reference step sample by sample); empty
    /// when the batched form cannot hold the model and `.batched` runs the reference form throughout.
    public var gemmLayers: [String] {
        guard let batched else { return [] }
        return zip(model.layers, batched.steps).compactMap { layer, step in
            if case .gemm = step { return layer.name }
            return nil
        }
    }

    /// The convolutions `.batched` runs on the 8-bit quad kernel (ar_gemm_direct_quads): empty on a machine
    /// without its vector version.
    public var quadLayers: [String] {
        guard let batched else { return [] }
        return zip(model.layers, batched.steps).compactMap { layer, step in
            if case .gemm(let gemm, _) = step, gemm.quads != nil { return layer.name }
            return nil
        }
    }

    /// Logit codes of `count` images given as pixels (0...255), `classes` per image. With `layers`, also every
    /// layer's output codes, per layer in model order, batch-major.
    public func run(pixels: [UInt8], count: Int, keepLayers: Bool = false, engine: Engine = .batched) -> (
        logits: [Int], layers: [[Int]]
    ) {
        precondition(pixels.count == count * inputSize, "pixel count does not match the batch")
        let layerCount = keepLayers ? steps.count : 0
        let logitStore = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count * classes))
        let layerStores = (0..<layerCount).map {
            UnsafeMutablePointer<Int>.allocate(capacity: max(1, count * sizes[$0 + 1]))
        }
        defer {
            logitStore.deallocate()
            layerStores.forEach { $0.deallocate() }
        }
        if count > 0 {
            let workers = min(ProcessInfo.processInfo.activeProcessorCount, count)
            let shared = SharedOutputs(logits: logitStore, layers: layerStores)
            pixels.withUnsafeBufferPointer { pixelBuffer in
                let input = SharedPixels(base: pixelBuffer.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let samples = (count * worker / workers)..<(count * (worker + 1) / workers)
                    if engine == .batched, let batched {
                        self.runBatched(samples, form: batched, input: input, output: shared)
                    } else {
                        self.runSamples(samples, input: input, output: shared)
                    }
                }
            }
        }
        let logits = Array(UnsafeBufferPointer(start: logitStore, count: count * classes))
        let layers = layerStores.enumerated().map {
            Array(UnsafeBufferPointer(start: $1, count: count * sizes[$0 + 1]))
        }
        return (logits, layers)
    }

    private func runSamples(_ samples: Range<Int>, input: SharedPixels, output: SharedOutputs) {
        var values = sizes.map { [Int](repeating: 0, count: $0) }
        var scratch = Scratch()
        for sample in samples {
            for i in 0..<sizes[0] { values[0][i] = model.input.code(input.base[sample * sizes[0] + i], at: i) }
            for (position, step) in steps.enumerated() {
                let source = values[sources[position]]
                step.run(
                    source, into: &values[position + 1], scratch: &scratch,
                    addend: addends[position].map { values[$0] } ?? [])
                if !output.layers.isEmpty {
                    let size = sizes[position + 1]
                    for i in 0..<size { output.layers[position][sample * size + i] = values[position + 1][i] }
                }
            }
            for c in 0..<classes { output.logits[sample * classes + c] = values[sizes.count - 1][c] }
        }
    }

    /// The predicted class of each image: the largest logit code, the lowest index among equals.
    public func predictions(pixels: [UInt8], count: Int, engine: Engine = .batched) -> [Int] {
        let logits = run(pixels: pixels, count: count, engine: engine).logits
        return (0..<count).map { s in
            var best = 0
            for c in 1..<classes where logits[s * classes + c] > logits[s * classes + best] { best = c }
            return best
        }
    }
}

// Each worker writes only its own samples' slots.
struct SharedOutputs: @unchecked Sendable {
    let logits: UnsafeMutablePointer<Int>
    let layers: [UnsafeMutablePointer<Int>]
}

/// A buffer's base address handed to the workers, each of which touches only its own samples.
struct Shared<Pointer>: @unchecked Sendable {
    let base: Pointer
}

typealias SharedPixels = Shared<UnsafePointer<UInt8>>

struct Scratch {
    var column: [Int] = []
    var column32: [Int32] = []
}
