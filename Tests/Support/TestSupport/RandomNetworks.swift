import Datasets
import NetworkIR
import Training

/// Small random CNNs and images for property tests of the integer model and the compressors.
public enum RandomNetworks {
    /// Random images: pixels drawn from a generator, with some saturated and dark areas.
    public static func images(_ count: Int, shape: [Int], seed: UInt64) -> ImageDataset {
        var random = SeededGenerator(seed: seed)
        let size = shape.reduce(1, *)
        let pixels = (0..<(count * size)).map { _ -> UInt8 in
            let r = random.next() % 10
            return r == 0 ? 255 : r == 1 ? 0 : UInt8(random.next() % 256)
        }
        return ImageDataset(
            name: "random", channels: shape[0], rows: shape[1], cols: shape[2], pixels: pixels,
            labels: [Int](repeating: 0, count: count))
    }

    /// The built-in MLP (flatten, fc128, fc`classes`) with its initial weights: a first dense layer over the image.
    public static func mlp(input: [Int], classes: Int, seed: UInt64) throws -> Graph {
        try Architecture.mlp.build(input: input, classes: classes, seed: seed)
    }

    /// A random small network: convolution (random padding and stride), pooling, optional second convolution,
    /// average pooling, dense layers; weights scaled so that activations span several exponents. `activations`
    /// replace the ReLUs in order (conv1, conv2 when there is one, fc1), the rest stay ReLUs; the random draws are
    /// the same either way, and whatever `conv2Padding` (the second convolution's padding) or `conv2Kernel` (its
    /// window) is; `conv1Channels` and `conv2Channels` fix the convolutions' channels (a random draw fewer each).
    public static func graph(
        seed: UInt64, activations: [Activation] = [], conv2Padding: Int = 1, conv1Channels: Int? = nil,
        conv2Channels: Int? = nil, conv2Kernel: Int = 3
    ) throws -> Graph {
        var pending = activations[...]
        func nonlinearity() -> Op { pending.popFirst().map { .activation($0) } ?? .relu }
        var random = SeededGenerator(seed: seed)
        var b = GraphBuilder()
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func tensor(_ shape: [Int], scale: Float) -> Tensor {
            Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in (random.nextUnit() * 2 - 1) * scale })
        }
        let side = 8 + pick(5)
        var x = try b.add("image", .input, inputShape: [1, side, side])
        let c1 = conv1Channels ?? 2 + pick(4), k1 = [1, 3, 5][pick(3)], pad = pick(k1 / 2 + 1), stride = 1 + pick(2)
        x = try b.add(
            "conv1",
            .conv2d(
                Conv2D(
                    weight: tensor([c1, 1, k1, k1], scale: 1.5), bias: (0..<c1).map { _ in random.nextUnit() - 0.5 },
                    strideH: stride, strideW: stride, padding: Padding2D(top: pad, left: pad, bottom: pad, right: pad))),
            inputs: [x])
        x = try b.add("relu1", nonlinearity(), inputs: [x])
        if b.nodes[x].shape[1] >= 4 {
            x = try b.add("pool1", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [x])
        }
        if pick(2) == 0 {
            let c2 = conv2Channels ?? 2 + pick(4)
            x = try b.add(
                "conv2",
                .conv2d(
                    Conv2D(
                        weight: tensor([c2, c1, conv2Kernel, conv2Kernel], scale: 0.6),
                        bias: (0..<c2).map { _ in random.nextUnit() - 0.5 },
                        padding: Padding2D(
                            top: conv2Padding, left: conv2Padding, bottom: conv2Padding, right: conv2Padding))),
                inputs: [x])
            x = try b.add("relu2", nonlinearity(), inputs: [x])
        }
        if b.nodes[x].shape[1] >= 2 && pick(2) == 0 {
            x = try b.add("avg", .averagePool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [x])
        }
        x = try b.add("flatten", .flatten, inputs: [x])
        let features = b.nodes[x].shape[0], hidden = 4 + pick(8), classes = 3 + pick(5)
        x = try b.add(
            "fc1",
            .dense(
                Dense(
                    weight: tensor([hidden, features], scale: 0.4), bias: (0..<hidden).map { _ in random.nextUnit() })),
            inputs: [x])
        x = try b.add("relu3", nonlinearity(), inputs: [x])
        x = try b.add(
            "fc2",
            .dense(
                Dense(
                    weight: tensor([classes, hidden], scale: 0.7), bias: (0..<classes).map { _ in random.nextUnit() })),
            inputs: [x])
        return try b.build(outputs: [x])
    }
}
