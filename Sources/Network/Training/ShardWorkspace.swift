import NetworkIR

/// One worker's buffers for a shard of up to `capacity` samples: every node's values and gradients, the
/// layer scratch, and the labels. Allocated once per training run.
final class ShardWorkspace: @unchecked Sendable {
    // Each workspace is used by one worker at a time; the trainer never shares one between threads.
    let capacity: Int
    let values: [UnsafeMutablePointer<Float>]
    let grads: [UnsafeMutablePointer<Float>]
    let labels: UnsafeMutablePointer<Int32>
    let scratch: LayerScratch
    let inputIndex: Int
    let inputSize: Int
    private let sizes: [Int]

    init(network: TrainableNetwork, capacity: Int) {
        self.capacity = capacity
        inputIndex = network.input
        inputSize = network.inputSize
        sizes = network.template.nodes.map { elementCount($0.shape) }
        values = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: max(1, $0 * capacity)) }
        grads = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: max(1, $0 * capacity)) }
        labels = .allocate(capacity: capacity)
        scratch = LayerScratch(columnCapacity: network.columnCapacity)
    }

    deinit {
        values.forEach { $0.deallocate() }
        grads.forEach { $0.deallocate() }
        labels.deallocate()
    }

    /// Runs the forward pass on the samples already in `values[input]` and `labels`.
    func forward(_ network: TrainableNetwork, samples: Int, parameters: UnsafePointer<Float>) {
        for index in network.schedule {
            let node = network.template.nodes[index]
            network.layers[index]!.forward(
                io(network, index, node, samples: samples),
                parameters: parameters + network.parameterOffsets[index], scratch: scratch)
        }
    }

    /// Backward pass from `grads[logits]` (already filled), adding parameter gradients into `parameterGrad`.
    func backward(
        _ network: TrainableNetwork, samples: Int, parameters: UnsafePointer<Float>,
        parameterGrad: UnsafeMutablePointer<Float>
    ) {
        for index in network.schedule where index != network.logits {
            grads[index].update(repeating: 0, count: sizes[index] * samples)
        }
        for index in network.schedule.reversed() {
            let node = network.template.nodes[index]
            let offset = network.parameterOffsets[index]
            network.layers[index]!.backward(
                io(network, index, node, samples: samples), parameters: parameters + offset,
                parameterGrad: parameterGrad + offset, scratch: scratch)
        }
    }

    private func io(_ network: TrainableNetwork, _ index: Int, _ node: Node, samples: Int) -> LayerIO {
        LayerIO(
            inputs: node.inputs.map { values[$0] }, output: values[index], outputGrad: grads[index],
            inputGrads: node.inputs.map { $0 == network.input ? nil : grads[$0] }, samples: samples)
    }
}
