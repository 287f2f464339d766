import Quantization

/// A deliberately plain reading of docs/arithmetic.md, written apart from the golden model: nested loops over
/// output positions, no im2col, no shared helpers from the Quantization module except the model value.
enum SlowReference {
    static func floorShift(_ x: Int, _ s: Int) -> Int {
        // floor(x / 2^s) for any sign, without relying on >>.
        let d = 1 << s
        return x >= 0 ? x / d : -((-x + d - 1) / d)
    }

    /// Section 10: the last breakpoint at or below x picks the segment (scanned from the top), then the line.
    static func activate(_ x: Int, _ table: PiecewiseLinear, top: Int) -> Int {
        var k = table.breakpoints.count
        while k > 0 && x < table.breakpoints[k - 1] { k -= 1 }
        let y = floorShift(table.slopes[k] * x + table.intercepts[k], table.shift)
        return min(max(y, -top - 1), top)
    }

    static func run(_ model: QuantizedModel, pixels: [UInt8]) -> [Int] { runLayers(model, pixels: pixels).last! }

    /// Every layer's output codes, in model order.
    static func runLayers(_ model: QuantizedModel, pixels: [UInt8]) -> [[Int]] {
        // Section 2: a pixel less its channel's zero point.
        let planeSize = model.input.shape[1] * model.input.shape[2]
        let zeroPoints = model.input.zeroPoints ?? [Int](repeating: 0, count: model.input.shape[0])
        var values: [String: [Int]] = [
            model.input.name: pixels.enumerated().map { Int($1) - zeroPoints[$0 / planeSize] }
        ]
        var exponents: [String: Int] = [model.input.name: model.input.exponent]
        var shapes: [String: [Int]] = [model.input.name: model.input.shape]
        let top = (1 << (model.activationBits - 1)) - 1
        for layer in model.layers {
            let x = values[layer.input]!, inShape = shapes[layer.input]!
            var y = [Int](repeating: 0, count: layer.shape.reduce(1, *))
            switch layer.kind {
            case .conv2d, .dense:
                let w = layer.effectiveWeights!, channels = layer.weightShape![0], fan = w.count / channels
                let positions = layer.kind == .dense ? 1 : layer.shape[1] * layer.shape[2]
                // Every accumulator first: M3's channels read their sources' (section 9).
                var accumulators = [Int](repeating: 0, count: channels * positions)
                for c in 0..<channels {
                    for position in 0..<positions {
                        var acc = layer.bias![c]
                        if layer.kind == .dense {
                            for k in 0..<fan { acc += w[c * fan + k] * x[k] }
                        } else {
                            let (oy, ox) = (position / layer.shape[2], position % layer.shape[2])
                            let (kh, kw) = (layer.kernel![0], layer.kernel![1])
                            for ci in 0..<inShape[0] {
                                for ky in 0..<kh {
                                    for kx in 0..<kw {
                                        let iy = oy * layer.stride![0] - layer.pads![0] + ky
                                        let ix = ox * layer.stride![1] - layer.pads![1] + kx
                                        if iy < 0 || iy >= inShape[1] || ix < 0 || ix >= inShape[2] { continue }
                                        acc +=
                                            w[((c * inShape[0] + ci) * kh + ky) * kw + kx]
                                            * x[(ci * inShape[1] + iy) * inShape[2] + ix]
                                    }
                                }
                            }
                        }
                        accumulators[c * positions + position] = acc
                    }
                }
                for feature in layer.approximatedFeatures?.features ?? [] {
                    for position in 0..<positions {
                        var acc = layer.bias![feature.channel]
                        for i in feature.sources.indices {
                            acc += feature.coefficients[i] * accumulators[feature.sources[i] * positions + position]
                        }
                        accumulators[feature.channel * positions + position] = acc
                    }
                }
                for c in 0..<channels {
                    for position in 0..<positions {
                        let acc = accumulators[c * positions + position]
                        let s = layer.shifts![c]
                        var out: Int
                        if layer.logits ?? false {
                            out = acc * (1 << -s)
                        } else {
                            out = s > 0 ? floorShift(acc + (1 << (s - 1)), s) : acc * (1 << -s)
                            if layer.relu ?? false { out = max(out, 0) }
                            out = min(max(out, -top - 1), top)
                            if let table = layer.activation { out = activate(out, table, top: top) }
                        }
                        y[c * positions + position] = out
                    }
                }
            case .maxPool, .averagePool:
                let (kh, kw) = (layer.kernel![0], layer.kernel![1])
                for c in 0..<layer.shape[0] {
                    for oy in 0..<layer.shape[1] {
                        for ox in 0..<layer.shape[2] {
                            var cells: [Int] = []
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * layer.stride![0] - layer.pads![0] + ky
                                    let ix = ox * layer.stride![1] - layer.pads![1] + kx
                                    if iy >= 0 && iy < inShape[1] && ix >= 0 && ix < inShape[2] {
                                        cells.append(x[(c * inShape[1] + iy) * inShape[2] + ix])
                                    }
                                }
                            }
                            let k = (kh * kw).trailingZeroBitCount
                            y[(c * layer.shape[1] + oy) * layer.shape[2] + ox] =
                                layer.kind == .maxPool
                                ? cells.max()! : floorShift(cells.reduce(0, +) + (k > 0 ? 1 << (k - 1) : 0), k)
                        }
                    }
                }
            case .relu:
                y = x.map { max($0, 0) }
            case .activation:
                y = x.map { activate($0, layer.activation!, top: top) }
            case .flatten, .reshape:
                y = x
            case .add:
                // Section 4: scale both to the finer exponent, sum, then round half up to the output exponent.
                let b = values[layer.addend!]!
                let (ea, eb) = (layer.inputExponent, exponents[layer.addend!]!)
                let e = min(ea, eb), s = layer.outputExponent - e
                for i in y.indices {
                    let sum = x[i] * (1 << (ea - e)) + b[i] * (1 << (eb - e))
                    var out = s > 0 ? floorShift(sum + (1 << (s - 1)), s) : sum * (1 << -s)
                    if layer.relu ?? false { out = max(out, 0) }
                    y[i] = min(max(out, -top - 1), top)
                }
            }
            values[layer.name] = y
            exponents[layer.name] = layer.outputExponent
            shapes[layer.name] = layer.shape
        }
        return model.layers.map { values[$0.name]! }
    }
}
