import Foundation
import FuzzEntry
import TestSupport
import XCTest

/// Every input the fuzzers or the hostile-input check ever crashed a reader with (Fuzz/crashes/<target>/) goes
/// through the same entry as the fuzzer: a trap ends this test process, so a reappearing crash fails here.
final class FuzzEntryTests: XCTestCase {
    func testEveryRecordedCrashIsNowRefusedWithoutATrap() throws {
        let root = repositoryRoot().appendingPathComponent("Fuzz/crashes")
        var count = 0
        for target in FuzzEntry.allCases {
            let folder = root.appendingPathComponent(target.rawValue)
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            XCTAssertFalse(names.isEmpty, "no recorded crash for \(target.rawValue)")
            for name in names {
                target.run(try Data(contentsOf: folder.appendingPathComponent(name)))
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(count, 7)
    }
}
