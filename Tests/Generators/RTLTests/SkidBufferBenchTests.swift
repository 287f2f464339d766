import Foundation
import TestSupport
import XCTest

/// rtl/approxrtl_skid_buffer.v: no beat lost, duplicated or reordered under random gaps and back-pressure, and one beat
/// per cycle at full rate, under both simulators.
final class SkidBufferBenchTests: XCTestCase {
    func testPassesEveryBeatInOrderAtFullRateUnderBothSimulators() throws {
        let directory = try makeTemporaryDirectory("skid")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sources = [
            repository.appendingPathComponent("testbench/tb_skid_buffer.sv").path,
            repository.appendingPathComponent("rtl/approxrtl_skid_buffer.v").path,
        ]
        for simulator in Simulator.allCases {
            let run = try simulator.run(
                top: "tb_skid_buffer", sources: sources, defines: ["COUNT": "2000"], in: directory)
            XCTAssertEqual(run.status, 0, "\(simulator): \(run.output)")
            XCTAssertTrue(run.output.contains("4000 passed, 0 failed"), "\(simulator): \(run.output)")
        }
    }
}
