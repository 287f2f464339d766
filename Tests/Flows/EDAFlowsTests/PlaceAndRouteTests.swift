import Accelerator
@testable import EDAFlows
import Foundation
import Quantization
import TestSupport
import XCTest

/// `synth --target ecp5`: YoWASP's Yosys and nextpnr-ecp5 really run (from the pinned venv) and their report is
/// parsed; the parser is checked on a report written by hand in nextpnr's format.
final class PlaceAndRouteTests: XCTestCase {
    /// A small accelerator (a random network, Tn = 2) places and routes on the smallest part; the result is what
    /// nextpnr reported: a fit, an Fmax, the part's resources, a critical path; report.html shows the speed.
    func testSmallAcceleratorPlacesAndRoutesOnECP5() throws {
        let graph = try RandomNetworks.graph(seed: 3)
        let shape = graph.nodes[0].shape
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: 3), source: "random")
        let design = try AcceleratorDesign.generate(
            model: model, modelName: "pnr.q.json", config: AcceleratorConfig(tn: 2),
            pixels: RandomNetworks.images(1, shape: shape, seed: 4).pixels, labels: [0], count: 1)
        let folder = try makeTemporaryDirectory("ecp5")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (path, data) in design.files.merging(
            try HandoffReport.files(HandoffReport.Report(design: design.manifest)), uniquingKeysWith: { a, _ in a })
        {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        // The handoff's Yosys script runs on the folder as shipped.
        let script = try runProcess("yosys", ["-q", "-s", "synth.ys"], in: folder)
        XCTAssertEqual(script.status, 0, script.output)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("pnr_diannao.ice40.json").path))
        var options = PlaceAndRouteOptions()
        (options.device, options.targetMHz, options.timeoutSeconds) = (.lfe5u25, 40, 600)
        let report = try Synthesis.run(directory: folder, target: .ecp5, ecp5: options)
        let routed = try XCTUnwrap(report.placeAndRoute, "no place and route (build/ecp5/nextpnr.log)")
        XCTAssertEqual(routed.part, "LFE5U-25F-CABGA381")
        XCTAssertTrue(routed.fits, routed.note ?? "")
        let fmax = try XCTUnwrap(routed.fmaxMHz, routed.note ?? "no Fmax")
        XCTAssertGreaterThan(fmax, 5)
        let luts = try XCTUnwrap(routed.resource("LUT4"))
        XCTAssertGreaterThan(luts.used, 0)
        XCTAssertEqual(luts.available, 24288, "the LFE5U-25F's LUT4s, as nextpnr counts them")
        XCTAssertEqual(routed.resource("DSP")?.available, ECP5Device.lfe5u25.multipliers)
        let path = try XCTUnwrap(routed.criticalPath)
        XCTAssertFalse(path.from.isEmpty)
        XCTAssertEqual(1000 / path.delayNs, fmax, accuracy: fmax * 0.05, "the critical path sets the Fmax")
        try HandoffReport.record(report, in: folder)
        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(
            html.contains("Place and route") && html.contains("Images streamed: one per")
                && html.contains("images/s") && html.contains("to its last logit"), html)
        // The constraints now carry the clock the routed design met.
        let sdc = try String(contentsOf: folder.appendingPathComponent("constraints.sdc"), encoding: .utf8)
        XCTAssertTrue(sdc.contains(String(format: "-period %.3f", (1_000_000 / fmax).rounded(.up) / 1000)), sdc)
        XCTAssertTrue(sdc.contains("LFE5U-25F-CABGA381"), sdc)
    }

    /// The parser on nextpnr's `--report` format: the slowest clock sets the Fmax, and the critical path is that
    /// clock's register-to-register path, named without Yosys's primitive suffixes.
    func testNextpnrReportIsParsed() throws {
        let json = #"""
            {"fmax": {"clk_a": {"achieved": 180.5, "constraint": 150}, "clk_b": {"achieved": 120.25, "constraint": 150}},
             "utilization": {"TRELLIS_COMB": {"used": 100, "available": 24288}, "MULT18X18D": {"used": 2, "available": 28},
                             "DP16KD": {"used": 3, "available": 56}, "TRELLIS_FF": {"used": 50, "available": 24288},
                             "TRELLIS_IO": {"used": 9, "available": 197}, "DCCA": {"used": 1, "available": 56}},
             "critical_paths": [
              {"from": "posedge clk_a", "to": "posedge clk_a", "path": [
                {"type": "clk-to-q", "delay": 0.5, "from": {"cell": "u_a.x_q_TRELLIS_FF_Q"}, "to": {"cell": "u_a.y"}}]},
              {"from": "posedge clk_b", "to": "posedge clk_b", "path": [
                {"type": "clk-to-q", "delay": 0.5, "from": {"cell": "u_core.u_seq.count_q_TRELLIS_FF_Q_1"}, "to": {"cell": "n1"}},
                {"type": "logic", "delay": 3.0, "from": {"cell": "u_core.u_seq.addr_LUT4_Z"}, "to": {"cell": "n2"}},
                {"type": "logic", "delay": 2.0, "from": {"cell": "u_core.u_seq.addr_CCU2C_S0$CCU2_COMB0"}, "to": {"cell": "n3"}},
                {"type": "routing", "delay": 2.8, "from": {"cell": "n3"}, "to": {"cell": "u_core.u_nfu.acc_q_TRELLIS_FF_Q_2"}}]}]}
            """#
        var result = PlaceAndRoute(part: "p", targetMHz: 150, fits: true, resources: [], seconds: 0)
        try Synthesis.parseNextpnrReport(Data(json.utf8), into: &result)
        XCTAssertEqual(result.fmaxMHz, 120.25)
        XCTAssertFalse(result.meetsTarget)
        XCTAssertEqual(result.resources.map(\.name), ["LUT4", "FF", "DSP", "BRAM", "IO"])
        XCTAssertEqual(result.resource("DSP")?.used, 2)
        XCTAssertEqual(result.resource("BRAM")?.percent ?? 0, 100 * 3 / 56.0, accuracy: 1e-9)
        XCTAssertEqual(
            result.criticalPath,
            .init(
                from: "u_core.u_seq.count_q", to: "u_core.u_nfu.acc_q", delayNs: 8.3,
                through: ["u_core.u_seq.addr"]))
    }
}
