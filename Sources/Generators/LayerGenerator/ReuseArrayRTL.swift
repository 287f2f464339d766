import Quantization
import Verilog

/// The numbers every part of the reuse array's RTL is sized by: the layout, the step and pool walk, the widths.
struct ReuseGeometry {
    let layout: ReuseArray.Layout
    let shell: StreamShell
    let (fan, channels, acc): (Int, Int, Int)
    let perMultiplier, partTerms, walk, scanLength, stepCycles: Int
    let (tapBits, channelBits, stepBits, tickBits): (Int, Int, Int, Int)
    let (scanDepth, scanAddressBits, coefficientDepth, coefficientAddressBits): (Int, Int, Int, Int)
    let (slotBits, ptBits, liBits, termBits): (Int, Int, Int, Int)
    /// Coefficient width, and the ROM word's (with the present bit when parts are padded).
    let cw, coefficientWordWidth: Int
    let coefficientWords: [Int]
    let momentDepth: Int
    /// M1 (sorted members) rather than M2 (codes in natural order).
    let sorted: Bool
    let scanWord: String
    /// The widest moment: what the pool multiplies.
    let mw: Int

    init(_ array: ReuseArray, layout: ReuseArray.Layout) {
        let numbers = array.numbers
        self.layout = layout
        shell = StreamShell(numbers: numbers, lanes: array.lanes)
        (fan, channels, acc) = (numbers.fan, numbers.channels, numbers.accumulatorWidth)
        perMultiplier = array.lanes / array.multipliers
        partTerms = layout.parts * layout.terms
        walk = perMultiplier * partTerms
        scanLength = layout.scanLength
        stepCycles = max(scanLength + 2, walk + 3)
        (tapBits, channelBits) = (shell.tapBits, shell.channelBits)
        (stepBits, tickBits) = (unsignedBits(channels), unsignedBits(stepCycles - 1))
        (scanDepth, coefficientDepth) = (layout.scanWords.count, layout.coefficients.count)
        (scanAddressBits, coefficientAddressBits) = (unsignedBits(scanDepth - 1), unsignedBits(coefficientDepth - 1))
        slotBits = unsignedBits(layout.parts - 1)
        (ptBits, liBits, termBits) = (
            unsignedBits(partTerms - 1), unsignedBits(perMultiplier - 1), unsignedBits(layout.terms - 1)
        )
        cw = layout.coefficientWidth
        coefficientWordWidth = cw + (layout.padded ? 1 : 0)
        let (width, padded) = (cw, layout.padded)
        coefficientWords = layout.coefficients.map { value -> Int in
            guard let value else { return 0 }
            return padded ? (value & ((1 << width) - 1)) | (1 << width) : value
        }
        momentDepth = 2 << slotBits
        switch layout.scan {
        case .contiguous, .gapped: sorted = true
        case .uniform, .powerOfTwo: sorted = false
        }
        scanWord = sorted ? "member" : "code"
        mw = layout.momentWidths.max()!
    }
}

extension ReuseArray {
    func generate() throws -> GeneratedUnit {
        guard multipliers >= 1, lanes % multipliers == 0 else {
            throw GeneratorError(layer: numbers.layer.name, "--multipliers \(multipliers) must divide --lanes \(lanes)")
        }
        let g = ReuseGeometry(self, layout: try Self.layout(numbers))
        var items = header(g) + stepItems(g)
        let (scan, readAddress) = scanItems(g)
        items += scan + poolWalkItems(g) + poolPipelineItems(g)
        items.append(.generateFor(genvar: "m", count: "Multipliers", label: "pool", items: poolMultiplierItems(g)))
        items.append(.blank)
        var lane = g.shell.laneDeclarations() + laneSumItems(g)
        lane += g.shell.laneStorage(readAddress: readAddress, resultWrite: resultWrite(g))
        items += g.shell.control(computeDone: and("step_end", eq("step_q", lit(g.channels, g.stepBits))))
        items.append(.generateFor(genvar: "g", count: "Lanes", label: "lane", items: lane))
        let module = Module(name, comment: moduleComment(g), ports: g.shell.ports, items: items)
        let memories = [
            MemoryImage(file: "\(name)_\(g.scanWord)s.hex", width: g.layout.scanWidth, values: g.layout.scanWords),
            MemoryImage(file: "\(name)_coefficients.hex", width: g.coefficientWordWidth, values: g.coefficientWords),
            MemoryImage(file: "\(name)_bias.hex", width: g.acc, values: numbers.bias),
            MemoryImage(file: "\(name)_shift.hex", width: numbers.shiftWidth, values: numbers.shifts),
        ]
        return GeneratedUnit(
            module: module, memories: memories, computeCycles: (g.channels + 1) * g.stepCycles,
            multipliers: multiplierList(g), adders: adderList(g))
    }

    func moduleComment(_ g: ReuseGeometry) -> String {
        let method = numbers.compression?.method.rawValue ?? "none"
        return """
            \(numbers.layer.name): reuse array (\(method)) for a \(g.fan)-input, \(g.channels)-output layer.
            \(lanes) lanes compute \(lanes) input vectors at once. Per output channel, the scan forms each part's moments with adders
            (\(g.sorted ? "suffix sums over the weights in sorted order; the permutation is the member ROM's address sequence" : "the inner sum of code * x")),
            and \(multipliers) pool multiplier\(multipliers == 1 ? " applies" : "s apply") the coefficients to them (docs/arithmetic.md section 7),
            overlapped one channel apart. Compute: \((g.channels + 1) * g.stepCycles) cycles per batch.
            Generated by approxrtl; interface and timing in docs/rtl.md.
            """
    }

    /// Parameters, the summary comment and the stream shell's declarations.
    func header(_ g: ReuseGeometry) -> [Item] {
        let (layout, cw) = (g.layout, g.cw)
        var items = g.shell.localparams(
            [Parameter("Multipliers", .integer(multipliers), comment: "coefficient multipliers of the pool")],
            summary: [
                g.sorted
                    ? "Parts = \(layout.parts) segment parts per channel (padded), Terms = \(layout.terms) coefficients (\(cw) bits) per part."
                    : "One inner sum per channel, one \(cw)-bit scale.",
                "A step lasts \(g.stepCycles) cycles = max(\(g.scanLength == g.fan ? "Fan" : "\(g.scanLength) weights per channel") + 2, Lanes / Multipliers * Parts * Terms + 3).",
            ])
        items += g.shell.declarations()
        return items
    }

    /// The step counter: in step s the scan forms channel s's moments while the pool finishes channel s - 1.
    func stepItems(_ g: ReuseGeometry) -> [Item] {
        let (stepBits, tickBits, channelBits, scanAddressBits, channels) = (
            g.stepBits, g.tickBits, g.channelBits, g.scanAddressBits, g.channels
        )
        return [
            .blank,
            .comment(
                "Steps: in step s the scan forms channel s's moments (bank s % 2) while the pool finishes channel s - 1 (other bank)."
            ),
            reg("step_q", stepBits), reg("tick_q", tickBits),
            reg("scan_addr_q", scanAddressBits, "next \(g.sorted ? "member" : "code") ROM word"),
            reg("pool_channel_q", channelBits, "the channel the pool finishes (step - 1)"),
            wire("step_end", 1), wire("scan_issue", 1), wire("pool_issue", 1),
            .assign("step_end", and(eq("phase_q", "PhaseCompute"), eq("tick_q", lit(g.stepCycles - 1, tickBits)))),
            .assign(
                "scan_issue",
                and(
                    eq("phase_q", "PhaseCompute"), ne("step_q", lit(channels, stepBits)),
                    lt("tick_q", lit(g.scanLength, tickBits)))),
            .assign(
                "pool_issue",
                and(eq("phase_q", "PhaseCompute"), ne("step_q", lit(0, stepBits)), lt("tick_q", lit(g.walk, tickBits)))),
            .clocked(
                clock: "clk_i", reset: "rst_ni",
                onReset: [
                    .nonblocking("step_q", lit(0, stepBits)), .nonblocking("tick_q", lit(0, tickBits)),
                    .nonblocking("scan_addr_q", lit(0, scanAddressBits)),
                    .nonblocking("pool_channel_q", lit(0, channelBits)),
                ],
                body: [
                    .ifElse(
                        eq("phase_q", "PhaseCompute"),
                        [
                            .nonblocking(
                                "tick_q", mux("step_end", lit(0, tickBits), .binary("tick_q", "+", lit(1, tickBits))))
                        ], []),
                    .ifElse(
                        "step_end",
                        [
                            .nonblocking(
                                "step_q",
                                mux(
                                    eq("step_q", lit(channels, stepBits)), lit(0, stepBits),
                                    .binary("step_q", "+", lit(1, stepBits)))),
                            .nonblocking(
                                "pool_channel_q",
                                mux(
                                    eq("step_q", lit(0, stepBits)), lit(0, channelBits),
                                    .binary("pool_channel_q", "+", lit(1, channelBits)))),
                        ], []),
                    .ifElse(
                        "scan_issue",
                        [.nonblocking("scan_addr_q", .binary("scan_addr_q", "+", lit(1, scanAddressBits)))], []),
                    .ifElse(
                        "compute_done",
                        [
                            .nonblocking("scan_addr_q", lit(0, scanAddressBits)),
                            .nonblocking("pool_channel_q", lit(0, channelBits)),
                        ], []),
                ]),
            .blank,
        ]
    }

    /// Scan stage: s0 issues the ROM read, s1 has the word and reads the lanes' buffers, s2 updates the sums.
    /// Returns the items and the lanes' buffer read address.
    func scanItems(_ g: ReuseGeometry) -> (items: [Item], readAddress: Expr) {
        let (layout, tapBits, slotBits, scanWord) = (g.layout, g.tapBits, g.slotBits, g.scanWord)
        var items: [Item] = [
            .comment(
                g.sorted
                    ? "Member ROM: {\(layout.scanWidth > tapBits + 2 + slotBits ? "steps, " : "")slot, last member, first member, input address} in scan order."
                    : "Code ROM: the scaling-weight codes w = scale * code, channel-major."),
            wire(scanWord, layout.scanWidth),
            romInstance(
                "u_\(scanWord)_rom", file: "mem/\(name)_\(scanWord)s.hex", width: layout.scanWidth, depth: g.scanDepth,
                address: "scan_addr_q", data: scanWord),
            reg("s1_valid_q", 1), reg("s2_valid_q", 1), reg("s2_first_q", 1), reg("s2_final_q", 1),
        ]
        // What stage s1 hands on to s2 besides the valid bit (which has its own block with the reset).
        var s1Body: [Statement] = []
        var readAddress: Expr
        if g.sorted {
            items += [
                wire("read_addr", tapBits), .assign("read_addr", field(.name(scanWord), 0, tapBits)),
                reg("s2_slot_q", slotBits),
            ]
            readAddress = "read_addr"
            s1Body += [
                .nonblocking("s2_first_q", field(.name(scanWord), tapBits, 1)),
                .nonblocking("s2_final_q", field(.name(scanWord), tapBits + 1, 1)),
                .nonblocking("s2_slot_q", field(.name(scanWord), tapBits + 2, slotBits)),
            ]
            if case .gapped(let degree, let dWidth, let eWidth) = layout.scan {
                items.append(reg("s2_d_q", dWidth, "rank step j_u - j_(u-1)"))
                s1Body.append(.nonblocking("s2_d_q", field(.name(scanWord), tapBits + 2 + slotBits, dWidth)))
                if degree == 2 {
                    items.append(reg("s2_e_q", eWidth, "j_u^2 - j_(u-1)^2"))
                    s1Body.append(
                        .nonblocking("s2_e_q", field(.name(scanWord), tapBits + 2 + slotBits + dWidth, eWidth)))
                }
            }
        } else {
            // Natural order: the tap is the tick.
            items += [reg("s1_k_q", tapBits), reg("s2_code_q", layout.scanWidth)]
            readAddress = "s1_k_q"
            s1Body += [
                .nonblocking("s2_first_q", eq("s1_k_q", lit(0, tapBits))),
                .nonblocking("s2_final_q", eq("s1_k_q", lit(g.fan - 1, tapBits))),
                .nonblocking("s2_code_q", .name(scanWord)),
            ]
        }
        var s0Body: [Statement] = []
        if !g.sorted { s0Body.append(.nonblocking("s1_k_q", field("tick_q", 0, tapBits))) }
        items += [
            .clocked(
                clock: "clk_i", reset: "rst_ni",
                onReset: [.nonblocking("s1_valid_q", lit(0, 1)), .nonblocking("s2_valid_q", lit(0, 1))],
                body: [.nonblocking("s1_valid_q", "scan_issue"), .nonblocking("s2_valid_q", "s1_valid_q")]),
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: s0Body + s1Body),
            .blank,
        ]
        return (items, readAddress)
    }

    /// The pool's walk per multiplier (lane by lane, part by part, term by term) and its ROMs: p0 issues the
    /// coefficient read and the lanes' moment reads.
    func poolWalkItems(_ g: ReuseGeometry) -> [Item] {
        let (layout, liBits, ptBits, slotBits, termBits) = (g.layout, g.liBits, g.ptBits, g.slotBits, g.termBits)
        let (coefficientAddressBits, channels) = (g.coefficientAddressBits, g.channels)
        var items: [Item] = [
            .comment(
                "Pool walk per multiplier: lane by lane, part by part, term by term (\(g.walk) products per step)."),
            reg("pool_li_q", liBits), reg("pool_pt_q", ptBits), reg("pool_slot_q", slotBits),
            reg("pool_term_q", termBits),
            reg("coef_addr_q", coefficientAddressBits),
            poolWalkCounters(g),
            wire(layout.padded ? "coefficient_word" : "coefficient", g.coefficientWordWidth), wire("bias", g.acc),
            wire("shift", numbers.shiftWidth),
            romInstance(
                "u_coefficient_rom", file: "mem/\(name)_coefficients.hex", width: g.coefficientWordWidth,
                depth: g.coefficientDepth,
                address: "coef_addr_q", data: layout.padded ? "coefficient_word" : "coefficient"),
            romInstance(
                "u_bias_rom", file: "mem/\(name)_bias.hex", width: g.acc, depth: channels, address: "pool_channel_q",
                data: "bias"),
            romInstance(
                "u_shift_rom", file: "mem/\(name)_shift.hex", width: numbers.shiftWidth, depth: channels,
                address: "pool_channel_q", data: "shift"),
        ]
        if layout.padded {
            items += [
                .comment(
                    "{present, C}: a channel with fewer parts than Parts has absent ones, whose moment slots hold another channel's values."
                ),
                wire("coefficient", g.cw), wire("coefficient_present", 1),
                .assign("coefficient", field("coefficient_word", 0, g.cw)),
                .assign("coefficient_present", field("coefficient_word", g.cw, 1)),
            ]
        }
        return items
    }

    /// The pool walk's counters: term within part, part slot, lane of the multiplier, and the coefficient address
    /// (back to the channel's first coefficient for the next lane, on to the next channel's after the last).
    func poolWalkCounters(_ g: ReuseGeometry) -> Item {
        let (layout, liBits, ptBits, slotBits, termBits) = (g.layout, g.liBits, g.ptBits, g.slotBits, g.termBits)
        let (coefficientAddressBits, partTerms, channels) = (g.coefficientAddressBits, g.partTerms, g.channels)
        return
            .clocked(
                clock: "clk_i", reset: "rst_ni",
                onReset: [
                    .nonblocking("pool_li_q", lit(0, liBits)), .nonblocking("pool_pt_q", lit(0, ptBits)),
                    .nonblocking("pool_slot_q", lit(0, slotBits)),
                    .nonblocking("pool_term_q", lit(0, termBits)),
                    .nonblocking("coef_addr_q", lit(0, coefficientAddressBits)),
                ],
                body: [
                    .ifElse(
                        "pool_issue",
                        [
                            .ifElse(
                                eq("pool_term_q", lit(layout.terms - 1, termBits)),
                                [
                                    .nonblocking("pool_term_q", lit(0, termBits)),
                                    .nonblocking(
                                        "pool_slot_q",
                                        mux(
                                            eq("pool_slot_q", lit(layout.parts - 1, slotBits)), lit(0, slotBits),
                                            .binary("pool_slot_q", "+", lit(1, slotBits)))),
                                ], [.nonblocking("pool_term_q", .binary("pool_term_q", "+", lit(1, termBits)))]),
                            .ifElse(
                                eq("pool_pt_q", lit(partTerms - 1, ptBits)),
                                [
                                    .nonblocking("pool_pt_q", lit(0, ptBits)),
                                    .ifElse(
                                        eq("pool_li_q", lit(g.perMultiplier - 1, liBits)),
                                        [
                                            .comment(
                                                "The channel's coefficients are done: move on to the next channel's."),
                                            .nonblocking("pool_li_q", lit(0, liBits)),
                                            .nonblocking(
                                                "coef_addr_q",
                                                mux(
                                                    eq("pool_channel_q", lit(channels - 1, g.channelBits)),
                                                    lit(0, coefficientAddressBits),
                                                    .binary("coef_addr_q", "+", lit(1, coefficientAddressBits)))),
                                        ],
                                        [
                                            .comment("Next lane: the same channel's coefficients again."),
                                            .nonblocking("pool_li_q", .binary("pool_li_q", "+", lit(1, liBits))),
                                            .nonblocking(
                                                "coef_addr_q",
                                                .binary("coef_addr_q", "-", lit(partTerms - 1, coefficientAddressBits))),
                                        ]),
                                ],
                                [
                                    .nonblocking("pool_pt_q", .binary("pool_pt_q", "+", lit(1, ptBits))),
                                    .nonblocking(
                                        "coef_addr_q", .binary("coef_addr_q", "+", lit(1, coefficientAddressBits))),
                                ]),
                        ], [])
                ])
    }

    /// The pool pipeline's flags: p1 multiplies, p2 accumulates, fin requantizes and writes the lane's result.
    func poolPipelineItems(_ g: ReuseGeometry) -> [Item] {
        let (acc, ptBits, liBits, perMultiplier) = (g.acc, g.ptBits, g.liBits, g.perMultiplier)
        var items: [Item] = [
            reg("p1_valid_q", 1), reg("p1_first_q", 1), reg("p1_last_q", 1),
            reg("p2_valid_q", 1), reg("p2_first_q", 1), reg("p2_last_q", 1), reg("p2_bias_q", acc, signed: true),
            reg("fin_valid_q", 1), reg("fin_channel_q", g.channelBits),
            reg("fin_shift_q", numbers.shiftWidth, signed: true),
            .clocked(
                clock: "clk_i", reset: "rst_ni",
                onReset: [
                    .nonblocking("p1_valid_q", lit(0, 1)), .nonblocking("p2_valid_q", lit(0, 1)),
                    .nonblocking("fin_valid_q", lit(0, 1)),
                ],
                body: [
                    .nonblocking("p1_valid_q", "pool_issue"), .nonblocking("p2_valid_q", "p1_valid_q"),
                    .nonblocking("fin_valid_q", and("p2_valid_q", "p2_last_q")),
                ]),
            .clocked(
                clock: "clk_i", reset: nil, onReset: [],
                body: [
                    .nonblocking("p1_first_q", eq("pool_pt_q", lit(0, ptBits))),
                    .nonblocking("p1_last_q", eq("pool_pt_q", lit(g.partTerms - 1, ptBits))),
                    .nonblocking("p2_first_q", "p1_first_q"), .nonblocking("p2_last_q", "p1_last_q"),
                    .nonblocking("p2_bias_q", .signed("bias")),
                    .nonblocking("fin_channel_q", "pool_channel_q"), .nonblocking("fin_shift_q", .signed("shift")),
                ]),
            wire("lane_moments", lanes * g.mw), wire("pool_results", multipliers * numbers.outputWidth),
            .blank,
        ]
        if perMultiplier > 1 {
            items += [
                .comment("Which of each multiplier's lanes the pipeline carries (p1, p2), one-hot when it finishes."),
                reg("p1_li_q", liBits), reg("p2_li_q", liBits), reg("fin_lane_q", perMultiplier),
                .clocked(
                    clock: "clk_i", reset: nil, onReset: [],
                    body: [
                        .nonblocking("p1_li_q", "pool_li_q"), .nonblocking("p2_li_q", "p1_li_q"),
                        .nonblocking("fin_lane_q", .binary(lit(1, perMultiplier), "<<", "p2_li_q")),
                    ]),
            ]
        }
        return items
    }

    /// One coefficient multiplier: coefficient * moment of lane m * perMultiplier + li, at their natural widths,
    /// accumulated from the bias; the finished sum is requantized.
    func poolMultiplierItems(_ g: ReuseGeometry) -> [Item] {
        let (mw, acc, perMultiplier) = (g.mw, g.acc, g.perMultiplier)
        let product = productItems("product", "coefficient", width: g.cw, "moment", width: mw, target: acc)
        var pool: [Item] = [
            .comment(
                "One coefficient multiplier: C * moment, accumulated from the bias; the finished sum is requantized."),
            reg("moment", mw, signed: true),
        ]
        if perMultiplier == 1 {
            pool.append(
                .combinational([
                    .blocking(
                        "moment",
                        .signed(.part("lane_moments", lsb: .binary("m", "*", .integer(mw)), width: .integer(mw))))
                ]))
        } else {
            let arms: [(Expr, [Statement])] = (0..<perMultiplier).map { li in
                (
                    lit(li, g.liBits),
                    [
                        .blocking(
                            "moment",
                            .signed(
                                .part(
                                    "lane_moments",
                                    lsb: .binary(
                                        .binary(.binary("m", "*", .integer(perMultiplier)), "+", .integer(li)), "*",
                                        .integer(mw)),
                                    width: .integer(mw))))
                    ]
                )
            }
            pool.append(.combinational([.caseOf("p1_li_q", arms, default: [.blocking("moment", zero(mw))])]))
        }
        pool += product.items
        pool += [
            reg("product_q", product.width, signed: true), reg("acc_q", acc, signed: true),
            reg("final_q", acc, signed: true),
            wire("sum", acc, signed: true), wire("y", numbers.outputWidth, signed: true),
            .assign(
                "sum",
                .binary(
                    mux("p2_first_q", "p2_bias_q", "acc_q"), "+",
                    signExtend("product_q", width: product.width, target: acc))),
            .clocked(
                clock: "clk_i", reset: nil, onReset: [],
                body: [
                    .nonblocking(
                        "product_q",
                        g.layout.padded ? mux("coefficient_present", "product", zero(product.width)) : "product"),
                    .ifElse(
                        "p2_valid_q",
                        [.nonblocking("acc_q", "sum"), .ifElse("p2_last_q", [.nonblocking("final_q", "sum")], [])], []),
                ]),
            requantizeInstance("u_requantize", numbers: numbers, acc: "final_q", shift: "fin_shift_q", output: "y"),
            .assign(
                .part(
                    "pool_results", lsb: .binary("m", "*", .integer(numbers.outputWidth)),
                    width: .integer(numbers.outputWidth)), "y"),
        ]
        return pool
    }

    /// Where a lane's results come from: its multiplier's output when the pool finishes this lane.
    func resultWrite(_ g: ReuseGeometry) -> (enable: Expr, channel: Expr, value: Expr) {
        let perMultiplier = g.perMultiplier
        return (
            enable: perMultiplier == 1
                ? Expr.name("fin_valid_q")
                : and("fin_valid_q", .index("fin_lane_q", .binary("g", "%", .integer(perMultiplier)))),
            channel: Expr.name("fin_channel_q"),
            value: Expr.part(
                "pool_results",
                lsb: .binary(.binary("g", "/", .integer(perMultiplier)), "*", .integer(numbers.outputWidth)),
                width: .integer(numbers.outputWidth))
        )
    }

    /// Per lane: the scan sums (each running sum has its moment's width, its bound), the moment memories (two
    /// banks) and the moment the pool reads next.
    func laneSumItems(_ g: ReuseGeometry) -> [Item] {
        let (sums, update, moments) = scanSums(g)
        let bankWrite: Expr =
            g.sorted
            ? .concat([field("step_q", 0, 1), "s2_slot_q"]) : .concat([field("step_q", 0, 1), lit(0, g.slotBits)])
        let bankRead: Expr = .concat([.unary("~", field("step_q", 0, 1)), "pool_slot_q"])
        var lane = sums
        lane += moments.map { reg($0.memory, $0.width, depth: g.momentDepth) }
        lane.append(reg("moment_q", g.mw, "the moment the pool reads next"))
        let read = { (t: Int) -> Expr in
            let value: Expr = .index(.name(moments[t].memory), bankRead)
            return moments[t].width < g.mw ? .unsigned(signExtend(value, width: moments[t].width, target: g.mw)) : value
        }
        var momentRead: Expr = read(0)
        for t in moments.indices.dropFirst() {
            momentRead = mux(eq("pool_term_q", lit(t, g.termBits)), read(t), momentRead)
        }
        lane += [
            .clocked(
                clock: "clk_i", reset: nil, onReset: [],
                body: [
                    .ifElse(
                        "s2_valid_q",
                        update + [
                            .ifElse(
                                "s2_final_q",
                                moments.map { .nonblocking(.index(.name($0.memory), bankWrite), $0.value) }, [])
                        ], []),
                    .nonblocking("moment_q", momentRead),
                ]),
            .assign(.part("lane_moments", lsb: .binary("g", "*", .integer(g.mw)), width: .integer(g.mw)), "moment_q"),
        ]
        return lane
    }

    /// The scan's running sums by kind of scan: their declarations, their updates, and the moments they write.
    func scanSums(_ g: ReuseGeometry) -> (
        items: [Item], update: [Statement], moments: [(memory: String, value: Expr, width: Int)]
    ) {
        let layout = g.layout
        let ws = layout.momentWidths[0]
        let clear = { (name: String, width: Int) -> Expr in mux("s2_first_q", zero(width), .name(name)) }
        var sums: [Item] = [wire("s_next", ws, signed: true), reg("s_q", ws, signed: true)]
        var update: [Statement] = [.nonblocking("s_q", "s_next")]
        var moments: [(memory: String, value: Expr, width: Int)] = [("x_mem_q", "s_next", ws)]
        let x = signExtend("x_q", width: numbers.inputWidth, target: ws)
        switch layout.scan {
        case .contiguous(let degree):
            contiguousSums(g, degree: degree, x: x, clear: clear, sums: &sums, update: &update, moments: &moments)
        case .gapped(let degree, _, _):
            let wj = layout.momentWidths[1]
            sums += [
                .comment("Suffix sums with rank steps: S += x; J += d * S; (quadratic) Q += e * S."),
                .assign("s_next", .binary(clear("s_q", ws), "+", x)),
                wire("j_next", wj, signed: true), reg("j_q", wj, signed: true),
                .assign(
                    "j_next",
                    .binary(
                        clear("j_q", wj), "+",
                        .binary(
                            .signed(.concat([lit(0, 1), "s2_d_q"])), "*", signExtend("s_next", width: ws, target: wj)))),
            ]
            update.append(.nonblocking("j_q", "j_next"))
            moments.append(("j_mem_q", "j_next", wj))
            if degree == 2 {
                let wq = layout.momentWidths[2]
                sums += [
                    wire("q_next", wq, signed: true), reg("q_q", wq, signed: true),
                    .assign(
                        "q_next",
                        .binary(
                            clear("q_q", wq), "+",
                            .binary(
                                .signed(.concat([lit(0, 1), "s2_e_q"])), "*",
                                signExtend("s_next", width: ws, target: wq)))),
                ]
                update.append(.nonblocking("q_q", "q_next"))
                moments.append(("q_mem_q", "q_next", wq))
            }
        case .uniform(let codeWidth):
            let codeProduct = productItems(
                "code_product", "s2_code_q", width: codeWidth, "x_q", width: numbers.inputWidth, target: ws)
            sums +=
                [.comment("Inner sum of code * x (a \(codeWidth)-bit by \(numbers.inputWidth)-bit product per tap).")]
                + codeProduct.items
            sums.append(
                .assign(
                    "s_next",
                    .binary(clear("s_q", ws), "+", signExtend("code_product", width: codeProduct.width, target: ws))))
        case .powerOfTwo(let exponentWidth):
            sums += [
                .comment("Inner sum of code * x with codes 0 or +-2^e: a shift and an add or subtract per tap."),
                wire("term", ws, signed: true),
                .assign(
                    "term",
                    mux(
                        field("s2_code_q", exponentWidth + 1, 1), zero(ws),
                        mux(
                            field("s2_code_q", exponentWidth, 1),
                            .unary("-", .binary(x, "<<<", field("s2_code_q", 0, exponentWidth))),
                            .binary(x, "<<<", field("s2_code_q", 0, exponentWidth))))),
                .assign("s_next", .binary(clear("s_q", ws), "+", "term")),
            ]
        }
        return (sums, update, moments)
    }

    /// M1 with contiguous ranks: suffix sums in descending rank with adders only.
    func contiguousSums(
        _ g: ReuseGeometry, degree: Int, x: Expr, clear: (String, Int) -> Expr, sums: inout [Item],
        update: inout [Statement],
        moments: inout [(memory: String, value: Expr, width: Int)]
    ) {
        let layout = g.layout
        let (ws, wj) = (layout.momentWidths[0], layout.momentWidths[1])
        let unlessLast = { (name: String, from: Int, to: Int) -> Expr in
            mux("s2_final_q", zero(to), signExtend(.name(name), width: from, target: to))
        }
        sums += [
            .comment(
                "Suffix sums in descending rank: S += x; J += S and (quadratic) R += S, Q' += R except at the segment's rank 0."
            ),
            .assign("s_next", .binary(clear("s_q", ws), "+", x)),
            wire("j_next", wj, signed: true), reg("j_q", wj, signed: true),
            .assign("j_next", .binary(clear("j_q", wj), "+", unlessLast("s_next", ws, wj))),
        ]
        update.append(.nonblocking("j_q", "j_next"))
        moments.append(("j_mem_q", "j_next", wj))
        guard degree == 2 else { return }
        let (wr, wqp) = layout.runningWidths
        let wq = layout.momentWidths[2]
        sums += [
            wire("r_next", wr, signed: true), reg("r_q", wr, signed: true), wire("q_next", wqp, signed: true),
            reg("q_q", wqp, signed: true),
            .assign("r_next", .binary(clear("r_q", wr), "+", unlessLast("s_next", ws, wr))),
            .assign("q_next", .binary(clear("q_q", wqp), "+", unlessLast("r_next", wr, wqp))),
        ]
        update += [.nonblocking("r_q", "r_next"), .nonblocking("q_q", "q_next")]
        // Q = 2 * (R_2 + ... + R_T) - J.
        moments.append(
            (
                "q_mem_q",
                .binary(
                    .binary(signExtend("q_next", width: wqp, target: wq), "<<<", 1), "-",
                    signExtend("j_next", width: wj, target: wq)), wq
            ))
    }

    /// The multipliers by kind, for the report.
    func multiplierList(_ g: ReuseGeometry) -> [(what: String, count: Int, widths: (Int, Int))] {
        var list: [(what: String, count: Int, widths: (Int, Int))] = [
            ("coefficient x moment", multipliers, (g.cw, g.mw))
        ]
        switch g.layout.scan {
        case .uniform(let codeWidth): list.append(("code x input", lanes, (codeWidth, numbers.inputWidth)))
        case .gapped(let degree, let dWidth, let eWidth):
            list.append(("rank step x suffix sum", lanes * degree, (max(dWidth, eWidth) + 1, g.layout.momentWidths[0])))
        default: break
        }
        return list
    }

    /// The datapath's adders by kind, for the report.
    func adderList(_ g: ReuseGeometry) -> [(what: String, count: Int, width: Int)] {
        let layout = g.layout
        var list: [(what: String, count: Int, width: Int)] = [("S += x", lanes, layout.momentWidths[0])]
        switch layout.scan {
        case .contiguous(let degree):
            list.append(("J += S", lanes, layout.momentWidths[1]))
            if degree == 2 {
                list += [
                    ("R += S", lanes, layout.runningWidths.r), ("Q' += R", lanes, layout.runningWidths.qPrime),
                    ("Q = 2Q' - J", lanes, layout.momentWidths[2]),
                ]
            }
        case .gapped(let degree, _, _):
            list.append(("J += d S", lanes, layout.momentWidths[1]))
            if degree == 2 { list.append(("Q += e S", lanes, layout.momentWidths[2])) }
        case .uniform, .powerOfTwo:
            list[0].what = "S += code x"
        }
        list += [
            ("pool accumulate", multipliers, g.acc),
            ("requantize rounding", multipliers, g.acc + numbers.maxLeftShift + 1),
        ]
        return list
    }
}
