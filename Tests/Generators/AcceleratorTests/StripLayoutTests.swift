@testable import Accelerator
import XCTest

/// The strip layouts the compiler chooses and the words they hold, worked out by hand.
final class StripLayoutTests: XCTestCase {
    func testLeNetSecondConvolutionTakesFivePixelsOfThreeChannels() {
        // 6 channels, 5 x 5, Tn 16: 5 pixels x 3 lanes in 2 groups is 5 x 1 x 2 = 10 steps; 2 pixels x 8 lanes
        // 5 x 3 x 1 = 15; 3 pixels x 5 lanes 5 x 2 x 2 = 20; one pixel per word 25.
        let best = StripLayout.best(span: 6, kernel: (5, 5), tn: 16, maxGroups: 4)
        XCTAssertEqual(best, StripLayout(pixels: 5, lanes: 3, groups: 2))
        XCTAssertEqual(best?.steps(height: 5, width: 5), 10)
        // A writer with one cycle per pooled pixel cannot write two words per pixel.
        XCTAssertEqual(
            StripLayout.best(span: 6, kernel: (5, 5), tn: 16, maxGroups: 1), StripLayout(pixels: 2, lanes: 8, groups: 1)
        )
        // At Tn 8 every strip takes more steps than 25 (2 x 4 in 2 groups: 30), so the map stays plain.
        XCTAssertNil(StripLayout.best(span: 6, kernel: (5, 5), tn: 8, maxGroups: 4))
    }

    func testTiesGoToFewerGroupsThenFewerPixels() {
        // 3 x 3 over 6 channels at Tn 16: 2 x 8 (one group), 3 x 5 and 5 x 3 (two groups) all take 6 steps.
        XCTAssertEqual(
            StripLayout.best(span: 6, kernel: (3, 3), tn: 16, maxGroups: 4), StripLayout(pixels: 2, lanes: 8, groups: 1)
        )
        // 5 channels fit 3 x 5 in one group: 3 steps (4 x 4 would need two groups).
        XCTAssertEqual(
            StripLayout.best(span: 5, kernel: (3, 3), tn: 16, maxGroups: 4), StripLayout(pixels: 3, lanes: 5, groups: 1)
        )
    }

    func testStepsEndOnTheWindowsLastColumn() {
        let layout = StripLayout(pixels: 5, lanes: 3, groups: 2)
        XCTAssertEqual(layout.columnSteps(3), 1)
        XCTAssertEqual(layout.leading(3), 2, "a 3-wide window in the last 3 of a word's 5 pixels")
        XCTAssertEqual(StripLayout(pixels: 2, lanes: 8, groups: 1).leading(5), 1)
        XCTAssertEqual(StripLayout(pixels: 2, lanes: 8, groups: 1).leading(4), 0)
    }

    func testWordsHoldTheRowsPreviousPixelsByGroup() {
        // Tn 4, 2 pixels of 2 lanes, 2 groups, a row 2 pixels wide: pixel 0 has zeros on its left.
        let layout = StripLayout(pixels: 2, lanes: 2, groups: 2)
        let pooled = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
        XCTAssertEqual(layout.words(pixel: 0, width: 2, pooled: pooled, tn: 4), [[0, 0, 1, 2], [0, 0, 3, 4]])
        XCTAssertEqual(layout.words(pixel: 1, width: 2, pooled: pooled, tn: 4), [[1, 2, 5, 6], [3, 4, 7, 8]])
        // The next row starts again from zeros.
        XCTAssertEqual(layout.words(pixel: 2, width: 2, pooled: pooled, tn: 4), [[0, 0, 9, 10], [0, 0, 11, 12]])
    }

    func testChannelsOverSeveralWriterTilesTakeGroupsPerTile() {
        // LeNet-5's conv2 at Tn 4: 6 channels in 2 tiles, one pixel per word 5 x 5 x 2 = 50 steps; 2 pixels x 2
        // lanes in 3 groups (2 from the first tile, 1 from the second) 5 x 3 x 3 = 45; 3 or 4 pixels of 1 lane
        // 5 x 2 x 6 = 60.
        let best = StripLayout.best(span: 6, kernel: (5, 5), tn: 4, maxGroups: 10)
        XCTAssertEqual(best, StripLayout(pixels: 2, lanes: 2, groups: 3, tileGroups: 2))
        XCTAssertEqual(best?.steps(height: 5, width: 5), 45)
        XCTAssertEqual(best?.tiles, 2)
        XCTAssertEqual(best?.lastTileGroups, 1)
        // A tile's two words need two cycles between the tiles' pooled pixels.
        XCTAssertNil(StripLayout.best(span: 6, kernel: (5, 5), tn: 4, maxGroups: 1))
        // 20 channels at Tn 16 (50 steps plain): 3 x 5 and 5 x 3 would straddle tiles; 2 x 8 in 3 groups takes
        // 5 x 3 x 3 = 45, 4 x 4 in 5 groups 5 x 2 x 5 = 50.
        XCTAssertEqual(
            StripLayout.best(span: 20, kernel: (5, 5), tn: 16, maxGroups: 4),
            StripLayout(pixels: 2, lanes: 8, groups: 3, tileGroups: 2))
    }

    func testWordsOfSeveralTilesFollowTheWritersLanes() {
        // Tn 4, 2 pixels of 2 lanes, 3 groups: a pixel's lanes are its two tiles' (channels 0-3, then 4, 5 and
        // two idle lanes), a row 2 pixels wide.
        let layout = StripLayout(pixels: 2, lanes: 2, groups: 3, tileGroups: 2)
        let pooled = [[1, 2, 3, 4, 5, 6, 0, 0], [7, 8, 9, 10, 11, 12, 0, 0]]
        XCTAssertEqual(
            layout.words(pixel: 1, width: 2, pooled: pooled, tn: 4), [[1, 2, 7, 8], [3, 4, 9, 10], [5, 6, 11, 12]])
        XCTAssertEqual(
            layout.words(pixel: 0, width: 2, pooled: pooled, tn: 4), [[0, 0, 1, 2], [0, 0, 3, 4], [0, 0, 5, 6]])
    }
}
