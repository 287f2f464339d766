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

    /// Parts of 5, 1 and 1 members with 4-cycle walks: the first part ends at word 4 and is captured at cycle 7,
    /// its walk starts at 8 (a cycle after the capture) and ends at 12; the second is captured at 8, as the first
    /// walk copies the capture away, and walks from 12 to 16; the third (the next channel's first) would be
    /// captured at 9, before the second walk has copied the second capture (12), so 3 hold words go before its
    /// member; it walks from 16 (13 would be a cycle after its capture) to 20, and the pipeline drains 6 cycles
    /// later.
    func testHoldWordsKeepACaptureUntilItsWalkHasStarted() {
        let part = { (inputs: [Int]) in
            ReusePlan.Part(
                coefficients: [1, 1], inputs: inputs, offsets: Array(inputs.indices), contiguous: true)
        }
        let parts = [[part([0, 1, 2, 3, 4]), part([5])], [part([6])]]
        let (words, holds, cycles) = StreamingReuseArray.memberWords(parts, tapBits: 3, walk: 4)
        let (end, channelEnd, hold) = (8, 16, 32)
        XCTAssertEqual(words, [4, 3, 2, 1, 0 | end, 5 | end | channelEnd, hold, hold, hold, 6 | end | channelEnd])
        XCTAssertEqual(holds, 3)
        XCTAssertEqual(cycles, 26)
    }
}
