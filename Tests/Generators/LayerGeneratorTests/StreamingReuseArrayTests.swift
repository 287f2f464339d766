import GoldenModel
import XCTest

@testable import LayerGenerator

/// The streaming reuse array's ROM contents and schedule, on hand-computed cases (the RTL benches check the rest).
final class StreamingReuseArrayTests: XCTestCase {
    /// -1234 in 16 bits is 0xFB2E: four 4-bit digits F, B, 2, E with the top one signed, and in three 6-bit digits
    /// of the 18-bit sign extension 0x3FB2E: 63 (signed: -1), 44, 46.
    func testCoefficientDigitsAreHornerDigits() {
        XCTAssertEqual(StreamingReuseArray.digitWords(-1234, width: 16, digits: 4), [-1, 11, 2, 14])
        XCTAssertEqual(StreamingReuseArray.digitWords(-1234, width: 16, digits: 3), [-1, 44, 46])
        XCTAssertEqual(StreamingReuseArray.digitWords(1234, width: 16, digits: 2), [4, 210])
        XCTAssertEqual(StreamingReuseArray.digitWords(-1234, width: 16, digits: 1), [-1234])
        XCTAssertEqual(StreamingReuseArray.digitChoices(16), [1, 2, 3, 4, 6, 8, 16])
    }

    /// Parts of 5, 1 and 1 members with 4-cycle walks: captures at words + 3, the second bank takes the second
    /// part; the third part's end (cycle 9) would overwrite the first part's bank while that walk still reads it
    /// (until cycle 11), so 2 hold words go before its member; its walk starts when the second ends (15) and ends at
    /// 19, and the pipeline drains 6 cycles later.
    func testHoldWordsKeepABankUntilItsWalkIsDone() {
        let part = { (inputs: [Int]) in
            ReusePlan.Part(
                coefficients: [1, 1], inputs: inputs, offsets: Array(inputs.indices), contiguous: true)
        }
        let parts = [[part([0, 1, 2, 3, 4]), part([5])], [part([6])]]
        let (words, holds, cycles) = StreamingReuseArray.memberWords(parts, tapBits: 3, walk: 4)
        let (end, channelEnd, hold) = (8, 16, 32)
        XCTAssertEqual(words, [4, 3, 2, 1, 0 | end, 5 | end | channelEnd, hold, hold, 6 | end | channelEnd])
        XCTAssertEqual(holds, 2)
        XCTAssertEqual(cycles, 25)
    }
}
