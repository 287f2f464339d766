import FloatInference
import NetworkIR
import TestSupport
import XCTest

final class FloatExecutorTests: XCTestCase {
    /// Direct seven-loop convolution in Double: a different algorithm from the executor's im2col.
    func directConv(_ x: [Float], c: Int, h: Int, w: Int, _ conv: Conv2D, oh: Int, ow: Int) -> [Float] {
        var y = [Float]()
        for m in 0..<conv.outChannels {
            for oy in 0..<oh {
                for ox in 0..<ow {
                    var sum = Double(conv.bias[m])
                    for ci in 0..<c {
                        for ky in 0..<conv.kernelH {
                            for kx in 0..<conv.kernelW {
                                let iy = oy * conv.strideH - conv.padding.top + ky
                                let ix = ox * conv.strideW - conv.padding.left + kx
                                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                let weight = conv.weight.data[((m * c + ci) * conv.kernelH + ky) * conv.kernelW + kx]
                                sum += Double(weight) * Double(x[(ci * h + iy) * w + ix])
                            }
                        }
                    }
                    y.append(Float(sum))
                }
            }
        }
        return y
    }

    func testConvolutionMatchesDirectLoops() throws {
        var random = TestRandom(seed: 7)
        for (stride, pad, kernel) in [(1, 0, 3), (2, 1, 3), (2, 2, 5), (1, 2, 5), (3, 0, 1)] {
            let conv = Conv2D(
                weight: Tensor(shape: [4, 3, kernel, kernel], data: random.array(4 * 3 * kernel * kernel)),
                bias: random.array(4), strideH: stride, strideW: stride,
                padding: Padding2D(top: pad, left: pad, bottom: pad, right: 0))
            var b = GraphBuilder()
            let x = try b.add("x", .input, inputShape: [3, 11, 9])
            let c = try b.add("c", .conv2d(conv), inputs: [x])
            let graph = try b.build(outputs: [c])
            let shape = graph.nodes[c].shape
            let batch = 3
            let input = random.array(batch * 3 * 11 * 9)
            let output = FloatExecutor(graph: graph).run(inputs: [input], batch: batch)[0]
            for s in 0..<batch {
                let sample = Array(input[(s * 297)..<((s + 1) * 297)])
                let expected = directConv(sample, c: 3, h: 11, w: 9, conv, oh: shape[1], ow: shape[2])
                let size = expected.count
                XCTAssertNil(
                    maxViolation(Array(output[(s * size)..<((s + 1) * size)]), expected),
                    "stride \(stride) pad \(pad) k \(kernel)")
            }
        }
    }

    func testPoolingByHand() throws {
        // One 3x3 channel: 1..9. Average 2x2, stride 2, pad 1 on every side.
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [1, 3, 3])
        let window = Pool2D(
            kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padding: Padding2D(top: 1, left: 1, bottom: 1, right: 1))
        var including = window
        including.countIncludePad = true
        let avg = try b.add("avg", .averagePool(window), inputs: [x])
        let avgPad = try b.add("avgpad", .averagePool(including), inputs: [x])
        let max = try b.add("max", .maxPool(window), inputs: [x])
        let graph = try b.build(outputs: [avg, avgPad, max])
        let out = FloatExecutor(graph: graph).run(inputs: [(1...9).map(Float.init)], batch: 1)
        // Windows: {1}, {2,3}, {4,7}, {5,6,8,9}.
        XCTAssertEqual(out[0], [1, 2.5, 5.5, 7])
        XCTAssertEqual(out[1], [0.25, 1.25, 2.75, 7])
        XCTAssertEqual(out[2], [1, 3, 7, 9])
    }

    func testDenseSoftmaxAndBroadcastAdd() throws {
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [3])
        let d = try b.add(
            "d", .dense(Dense(weight: Tensor(shape: [2, 3], data: [1, 2, 3, -1, 0, 1]), bias: [0.5, -0.5])), inputs: [x]
        )
        let k = try b.add("k", .constant(Tensor(shape: [1], data: [10])))
        let a = try b.add("a", .add, inputs: [d, k])
        let s = try b.add("s", .softmax(axes: 0..<1), inputs: [a])
        let graph = try b.build(outputs: [a, s])
        let out = FloatExecutor(graph: graph).run(inputs: [[1, 1, 1, 2, 0, -1]], batch: 2)
        XCTAssertEqual(out[0], [16.5, 9.5, 9.5, 6.5])
        let e = [Float(exp(7.0)), 1, Float(exp(3.0)), 1]
        XCTAssertNil(maxViolation(out[1], [e[0] / (e[0] + 1), 1 / (e[0] + 1), e[2] / (e[2] + 1), 1 / (e[2] + 1)]))
    }

    func testResultDoesNotDependOnBatchSplit() throws {
        var random = TestRandom(seed: 3)
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [2, 10, 10])
        let c = try b.add(
            "c", .conv2d(Conv2D(weight: Tensor(shape: [5, 2, 3, 3], data: random.array(90)), bias: random.array(5))),
            inputs: [x])
        let r = try b.add("r", .relu, inputs: [c])
        let f = try b.add("f", .flatten, inputs: [r])
        let d = try b.add("d", .dense(Dense(weight: Tensor(shape: [4, 320], data: random.array(1280)))), inputs: [f])
        let graph = try b.build(outputs: [d])
        let batch = 9
        let input = random.array(batch * 200)
        let single = FloatExecutor(graph: graph, workers: 1).run(inputs: [input], batch: batch)[0]
        let split = FloatExecutor(graph: graph, workers: 4).run(inputs: [input], batch: batch)[0]
        XCTAssertEqual(single, split, "bitwise equal whatever the number of workers")
        let last = FloatExecutor(graph: graph).run(inputs: [Array(input[(8 * 200)...])], batch: 1)[0]
        XCTAssertEqual(last, Array(single[(8 * 4)...]))
        // Intermediate values can be requested by node.
        XCTAssertEqual(FloatExecutor(graph: graph).run(inputs: [input], batch: batch, nodes: [r])[0].count, batch * 320)
    }

    func testArgmaxTiesGoToTheLowestIndex() {
        XCTAssertEqual(predictions([0, 3, 3, 1, 5, 5, 5, 0], classes: 4), [1, 0])
    }
}
