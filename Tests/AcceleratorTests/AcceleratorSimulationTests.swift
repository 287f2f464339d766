import Accelerator
import Approximation
import EDAFlows
import Foundation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// Random small networks (padding, strides, max and average pooling, partial tiles, several input tiles) compiled
/// for narrow accelerators and run whole-network under both simulators, every logit against the golden model.
final class AcceleratorSimulationTests: XCTestCase {
    static func randomModel(seed: UInt64) throws -> (QuantizedModel, [UInt8]) {
        let graph = try RandomNetworks.graph(seed: seed)
        let shape = graph.nodes[0].shape
        let model = try Quantizer.quantize(graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
        return (model, RandomNetworks.images(3, shape: shape, seed: seed &+ 7).pixels)
    }

    /// Writes the design, runs it under both simulators and checks every image and the cycle model.
    static func simulate(_ design: AcceleratorDesign, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = try makeTemporaryDirectory("accelerator")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, data) in design.files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        for simulator in Simulator.allCases {
            let outcome = try simulator.run(directory: folder)
            XCTAssertTrue(outcome.ok, "\(label), \(simulator): \(outcome.log.suffix(1500))", file: file, line: line)
            XCTAssertEqual(outcome.passed, design.manifest.images, "\(label), \(simulator)", file: file, line: line)
            // The cycle model the report uses is what the RTL does, layer by layer.
            let measured = outcome.log.split(separator: "\n").filter { $0.hasPrefix("layer ") }.compactMap { Int($0.split(separator: " ").last!) }
            XCTAssertEqual(measured, design.manifest.layers.map(\.cycles), "\(label), \(simulator)", file: file, line: line)
        }
    }

    func testSWCLanesRunBitExactWithUniformAndPowerOfTwoCodes() throws {
        for (seed, codebook, bits, tn) in [(UInt64(2), Codebook.uniform, 5, 4), (3, .pow2, 4, 3), (4, .uniform, 3, 2)] {
            let (model, pixels) = try Self.randomModel(seed: seed)
            var options = ScalingWeightOptions()
            options.codebook = codebook
            options.codeBits = bits
            let compressed = try ModelCompressor.compress(model, method: .scalingWeights(options), maxAccumulatorBits: 40)
            let design = try AcceleratorDesign.generate(model: compressed, modelName: "swc\(seed).c.json", config: AcceleratorConfig(tn: tn, swc: true),
                                                        pixels: pixels, labels: [0, 1, 2], count: 3)
            XCTAssertEqual(design.manifest.shiftLanes, codebook == .pow2)
            XCTAssertEqual(design.manifest.weightWidth, bits, "the SB holds the codes")
            try Self.simulate(design, "SWC seed \(seed)")
        }
    }

    func testRandomNetworksRunBitExactUnderBothSimulators() throws {
        var kinds = Set<QuantizedModel.Kind>()
        var strided = false
        for (seed, tn) in [(UInt64(1), 2), (2, 4), (3, 3), (4, 4), (5, 2), (6, 4)] {
            let (model, pixels) = try Self.randomModel(seed: seed)
            kinds.formUnion(model.layers.map(\.kind))
            strided = strided || model.layers.contains { $0.kind == .conv2d && $0.stride![0] > 1 }
            let design = try AcceleratorDesign.generate(model: model, modelName: "random\(seed).q.json", config: AcceleratorConfig(tn: tn),
                                                        pixels: pixels, labels: [0, 1, 2], count: 3)
            try Self.simulate(design, "seed \(seed), Tn \(tn)")
        }
        XCTAssertTrue(kinds.isSuperset(of: [.conv2d, .maxPool, .averagePool, .dense]), "the seeds cover \(kinds)")
        XCTAssertTrue(strided, "the seeds include a strided convolution")
    }
}
