import Foundation
import TestSupport
import XCTest

/// rtl/approxrtl_multiplier.v: the product modulo 2^PWidth, as `*` and as rows of adders (APPROXRTL_LUT_MULTIPLIERS),
/// under both simulators: every operand pair at the MAC array's 8 x 8 (the bench computes each product itself), the
/// reuse pool's 23 x 16 kept at 24 bits, a product wider than both operands, an A narrower than B (the rows are
/// A's), a narrower operand wider than the kept bits (rows beyond them add nothing) and a one-bit B (a single,
/// negative row).
final class MultiplierBenchTests: XCTestCase {
    func testProductsExactUnderBothSimulators() throws {
        let sources = [
            "testbench/tb_multiplier.sv", "rtl/approxrtl_multiplier.v", "rtl/approxrtl_row_sum.v",
            "rtl/approxrtl_resize.v",
        ]
        .map { repository.appendingPathComponent($0).path }
        let shapes = [
            (8, 8, 16, 65_536), (23, 16, 24, 2_000), (9, 16, 30, 2_000), (8, 12, 10, 2_000), (12, 10, 8, 2_000),
            (5, 1, 6, 64),
        ]
        for (a, b, p, count) in shapes {
            for rows in [false, true] {
                let directory = try makeTemporaryDirectory("multiplier")
                defer { try? FileManager.default.removeItem(at: directory) }
                var defines = ["A_WIDTH": "\(a)", "B_WIDTH": "\(b)", "P_WIDTH": "\(p)", "VECTORS": "\(count)"]
                if rows { defines["APPROXRTL_LUT_MULTIPLIERS"] = "1" }
                for simulator in Simulator.allCases {
                    let label = "\(simulator) \(a) x \(b) -> \(p)\(rows ? " (rows)" : "")"
                    let run = try simulator.run(top: "tb_multiplier", sources: sources, defines: defines, in: directory)
                    XCTAssertEqual(run.status, 0, "\(label): \(run.output)")
                    XCTAssertTrue(run.output.contains("\(count) passed, 0 failed"), "\(label): \(run.output)")
                }
            }
        }
    }
}
