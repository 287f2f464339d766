import Dispatch
import Foundation
import Quantization

/// One layer's input codes for a set of images, kept so that a model that differs from the one that computed them
/// only from that layer on runs again from there (`GoldenModel.run(from:)`): the budget search scores each
/// candidate of a layer without recomputing the layers before it.
public struct LayerInputs: Sendable {
    /// The layer (model order) whose input these are.
    public let position: Int
    public let count: Int
    /// The layers before it as they computed these codes: a model must hold the same ones to run from here.
    let upstream: [QuantizedModel.Layer]
    let input: QuantizedModel.Input
    let codes: [Int32]
}

extension GoldenModel {
    /// A run can start at layer `position` when the batched form holds the model and no layer from there on reads
    /// a value computed before it (a chain does not; a residual block's add across the cut does).
    func canStart(at position: Int) -> Bool {
        guard batched != nil, steps.indices.contains(position) else { return false }
        return (position..<steps.count).allSatisfy { p in
            sources[p] >= position && (addends[p] ?? position) >= position
        }
    }

    /// Layer `position`'s input codes for `count` images, or nil where a run cannot start there (`canStart`).
    public func inputs(ofLayer position: Int, pixels: [UInt8], count: Int) -> LayerInputs? {
        guard canStart(at: position), let form = batched else { return nil }
        precondition(pixels.count == count * inputSize, "pixel count does not match the batch")
        let size = sizes[position]
        var codes = [Int32](repeating: 0, count: count * size)
        codes.withUnsafeMutableBufferPointer { store in
            pixels.withUnsafeBufferPointer { pixelBuffer in
                let (input, shared) = (
                    SharedPixels(base: pixelBuffer.baseAddress!), Shared(base: store.baseAddress!)
                )
                inParallel(count) { samples in
                    self.runSpan(samples, form: form, layers: 0..<position) { buffers, start, batch in
                        self.loadPixels(input, start: start, count: batch, into: buffers)
                    } store: { buffers, start, batch in
                        (shared.base + start * size).update(from: buffers.values[position], count: batch * size)
                    }
                }
            }
        }
        return LayerInputs(
            position: position, count: count, upstream: Array(model.layers[..<position]), input: model.input,
            codes: codes)
    }

    /// The logit codes (`classes` per image) of the images `inputs` holds, computed from its layer on; nil unless
    /// this model's input and layers before that one are those that computed the inputs, and a run can start there.
    public func run(from inputs: LayerInputs) -> [Int]? {
        let position = inputs.position
        guard canStart(at: position), let form = batched, model.input == inputs.input,
            model.layers[..<position].elementsEqual(inputs.upstream)
        else { return nil }
        let (size, count) = (sizes[position], inputs.count)
        var logits = [Int](repeating: 0, count: count * classes)
        logits.withUnsafeMutableBufferPointer { store in
            inputs.codes.withUnsafeBufferPointer { codes in
                let (source, shared) = (
                    Shared(base: codes.baseAddress!), Shared(base: store.baseAddress!)
                )
                inParallel(count) { samples in
                    self.runSpan(samples, form: form, layers: position..<self.steps.count) { buffers, start, batch in
                        buffers.values[position].update(from: source.base + start * size, count: batch * size)
                    } store: { buffers, start, batch in
                        (shared.base + start * self.classes).update(from: buffers.final, count: batch * self.classes)
                    }
                }
            }
        }
        return logits
    }

    /// `count` samples split evenly over the cores.
    private func inParallel(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let workers = min(ProcessInfo.processInfo.activeProcessorCount, count)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            body((count * worker / workers)..<(count * (worker + 1) / workers))
        }
    }
}
