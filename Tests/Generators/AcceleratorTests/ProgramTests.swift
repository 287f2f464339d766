import XCTest
@testable import Accelerator

final class ProgramTests: XCTestCase {
    func testWideWordPacksLanesFromBitZero() {
        var word = WideWord(bits: 24)
        word.set(-1, at: 0, bits: 4)  // lane 0: 0xf
        word.set(5, at: 4, bits: 4)  // lane 1: 0x5
        word.set(-2, at: 8, bits: 8)  // lane 2: 0xfe
        word.set(0x1ff, at: 16, bits: 8)  // truncated to 0xff
        XCTAssertEqual(word.hex, "fffe5f")
        var wide = WideWord(bits: 130)
        wide.set(1, at: 128, bits: 2)
        wide.set(0xf, at: 62, bits: 4)  // straddles the first two 64-bit limbs
        XCTAssertEqual(wide.hex, "1" + "0000000000000003" + "c000000000000000")
    }

    func testTileDescriptorFieldsLandWhereTheDocumentSays() {
        // docs/accelerator.md: kernel height, width, first tap y, x (4 bits each), steps (12), kind (2) from bit 0,
        // 2 reserved bits, then the first tap's word offset (24 bits from bit 32).
        XCTAssertEqual(
            TileDescriptor(.scan, steps: 0x123).hex, "00000000" + "31230011", "a stepped tile keeps a 1 x 1 window")
        var gather = TileDescriptor(.gather, kernelHeight: 5, kernelWidth: 3, tapY: 1, tapX: 2)
        gather.tapOffset = 0xabcdef
        XCTAssertEqual(gather.hex, "00abcdef" + "20002135")
        XCTAssertEqual(TileDescriptor(.feature, steps: 4096).overflowingField?.name, "steps")
        gather.tapOffset = 1 << 24
        XCTAssertEqual(gather.overflowingField?.name, "tap offset")
    }
}
