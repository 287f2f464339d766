import Foundation
import LayerGenerator

/// The ROM images of a compiled network for `$readmemh` (docs/accelerator.md): the SB, the bias/shift words, the
/// program, the tile descriptors and NFU-3's tables.
struct RomImages {
    let network: CompiledNetwork
    /// Bits of a bias/shift word: per lane a bias, a shift, with SWC lanes a scale, with tables an active bit.
    let paramBits: Int
    let files: [String: Data]

    init(_ network: CompiledNetwork) {
        self.network = network
        let (tn, aw, sw) = (network.config.tn, network.accumulatorWidth, network.shiftWidth)
        let cw = network.config.swc ? network.scaleWidth : 0
        paramBits = tn * (aw + sw + cw + (network.tables.isEmpty ? 0 : 1))
        files = [
            "mem/weights.hex": AcceleratorDesign.lines(network.weightWords.map { Self.sbWord($0, network: network) }),
            "mem/params.hex": AcceleratorDesign.lines(Self.paramWords(network, bits: paramBits)),
            "mem/program.hex": AcceleratorDesign.lines(network.program.map(\.hex)),
            "mem/tiles.hex": AcceleratorDesign.lines(
                network.tileDescriptors.isEmpty ? [TileDescriptor().hex] : network.tileDescriptors.map(\.hex)),
            "mem/tables.hex": AcceleratorDesign.lines(Self.tables(network)),
        ]
    }

    /// One SB word: output lane o's `laneBits` from bit o * laneBits.
    static func sbWord(_ word: CompiledNetwork.SBWord, network: CompiledNetwork) -> String {
        let (tn, laneBits) = (network.config.tn, network.laneBits)
        var wide = WideWord(bits: tn * laneBits)
        switch word {
        case .weights(let lanes):
            // Output lane o's tn weights.
            for (lane, w) in lanes.enumerated() {
                wide.set(w, at: (lane / tn) * laneBits + (lane % tn) * network.weightWidth, bits: network.weightWidth)
            }
        case .members(let lanes):
            for (o, member) in lanes.enumerated() {
                if let member, let reuse = network.reuse {
                    setMember(member, in: &wide, at: o * laneBits, reuse: reuse, tn: tn)
                }
            }
        case .factors(let lanes):
            // Output lane o: tn indices, then the values (diannao_factored.v).
            guard let factored = network.factored else { break }
            let (iw, vw) = (factored.indexWidth, factored.valueWidth)
            for (o, lane) in lanes.enumerated() {
                for (i, index) in lane.indices.enumerated() { wide.set(index, at: o * laneBits + i * iw, bits: iw) }
                for (u, value) in lane.values.enumerated() {
                    wide.set(value, at: o * laneBits + tn * iw + u * vw, bits: vw)
                }
            }
        case .features(let lanes):
            // Lane o: source index, then the coefficient (diannao_nfu.v, feature unit).
            let (sw, cw) = (network.sourceWidth, network.coefficientWidth)
            for (o, lane) in lanes.enumerated() {
                wide.set(lane.source, at: o * (sw + cw), bits: sw)
                wide.set(lane.coefficient, at: o * (sw + cw) + sw, bits: cw)
            }
        }
        return wide.hex
    }

    /// A member in its lane (diannao_reuse.v), from bit 0: window address, lane select, first, last, d, e
    /// (quadratic), the coefficients (zero except at a part's end).
    static func setMember(
        _ member: CompiledNetwork.Member, in wide: inout WideWord, at lsb: Int, reuse: CompiledNetwork.ReuseLanes,
        tn: Int
    ) {
        var at = lsb
        func put(_ value: Int, _ bits: Int) { wide.set(value, at: at, bits: bits); at += bits }
        put(member.address, reuse.windowAddressWidth)
        put(member.lane, bitsFor(tn - 1))
        put(member.first ? 1 : 0, 1)
        put(member.last ? 1 : 0, 1)
        put(member.d, reuse.dWidth)
        if reuse.terms == 3 { put(member.e, reuse.eWidth) }
        for t in 0..<reuse.terms {
            put(t < member.coefficients.count ? member.coefficients[t] : 0, reuse.coefficientWidth)
        }
    }

    /// The bias/shift words: all biases, then all shifts, then the scales and the active bits.
    static func paramWords(_ network: CompiledNetwork, bits: Int) -> [String] {
        let (tn, aw, sw) = (network.config.tn, network.accumulatorWidth, network.shiftWidth)
        let cw = network.config.swc ? network.scaleWidth : 0
        let activeBits = network.tables.isEmpty ? 0 : 1
        let none = [Int](repeating: 0, count: tn)
        let words = network.paramWords.isEmpty ? [.init(bias: none, shift: none, scale: none)] : network.paramWords
        return words.map { word in
            var wide = WideWord(bits: bits)
            for o in 0..<tn {
                wide.set(word.bias[o], at: o * aw, bits: aw)
                wide.set(word.shift[o], at: tn * aw + o * sw, bits: sw)
                if cw > 0 { wide.set(word.scale[o], at: tn * (aw + sw) + o * cw, bits: cw) }
                if activeBits > 0, o < word.active.count, word.active[o] {
                    wide.set(1, at: tn * (aw + sw + cw) + o, bits: 1)
                }
            }
            return wide.hex
        }
    }

    /// Activation tables (pwl_activation.v): breakpoints, slopes, intercepts, shift, from bit 0.
    static func tables(_ network: CompiledNetwork) -> [String] {
        if network.tables.isEmpty { return [WideWord(bits: network.tableWidth).hex] }
        return network.tables.indices.map { index in
            let table = network.paddedTable(index)
            var wide = WideWord(bits: network.tableWidth)
            var at = 0
            func put(_ value: Int, _ bits: Int) { wide.set(value, at: at, bits: bits); at += bits }
            for t in table.breakpoints { put(t, network.activationWidth) }
            for a in table.slopes { put(a, network.slopeWidth) }
            for b in table.intercepts { put(b, network.interceptWidth) }
            put(table.shift, network.tableShiftBits)
            return wide.hex
        }
    }
}
