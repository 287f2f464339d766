import NetworkIR

/// The networks `approxrtl train` builds, with freshly initialised weights.
public enum Architecture: String, CaseIterable, Sendable {
    /// LeNet-5 as in LeCun et al. 1998, modernised: ReLU instead of tanh, 2x2 max pooling instead of trainable
    /// subsampling, full C3 connectivity, and conv1 padded by 2 so a 28x28 image gives LeNet's 28x28x6 map.
    /// conv5x5 6 - pool - conv5x5 16 - pool - fc120 - fc84 - fc10.
    case lenet5
    /// LeNet-5 with tanh after every hidden layer, as in the original (without its scaling of tanh):
    /// the bundled model with a non-ReLU activation, run through NFU-3's piecewise-linear table.
    case lenet5Tanh = "lenet5-tanh"
    /// A VGG-style net: two blocks of two 3x3 convolutions (16 then 32 channels, padding 1) each followed by
    /// 2x2 max pooling, then fc64 - fc10.
    case vggSmall = "vgg-small"
    /// A multi-layer perceptron on the flattened image: fc128 - fc10. On the accelerator its first layer is one
    /// dense layer over the whole image.
    case mlp

    /// Builds the graph for `[channels, height, width]` images and `classes` outputs, weights drawn with He
    /// initialisation (normal, std sqrt(2 / fan-in)) from `seed`, biases zero.
    public func build(input: [Int] = [1, 28, 28], classes: Int = 10, seed: UInt64) throws -> Graph {
        var net = NetworkBuilder(input: input, seed: seed)
        switch self {
        case .lenet5:
            try net.conv("conv1", 6, kernel: 5, pad: 2); try net.relu("relu1"); try net.maxPool("pool1")
            try net.conv("conv2", 16, kernel: 5, pad: 0); try net.relu("relu2"); try net.maxPool("pool2")
            try net.flatten("flatten")
            try net.dense("fc1", 120); try net.relu("relu3")
            try net.dense("fc2", 84); try net.relu("relu4")
            try net.dense("fc3", classes)
        case .lenet5Tanh:
            try net.conv("conv1", 6, kernel: 5, pad: 2); try net.activation("tanh1", .tanh); try net.maxPool("pool1")
            try net.conv("conv2", 16, kernel: 5, pad: 0); try net.activation("tanh2", .tanh); try net.maxPool("pool2")
            try net.flatten("flatten")
            try net.dense("fc1", 120); try net.activation("tanh3", .tanh)
            try net.dense("fc2", 84); try net.activation("tanh4", .tanh)
            try net.dense("fc3", classes)
        case .vggSmall:
            try net.conv("conv1", 16, kernel: 3, pad: 1); try net.relu("relu1")
            try net.conv("conv2", 16, kernel: 3, pad: 1); try net.relu("relu2"); try net.maxPool("pool1")
            try net.conv("conv3", 32, kernel: 3, pad: 1); try net.relu("relu3")
            try net.conv("conv4", 32, kernel: 3, pad: 1); try net.relu("relu4"); try net.maxPool("pool2")
            try net.flatten("flatten")
            try net.dense("fc1", 64); try net.relu("relu5")
            try net.dense("fc2", classes)
        case .mlp:
            try net.flatten("flatten")
            try net.dense("fc1", 128); try net.relu("relu1")
            try net.dense("fc2", classes)
        }
        return try net.finish()
    }
}

/// Appends layers to a chain, tracking the last node and drawing initial weights.
public struct NetworkBuilder {
    private var builder = GraphBuilder()
    private var last: Int
    private var random: SeededGenerator

    public init(input: [Int], seed: UInt64) {
        random = SeededGenerator(seed: seed)
        // Adding an input to an empty builder cannot fail.
        last = try! builder.add("input", .input, inputShape: input)
    }

    private var shape: [Int] { builder.nodes[last].shape }

    private mutating func heNormal(_ count: Int, fanIn: Int) -> [Float] {
        let std = (2 / Float(fanIn)).squareRoot()
        return (0..<count).map { _ in random.nextNormal() * std }
    }

    public mutating func conv(_ name: String, _ channels: Int, kernel: Int, pad: Int, stride: Int = 1) throws {
        let fanIn = shape[0] * kernel * kernel
        let weight = Tensor(
            shape: [channels, shape[0], kernel, kernel], data: heNormal(channels * fanIn, fanIn: fanIn))
        let conv = Conv2D(
            weight: weight, strideH: stride, strideW: stride,
            padding: Padding2D(top: pad, left: pad, bottom: pad, right: pad))
        last = try builder.add(name, .conv2d(conv), inputs: [last])
    }

    public mutating func dense(_ name: String, _ features: Int) throws {
        let fanIn = shape[0]
        let weight = Tensor(shape: [features, fanIn], data: heNormal(features * fanIn, fanIn: fanIn))
        last = try builder.add(name, .dense(Dense(weight: weight)), inputs: [last])
    }

    public mutating func maxPool(_ name: String, size: Int = 2) throws {
        last = try builder.add(
            name, .maxPool(Pool2D(kernelH: size, kernelW: size, strideH: size, strideW: size)), inputs: [last])
    }

    public mutating func averagePool(_ name: String, size: Int = 2) throws {
        last = try builder.add(
            name, .averagePool(Pool2D(kernelH: size, kernelW: size, strideH: size, strideW: size)), inputs: [last])
    }

    public mutating func relu(_ name: String) throws { last = try builder.add(name, .relu, inputs: [last]) }
    public mutating func activation(_ name: String, _ function: Activation) throws {
        last = try builder.add(name, .activation(function), inputs: [last])
    }
    public mutating func flatten(_ name: String) throws { last = try builder.add(name, .flatten, inputs: [last]) }

    public func finish() throws -> Graph { try builder.build(outputs: [last]) }
}
