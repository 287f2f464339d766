import Foundation
import GoldenModel
import TestSupport
import XCTest

/// rtl/approxrtl_rom.v returns the words of its $readmemh file (two's complement codes as TestVectors writes them) at any
/// address sequence, under both simulators.
final class RomBenchTests: XCTestCase {
    func testReadsBackTheInitialisationFileUnderBothSimulators() throws {
        let directory = try makeTemporaryDirectory("rom")
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = TestRandom(seed: 31)
        let (width, depth, reads) = (12, 100, 300)
        let words = (0..<depth).map { _ in Int(random.next() * 2047) }  // signed 12-bit codes
        let addresses = (0..<reads).map { _ in Int((random.next() + 1) / 2 * Float(depth - 1)) }
        try TestVectors.hex(words, bits: width).write(to: directory.appendingPathComponent("rom.hex"))
        try TestVectors.hex(addresses, bits: 7).write(to: directory.appendingPathComponent("addr.hex"))
        try TestVectors.hex(addresses.map { words[$0] }, bits: width).write(
            to: directory.appendingPathComponent("expected.hex"))
        let sources = ["testbench/tb_rom.sv", "rtl/approxrtl_rom.v"].map { repository.appendingPathComponent($0).path }
        for simulator in Simulator.allCases {
            let run = try simulator.run(
                top: "tb_rom", sources: sources,
                defines: ["WIDTH": "\(width)", "DEPTH": "\(depth)", "READS": "\(reads)"], in: directory)
            XCTAssertEqual(run.status, 0, "\(simulator): \(run.output)")
            XCTAssertTrue(run.output.contains("\(reads) passed, 0 failed"), "\(simulator): \(run.output)")
        }
    }
}
