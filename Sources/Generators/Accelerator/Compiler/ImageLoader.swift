import Quantization

/// How the loader writes the image into the buffer (docs/accelerator.md, "Mapping: the first layer"): word
/// `(sy, sx)` holds the `rows x columns` patch whose top-left pixel is image pixel `(sy - padTop, sx - padLeft)`,
/// pixel `(r, c)` of the patch in lane `r * columns + c` (zeros outside the image). A patch of one pixel is the
/// plain map of DianNao (channels on the lanes); one row of the kernel's width is a strip.
///
/// With more than one row the loader also writes the patches that start in the top padding and below the image,
/// so the first layer reads no padding (the sequencer's padding check steps by one row per step, a patch by
/// `rows`); with one row the sequencer zeroes padding rows as for any map.
public struct ImageLoader: Sendable, Equatable {
    /// The patch: image rows and columns per word.
    public var rows: Int, columns: Int
    /// Patches stored above and left of the image (their first row or column is padding).
    public var padTop: Int, padLeft: Int
    /// Patches stored per row (the buffer's row of words) and rows of patches.
    public var rowWords: Int, storedRows: Int
    /// Rows and columns the loader steps through per image: the image's pixels, then zeros that complete the
    /// patches reaching below or right of it (one cycle each, `tready` low).
    public var loadRows: Int, loadColumns: Int

    /// Words the image takes in the buffer.
    public var words: Int { rowWords * storedRows }
    /// Cycles to take an image at one pixel per cycle.
    public var cycles: Int { loadRows * loadColumns }

    /// One pixel per word, the image as it arrives.
    public static func plain(height: Int, width: Int) -> ImageLoader {
        ImageLoader(
            rows: 1, columns: 1, padTop: 0, padLeft: 0, rowWords: width, storedRows: height, loadRows: height,
            loadColumns: width)
    }

    /// Steps per output tile over a window of `height x width` taps.
    public func steps(height: Int, width: Int) -> Int {
        ((height + rows - 1) / rows) * ((width + columns - 1) / columns)
    }

    /// The patch that fits `tn` lanes and covers `layer`'s kernel (a convolution on an `height x width` image) in the
    /// fewest steps (ties: the fewest lanes, then the fewest rows, which load sooner); nil when no patch beats one
    /// pixel per word.
    static func best(for layer: QuantizedModel.Layer, height: Int, width: Int, tn: Int) throws -> ImageLoader? {
        let window = try layer.window()
        let (kh, kw) = (window.kernelHeight, window.kernelWidth)
        var best: (steps: Int, lanes: Int, rows: Int, columns: Int)?
        for rows in 1...min(kh, tn) {
            // More than one row: the top padding must fit in the patches that start above the image.
            if rows > 1 && window.padTop > rows - 1 { continue }
            for columns in 1...min(kw, tn / rows) where window.padLeft <= columns - 1 {
                let key = (
                    ((kh + rows - 1) / rows) * ((kw + columns - 1) / columns), rows * columns, rows, columns
                )
                if best.map({ key < $0 }) ?? true { best = key }
            }
        }
        guard let best, best.lanes > 1 else { return nil }
        let (oh, ow) = (layer.shape[1], layer.shape[2])
        // The last patch start any tile reads: the last output pixel's window, over the centred windows of every
        // size M4 may give a tile.
        func reach(_ kernel: Int, _ size: Int) -> Int {
            (1...kernel).map { g in (kernel - g) / 2 + ((g + size - 1) / size - 1) * size }.max()!
        }
        let xHigh = max(width - 1, (ow - 1) * window.strideWidth - window.padLeft + reach(kw, best.columns))
        var loader = ImageLoader(
            rows: best.rows, columns: best.columns, padTop: 0, padLeft: window.padLeft,
            rowWords: xHigh + window.padLeft + 1, storedRows: height, loadRows: height,
            loadColumns: xHigh + best.columns)
        if best.rows > 1 {
            let yHigh = (oh - 1) * window.strideHeight - window.padTop + reach(kh, best.rows)
            loader.padTop = window.padTop
            loader.storedRows = yHigh + window.padTop + 1
            loader.loadRows = max(height, yHigh + best.rows)
        }
        return loader
    }
}
