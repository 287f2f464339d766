import Foundation
import TestSupport
import XCTest

/// `approxrtl-bench` (`make bench`'s Swift half) refuses bad arguments and missing data with a message, not a trap.
final class BenchCLITests: XCTestCase {
    func runBench(_ arguments: [String]) throws -> (status: Int32, reason: Process.TerminationReason, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("approxrtl-bench")
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        (process.standardOutput, process.standardError) = (out, err)
        try process.run()
        _ = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason, String(decoding: stderr, as: UTF8.self))
    }

    func testMissingDataAndBadArgumentsExitWithAMessage() throws {
        let missing = try runBench(["/nonexistent-approxrtl-data"])
        XCTAssertEqual(missing.reason, .exit)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("/nonexistent-approxrtl-data"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("usage: approxrtl-bench"), missing.stderr)
        let oneModel = try runBench(["/nonexistent-approxrtl-data", "lenet5.q.json"])
        XCTAssertEqual(oneModel.reason, .exit)
        XCTAssertEqual(oneModel.status, 2)
        XCTAssertTrue(oneModel.stderr.contains("usage: approxrtl-bench"), oneModel.stderr)
    }
}
