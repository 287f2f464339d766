import GoldenModel
import Quantization
import Verilog

/// The reuse array for a compressed layer (docs/arithmetic.md section 7, docs/rtl.md "Layer units").
///
/// Work is split in steps, one output channel per step, in two stages that overlap: in step s the **scan** of
/// every lane runs over channel s's members, adders only (M1: suffix sums S, J and for quadratics R, Q in
/// descending rank order, the permutation being the address sequence of the member ROM; M2: the inner sum of
/// code * x), and writes each part's moments into one bank of the lane's moment memory; meanwhile the **pool**
/// of `multipliers` coefficient multipliers takes channel s-1's moments from the other bank:
/// acc = bias + sum over parts of C0*X + C1*J + C2*Q (M2: bias + scale * inner sum), then requantizes. A step
/// lasts max(ScanLength + 2, Walk + 3) cycles (ScanLength: the weights per channel, the fan-in unless M4 cut it), Walk = (Lanes / Multipliers) * Parts * Terms the pool's products per
/// multiplier; a batch takes (Channels + 1) steps.
struct ReuseArray {
    let numbers: LayerNumbers
    let lanes: Int
    let multipliers: Int
    let name: String

    /// How the scan forms its moments.
    enum Scan {
        /// M1 with every part's ranks contiguous: additions only.
        case contiguous(degree: Int)
        /// M1 with gaps between a channel's ranks (layer groups): J += d * S, Q += e * S with ROM constants.
        case gapped(degree: Int, dWidth: Int, eWidth: Int)
        /// M2: inner sum of code * x with b-bit codes.
        case uniform(codeWidth: Int)
        /// M2 with power-of-two codes: shifts of x.
        case powerOfTwo(exponentWidth: Int)
    }

    struct Layout {
        var scan: Scan
        /// Parts (segment pieces) per channel, padded to the largest; coefficient terms per part.
        var parts: Int
        var terms: Int
        var coefficientWidth: Int
        /// Member ROM words (M1) or code ROM words (M2), channel-major, in scan order.
        var scanWords: [Int]
        var scanWidth: Int
        /// Coefficients (M1: C0, C1[, C2] per part) or scales (M2), channel-major; padding parts are absent.
        var coefficients: [Int?]
        /// Some channel has fewer parts than `parts`: the coefficient word carries a present bit, so that the pool
        /// never multiplies a moment slot that this channel did not write.
        var padded: Bool { coefficients.contains(nil) }
        /// Width of each moment (M1: X, J[, Q]; M2: the inner sum) and, for contiguous quadratics, of the running
        /// sums R and Q' = sum R: the smallest that holds its bound over every part (docs/rtl.md), at most the
        /// accumulator width (where wrapping is allowed anyway).
        var momentWidths: [Int]
        /// Members each channel's scan walks: the fan-in, or fewer after M4 (the taps outside the windows are not
        /// weights); every channel the same.
        var scanLength: Int
        var runningWidths: (r: Int, qPrime: Int) = (0, 0)
    }

    static func layout(_ numbers: LayerNumbers) throws -> Layout {
        guard let plan = numbers.plan, let compression = numbers.compression else {
            throw GeneratorError(layer: numbers.layer.name, "the layer is not compressed; --arch reuse needs a layer compressed with linear, quadratic or swc")
        }
        let fan = numbers.fan
        let addressBits = unsignedBits(fan - 1)
        switch compression.method {
        case .linear, .quadratic:
            let degree = plan.degree
            var parts = 1, contiguous = true, maxD = 0, maxE = 0, longest = 1, highestRank = 0
            for channel in plan.channels {
                guard case .sorted(let list) = channel else { continue }
                parts = max(parts, list.count)
                for part in list {
                    contiguous = contiguous && part.contiguous
                    longest = max(longest, part.inputs.count)
                    highestRank = max(highestRank, part.offsets.last ?? 0)
                    for u in part.offsets.indices {
                        let j = part.offsets[u], previous = u > 0 ? part.offsets[u - 1] : 0
                        maxD = max(maxD, j - previous); maxE = max(maxE, j * j - previous * previous)
                    }
                }
            }
            let slotBits = unsignedBits(parts - 1)
            let dWidth = unsignedBits(maxD), eWidth = degree == 2 ? unsignedBits(maxE) : 0
            let scan: Scan = contiguous ? .contiguous(degree: degree) : .gapped(degree: degree, dWidth: dWidth, eWidth: eWidth)
            let extra = contiguous ? 0 : dWidth + eWidth
            var words: [Int] = [], coefficients: [Int?] = []
            var scanLength = 0
            for (c, channel) in plan.channels.enumerated() {
                guard case .sorted(let list) = channel else { continue }
                var members = 0
                for (slot, part) in list.enumerated() {
                    // Descending rank: the suffix sums grow from the top of the segment down.
                    for u in stride(from: part.inputs.count - 1, through: 0, by: -1) {
                        let j = part.offsets[u], previous = u > 0 ? part.offsets[u - 1] : 0
                        var word = part.inputs[u]
                        word |= (u == part.inputs.count - 1 ? 1 : 0) << addressBits
                        word |= (u == 0 ? 1 : 0) << (addressBits + 1)
                        word |= slot << (addressBits + 2)
                        if !contiguous {
                            word |= (j - previous) << (addressBits + 2 + slotBits)
                            if degree == 2 { word |= (j * j - previous * previous) << (addressBits + 2 + slotBits + dWidth) }
                        }
                        words.append(word)
                        members += 1
                    }
                }
                if c == 0 { scanLength = members }
                guard members == scanLength else {
                    throw GeneratorError(layer: numbers.layer.name, "channel \(c) has \(members) weights, channel 0 \(scanLength): the reuse array needs every channel alike")
                }
                for slot in 0..<parts {
                    for t in 0...degree { coefficients.append(slot < list.count ? list[slot].coefficients[t] : nil) }
                }
            }
            // Bounds with T members per part, ranks up to j, inputs up to m in magnitude: |X| <= T m; the running
            // J = sum d_u S_u <= j T m; contiguous R_u <= T^2 m, Q' = sum R_u <= T^3 m, Q = 2 Q' - J;
            // gapped Q = sum e_u S_u <= j^2 T m.
            let m = numbers.inputMagnitude, t = longest, j = max(highestRank, 1)
            let acc = numbers.accumulatorWidth
            var widths = [boundWidth(t * m, acc), boundWidth(j * t * m, acc)]
            var layout = Layout(scan: scan, parts: parts, terms: degree + 1, coefficientWidth: compression.coefficientBits ?? 16,
                                scanWords: words, scanWidth: addressBits + 2 + slotBits + extra, coefficients: coefficients, momentWidths: [],
                                scanLength: scanLength)
            if degree == 2 {
                if contiguous {
                    widths.append(boundWidth(2 * t * t * t * m + j * t * m, acc))
                    layout.runningWidths = (boundWidth(t * t * m, acc), boundWidth(t * t * t * m, acc))
                } else {
                    widths.append(boundWidth(j * j * t * m, acc))
                }
            }
            layout.momentWidths = widths
            return layout
        case .swc:
            var codes: [Int] = [], scales: [Int?] = []
            for channel in plan.channels {
                guard case .scaled(let scale, let list) = channel else { continue }
                codes += list
                scales.append(scale)
            }
            let scaleWidth = compression.scaleBits ?? 12
            if compression.codebook == .pow2 {
                // {zero, negative, exponent}: the code is 0, or +-2^exponent.
                let exponentWidth = unsignedBits(codes.map { $0 == 0 ? 0 : abs($0).trailingZeroBitCount }.max() ?? 0)
                let words = codes.map { code in
                    code == 0 ? 1 << (exponentWidth + 1) : (code < 0 ? 1 << exponentWidth : 0) | abs(code).trailingZeroBitCount
                }
                return Layout(scan: .powerOfTwo(exponentWidth: exponentWidth), parts: 1, terms: 1, coefficientWidth: scaleWidth,
                              scanWords: words, scanWidth: exponentWidth + 2, coefficients: scales,
                              momentWidths: [innerWidth(codes, numbers)], scanLength: numbers.fan)
            }
            let codeWidth = signedBits(codes.min() ?? 0, codes.max() ?? 0)
            return Layout(scan: .uniform(codeWidth: codeWidth), parts: 1, terms: 1, coefficientWidth: scaleWidth,
                          scanWords: codes, scanWidth: codeWidth, coefficients: scales, momentWidths: [innerWidth(codes, numbers)],
                          scanLength: numbers.fan)
        }
    }

    /// Signed width holding -bound ... bound, at most `limit`.
    static func boundWidth(_ bound: Int, _ limit: Int) -> Int { min(limit, FixedPoint.width(low: -bound, high: bound)) }

    /// M2's inner sum: |sum code * x| <= sum |code| * m over the worst channel.
    static func innerWidth(_ codes: [Int], _ numbers: LayerNumbers) -> Int {
        var worst = 0
        for c in 0..<numbers.channels {
            worst = max(worst, codes[(c * numbers.fan)..<((c + 1) * numbers.fan)].reduce(0) { $0 + abs($1) })
        }
        return boundWidth(worst * numbers.inputMagnitude, numbers.accumulatorWidth)
    }

    func generate() throws -> GeneratedUnit {
        guard multipliers >= 1, lanes % multipliers == 0 else {
            throw GeneratorError(layer: numbers.layer.name, "--multipliers \(multipliers) must divide --lanes \(lanes)")
        }
        let layout = try Self.layout(numbers)
        let shell = StreamShell(numbers: numbers, lanes: lanes)
        let (fan, channels, acc) = (numbers.fan, numbers.channels, numbers.accumulatorWidth)
        let perMultiplier = lanes / multipliers
        let partTerms = layout.parts * layout.terms
        let walk = perMultiplier * partTerms
        let scanLength = layout.scanLength
        let stepCycles = max(scanLength + 2, walk + 3)
        let (tapBits, channelBits) = (shell.tapBits, shell.channelBits)
        let stepBits = unsignedBits(channels), tickBits = unsignedBits(stepCycles - 1)
        let scanDepth = layout.scanWords.count, scanAddressBits = unsignedBits(scanDepth - 1)
        let coefficientDepth = layout.coefficients.count, coefficientAddressBits = unsignedBits(coefficientDepth - 1)
        let slotBits = unsignedBits(layout.parts - 1)
        let ptBits = unsignedBits(partTerms - 1), liBits = unsignedBits(perMultiplier - 1)
        let termBits = unsignedBits(layout.terms - 1)
        let cw = layout.coefficientWidth
        let coefficientWordWidth = cw + (layout.padded ? 1 : 0)
        let coefficientWords = layout.coefficients.map { value -> Int in
            guard let value else { return 0 }
            return layout.padded ? (value & ((1 << cw) - 1)) | (1 << cw) : value
        }
        let momentDepth = 2 << slotBits
        let sorted: Bool
        switch layout.scan {
        case .contiguous, .gapped: sorted = true
        case .uniform, .powerOfTwo: sorted = false
        }

        var items = shell.localparams([Parameter("Multipliers", .integer(multipliers), comment: "coefficient multipliers of the pool")], summary: [
            sorted ? "Parts = \(layout.parts) segment parts per channel (padded), Terms = \(layout.terms) coefficients (\(cw) bits) per part."
                   : "One inner sum per channel, one \(cw)-bit scale.",
            "A step lasts \(stepCycles) cycles = max(\(scanLength == fan ? "Fan" : "\(scanLength) weights per channel") + 2, Lanes / Multipliers * Parts * Terms + 3).",
        ])
        items += shell.declarations()
        items += [
            .blank,
            .comment("Steps: in step s the scan forms channel s's moments (bank s % 2) while the pool finishes channel s - 1 (other bank)."),
            reg("step_q", stepBits), reg("tick_q", tickBits),
            reg("scan_addr_q", scanAddressBits, "next \(sorted ? "member" : "code") ROM word"),
            reg("pool_channel_q", channelBits, "the channel the pool finishes (step - 1)"),
            wire("step_end", 1), wire("scan_issue", 1), wire("pool_issue", 1),
            .assign("step_end", and(eq("phase_q", "PhaseCompute"), eq("tick_q", lit(stepCycles - 1, tickBits)))),
            .assign("scan_issue", and(eq("phase_q", "PhaseCompute"), ne("step_q", lit(channels, stepBits)), lt("tick_q", lit(scanLength, tickBits)))),
            .assign("pool_issue", and(eq("phase_q", "PhaseCompute"), ne("step_q", lit(0, stepBits)), lt("tick_q", lit(walk, tickBits)))),
            .clocked(clock: "clk_i", reset: "rst_ni",
                     onReset: [.nonblocking("step_q", lit(0, stepBits)), .nonblocking("tick_q", lit(0, tickBits)),
                               .nonblocking("scan_addr_q", lit(0, scanAddressBits)), .nonblocking("pool_channel_q", lit(0, channelBits))],
                     body: [
                        .ifElse(eq("phase_q", "PhaseCompute"), [
                            .nonblocking("tick_q", mux("step_end", lit(0, tickBits), .binary("tick_q", "+", lit(1, tickBits)))),
                        ], []),
                        .ifElse("step_end", [
                            .nonblocking("step_q", mux(eq("step_q", lit(channels, stepBits)), lit(0, stepBits), .binary("step_q", "+", lit(1, stepBits)))),
                            .nonblocking("pool_channel_q", mux(eq("step_q", lit(0, stepBits)), lit(0, channelBits), .binary("pool_channel_q", "+", lit(1, channelBits)))),
                        ], []),
                        .ifElse("scan_issue", [.nonblocking("scan_addr_q", .binary("scan_addr_q", "+", lit(1, scanAddressBits)))], []),
                        .ifElse("compute_done", [.nonblocking("scan_addr_q", lit(0, scanAddressBits)), .nonblocking("pool_channel_q", lit(0, channelBits))], []),
                     ]),
            .blank,
        ]
        // Scan stage: s0 issues the ROM read, s1 has the word and reads the lanes' buffers, s2 updates the sums.
        let scanWord = sorted ? "member" : "code"
        items += [
            .comment(sorted ? "Member ROM: {\(layout.scanWidth > tapBits + 2 + slotBits ? "steps, " : "")slot, last member, first member, input address} in scan order."
                            : "Code ROM: the scaling-weight codes w = scale * code, channel-major."),
            wire(scanWord, layout.scanWidth),
            romInstance("u_\(scanWord)_rom", file: "mem/\(name)_\(scanWord)s.hex", width: layout.scanWidth, depth: scanDepth, address: "scan_addr_q", data: scanWord),
            reg("s1_valid_q", 1), reg("s2_valid_q", 1), reg("s2_first_q", 1), reg("s2_final_q", 1),
        ]
        // What stage s1 hands on to s2 besides the valid bit (which has its own block with the reset).
        var s1Body: [Statement] = []
        var readAddress: Expr
        if sorted {
            items += [wire("read_addr", tapBits), .assign("read_addr", field(.name(scanWord), 0, tapBits)),
                      reg("s2_slot_q", slotBits)]
            readAddress = "read_addr"
            s1Body += [.nonblocking("s2_first_q", field(.name(scanWord), tapBits, 1)), .nonblocking("s2_final_q", field(.name(scanWord), tapBits + 1, 1)),
                       .nonblocking("s2_slot_q", field(.name(scanWord), tapBits + 2, slotBits))]
            if case .gapped(let degree, let dWidth, let eWidth) = layout.scan {
                items.append(reg("s2_d_q", dWidth, "rank step j_u - j_(u-1)"))
                s1Body.append(.nonblocking("s2_d_q", field(.name(scanWord), tapBits + 2 + slotBits, dWidth)))
                if degree == 2 {
                    items.append(reg("s2_e_q", eWidth, "j_u^2 - j_(u-1)^2"))
                    s1Body.append(.nonblocking("s2_e_q", field(.name(scanWord), tapBits + 2 + slotBits + dWidth, eWidth)))
                }
            }
        } else {
            // Natural order: the tap is the tick.
            items += [reg("s1_k_q", tapBits), reg("s2_code_q", layout.scanWidth)]
            readAddress = "s1_k_q"
            s1Body += [.nonblocking("s2_first_q", eq("s1_k_q", lit(0, tapBits))), .nonblocking("s2_final_q", eq("s1_k_q", lit(fan - 1, tapBits))),
                       .nonblocking("s2_code_q", .name(scanWord))]
        }
        var s0Body: [Statement] = []
        if !sorted { s0Body.append(.nonblocking("s1_k_q", field("tick_q", 0, tapBits))) }
        items += [
            .clocked(clock: "clk_i", reset: "rst_ni", onReset: [.nonblocking("s1_valid_q", lit(0, 1)), .nonblocking("s2_valid_q", lit(0, 1))],
                     body: [.nonblocking("s1_valid_q", "scan_issue"), .nonblocking("s2_valid_q", "s1_valid_q")]),
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: s0Body + s1Body),
            .blank,
        ]
        // Pool stage: p0 issues the coefficient read and the lanes' moment reads, p1 multiplies, p2 accumulates,
        // fin requantizes and writes the lane's result.
        items += [
            .comment("Pool walk per multiplier: lane by lane, part by part, term by term (\(walk) products per step)."),
            reg("pool_li_q", liBits), reg("pool_pt_q", ptBits), reg("pool_slot_q", slotBits), reg("pool_term_q", termBits),
            reg("coef_addr_q", coefficientAddressBits),
            .clocked(clock: "clk_i", reset: "rst_ni",
                     onReset: [.nonblocking("pool_li_q", lit(0, liBits)), .nonblocking("pool_pt_q", lit(0, ptBits)), .nonblocking("pool_slot_q", lit(0, slotBits)),
                               .nonblocking("pool_term_q", lit(0, termBits)), .nonblocking("coef_addr_q", lit(0, coefficientAddressBits))],
                     body: [
                        .ifElse("pool_issue", [
                            .ifElse(eq("pool_term_q", lit(layout.terms - 1, termBits)), [
                                .nonblocking("pool_term_q", lit(0, termBits)),
                                .nonblocking("pool_slot_q", mux(eq("pool_slot_q", lit(layout.parts - 1, slotBits)), lit(0, slotBits), .binary("pool_slot_q", "+", lit(1, slotBits)))),
                            ], [.nonblocking("pool_term_q", .binary("pool_term_q", "+", lit(1, termBits)))]),
                            .ifElse(eq("pool_pt_q", lit(partTerms - 1, ptBits)), [
                                .nonblocking("pool_pt_q", lit(0, ptBits)),
                                .ifElse(eq("pool_li_q", lit(perMultiplier - 1, liBits)), [
                                    .comment("The channel's coefficients are done: move on to the next channel's."),
                                    .nonblocking("pool_li_q", lit(0, liBits)),
                                    .nonblocking("coef_addr_q", mux(eq("pool_channel_q", lit(channels - 1, channelBits)), lit(0, coefficientAddressBits),
                                                                   .binary("coef_addr_q", "+", lit(1, coefficientAddressBits)))),
                                ], [
                                    .comment("Next lane: the same channel's coefficients again."),
                                    .nonblocking("pool_li_q", .binary("pool_li_q", "+", lit(1, liBits))),
                                    .nonblocking("coef_addr_q", .binary("coef_addr_q", "-", lit(partTerms - 1, coefficientAddressBits))),
                                ]),
                            ], [.nonblocking("pool_pt_q", .binary("pool_pt_q", "+", lit(1, ptBits))),
                                .nonblocking("coef_addr_q", .binary("coef_addr_q", "+", lit(1, coefficientAddressBits)))]),
                        ], []),
                     ]),
            wire(layout.padded ? "coefficient_word" : "coefficient", coefficientWordWidth), wire("bias", acc), wire("shift", numbers.shiftWidth),
            romInstance("u_coefficient_rom", file: "mem/\(name)_coefficients.hex", width: coefficientWordWidth, depth: coefficientDepth,
                        address: "coef_addr_q", data: layout.padded ? "coefficient_word" : "coefficient"),
            romInstance("u_bias_rom", file: "mem/\(name)_bias.hex", width: acc, depth: channels, address: "pool_channel_q", data: "bias"),
            romInstance("u_shift_rom", file: "mem/\(name)_shift.hex", width: numbers.shiftWidth, depth: channels, address: "pool_channel_q", data: "shift"),
        ]
        if layout.padded {
            items += [.comment("{present, C}: a channel with fewer parts than Parts has absent ones, whose moment slots hold another channel's values."),
                      wire("coefficient", cw), wire("coefficient_present", 1),
                      .assign("coefficient", field("coefficient_word", 0, cw)), .assign("coefficient_present", field("coefficient_word", cw, 1))]
        }
        items += [
            reg("p1_valid_q", 1), reg("p1_first_q", 1), reg("p1_last_q", 1),
            reg("p2_valid_q", 1), reg("p2_first_q", 1), reg("p2_last_q", 1), reg("p2_bias_q", acc, signed: true),
            reg("fin_valid_q", 1), reg("fin_channel_q", channelBits), reg("fin_shift_q", numbers.shiftWidth, signed: true),
            .clocked(clock: "clk_i", reset: "rst_ni",
                     onReset: [.nonblocking("p1_valid_q", lit(0, 1)), .nonblocking("p2_valid_q", lit(0, 1)), .nonblocking("fin_valid_q", lit(0, 1))],
                     body: [.nonblocking("p1_valid_q", "pool_issue"), .nonblocking("p2_valid_q", "p1_valid_q"),
                            .nonblocking("fin_valid_q", and("p2_valid_q", "p2_last_q"))]),
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: [
                .nonblocking("p1_first_q", eq("pool_pt_q", lit(0, ptBits))), .nonblocking("p1_last_q", eq("pool_pt_q", lit(partTerms - 1, ptBits))),
                .nonblocking("p2_first_q", "p1_first_q"), .nonblocking("p2_last_q", "p1_last_q"),
                .nonblocking("p2_bias_q", .signed("bias")),
 .nonblocking("fin_channel_q", "pool_channel_q"), .nonblocking("fin_shift_q", .signed("shift")),
            ]),
            wire("lane_moments", lanes * layout.momentWidths.max()!), wire("pool_results", multipliers * numbers.outputWidth),
            .blank,
        ]

        if perMultiplier > 1 {
            items += [.comment("Which of each multiplier's lanes the pipeline carries (p1, p2), one-hot when it finishes."),
                      reg("p1_li_q", liBits), reg("p2_li_q", liBits), reg("fin_lane_q", perMultiplier),
                      .clocked(clock: "clk_i", reset: nil, onReset: [], body: [
                        .nonblocking("p1_li_q", "pool_li_q"), .nonblocking("p2_li_q", "p1_li_q"),
                        .nonblocking("fin_lane_q", .binary(lit(1, perMultiplier), "<<", "p2_li_q"))])]
        }

        // Multipliers: coefficient * moment of lane m * perMultiplier + li, at their natural widths.
        let mw = layout.momentWidths.max()!
        let product = productItems("product", "coefficient", width: cw, "moment", width: mw, target: acc)
        var pool: [Item] = [
            .comment("One coefficient multiplier: C * moment, accumulated from the bias; the finished sum is requantized."),
            reg("moment", mw, signed: true),
        ]
        if perMultiplier == 1 {
            pool.append(.combinational([.blocking("moment", .signed(.part("lane_moments", lsb: .binary("m", "*", .integer(mw)), width: .integer(mw))))]))
        } else {
            let arms: [(Expr, [Statement])] = (0..<perMultiplier).map { li in
                (lit(li, liBits), [.blocking("moment", .signed(.part("lane_moments", lsb: .binary(.binary(.binary("m", "*", .integer(perMultiplier)), "+", .integer(li)), "*", .integer(mw)),
                                                                          width: .integer(mw))))])
            }
            pool.append(.combinational([.caseOf("p1_li_q", arms, default: [.blocking("moment", zero(mw))])]))
        }
        pool += product.items
        pool += [
            reg("product_q", product.width, signed: true), reg("acc_q", acc, signed: true), reg("final_q", acc, signed: true),
            wire("sum", acc, signed: true), wire("y", numbers.outputWidth, signed: true),
            .assign("sum", .binary(mux("p2_first_q", "p2_bias_q", "acc_q"), "+", signExtend("product_q", width: product.width, target: acc))),
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: [
                .nonblocking("product_q", layout.padded ? mux("coefficient_present", "product", zero(product.width)) : "product"),
                .ifElse("p2_valid_q", [.nonblocking("acc_q", "sum"), .ifElse("p2_last_q", [.nonblocking("final_q", "sum")], [])], []),
            ]),
            requantizeInstance("u_requantize", numbers: numbers, acc: "final_q", shift: "fin_shift_q", output: "y"),
            .assign(.part("pool_results", lsb: .binary("m", "*", .integer(numbers.outputWidth)), width: .integer(numbers.outputWidth)), "y"),
        ]
        items.append(.generateFor(genvar: "m", count: "Multipliers", label: "pool", items: pool))
        items.append(.blank)

        // Lanes: buffer, scan sums, moment memories. Each running sum has its moment's width (its bound).
        let resultWrite = (enable: perMultiplier == 1 ? Expr.name("fin_valid_q") : and("fin_valid_q", .index("fin_lane_q", .binary("g", "%", .integer(perMultiplier)))),
                           channel: Expr.name("fin_channel_q"),
                           value: Expr.part("pool_results", lsb: .binary(.binary("g", "/", .integer(perMultiplier)), "*", .integer(numbers.outputWidth)),
                                            width: .integer(numbers.outputWidth)))
        var lane = shell.laneDeclarations()
        let ws = layout.momentWidths[0]
        let clear = { (name: String, width: Int) -> Expr in mux("s2_first_q", zero(width), .name(name)) }
        let unlessLast = { (name: String, from: Int, to: Int) -> Expr in mux("s2_final_q", zero(to), signExtend(.name(name), width: from, target: to)) }
        var sums: [Item] = [wire("s_next", ws, signed: true), reg("s_q", ws, signed: true)]
        var update: [Statement] = [.nonblocking("s_q", "s_next")]
        var moments: [(memory: String, value: Expr, width: Int)] = [("x_mem_q", "s_next", ws)]
        let x = signExtend("x_q", width: numbers.inputWidth, target: ws)
        switch layout.scan {
        case .contiguous(let degree):
            let wj = layout.momentWidths[1]
            sums += [.comment("Suffix sums in descending rank: S += x; J += S and (quadratic) R += S, Q' += R except at the segment's rank 0."),
                     .assign("s_next", .binary(clear("s_q", ws), "+", x)),
                     wire("j_next", wj, signed: true), reg("j_q", wj, signed: true),
                     .assign("j_next", .binary(clear("j_q", wj), "+", unlessLast("s_next", ws, wj)))]
            update.append(.nonblocking("j_q", "j_next"))
            moments.append(("j_mem_q", "j_next", wj))
            if degree == 2 {
                let (wr, wqp) = layout.runningWidths
                let wq = layout.momentWidths[2]
                sums += [wire("r_next", wr, signed: true), reg("r_q", wr, signed: true), wire("q_next", wqp, signed: true), reg("q_q", wqp, signed: true),
                         .assign("r_next", .binary(clear("r_q", wr), "+", unlessLast("s_next", ws, wr))),
                         .assign("q_next", .binary(clear("q_q", wqp), "+", unlessLast("r_next", wr, wqp)))]
                update += [.nonblocking("r_q", "r_next"), .nonblocking("q_q", "q_next")]
                // Q = 2 * (R_2 + ... + R_T) - J.
                moments.append(("q_mem_q", .binary(.binary(signExtend("q_next", width: wqp, target: wq), "<<<", 1), "-", signExtend("j_next", width: wj, target: wq)), wq))
            }
        case .gapped(let degree, _, _):
            let wj = layout.momentWidths[1]
            sums += [.comment("Suffix sums with rank steps: S += x; J += d * S; (quadratic) Q += e * S."),
                     .assign("s_next", .binary(clear("s_q", ws), "+", x)),
                     wire("j_next", wj, signed: true), reg("j_q", wj, signed: true),
                     .assign("j_next", .binary(clear("j_q", wj), "+", .binary(.signed(.concat([lit(0, 1), "s2_d_q"])), "*", signExtend("s_next", width: ws, target: wj))))]
            update.append(.nonblocking("j_q", "j_next"))
            moments.append(("j_mem_q", "j_next", wj))
            if degree == 2 {
                let wq = layout.momentWidths[2]
                sums += [wire("q_next", wq, signed: true), reg("q_q", wq, signed: true),
                         .assign("q_next", .binary(clear("q_q", wq), "+", .binary(.signed(.concat([lit(0, 1), "s2_e_q"])), "*", signExtend("s_next", width: ws, target: wq))))]
                update.append(.nonblocking("q_q", "q_next"))
                moments.append(("q_mem_q", "q_next", wq))
            }
        case .uniform(let codeWidth):
            let codeProduct = productItems("code_product", "s2_code_q", width: codeWidth, "x_q", width: numbers.inputWidth, target: ws)
            sums += [.comment("Inner sum of code * x (a \(codeWidth)-bit by \(numbers.inputWidth)-bit product per tap).")] + codeProduct.items
            sums.append(.assign("s_next", .binary(clear("s_q", ws), "+", signExtend("code_product", width: codeProduct.width, target: ws))))
        case .powerOfTwo(let exponentWidth):
            sums += [.comment("Inner sum of code * x with codes 0 or +-2^e: a shift and an add or subtract per tap."),
                     wire("term", ws, signed: true),
                     .assign("term", mux(field("s2_code_q", exponentWidth + 1, 1), zero(ws),
                                         mux(field("s2_code_q", exponentWidth, 1), .unary("-", .binary(x, "<<<", field("s2_code_q", 0, exponentWidth))),
                                             .binary(x, "<<<", field("s2_code_q", 0, exponentWidth))))),
                     .assign("s_next", .binary(clear("s_q", ws), "+", "term"))]
        }
        let bankWrite: Expr = sorted ? .concat([field("step_q", 0, 1), "s2_slot_q"]) : .concat([field("step_q", 0, 1), lit(0, slotBits)])
        let bankRead: Expr = .concat([.unary("~", field("step_q", 0, 1)), "pool_slot_q"])
        lane += sums
        lane += moments.map { reg($0.memory, $0.width, depth: momentDepth) }
        lane.append(reg("moment_q", mw, "the moment the pool reads next"))
        let read = { (t: Int) -> Expr in
            let value: Expr = .index(.name(moments[t].memory), bankRead)
            return moments[t].width < mw ? .unsigned(signExtend(value, width: moments[t].width, target: mw)) : value
        }
        var momentRead: Expr = read(0)
        for t in moments.indices.dropFirst() { momentRead = mux(eq("pool_term_q", lit(t, termBits)), read(t), momentRead) }
        lane += [
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: [
                .ifElse("s2_valid_q", update + [.ifElse("s2_final_q", moments.map { .nonblocking(.index(.name($0.memory), bankWrite), $0.value) }, [])], []),
                .nonblocking("moment_q", momentRead),
            ]),
            .assign(.part("lane_moments", lsb: .binary("g", "*", .integer(mw)), width: .integer(mw)), "moment_q"),
        ]
        lane += shell.laneStorage(readAddress: readAddress, resultWrite: resultWrite)
        items += shell.control(computeDone: and("step_end", eq("step_q", lit(channels, stepBits))))
        items.append(.generateFor(genvar: "g", count: "Lanes", label: "lane", items: lane))

        let method = numbers.compression!.method.rawValue
        let comment = """
            \(numbers.layer.name): reuse array (\(method)) for a \(fan)-input, \(channels)-output layer.
            \(lanes) lanes compute \(lanes) input vectors at once. Per output channel, the scan forms each part's moments with adders
            (\(sorted ? "suffix sums over the weights in sorted order; the permutation is the member ROM's address sequence" : "the inner sum of code * x")),
            and \(multipliers) pool multiplier\(multipliers == 1 ? " applies" : "s apply") the coefficients to them (docs/arithmetic.md section 7),
            overlapped one channel apart. Compute: \((channels + 1) * stepCycles) cycles per batch.
            Generated by approxrtl; interface and timing in docs/rtl.md.
            """
        let module = Module(name, comment: comment, ports: shell.ports, items: items)
        let memories = [MemoryImage(file: "\(name)_\(scanWord)s.hex", width: layout.scanWidth, values: layout.scanWords),
                        MemoryImage(file: "\(name)_coefficients.hex", width: coefficientWordWidth, values: coefficientWords),
                        MemoryImage(file: "\(name)_bias.hex", width: acc, values: numbers.bias),
                        MemoryImage(file: "\(name)_shift.hex", width: numbers.shiftWidth, values: numbers.shifts)]
        var multiplierList: [(String, Int, (Int, Int))] = [("coefficient x moment", multipliers, (cw, mw))]
        switch layout.scan {
        case .uniform(let codeWidth): multiplierList.append(("code x input", lanes, (codeWidth, numbers.inputWidth)))
        case .gapped(let degree, let dWidth, let eWidth):
            multiplierList.append(("rank step x suffix sum", lanes * degree, (max(dWidth, eWidth) + 1, layout.momentWidths[0])))
        default: break
        }
        var adderList: [(String, Int, Int)] = [("S += x", lanes, layout.momentWidths[0])]
        switch layout.scan {
        case .contiguous(let degree):
            adderList.append(("J += S", lanes, layout.momentWidths[1]))
            if degree == 2 {
                adderList += [("R += S", lanes, layout.runningWidths.r), ("Q' += R", lanes, layout.runningWidths.qPrime),
                              ("Q = 2Q' - J", lanes, layout.momentWidths[2])]
            }
        case .gapped(let degree, _, _):
            adderList.append(("J += d S", lanes, layout.momentWidths[1]))
            if degree == 2 { adderList.append(("Q += e S", lanes, layout.momentWidths[2])) }
        case .uniform, .powerOfTwo:
            adderList[0].0 = "S += code x"
        }
        adderList += [("pool accumulate", multipliers, acc), ("requantize rounding", multipliers, acc + numbers.maxLeftShift + 1)]
        return GeneratedUnit(module: module, memories: memories, computeCycles: (channels + 1) * stepCycles, multipliers: multiplierList,
                             adders: adderList)
    }
}
