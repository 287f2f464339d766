import Quantization

/// How the loader writes the image into the buffer (docs/accelerator.md, "Mapping: the first layer"): word
/// `(sy, sx)` holds the `rows x columns` patch whose top-left pixel is image pixel `(sy - padTop, sx - padLeft)`,
/// pixel `(r, c)` of the patch in lane `r * columns + c` (zeros outside the image). A patch of one pixel is the
/// plain map of DianNao (channels on the lanes); one row of the kernel's width is a strip.
///
/// With more than one row the loader also writes the patches that start in the top padding and below the image,
/// so the first layer reads no padding (the sequencer's padding check steps by one row per step, a patch by
/// `rows`); with one row the sequencer zeroes padding rows as for any map. Left padding is always stored.
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
    /// Output pixels per step of the first layer, one below the other (pixel lanes: the output lanes carry
    /// `pixelRows` groups of `tn / pixelRows` channels; 1: output channels only).
    public var pixelRows = 1
    /// Channels per pixel (a beat each; more than one only with one pixel per word: lanes 0 ..< channels).
    public var channels = 1

    /// Words the image takes in the buffer.
    public var words: Int { rowWords * storedRows }
    /// Cycles to take an image at one beat per cycle.
    public var cycles: Int { loadRows * loadColumns * channels }

    /// One pixel per word, the image as it arrives.
    public static func plain(height: Int, width: Int, channels: Int = 1) -> ImageLoader {
        ImageLoader(
            rows: 1, columns: 1, padTop: 0, padLeft: 0, rowWords: width, storedRows: height, loadRows: height,
            loadColumns: width, channels: channels)
    }

    /// Output pixels per step for the first layer `first` when `next` is a max pool that fuses into it: 2 (two
    /// rows of the pool's window) when two groups of its output channels fit the lanes; 1 when they do not, or
    /// the layer runs on the reuse lanes (`scanned`) or has M3 or M4 channels, whose lanes are their own.
    static func pixelRows(
        first: QuantizedModel.Layer, next: QuantizedModel.Layer?, config: AcceleratorConfig, scanned: Bool
    ) -> Int {
        guard config.fusePooling, let next, next.kind == .maxPool, next.input == first.name, !scanned,
            first.approximatedFeatures == nil, first.kernelSizes == nil,
            let pool = try? next.window(), pool.kernelHeight == pool.strideHeight, pool.kernelWidth == pool.strideWidth,
            let channels = first.weightShape?.first
        else { return 1 }
        // Two rows at most: the core's combiner folds two groups of lanes.
        return 2 * channels <= config.tn && pool.kernelHeight % 2 == 0 ? 2 : 1
    }

    /// A dense layer that reads the one-channel image through flattens only, as the convolution whose kernel is the
    /// whole image (what its weights are), or nil.
    static func denseWindow(_ model: QuantizedModel) -> QuantizedModel.Layer? {
        var reads = model.input.name
        for layer in model.layers {
            if (layer.kind == .flatten || layer.kind == .reshape) && layer.input == reads {
                reads = layer.name
                continue
            }
            guard layer.kind == .dense, layer.input == reads, reads != model.input.name, model.input.shape[0] == 1
            else { return nil }
            var window = layer
            (window.kernel, window.stride, window.pads) = (Array(model.input.shape[1...2]), [1, 1], [0, 0, 0, 0])
            window.shape = [layer.shape[0], 1, 1]
            return window
        }
        return nil
    }

    /// Steps per output tile over a window of `height x width` taps.
    public func steps(height: Int, width: Int) -> Int {
        ((height + rows - 1) / rows) * ((width + columns - 1) / columns)
    }

    /// The patch that fits `tn` lanes and covers `layer`'s kernel (a convolution on an `height x width` image) in the
    /// fewest steps (ties: the fewest lanes, then the fewest rows, which load sooner); nil when no patch beats one
    /// pixel per word. With `pixelRows` output pixels per step the patches cover their windows' union.
    /// `maxSteps`: the most steps a patch may take down or across the kernel (the instruction's kernel fields).
    static func best(
        for layer: QuantizedModel.Layer, height: Int, width: Int, tn: Int, pixelRows: Int = 1, maxSteps: Int = .max
    ) throws -> ImageLoader? {
        let window = try layer.window()
        let (kh, kw) = (window.kernelHeight + (pixelRows - 1) * window.strideHeight, window.kernelWidth)
        var best: (steps: Int, lanes: Int, rows: Int, columns: Int)?
        for rows in 1...min(kh, tn) {
            for columns in 1...min(kw, tn / rows)
            where (kh + rows - 1) / rows <= maxSteps && (kw + columns - 1) / columns <= maxSteps {
                let key = (
                    ((kh + rows - 1) / rows) * ((kw + columns - 1) / columns), rows * columns, rows, columns
                )
                if best.map({ key < $0 }) ?? true { best = key }
            }
        }
        guard let best, best.lanes > 1 || pixelRows > 1 else { return nil }
        let (oh, ow) = (layer.shape[1], layer.shape[2])
        // The last patch start any tile reads: the last output pixel's window, over the centred windows of every
        // size M4 may give a tile.
        func reach(_ kernel: Int, _ size: Int) -> Int {
            (1...kernel).map { g in (kernel - g) / 2 + ((g + size - 1) / size - 1) * size }.max()!
        }
        let xHigh = max(width - 1, (ow - 1) * window.strideWidth - window.padLeft + reach(kw, best.columns))
        // Patches that start further left (above) than a patch's width (height) reaches into the padding hold no
        // pixel: the loader steps through that many zero columns (rows) first, so that they are written too.
        let leadColumns = max(0, window.padLeft - (best.columns - 1))
        var loader = ImageLoader(
            rows: best.rows, columns: best.columns, padTop: 0, padLeft: window.padLeft,
            rowWords: xHigh + window.padLeft + 1, storedRows: height, loadRows: height,
            loadColumns: leadColumns + xHigh + best.columns, pixelRows: pixelRows)
        if best.rows > 1 {
            let yHigh = (oh - 1) * window.strideHeight - window.padTop + reach(kh, best.rows)
            loader.padTop = window.padTop
            loader.storedRows = yHigh + window.padTop + 1
            loader.loadRows = max(0, window.padTop - (best.rows - 1)) + max(height, yHigh + best.rows)
        }
        return loader
    }
}
