import Accelerator
@testable import EDAFlows
import Foundation
import LayerGenerator
import Quantization
import TestSupport
import XCTest

/// The FuseSoC core of a freshly generated folder runs as shipped (FuseSoC from the pinned venv): the sim target
/// under Icarus and Verilator with the bench's count plusarg, and the lint target (Verilator -Wall).
final class FuseSoCTests: XCTestCase {
    func fusesoc(_ arguments: [String], in folder: URL) throws -> (status: Int32, output: String) {
        try runProcess(try Tools.locate("fusesoc"), ["--cores-root", "."] + arguments, in: folder)
    }

    /// "N passed, M failed" of the bench, wherever FuseSoC ran it.
    func verdict(_ output: String) -> (Int, Int)? { Simulator.counts(in: output) }

    func testAcceleratorCoreRunsUnderBothSimulatorsAndLints() throws {
        let graph = try RandomNetworks.graph(seed: 3)
        let shape = graph.nodes[0].shape
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: 3), source: "random")
        let design = try AcceleratorDesign.generate(
            model: model, modelName: "core.q.json", config: AcceleratorConfig(tn: 2),
            pixels: RandomNetworks.images(3, shape: shape, seed: 4).pixels,
            labels: [0, 1, 2], count: 3)
        let folder = try makeTemporaryDirectory("fusesoc")
        defer { try? FileManager.default.removeItem(at: folder) }
        try write(design.files, to: folder)
        let core = "approxrtl:accelerator:\(design.manifest.top)"
        let icarus = try fusesoc(["run", "--target", "sim", "--tool", "icarus", core], in: folder)
        XCTAssertEqual(icarus.status, 0, String(icarus.output.suffix(3000)))
        XCTAssertTrue(verdict(icarus.output)! == (3, 0), String(icarus.output.suffix(3000)))
        // The plusarg runs the first images only.
        let verilator = try fusesoc(
            ["run", "--target", "sim", "--tool", "verilator", core, "--images", "2"], in: folder)
        XCTAssertEqual(verilator.status, 0, String(verilator.output.suffix(3000)))
        XCTAssertTrue(verdict(verilator.output)! == (2, 0), String(verilator.output.suffix(3000)))
        let lint = try fusesoc(["run", "--target", "lint", core], in: folder)
        XCTAssertEqual(lint.status, 0, String(lint.output.suffix(3000)))
        // approxrtl sim --images passes the same plusarg.
        let first = try Simulator.iverilog.run(directory: folder, count: 1)
        XCTAssertTrue(first.ok && first.passed == 1, first.log)
        // A count beyond the bench's vectors is refused by the bench, not run short.
        let beyond = try fusesoc(["run", "--target", "sim", "--tool", "icarus", core, "--images", "4"], in: folder)
        XCTAssertNotEqual(beyond.status, 0)
        XCTAssertTrue(
            beyond.output.contains("+images=4: the bench holds 1 to 3 images"), String(beyond.output.suffix(3000)))
    }

    func testLayerUnitCoreRunsUnderIcarusAndCarriesTheHandoff() throws {
        let root = try makeTemporaryDirectory("fusesoc-layer")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = try SynthesisTests.design(
            method: nil, arch: .baseline, lanes: 2, multipliers: nil, in: root, name: "unit")
        for file in ["README.md", "synth.ys", "constraints.sdc"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), file)
        }
        let manifest = try LayerDesign.loadManifest(directory: folder)
        let icarus = try fusesoc(
            ["run", "--target", "sim", "--tool", "icarus", "approxrtl:layer:\(manifest.top)", "--vectors", "3"],
            in: folder)
        XCTAssertEqual(icarus.status, 0, String(icarus.output.suffix(3000)))
        XCTAssertTrue(verdict(icarus.output)! == (3 * manifest.channels, 0), String(icarus.output.suffix(3000)))
    }

    func write(_ files: [String: Data], to folder: URL) throws {
        for (path, data) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }
}
