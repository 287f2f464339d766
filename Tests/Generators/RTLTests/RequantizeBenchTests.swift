import Foundation
import GoldenModel
import Quantization
import TestSupport
import XCTest

/// rtl/approxrtl_requantize.v against the golden model's FixedPoint.requantize, under both simulators.
final class RequantizeBenchTests: XCTestCase {
    /// Random and edge-case vectors for one configuration, with the golden model's results.
    static func writeVectors(
        accWidth: Int, outWidth: Int, shifts: ClosedRange<Int> = -16...(32 + 16), count: Int, seed: UInt64,
        to directory: URL
    ) throws -> [Int] {
        var random = TestRandom(seed: seed)
        let range = FixedPoint.range(bits: accWidth)
        var acc: [Int] = [range.lowerBound, range.upperBound, 0, -1, 1]
        var shift = [0, 0, 3, 1, 1].map { min(max($0, shifts.lowerBound), shifts.upperBound) }
        while acc.count < count {
            // Magnitudes spread over every width, so rounding, ReLU and both saturations all happen.
            let bits = 1 + Int((random.next() + 1) / 2 * Float(accWidth - 1))
            let magnitude = Int((random.next() + 1) / 2 * Float(1 << min(bits, 24))) << max(0, bits - 24)
            acc.append(min(max(random.next() < 0 ? -magnitude : magnitude, range.lowerBound), range.upperBound))
            let span = Float(min(shifts.upperBound, accWidth) - shifts.lowerBound)
            shift.append(shifts.lowerBound + Int(((random.next() + 1) / 2 * span).rounded()))
        }
        let relu = acc.indices.map { $0 % 3 == 0 ? 1 : 0 }
        let expected = acc.indices.map {
            FixedPoint.requantize(acc[$0], shift: shift[$0], relu: relu[$0] == 1, bits: outWidth)
        }
        for (name, values, bits) in [
            ("acc", acc, accWidth), ("shift", shift, 8), ("relu", relu, 4), ("expected", expected, outWidth),
        ] {
            try TestVectors.hex(values, bits: bits).write(to: directory.appendingPathComponent("\(name).hex"))
        }
        return expected
    }

    func testMatchesTheGoldenModelUnderBothSimulators() throws {
        let sources = [
            repository.appendingPathComponent("testbench/tb_requantize.sv").path,
            repository.appendingPathComponent("rtl/approxrtl_requantize.v").path,
            repository.appendingPathComponent("rtl/approxrtl_resize.v").path,
        ]
        // Any shift, and the ranges of a layer unit's right shifts (the shifter covers only those).
        for (accWidth, outWidth, shifts) in [(32, 8, -16...48), (20, 16, -16...48), (28, 8, 10...11), (24, 8, 1...5)] {
            let directory = try makeTemporaryDirectory("requantize")
            defer { try? FileManager.default.removeItem(at: directory) }
            let count = 3000
            _ = try Self.writeVectors(
                accWidth: accWidth, outWidth: outWidth, shifts: shifts, count: count, seed: UInt64(accWidth),
                to: directory)
            for simulator in Simulator.allCases {
                let run = try simulator.run(
                    top: "tb_requantize", sources: sources,
                    defines: [
                        "ACC_WIDTH": "\(accWidth)", "OUT_WIDTH": "\(outWidth)", "COUNT": "\(count)",
                        "MIN_SHIFT": "\(shifts.lowerBound)", "MAX_SHIFT": "\(shifts.upperBound)",
                    ],
                    in: directory)
                XCTAssertEqual(run.status, 0, "\(simulator) \(accWidth)/\(outWidth): \(run.output)")
                XCTAssertTrue(run.output.contains("\(count) passed, 0 failed"), "\(simulator): \(run.output)")
            }
        }
    }

    /// The bench fails loudly: one corrupted expected value gives '1 failed' and a non-zero exit.
    func testACorruptedExpectedValueFailsTheBench() throws {
        let directory = try makeTemporaryDirectory("requantize-bad")
        defer { try? FileManager.default.removeItem(at: directory) }
        var expected = try Self.writeVectors(accWidth: 32, outWidth: 8, count: 200, seed: 9, to: directory)
        expected[57] = expected[57] == 127 ? 126 : expected[57] + 1
        try TestVectors.hex(expected, bits: 8).write(to: directory.appendingPathComponent("expected.hex"))
        let sources = [
            repository.appendingPathComponent("testbench/tb_requantize.sv").path,
            repository.appendingPathComponent("rtl/approxrtl_requantize.v").path,
            repository.appendingPathComponent("rtl/approxrtl_resize.v").path,
        ]
        for simulator in Simulator.allCases {
            let run = try simulator.run(
                top: "tb_requantize", sources: sources, defines: ["COUNT": "200"], in: directory)
            XCTAssertNotEqual(run.status, 0, "\(simulator): \(run.output)")
            XCTAssertTrue(
                run.output.contains("199 passed, 1 failed") && run.output.contains("FAIL vector 57"),
                "\(simulator): \(run.output)")
        }
    }
}
