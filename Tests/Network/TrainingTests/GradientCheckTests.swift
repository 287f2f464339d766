import NetworkIR
import TestSupport
import Training
import XCTest

/// Every layer's backward pass against central finite differences of the loss.
///
/// The loss is the mean softmax cross-entropy of a small network around the layer under test; its gradient
/// with respect to every parameter is checked, which also checks the input gradients of every layer in
/// between. Float32 forward passes limit the finite differences (step 1e-3) to about 1e-4 absolute, hence the tolerance
/// |analytic - numeric| <= 2e-3 + 2e-2 * |numeric|. A coordinate where the step crosses a ReLU or max-pool
/// kink is detected (the difference quotient changes with the step size) and skipped; at most 5% may be.
final class GradientCheckTests: XCTestCase {
    private func check(
        _ graph: Graph, samples: Int = 3, seed: UInt64 = 1, maxChecked: Int = 600, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        var options = TrainingOptions()
        options.workers = 2
        let trainer = try Trainer(graph: graph, options: options)
        var random = TestRandom(seed: seed)
        let inputs = random.array(samples * trainer.network.inputSize)
        let labels = (0..<samples).map { $0 % trainer.network.classes }
        let base = trainer.parameters
        let analytic = trainer.lossAndGradient(inputs: inputs, labels: labels).gradient

        func loss(_ index: Int, _ step: Float) -> Double {
            var probe = base
            probe[index] += step
            trainer.setParameters(probe)
            return trainer.lossAndGradient(inputs: inputs, labels: labels).loss
        }
        var skipped = 0
        // Large networks: an evenly spaced sample of parameters, which still reaches every layer.
        let stride = max(1, base.count / maxChecked)
        let checked = Swift.stride(from: 0, to: base.count, by: stride).map { $0 }
        for index in checked {
            let h: Float = 1e-3
            let numeric = (loss(index, h) - loss(index, -h)) / Double(2 * h)
            let half = (loss(index, h / 2) - loss(index, -h / 2)) / Double(h)
            if abs(numeric - half) > 1e-3 + 5e-2 * abs(numeric) {
                skipped += 1
                continue
            }
            let error = abs(Double(analytic[index]) - half)
            XCTAssertLessThanOrEqual(
                error, 2e-3 + 2e-2 * abs(half),
                "parameter \(index): analytic \(analytic[index]), numeric \(half)", file: file, line: line)
        }
        trainer.setParameters(base)
        XCTAssertLessThanOrEqual(skipped, checked.count / 20, "too many kinks skipped", file: file, line: line)
    }

    private func weights(_ shape: [Int], _ random: inout TestRandom, scale: Float = 0.5) -> Tensor {
        Tensor(shape: shape, data: random.array(elementCount(shape)).map { $0 * scale })
    }

    func testConvolutionWithPaddingAndStride() throws {
        var random = TestRandom(seed: 11)
        var b = GraphBuilder()
        var x = try b.add("x", .input, inputShape: [2, 6, 5])
        x = try b.add(
            "c1",
            .conv2d(
                Conv2D(
                    weight: weights([3, 2, 3, 3], &random), bias: random.array(3),
                    padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1))), inputs: [x])
        x = try b.add(
            "c2",
            .conv2d(
                Conv2D(
                    weight: weights([2, 3, 3, 2], &random), bias: random.array(2),
                    strideH: 2, strideW: 1, padding: Padding2D(top: 0, left: 1, bottom: 1, right: 0))), inputs: [x])
        x = try b.add("f", .flatten, inputs: [x])
        x = try b.add("d", .dense(Dense(weight: weights([4, 2 * 3 * 5], &random), bias: random.array(4))), inputs: [x])
        try check(b.build(outputs: [x]))
    }

    func testDenseAndRelu() throws {
        var random = TestRandom(seed: 12)
        var b = GraphBuilder()
        var x = try b.add("x", .input, inputShape: [7])
        x = try b.add("d1", .dense(Dense(weight: weights([9, 7], &random), bias: random.array(9))), inputs: [x])
        x = try b.add("r", .relu, inputs: [x])
        x = try b.add("d2", .dense(Dense(weight: weights([5, 9], &random), bias: random.array(5))), inputs: [x])
        try check(b.build(outputs: [x]), samples: 5)
    }

    func testActivationsBesidesRelu() throws {
        var random = TestRandom(seed: 15)
        var b = GraphBuilder()
        var x = try b.add("x", .input, inputShape: [6])
        for (i, function) in [
            Activation.sigmoid, .tanh, .leakyRelu(alpha: 0.1), .hardSigmoid(alpha: 0.4, beta: 0.5),
            .clip(low: -0.6, high: 0.8), .hardSwish,
        ].enumerated() {
            x = try b.add("d\(i)", .dense(Dense(weight: weights([6, 6], &random), bias: random.array(6))), inputs: [x])
            x = try b.add("a\(i)", .activation(function), inputs: [x])
        }
        x = try b.add("out", .dense(Dense(weight: weights([4, 6], &random), bias: random.array(4))), inputs: [x])
        try check(b.build(outputs: [x]), samples: 5)
    }

    func testMaxAndAveragePooling() throws {
        var random = TestRandom(seed: 13)
        var b = GraphBuilder()
        var x = try b.add("x", .input, inputShape: [1, 8, 8])
        x = try b.add(
            "c1", .conv2d(Conv2D(weight: weights([3, 1, 3, 3], &random), bias: random.array(3))), inputs: [x])
        x = try b.add("mp", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [x])
        // Overlapping windows with padding counted in the divisor, and a plain average.
        x = try b.add(
            "ap",
            .averagePool(
                Pool2D(
                    kernelH: 2, kernelW: 2, strideH: 1, strideW: 1,
                    padding: Padding2D(top: 1, left: 1, bottom: 0, right: 0), countIncludePad: true)),
            inputs: [x])
        x = try b.add("ap2", .averagePool(Pool2D(kernelH: 2, kernelW: 3, strideH: 2, strideW: 1)), inputs: [x])
        x = try b.add("f", .flatten, inputs: [x])
        x = try b.add("d", .dense(Dense(weight: weights([3, 3 * 1 * 1], &random), bias: random.array(3))), inputs: [x])
        try check(b.build(outputs: [x]), samples: 4)
    }

    func testResidualAddReshapeScaleShiftAndSoftmaxHead() throws {
        var random = TestRandom(seed: 14)
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [2, 4, 4])
        let c1 = try b.add(
            "c1",
            .conv2d(
                Conv2D(
                    weight: weights([2, 2, 3, 3], &random), bias: random.array(2),
                    padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1))), inputs: [x])
        let s = try b.add("bn", .scaleShift(ScaleShift(scale: [0.7, -1.3], shift: [0.1, 0.2])), inputs: [c1])
        let c2 = try b.add(
            "c2", .conv2d(Conv2D(weight: weights([2, 2, 1, 1], &random), bias: random.array(2))), inputs: [s])
        let sum = try b.add("sum", .add, inputs: [c1, c2])
        let r = try b.add("r", .reshape([4, 8]), inputs: [sum])
        let f = try b.add("f", .flatten, inputs: [r])
        let d = try b.add("d", .dense(Dense(weight: weights([3, 32], &random), bias: random.array(3))), inputs: [f])
        let p = try b.add("p", .softmax(axes: 0..<1), inputs: [d])
        try check(b.build(outputs: [p]))
    }

    func testLeNet5Architecture() throws {
        // The whole bundled architecture on a smaller image, gradient-checked end to end.
        try check(Architecture.lenet5.build(input: [1, 16, 16], classes: 4, seed: 5), samples: 2, maxChecked: 150)
    }
}
