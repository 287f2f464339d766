import Verilog

/// The part of a layer unit that both architectures share (docs/rtl.md, "Layer units"): the AXI4-Stream ports,
/// the three phases (load a batch of up to `lanes` input vectors, compute every output channel for them, drain the
/// results), one input buffer and one result memory per lane.
///
/// Input: one code per beat, vector after vector (`fan` codes each); `in_tlast_i` on the last code of a frame
/// closes the batch early, so a frame (an image's pixels) never shares a batch with the next. Output: one code per
/// beat, each vector's channels in order, `out_tlast_o` on the last code of a frame.
struct StreamShell {
    let numbers: LayerNumbers
    let lanes: Int

    var fan: Int { numbers.fan }
    var channels: Int { numbers.channels }
    var tapBits: Int { unsignedBits(fan - 1) }
    var channelBits: Int { unsignedBits(channels - 1) }
    var laneBits: Int { unsignedBits(lanes - 1) }

    var ports: [Port] {
        [
            Port("clk_i", .input), Port("rst_ni", .input),
            Port("in_tdata_i", .input, .bits(numbers.inputWidth), comment: "one input code (two's complement)"),
            Port("in_tvalid_i", .input), Port("in_tready_o", .output),
            Port("in_tlast_i", .input, comment: "last code of a frame: closes the batch"),
            Port("out_tdata_o", .output, .bits(numbers.outputWidth), comment: "one output code (two's complement)"),
            Port("out_tvalid_o", .output), Port("out_tready_i", .input),
            Port("out_tlast_o", .output, comment: "last code of a frame"),
        ]
    }

    /// The sizes a reader needs first, as a comment (the generator has already folded them into every width), and
    /// the named constants the body uses.
    func localparams(_ extra: [Parameter], summary: [String]) -> [Item] {
        let lines =
            [
                "Fan = \(fan) codes per input vector, Channels = \(channels) codes per output vector,",
                "AccWidth = \(numbers.accumulatorWidth) (the accumulator width the quantizer proved), input codes \(numbers.inputWidth) bits, output codes \(numbers.outputWidth) bits.",
            ]
            + summary
        return [.comment(lines.joined(separator: "\n"))]
            + ([
                Parameter("Lanes", .integer(lanes), comment: "input vectors computed together"),
                Parameter("PhaseLoad", lit(0, 2), range: .bits(2)),
                Parameter("PhaseCompute", lit(1, 2), range: .bits(2)),
                Parameter("PhaseDrain", lit(2, 2), range: .bits(2)),
            ] + extra).map(Item.localparam)
    }

    /// The phase register, the load and drain counters and the handshake wires, declared before anything uses them.
    func declarations() -> [Item] {
        [
            .comment("Phases: load a batch of input vectors, compute all channels for them, drain the results."),
            reg("phase_q", 2),
            reg("load_k_q", tapBits, "code of the vector being loaded"),
            reg("load_v_q", laneBits, "lane of the vector being loaded"),
            reg("last_lane_q", laneBits, "the batch's last lane"),
            reg("frame_end_q", 1, "the batch ends a frame"),
            reg("drain_c_q", channelBits, "channel being sent"),
            reg("drain_v_q", laneBits, "lane being sent"),
            wire("in_fire", 1), wire("out_fire", 1), wire("compute_done", 1),
            wire("lane_results", lanes * numbers.outputWidth, "every lane's result for channel drain_c_q"),
        ]
    }

    /// The phase sequencing and the AXI4-Stream handshakes; `computeDone` ends the compute phase.
    func control(computeDone: Expr) -> [Item] {
        let laneLast: Expr = lit(lanes - 1, laneBits)
        return [
            .comment("Load, compute, drain: the handshakes and the phase sequence."),
            .assign("in_tready_o", eq("phase_q", "PhaseLoad")),
            .assign("in_fire", and("in_tvalid_i", "in_tready_o")),
            .assign("out_tvalid_o", eq("phase_q", "PhaseDrain")),
            .assign("out_fire", and("out_tvalid_o", "out_tready_i")),
            .assign(
                "out_tlast_o",
                and("frame_end_q", eq("drain_v_q", "last_lane_q"), eq("drain_c_q", lit(channels - 1, channelBits)))),
            .assign("compute_done", computeDone),
            .clocked(
                clock: "clk_i", reset: "rst_ni",
                onReset: [
                    .nonblocking("phase_q", "PhaseLoad"), .nonblocking("load_k_q", lit(0, tapBits)),
                    .nonblocking("load_v_q", lit(0, laneBits)),
                    .nonblocking("last_lane_q", lit(0, laneBits)), .nonblocking("frame_end_q", lit(0, 1)),
                    .nonblocking("drain_c_q", lit(0, channelBits)), .nonblocking("drain_v_q", lit(0, laneBits)),
                ],
                body: [
                    .ifElse(
                        "in_fire",
                        [
                            .ifElse(
                                eq("load_k_q", lit(fan - 1, tapBits)),
                                [
                                    .nonblocking("load_k_q", lit(0, tapBits)),
                                    .ifElse(
                                        .binary(eq("load_v_q", laneLast), "||", "in_tlast_i"),
                                        [
                                            .comment("Batch full, or the frame ends: compute."),
                                            .nonblocking("phase_q", "PhaseCompute"),
                                            .nonblocking("last_lane_q", "load_v_q"),
                                            .nonblocking("frame_end_q", "in_tlast_i"),
                                            .nonblocking("load_v_q", lit(0, laneBits)),
                                        ],
                                        [.nonblocking("load_v_q", .binary("load_v_q", "+", lit(1, laneBits)))]),
                                ],
                                [.nonblocking("load_k_q", .binary("load_k_q", "+", lit(1, tapBits)))])
                        ], []),
                    .ifElse("compute_done", [.nonblocking("phase_q", "PhaseDrain")], []),
                    .ifElse(
                        "out_fire",
                        [
                            .ifElse(
                                eq("drain_c_q", lit(channels - 1, channelBits)),
                                [
                                    .nonblocking("drain_c_q", lit(0, channelBits)),
                                    .ifElse(
                                        eq("drain_v_q", "last_lane_q"),
                                        [
                                            .nonblocking("phase_q", "PhaseLoad"),
                                            .nonblocking("drain_v_q", lit(0, laneBits)),
                                        ],
                                        [.nonblocking("drain_v_q", .binary("drain_v_q", "+", lit(1, laneBits)))]),
                                ],
                                [.nonblocking("drain_c_q", .binary("drain_c_q", "+", lit(1, channelBits)))])
                        ], []),
                ]),
            .comment("The code sent: lane drain_v_q's result for channel drain_c_q."),
            reg("drain_code", numbers.outputWidth),
            sliceMux(
                target: "drain_code", source: "lane_results", selector: "drain_v_q", selectorBits: laneBits,
                count: lanes, width: numbers.outputWidth),
            .assign("out_tdata_o", "drain_code"),
        ]
    }

    /// Per lane, declared first: the input buffer, the code read from it, the result memory.
    func laneDeclarations() -> [Item] {
        [
            .comment("This lane's input vector, and its results for every channel."),
            reg("buffer_q", numbers.inputWidth, depth: fan),
            reg("x_q", numbers.inputWidth, signed: true, "the input code being used"),
            reg("result_q", numbers.outputWidth, depth: channels),
        ]
    }

    /// Per lane: the buffer is written while loading and read at `readAddress` (x_q holds the code one cycle
    /// later); the result memory is written with `resultWrite` and read by the drain.
    func laneStorage(readAddress: Expr, resultWrite: (enable: Expr, channel: Expr, value: Expr)) -> [Item] {
        [
            .comment("Load into the buffer, read the next input code, store a finished result."),
            .clocked(
                clock: "clk_i", reset: nil, onReset: [],
                body: [
                    .ifElse(
                        and("in_fire", eq("load_v_q", "g")),
                        [.nonblocking(.index("buffer_q", "load_k_q"), "in_tdata_i")], []),
                    .nonblocking("x_q", .signed(.index("buffer_q", readAddress))),
                    .ifElse(
                        resultWrite.enable, [.nonblocking(.index("result_q", resultWrite.channel), resultWrite.value)],
                        []),
                ]),
            .assign(
                .part(
                    "lane_results", lsb: .binary("g", "*", .integer(numbers.outputWidth)),
                    width: .integer(numbers.outputWidth)),
                .index("result_q", "drain_c_q")),
        ]
    }
}
