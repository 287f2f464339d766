import Accelerator
import Approximation
import EDAFlows
import Foundation
import GoldenModel
import LayerGenerator
import Quantization
import TestSupport
import XCTest

/// `approxrtl synth` reads what Yosys built. The multiplier counts are checked against what each architecture
/// is defined to have (one multiplier per lane for the baseline, the pool size for the reuse array, plus one
/// code multiplier per lane for uniform SWC), so a generator that silently duplicated or dropped datapath
/// hardware, or a report that miscounted, would fail here.
final class SynthesisTests: XCTestCase {
    static func design(method: Method?, arch: Architecture, lanes: Int, multipliers: Int?, in root: URL, name: String)
        throws -> URL
    {
        let graph = try RandomNetworks.graph(seed: 5)
        let shape = graph.nodes[0].shape
        var model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: 5), source: "random")
        if let method { model = try ModelCompressor.compress(model, method: method, maxAccumulatorBits: 40) }
        let golden = try GoldenModel(model)
        let layer = model.layers.first { $0.kind == .conv2d || $0.kind == .dense }!.name
        let pixels = RandomNetworks.images(2, shape: shape, seed: 9).pixels
        let inputs = try LayerStimulus.vectors(golden: golden, layer: layer, pixels: pixels, images: 2, count: 4)
        let design = try LayerDesign.generate(
            model: model, modelName: "random", layer: layer, arch: arch, lanes: lanes,
            multipliers: multipliers, inputs: inputs, frame: 2)
        let directory = root.appendingPathComponent(name)
        for (path, data) in design.files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        return directory
    }

    /// Yosys (the word-level count of `approxrtl synth --target generic`) reads an accelerator with every stage
    /// that is built only on request: activation tables, fused pools with pixel lanes and strips, SWC lanes' MAW
    /// multiplies. (Verilator and Icarus accepted a wire used before its declaration there that Yosys refuses.)
    func testAcceleratorWithTablesAndFusedPoolsReadsInYosys() throws {
        let graph = try RandomNetworks.graph(seed: 3, activations: [.sigmoid, .tanh, .sigmoid])
        let shape = graph.nodes[0].shape
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: 3), source: "random")
        let swc = try ModelCompressor.compress(
            model, method: .scalingWeights(ScalingWeightOptions()), maxAccumulatorBits: 40)
        let design = try AcceleratorDesign.generate(
            model: swc, modelName: "tables.c.json", config: AcceleratorConfig(tn: 8, swc: true),
            pixels: RandomNetworks.images(1, shape: shape, seed: 4).pixels, labels: [0], count: 1)
        XCTAssertGreaterThan(design.manifest.activationTables, 0)
        XCTAssertTrue(design.manifest.layers.contains { $0.name.contains("+") }, "a fused pool")
        let folder = try makeTemporaryDirectory("synth-tables")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, data) in design.files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        let report = try Synthesis.run(directory: folder, target: .generic)
        XCTAssertGreaterThan(report.multipliers.count, 0)
    }

    func testWordLevelCountsMatchEachArchitecture() throws {
        let root = try makeTemporaryDirectory("synth-generic")
        defer { try? FileManager.default.removeItem(at: root) }
        var linear = SortedWeightOptions()
        linear.degree = .linear; linear.grouping = .channel; linear.segments = 2
        var swc = ScalingWeightOptions()
        swc.codebook = .uniform; swc.codeBits = 4

        let baseline = try Synthesis.run(
            directory: try Self.design(method: nil, arch: .baseline, lanes: 3, multipliers: nil, in: root, name: "b"),
            target: .generic)
        XCTAssertEqual(baseline.multiplierCount, 3, "\(baseline.multipliers)")
        XCTAssertGreaterThan(baseline.romBits, 0)

        let reuse = try Synthesis.run(
            directory: try Self.design(
                method: .sortedWeights(linear), arch: .reuse, lanes: 4, multipliers: 2, in: root, name: "r"),
            target: .generic)
        XCTAssertEqual(reuse.multiplierCount, 2, "contiguous M1: the pool's multipliers only, \(reuse.multipliers)")

        let scaledDirectory = try Self.design(
            method: .scalingWeights(swc), arch: .reuse, lanes: 4, multipliers: 1, in: root, name: "s")
        let scaled = try Synthesis.run(directory: scaledDirectory, target: .generic)
        // What the generator says it built agrees with what Yosys found: the same multipliers, and its datapath
        // adders among Yosys's adders (which also count the control counters).
        let manifest = try LayerDesign.loadManifest(directory: scaledDirectory)
        XCTAssertEqual(manifest.multiplierList.reduce(0) { $0 + $1.count }, scaled.multiplierCount)
        XCTAssertEqual(manifest.adderList.map(\.count), [4, 1, 1])
        XCTAssertLessThan(manifest.adderList.reduce(0) { $0 + $1.count }, scaled.adders)
        XCTAssertEqual(
            scaled.multiplierCount, 4 + 1,
            "uniform SWC: a code multiplier per lane and one scale multiplier, \(scaled.multipliers)")
        XCTAssertTrue(scaled.multipliers.contains { $0.count == 4 && $0.widths.min()! <= 4 }, "\(scaled.multipliers)")
    }

    func testIce40MapsAndPlacesWithAnFmax() throws {
        let root = try makeTemporaryDirectory("synth-ice40")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = try Self.design(method: nil, arch: .baseline, lanes: 1, multipliers: nil, in: root, name: "b")
        let report = try Synthesis.run(directory: directory, target: .ice40)
        XCTAssertGreaterThan(report.luts ?? 0, 0)
        XCTAssertGreaterThan(report.flipFlops ?? 0, 0)
        XCTAssertNil(report.note)
        XCTAssertGreaterThan(report.fmaxMHz ?? 0, 10, "nextpnr log: build/synth/nextpnr.log")
        // The wrapper registers every port: it is the top nextpnr saw.
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: directory.appendingPathComponent("build/synth/fmax_wrapper.v").path))
    }
}
