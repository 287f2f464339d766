import Datasets
import NetworkIR
import TestSupport
import Training
import XCTest

final class TrainerTests: XCTestCase {
    /// Four classes of 8x8 images: a bright horizontal bar, vertical bar, diagonal or anti-diagonal at a
    /// random offset, on noise. A small CNN must learn them.
    private func bars(count: Int, seed: UInt64) -> ImageDataset {
        var random = SeededGenerator(seed: seed)
        var pixels = [UInt8]()
        var labels = [Int]()
        for _ in 0..<count {
            let label = Int(random.next() % 4)
            let offset = Int(random.next() % 6) + 1
            var image = (0..<64).map { _ in Float(random.nextUnit()) * 90 }
            for t in 0..<8 {
                let (y, x): (Int, Int)
                switch label {
                case 0: (y, x) = (offset, t)
                case 1: (y, x) = (t, offset)
                case 2: (y, x) = (t, t)
                default: (y, x) = (t, 7 - t)
                }
                image[y * 8 + x] = 160 + Float(random.nextUnit()) * 95
            }
            pixels += image.map { UInt8($0) }
            labels.append(label)
        }
        return ImageDataset(name: "bars", rows: 8, cols: 8, pixels: pixels, labels: labels)
    }

    private func smallNet(seed: UInt64) throws -> Graph {
        var net = NetworkBuilder(input: [1, 8, 8], seed: seed)
        try net.conv("conv1", 4, kernel: 3, pad: 1)
        try net.relu("relu1")
        try net.maxPool("pool1")
        try net.flatten("flatten")
        try net.dense("fc", 4)
        return try net.finish()
    }

    func testLearnsASyntheticProblem() throws {
        var options = TrainingOptions()
        options.epochs = 8
        options.batchSize = 32
        options.learningRate = 5e-3
        options.validationCount = 200
        let trainer = try Trainer(graph: smallNet(seed: 1), options: options)
        let before = trainer.accuracy(on: bars(count: 500, seed: 99))
        let summaries = try trainer.fit(bars(count: 1200, seed: 1))
        let heldOut = trainer.accuracy(on: bars(count: 500, seed: 99))
        XCTAssertEqual(summaries.count, 8)
        XCTAssertLessThan(summaries.last!.trainLoss, summaries.first!.trainLoss)
        // Chance is 25%; the bars are unmistakable, so a working trainer is near perfect.
        XCTAssertLessThan(before, 0.5)
        XCTAssertGreaterThanOrEqual(heldOut, 0.95, "held-out accuracy \(heldOut)")
        XCTAssertGreaterThanOrEqual(summaries.last!.validationAccuracy!, 0.95)
    }

    /// Constrained training: weights on a grid of 0.25. Projected SGD ends on the grid; straight-through also
    /// ends on it and still learns, although each step is far smaller than the grid (it moves the latent weights).
    func testProjectionsKeepTheParametersOnTheConstraintSet() throws {
        let network = try TrainableNetwork(graph: smallNet(seed: 4))
        let weights = ["conv1", "fc"].compactMap { network.parameterRanges(of: $0)?.weight }
        XCTAssertEqual(weights.count, 2)
        XCTAssertNil(network.parameterRanges(of: "relu1"))
        let grid: @Sendable (inout [Float]) -> Void = { parameters in
            for range in weights { for i in range { parameters[i] = (parameters[i] * 4).rounded() / 4 } }
        }
        for mode in [Projection.Mode.reproject, .straightThrough] {
            var options = TrainingOptions()
            options.epochs = 6
            options.batchSize = 32
            options.learningRate = 2e-3
            options.validationCount = 0
            options.projection = Projection(mode: mode, apply: grid)
            let trainer = try Trainer(graph: smallNet(seed: 4), options: options)
            let summaries = try trainer.fit(bars(count: 800, seed: 5))
            var again = trainer.parameters
            grid(&again)
            XCTAssertEqual(again, trainer.parameters, "\(mode): the trained weights are on the grid")
            if mode == .straightThrough {
                XCTAssertLessThan(
                    summaries.last!.trainLoss, summaries.first!.trainLoss * 0.8, "straight-through learns")
            }
        }
    }

    func testSGDWithMomentumAlsoLearns() throws {
        var options = TrainingOptions()
        options.epochs = 4
        options.batchSize = 32
        options.optimizer = .sgd(momentum: 0.9)
        options.learningRate = 0.05
        options.weightDecay = 1e-4
        options.validationCount = 0
        let trainer = try Trainer(graph: smallNet(seed: 2), options: options)
        _ = try trainer.fit(bars(count: 1200, seed: 2))
        XCTAssertGreaterThanOrEqual(trainer.accuracy(on: bars(count: 500, seed: 98)), 0.95)
    }

    func testSameSeedSameWeightsWhateverTheWorkerCount() throws {
        func train(workers: Int) throws -> [Float] {
            var options = TrainingOptions()
            options.epochs = 1
            options.batchSize = 50
            options.validationCount = 100
            options.workers = workers
            let trainer = try Trainer(graph: smallNet(seed: 3), options: options)
            _ = try trainer.fit(bars(count: 600, seed: 3))
            return trainer.parameters
        }
        let one = try train(workers: 1)
        XCTAssertEqual(one, try train(workers: 2))
        XCTAssertEqual(one, try train(workers: 3))
        XCTAssertNotEqual(one, try Trainer(graph: smallNet(seed: 3)).parameters, "training changed nothing")
    }

    func testUnsupportedGraphsNameTheNode() throws {
        var b = GraphBuilder()
        let x = try b.add("x", .input, inputShape: [4])
        let c = try b.add("offset", .constant(Tensor(shape: [4], data: [1, 2, 3, 4])))
        let y = try b.add("shifted", .add, inputs: [x, c])
        XCTAssertThrowsError(try Trainer(graph: b.build(outputs: [y]))) { error in
            XCTAssertEqual((error as? GraphError)?.node, "offset")
        }

        var conv = GraphBuilder()
        let image = try conv.add("image", .input, inputShape: [1, 4, 4])
        let feature = try conv.add("features", .conv2d(Conv2D(weight: Tensor(zeros: [2, 1, 3, 3]))), inputs: [image])
        XCTAssertThrowsError(try Trainer(graph: conv.build(outputs: [feature]))) { error in
            let training = error as? GraphError
            XCTAssertEqual(training?.node, "features")
            XCTAssertTrue(training?.reason.contains("vector of class scores") ?? false, "\(error)")
        }
    }

    func testTrainedGraphCarriesTheParameters() throws {
        let graph = try smallNet(seed: 4)
        let trainer = try Trainer(graph: graph)
        XCTAssertEqual(try trainer.trainedGraph(), graph)
        var changed = trainer.parameters
        changed[0] += 1
        trainer.setParameters(changed)
        guard case .conv2d(let conv) = try trainer.trainedGraph().nodes[1].op else { return XCTFail("conv1 moved") }
        XCTAssertEqual(conv.weight.data[0], changed[0])
    }
}
