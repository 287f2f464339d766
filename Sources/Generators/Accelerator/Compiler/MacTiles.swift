import Quantization

extension NetworkCompiler {
    /// The tile descriptors of a weighted layer on the MAC array: computed tiles over the largest window of their
    /// channels (`sizes`: M4's kernel sizes with reduced-kernel tiles, else the full kernel), then feature tiles of
    /// `featureSteps` steps (one per source), after the computed tiles of the same pixel.
    static func macTileDescriptors(
        order: [Int?], computedTiles: Int, featureSteps: Int, sizes: [Int]?,
        kernel: (height: Int, width: Int), patches: ImageLoader?, strideHeight: Int, strip: StripLayout?, tn: Int
    ) -> [TileDescriptor] {
        let (kh, kw) = kernel
        return (0..<(order.count / tn)).map { t in
            if t >= computedTiles { return TileDescriptor(.feature, steps: featureSteps) }
            let size = sizes.map { sizes in order[(t * tn)..<((t + 1) * tn)].compactMap { $0.map { sizes[$0] } }.max()!
            }
            let (gh, gw) = (min(size ?? kh, kh), min(size ?? kw, kw))
            // On patches a step covers `rows x columns` taps of the window (with pixel lanes, of the union of the
            // windows of the pixels one below the other).
            let (rows, columns) = (patches?.rows ?? 1, patches?.columns ?? 1)
            let union = gh + ((patches?.pixelRows ?? 1) - 1) * strideHeight
            var descriptor = TileDescriptor(
                kernelHeight: (union + rows - 1) / rows, kernelWidth: (gw + columns - 1) / columns,
                tapY: (kh - gh) / 2, tapX: (kw - gw) / 2)
            if let strip {
                // A strip map: a word's pixels per step; the first step reads the word that ends `pixels - 1 -
                // leading` columns right of the window's first tap.
                descriptor.kernelWidth = strip.columnSteps(gw)
                descriptor.columnShift = strip.pixels - 1 - strip.leading(gw)
            }
            return descriptor
        }
    }

    /// The SB words of a layer on the MAC array, per output pixel in the sequencer's order: per output tile, per
    /// tap of its window, per input tile, one word of `tn x tn` weights; a feature tile's words, one per step,
    /// give each lane a source and a coefficient. With `patches` the layer reads the loader's patches (one input
    /// channel; lane `r * columns + c` holds tap `(ky + r, kx + c)` of the step's patch at `(ky, kx)`).
    static func macWords(
        descriptors: [TileDescriptor], order: [Int?], weights: [Int], features: [ApproximatedFeatures.Feature],
        source: Map, kernel: (height: Int, width: Int), patches: ImageLoader?, strideHeight: Int, tn: Int
    ) -> [CompiledNetwork.SBWord] {
        let (kh, kw) = kernel, taps = kernel.height * kernel.width
        let sourceChannels = source.order.compactMap { $0 }.count
        let physical = Dictionary(uniqueKeysWithValues: order.enumerated().compactMap { p, m in m.map { ($0, p) } })
        let byChannel = Dictionary(uniqueKeysWithValues: features.map { ($0.channel, $0) })
        var words: [CompiledNetwork.SBWord] = []
        for (to, d) in descriptors.enumerated() {
            if d.kind == .feature {
                for step in 0..<d.steps {
                    words.append(
                        .features(
                            (0..<tn).map { o in
                                guard let j = order[to * tn + o], let f = byChannel[j], step < f.sources.count else {
                                    return (0, 0)
                                }
                                return (physical[f.sources[step]]!, f.coefficients[step])
                            }))
                }
                continue
            }
            for ky in 0..<d.kernelHeight {
                for kx in 0..<d.kernelWidth {
                    let tap = (ky + d.tapY) * kw + kx + d.tapX
                    for ti in 0..<source.tiles {
                        var word = [Int](repeating: 0, count: tn * tn)
                        for o in 0..<tn {
                            // Pixel lanes: lane o is channel o % group of the pixel o / group rows further down.
                            let group = tn / (patches?.pixelRows ?? 1), below = (o / group) * strideHeight
                            guard let m = order[to * tn + o % group] else { continue }
                            if let patches {
                                for r in 0..<patches.rows {
                                    for c in 0..<patches.columns {
                                        let y = d.tapY + ky * patches.rows + r - below
                                        let x = d.tapX + kx * patches.columns + c
                                        guard y >= d.tapY, y < kh, x < kw else { continue }
                                        word[o * tn + r * patches.columns + c] = weights[m * taps + y * kw + x]
                                    }
                                }
                                continue
                            }
                            if let strip = source.strip {
                                // Lane q * lanes + i of group ti: channel order[ti * lanes + i] of the pixel
                                // `kx * pixels + q - leading` columns right of the window's first tap.
                                let leading = strip.pixels - 1 - d.columnShift
                                for q in 0..<strip.pixels {
                                    let x = d.tapX + kx * strip.pixels + q - leading
                                    guard x >= d.tapX, x < kw else { continue }
                                    for i in 0..<strip.lanes where ti * strip.lanes + i < source.order.count {
                                        guard let c = source.order[ti * strip.lanes + i] else { continue }
                                        word[o * tn + q * strip.lanes + i] =
                                            weights[(m * sourceChannels + c) * taps + (ky + d.tapY) * kw + x]
                                    }
                                }
                                continue
                            }
                            for i in 0..<tn {
                                guard ti * tn + i < source.order.count, let c = source.order[ti * tn + i] else {
                                    continue
                                }
                                // Conv: [M, C, kh, kw]; dense after a flatten: [M, C*H*W] in the same order.
                                word[o * tn + i] = weights[(m * sourceChannels + c) * taps + tap]
                            }
                        }
                        words.append(.weights(word))
                    }
                }
            }
        }
        return words
    }
}
