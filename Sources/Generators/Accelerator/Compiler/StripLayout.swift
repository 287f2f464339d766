/// How a strip map lies in a buffer (docs/accelerator.md, "Strips"): word `(y * width + x) * groups + g` holds
/// the `pixels` pixels `x - pixels + 1 ... x` of row y, pixel `x - pixels + 1 + q` in lanes `q * lanes ..<
/// (q + 1) * lanes`, channel `order[g * lanes + i]` of the writer's order in lane `q * lanes + i` (zeros left of
/// the row and in the lanes above `pixels * lanes`). A convolution reading it covers `pixels` kernel columns of
/// `lanes` channels in one step, so a map of few channels still fills the input lanes. A writer whose channels
/// take several output tiles writes each tile's `tileGroups` groups when that tile's pooled pixel is done
/// (`lanes` divides Tn, so no group straddles two tiles).
public struct StripLayout: Equatable, Sendable {
    /// Pixels per word, channels per pixel, words per pixel (channel groups).
    public var pixels: Int, lanes: Int, groups: Int
    /// Groups per writer tile: all of them when the writer's channels lie in one word, else Tn / lanes (the last
    /// tile may hold fewer).
    public var tileGroups: Int

    public init(pixels: Int, lanes: Int, groups: Int, tileGroups: Int? = nil) {
        self.pixels = pixels; self.lanes = lanes; self.groups = groups; self.tileGroups = tileGroups ?? groups
    }

    /// Writer tiles that hold groups, and the groups of the last one.
    public var tiles: Int { (groups + tileGroups - 1) / tileGroups }
    public var lastTileGroups: Int { groups - (tiles - 1) * tileGroups }

    /// Kernel-column steps over a window `width` columns wide.
    public func columnSteps(_ width: Int) -> Int { (width + pixels - 1) / pixels }
    /// Pixels left of the window in a row's first step (their weights are 0): the steps end on the window's last
    /// column, so a step never reads right of the window, where the map may end.
    public func leading(_ width: Int) -> Int { pixels * columnSteps(width) - width }
    /// Steps per output pixel of a window `height x width`.
    public func steps(height: Int, width: Int) -> Int { height * columnSteps(width) * groups }

    /// The strip layout with the fewest steps for a reader with a `kernel` window over a map whose channels lie
    /// in the writer's lanes `0 ..< span` (`ceil(span / tn)` words of `tn` lanes per pixel without strips), or nil
    /// when no strip takes fewer steps than those words. A writer tile's pooled pixel becomes `tileGroups` writes,
    /// so at most `maxGroups` (the writer's cycles between two tiles' pooled pixels, which the writes must not
    /// outrun). Ties go to fewer groups, then fewer pixels.
    static func best(span: Int, kernel: (height: Int, width: Int), tn: Int, maxGroups: Int) -> StripLayout? {
        let plain = kernel.height * kernel.width * ((span + tn - 1) / tn)
        let candidates = (2...max(2, tn)).compactMap { pixels -> StripLayout? in
            let lanes = tn / pixels
            guard lanes >= 1 else { return nil }
            let groups = (span + lanes - 1) / lanes
            let tileGroups = span <= tn ? groups : tn / lanes
            guard groups >= 1, tileGroups <= maxGroups, span <= tn ? groups * lanes <= tn : tn % lanes == 0 else {
                return nil
            }
            return StripLayout(pixels: pixels, lanes: lanes, groups: groups, tileGroups: tileGroups)
        }
        let cost = { (s: StripLayout) in (s.steps(height: kernel.height, width: kernel.width), s.groups, s.pixels) }
        guard let best = candidates.min(by: { cost($0) < cost($1) }),
            best.steps(height: kernel.height, width: kernel.width) < plain
        else { return nil }
        return best
    }

    /// The words of one pixel `p` (row-major over a map `width` wide) from the writer's lanes of every pixel
    /// (`pooled[p]`: its tiles' lanes one after the other, in the writer's order).
    func words(pixel p: Int, width: Int, pooled: [[Int]], tn: Int) -> [[Int]] {
        let x = p % width
        return (0..<groups).map { g in
            var word = [Int](repeating: 0, count: tn)
            for q in 0..<pixels {
                let column = x - pixels + 1 + q
                guard column >= 0 else { continue }
                for i in 0..<lanes where g * lanes + i < pooled[p].count {
                    word[q * lanes + i] = pooled[p - x + column][g * lanes + i]
                }
            }
            return word
        }
    }
}
