import EDAFlows
import Foundation
import TestSupport
import XCTest

/// `approxrtl sim` compiles Verilator's C++ at the level that suits the run's length, which it reads from
/// design.json; a field that is missing, negative or absurd must leave it at the long-run level, never trap.
final class SimulationTests: XCTestCase {
    private func folder(_ fields: [String: Any]) throws -> DesignFolder {
        let directory = try makeTemporaryDirectory("simulation")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("module top; endmodule\n".utf8).write(to: directory.appendingPathComponent("top.v"))
        let json = ["top": "top", "rtl": ["top.v"]].merging(fields) { $1 }
        try JSONSerialization.data(withJSONObject: json).write(to: directory.appendingPathComponent("design.json"))
        return try DesignFolder.load(directory)
    }

    func testAcceleratorRunsAreImagesTimesTheInterval() throws {
        let design = try folder([
            "kind": "accelerator", "bench": "tb_diannao", "images": 1000, "interval_cycles": 2640,
        ])
        XCTAssertEqual(design.simulatedCycles(count: nil), 2_640_000)
        XCTAssertEqual(design.simulatedCycles(count: 3), 7_920)
        XCTAssertEqual(design.simulatedCycles(count: 10_000), 26_400_000)
        XCTAssertEqual(Simulator.compilerLevel(cycles: design.simulatedCycles(count: 3)), 0)
        XCTAssertEqual(Simulator.compilerLevel(cycles: design.simulatedCycles(count: nil)), 1)
        XCTAssertEqual(Simulator.compilerLevel(cycles: design.simulatedCycles(count: 10_000)), 2)
    }

    func testLayerUnitsCountEachBatchAndEveryCodeInAndOut() throws {
        // LeNet-5's fc1 as a 4-lane reuse unit: 48,642 cycles per batch of 4 vectors, 400 codes in and 120 out
        // per vector.
        let design = try folder([
            "kind": "layer", "compute_cycles_per_batch": 48642, "lanes": 4, "fan": 400, "channels": 120,
            "vectors": 64,
        ])
        XCTAssertEqual(design.simulatedCycles(count: nil), 64 * (48642 / 4 + 520))
        XCTAssertEqual(design.simulatedCycles(count: 16), 16 * (48642 / 4 + 520))
        XCTAssertEqual(Simulator.compilerLevel(cycles: design.simulatedCycles(count: 16)), 0)
        XCTAssertEqual(Simulator.compilerLevel(cycles: design.simulatedCycles(count: nil)), 1)
    }

    func testUnknownOrAbsurdLengthsBuildForALongRun() throws {
        for fields: [String: Any] in [
            ["kind": "accelerator", "bench": "tb_diannao"],
            ["kind": "accelerator", "bench": "tb_diannao", "images": "many", "interval_cycles": 2640],
            ["kind": "accelerator", "bench": "tb_diannao", "images": -5, "interval_cycles": 2640],
            ["kind": "accelerator", "bench": "tb_diannao", "images": Int.max, "interval_cycles": 2640],
            ["kind": "layer", "compute_cycles_per_batch": 100, "lanes": 0, "fan": 4, "channels": 4, "vectors": 8],
            ["kind": "layer", "compute_cycles_per_batch": 100, "lanes": 2, "fan": Int.max, "channels": 4],
        ] {
            let design = try folder(fields)
            XCTAssertNil(design.simulatedCycles(count: nil), "\(fields)")
            XCTAssertEqual(Simulator.compilerLevel(cycles: design.simulatedCycles(count: nil)), 2, "\(fields)")
        }
        XCTAssertEqual(
            Simulator.verilatorOptions(level: 0, objectCache: false),
            ["-O3", "-MAKEFLAGS", "OPT_FAST=-O0 OPT_GLOBAL=-O0"])
        XCTAssertEqual(
            Simulator.verilatorOptions(level: 2, objectCache: true),
            ["-O3", "-MAKEFLAGS", "OPT_FAST=-O2 OBJCACHE=ccache"])
    }
}
