import NetworkIR
import XCTest

final class GraphBuilderTests: XCTestCase {
    /// Classic LeNet-5 shapes; parameter and MAC counts worked out by hand from the layer sizes.
    func testLeNetShapesAndCosts() throws {
        var b = GraphBuilder()
        let x = try b.add("image", .input, inputShape: [1, 28, 28])
        let c1 = try b.add("conv1", .conv2d(Conv2D(weight: Tensor(zeros: [6, 1, 5, 5]))), inputs: [x])
        let p1 = try b.add("pool1", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [c1])
        let c2 = try b.add("conv2", .conv2d(Conv2D(weight: Tensor(zeros: [16, 6, 5, 5]))), inputs: [p1])
        let p2 = try b.add("pool2", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)), inputs: [c2])
        let f = try b.add("flatten", .flatten, inputs: [p2])
        let d1 = try b.add("fc1", .dense(Dense(weight: Tensor(zeros: [120, 256]))), inputs: [f])
        let d2 = try b.add("fc2", .dense(Dense(weight: Tensor(zeros: [84, 120]))), inputs: [d1])
        let d3 = try b.add("fc3", .dense(Dense(weight: Tensor(zeros: [10, 84]))), inputs: [d2])
        let graph = try b.build(outputs: [d3])

        XCTAssertEqual(graph.nodes[c1].shape, [6, 24, 24])
        XCTAssertEqual(graph.nodes[p1].shape, [6, 12, 12])
        XCTAssertEqual(graph.nodes[c2].shape, [16, 8, 8])
        XCTAssertEqual(graph.nodes[p2].shape, [16, 4, 4])
        XCTAssertEqual(graph.nodes[f].shape, [256])
        XCTAssertEqual(graph.cost(of: c1), NodeCost(parameters: 150 + 6, macs: 6 * 576 * 25))
        XCTAssertEqual(graph.cost(of: c2), NodeCost(parameters: 2400 + 16, macs: 16 * 64 * 150))
        XCTAssertEqual(graph.cost(of: d1), NodeCost(parameters: 30720 + 120, macs: 30720))
        XCTAssertEqual(graph.totalCost.parameters, 156 + 2416 + 30840 + 10164 + 850)
        XCTAssertEqual(graph.totalCost.macs, 86400 + 153600 + 30720 + 10080 + 840)
        XCTAssertEqual(graph.inputs, [x])
        XCTAssertEqual(graph.consumers()[c1], [p1])
    }

    func testStridePaddingAndCeilOutputSize() throws {
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [1, 7, 5])
        let conv = Conv2D(
            weight: Tensor(zeros: [1, 1, 3, 3]), strideH: 2, strideW: 2,
            padding: Padding2D(top: 1, left: 0, bottom: 1, right: 0))
        let c = try b.add("c", .conv2d(conv), inputs: [x])
        // (7 + 2 - 3) / 2 + 1 = 4 rows, (5 - 3) / 2 + 1 = 2 columns.
        XCTAssertEqual(b.nodes[c].shape, [1, 4, 2])
        let pool = Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, outputH: 2, outputW: 1)
        let p = try b.add("p", .maxPool(pool), inputs: [c])
        XCTAssertEqual(b.nodes[p].shape, [1, 2, 1])
    }

    func testMismatchesNameTheNode() throws {
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [3, 8, 8])
        XCTAssertThrowsError(try b.add("conv", .conv2d(Conv2D(weight: Tensor(zeros: [4, 1, 3, 3]))), inputs: [x])) {
            error in
            XCTAssertEqual("\(error)", "node 'conv' (Conv2D): weight expects 1 input channels, input has 3")
        }
        XCTAssertThrowsError(try b.add("fc", .dense(Dense(weight: Tensor(zeros: [2, 192]))), inputs: [x])) { error in
            XCTAssertTrue("\(error)".contains("flatten first"))
        }
        XCTAssertThrowsError(
            try b.add("big", .maxPool(Pool2D(kernelH: 9, kernelW: 9, strideH: 1, strideW: 1)), inputs: [x]))
        XCTAssertThrowsError(try b.add("x", .relu, inputs: [x])) { error in
            XCTAssertTrue("\(error)".contains("already exists"))
        }
        let y = try b.add("y", .input, inputShape: [3, 4, 8])
        XCTAssertThrowsError(try b.add("sum", .add, inputs: [x, y]))
    }

    func testBroadcastShapes() {
        XCTAssertEqual(broadcastShapes([3, 4, 5], [5]), [3, 4, 5])
        XCTAssertEqual(broadcastShapes([3, 1, 5], [4, 1]), [3, 4, 5])
        XCTAssertNil(broadcastShapes([3, 4], [3]))
    }
}
