import Foundation
import TestSupport
import XCTest

/// rtl/approxrtl_adder_tree.v: exact sums at every fan-in shape (powers of two, odd counts whose halves need balancing,
/// a 5x5 kernel's 25 and a LeNet dense row's 84) under both simulators.
final class AdderTreeBenchTests: XCTestCase {
    func testSumsExactlyUnderBothSimulators() throws {
        let sources = [
            "testbench/tb_adder_tree.sv", "rtl/approxrtl_adder_tree.v", "rtl/approxrtl_adder_tree_core.v",
            "rtl/approxrtl_delay_line.v",
        ]
        .map { repository.appendingPathComponent($0).path }
        for (count, width) in [(2, 8), (3, 8), (8, 4), (25, 9), (84, 16)] {
            let directory = try makeTemporaryDirectory("adder-tree")
            defer { try? FileManager.default.removeItem(at: directory) }
            for simulator in Simulator.allCases {
                let run = try simulator.run(
                    top: "tb_adder_tree", sources: sources,
                    defines: ["COUNT": "\(count)", "IN_WIDTH": "\(width)", "VECTORS": "500"], in: directory)
                XCTAssertEqual(run.status, 0, "\(simulator) count \(count): \(run.output)")
                XCTAssertTrue(run.output.contains("500 passed, 0 failed"), "\(simulator) count \(count): \(run.output)")
            }
        }
    }
}
