import GoldenModel
import Quantization

extension NetworkCompiler {
    /// A layer's scan tiles on the reuse lanes: per output tile the steps (its longest lane) and the SB words, one
    /// member per lane per step, and the widths its members need.
    struct ReuseScan {
        var tileSteps: [Int]
        var words: [CompiledNetwork.SBWord]
        var dWidth: Int, eWidth: Int, coefficientWidth: Int
    }

    /// Lays out `plan` (the layer's M1 reuse form, the golden model's own) for the reuse lanes. Output lane o of
    /// tile t computes the model's channel `order[t * tn + o]`: its parts one after another, each from the highest
    /// rank down (the suffix sums of docs/arithmetic.md section 7.1). A member's input, position k of the channel's
    /// fan-in (input channel c, kernel tap ky, kx; a dense layer's kernel covers the map it reads), is the word the
    /// gather tile wrote at step (ky * kw + kx) * tiles + c's input tile, lane c's lane; on the loader's patches,
    /// the word of the patch holding the tap and the tap's lane in it.
    static func reuseScan(
        _ plan: ReusePlan, order: [Int?], source: Map, kernel: (height: Int, width: Int), patches: ImageLoader?,
        tn: Int,
        fail: (String) -> CompileError
    ) throws -> ReuseScan {
        let (kh, kw) = kernel
        let taps = kh * kw
        let physical = Dictionary(
            uniqueKeysWithValues: source.order.enumerated().compactMap { p, c in c.map { ($0, p) } })
        func window(_ k: Int) -> (address: Int, lane: Int) {
            let (c, tap) = (k / taps, k % taps)
            if let patches {
                let (ky, kx) = (tap / kw, tap % kw)
                let across = (kw + patches.columns - 1) / patches.columns
                return (
                    (ky / patches.rows) * across + kx / patches.columns,
                    (ky % patches.rows) * patches.columns + kx % patches.columns
                )
            }
            let p = physical[c]!
            return (tap * source.tiles + p / tn, p % tn)
        }
        var dMax = 1, eMax = 1, coefficientLow = -1, coefficientHigh = 1
        // Every channel's members in scan order.
        var streams: [Int: [CompiledNetwork.Member]] = [:]
        for m in Set(order.compactMap { $0 }) {
            guard case .sorted(let parts) = plan.channels[m] else {
                throw fail("channel \(m) is not in sorted-weight form")
            }
            var members: [CompiledNetwork.Member] = []
            for part in parts {
                let terms =
                    Array(part.coefficients.prefix(plan.degree + 1))
                    + [Int](repeating: 0, count: max(0, plan.degree + 1 - part.coefficients.count))
                for u in stride(from: part.inputs.count - 1, through: 0, by: -1) {
                    let j = part.offsets[u], previous = u > 0 ? part.offsets[u - 1] : 0
                    let (d, e) = (j - previous, j * j - previous * previous)
                    let (address, lane) = window(part.inputs[u])
                    members.append(
                        .init(
                            address: address, lane: lane, first: u == part.inputs.count - 1, last: u == 0, d: d,
                            e: plan.degree == 2 ? e : 0, coefficients: u == 0 ? terms : []))
                    dMax = max(dMax, d)
                    if plan.degree == 2 { eMax = max(eMax, e) }
                }
                coefficientLow = min(coefficientLow, terms.min()!)
                coefficientHigh = max(coefficientHigh, terms.max()!)
            }
            streams[m] = members
        }
        var tileSteps: [Int] = [], words: [CompiledNetwork.SBWord] = []
        for t in 0..<(order.count / tn) {
            let lanes = order[(t * tn)..<((t + 1) * tn)].map { $0.flatMap { streams[$0] } ?? [] }
            let steps = max(1, lanes.map(\.count).max()!)
            tileSteps.append(steps)
            for step in 0..<steps { words.append(.members(lanes.map { step < $0.count ? $0[step] : nil })) }
        }
        return ReuseScan(
            tileSteps: tileSteps, words: words, dWidth: bitsFor(dMax), eWidth: bitsFor(eMax),
            coefficientWidth: FixedPoint.width(low: coefficientLow, high: coefficientHigh))
    }
}
