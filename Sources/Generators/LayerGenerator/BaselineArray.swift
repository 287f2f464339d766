import Verilog

/// The contents of one ROM: `values` as `width`-bit two's complement words, written to `mem/<file>`.
public struct MemoryImage: Sendable, Equatable {
    public var file: String
    public var width: Int
    public var values: [Int]
}

/// A generated unit: its module, the ROM images it reads, and its cycle count per batch of vectors.
struct GeneratedUnit {
    var module: Module
    var memories: [MemoryImage]
    /// Compute cycles for one batch (load and drain come on top: one cycle per input and per output code).
    var computeCycles: Int
    /// Multipliers by kind (what they multiply, operand widths) for the report.
    var multipliers: [(what: String, count: Int, widths: (Int, Int))]
    /// The datapath's adders (what they add, how many, result width): the units the paper counts, beside the
    /// multipliers. Control counters are left out here; `synth` counts every adder.
    var adders: [(what: String, count: Int, width: Int)]
}

/// The plain-MAC array: every lane multiplies its input code by the weight read from ROM and accumulates, one tap
/// per cycle, channel after channel. Lanes hold different input vectors (output pixels) and share the weight: a
/// weight-broadcast, output-stationary array (docs/rtl.md says why).
///
/// Pipeline: cycle 0 issues the tap (ROM and buffer addresses), cycle 1 has the weight and the input code, cycle 2
/// accumulates the registered product (from the bias on a channel's first tap), cycle 3 requantizes the finished
/// accumulator into the lane's result memory. Compute cycles per batch: Channels * Fan + 4.
struct BaselineArray {
    let numbers: LayerNumbers
    let lanes: Int
    let name: String

    func generate() -> GeneratedUnit {
        let shell = StreamShell(numbers: numbers, lanes: lanes)
        let (fan, channels, acc) = (numbers.fan, numbers.channels, numbers.accumulatorWidth)
        let (tapBits, channelBits) = (shell.tapBits, shell.channelBits)
        let weightDepth = fan * channels
        let weightAddressBits = unsignedBits(weightDepth - 1)
        let ww = numbers.weightWidth
        var items = shell.localparams([], summary: ["Weights w' are \(ww)-bit codes."])
        items += shell.declarations()
        items += [
            .blank,
            .comment("Issue: channel by channel, tap by tap; the weight ROM is read in address order."),
            reg("issue_c_q", channelBits), reg("issue_k_q", tapBits), reg("weight_addr_q", weightAddressBits),
            reg("issue_done_q", 1, "every tap of the batch issued"),
            wire("issue", 1),
            .assign("issue", and(eq("phase_q", "PhaseCompute"), not("issue_done_q"))),
            .clocked(clock: "clk_i", reset: "rst_ni",
                     onReset: [.nonblocking("issue_c_q", lit(0, channelBits)), .nonblocking("issue_k_q", lit(0, tapBits)),
                               .nonblocking("weight_addr_q", lit(0, weightAddressBits)), .nonblocking("issue_done_q", lit(0, 1))],
                     body: [
                        .ifElse("issue", [
                            .ifElse(eq("issue_k_q", lit(fan - 1, tapBits)), [
                                .nonblocking("issue_k_q", lit(0, tapBits)),
                                .ifElse(eq("issue_c_q", lit(channels - 1, channelBits)), [
                                    .nonblocking("issue_c_q", lit(0, channelBits)), .nonblocking("weight_addr_q", lit(0, weightAddressBits)),
                                    .nonblocking("issue_done_q", lit(1, 1))],
                                        [.nonblocking("issue_c_q", .binary("issue_c_q", "+", lit(1, channelBits))),
                                         .nonblocking("weight_addr_q", .binary("weight_addr_q", "+", lit(1, weightAddressBits)))])],
                                    [.nonblocking("issue_k_q", .binary("issue_k_q", "+", lit(1, tapBits))),
                                     .nonblocking("weight_addr_q", .binary("weight_addr_q", "+", lit(1, weightAddressBits)))])], []),
                        .ifElse("compute_done", [.nonblocking("issue_done_q", lit(0, 1))], []),
                     ]),
            .blank,
            .comment("Weights, biases and shifts: synchronous ROMs, data one cycle after the address."),
            wire("weight", ww), wire("bias", acc), wire("shift", numbers.shiftWidth),
            romInstance("u_weight_rom", file: "mem/\(name)_weights.hex", width: ww, depth: weightDepth, address: "weight_addr_q", data: "weight"),
            romInstance("u_bias_rom", file: "mem/\(name)_bias.hex", width: acc, depth: channels, address: "issue_c_q", data: "bias"),
            romInstance("u_shift_rom", file: "mem/\(name)_shift.hex", width: numbers.shiftWidth, depth: channels, address: "issue_c_q", data: "shift"),
            .blank,
            .comment("Pipeline flags: s1 has the weight and input code, s2 accumulates, fin requantizes."),
            reg("s1_valid_q", 1), reg("s1_first_q", 1), reg("s1_last_q", 1), reg("s1_channel_q", channelBits),
            reg("s2_valid_q", 1), reg("s2_first_q", 1), reg("s2_last_q", 1), reg("s2_channel_q", channelBits),
            reg("s2_bias_q", acc, signed: true), reg("s2_shift_q", numbers.shiftWidth, signed: true),
            reg("fin_valid_q", 1), reg("fin_channel_q", channelBits), reg("fin_shift_q", numbers.shiftWidth, signed: true),
            .clocked(clock: "clk_i", reset: "rst_ni",
                     onReset: [.nonblocking("s1_valid_q", lit(0, 1)), .nonblocking("s2_valid_q", lit(0, 1)), .nonblocking("fin_valid_q", lit(0, 1))],
                     body: [
                        .nonblocking("s1_valid_q", "issue"),
                        .nonblocking("s2_valid_q", "s1_valid_q"),
                        .nonblocking("fin_valid_q", and("s2_valid_q", "s2_last_q")),
                     ]),
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: [
                .nonblocking("s1_first_q", eq("issue_k_q", lit(0, tapBits))),
                .nonblocking("s1_last_q", eq("issue_k_q", lit(fan - 1, tapBits))),
                .nonblocking("s1_channel_q", "issue_c_q"),
                .nonblocking("s2_first_q", "s1_first_q"), .nonblocking("s2_last_q", "s1_last_q"), .nonblocking("s2_channel_q", "s1_channel_q"),
                .nonblocking("s2_bias_q", .signed("bias")), .nonblocking("s2_shift_q", .signed("shift")),
                .nonblocking("fin_channel_q", "s2_channel_q"), .nonblocking("fin_shift_q", "s2_shift_q"),
            ]),
            .blank,
        ]
        // Per lane: product, accumulator, requantization.
        var lane = shell.laneDeclarations()
        let product = productItems("product", "weight", width: ww, "x_q", width: numbers.inputWidth, target: acc)
        lane += [.comment("w' * x at its natural width, then the running sum from the bias (modulo 2^AccWidth: the final sum fits).")]
        lane += product.items
        lane += [
            reg("product_q", product.width, signed: true),
            reg("acc_q", acc, signed: true), reg("final_q", acc, signed: true, "the finished accumulator"),
            wire("sum", acc, signed: true), wire("y", numbers.outputWidth, signed: true),
            .assign("sum", .binary(mux("s2_first_q", "s2_bias_q", "acc_q"), "+", signExtend("product_q", width: product.width, target: acc))),
            .clocked(clock: "clk_i", reset: nil, onReset: [], body: [
                .nonblocking("product_q", "product"),
                .ifElse("s2_valid_q", [.nonblocking("acc_q", "sum"), .ifElse("s2_last_q", [.nonblocking("final_q", "sum")], [])], []),
            ]),
            requantizeInstance("u_requantize", numbers: numbers, acc: "final_q", shift: "fin_shift_q", output: "y"),
        ]
        lane += shell.laneStorage(readAddress: "issue_k_q", resultWrite: (enable: "fin_valid_q", channel: "fin_channel_q", value: "y"))
        items += shell.control(computeDone: and(eq("phase_q", "PhaseCompute"), "issue_done_q", not("s1_valid_q"), not("s2_valid_q"), not("fin_valid_q")))
        items.append(.generateFor(genvar: "g", count: "Lanes", label: "lane", items: lane))
        let comment = """
            \(numbers.layer.name): plain multiply-accumulate array (baseline) for a \(fan)-input, \(channels)-output layer.
            \(lanes) lanes compute \(lanes) input vectors at once; each multiplies its input code by the weight w'[c, k] read from ROM and
            accumulates from the bias, one tap per cycle, then requantizes (docs/arithmetic.md section 3). Compute: \(channels * fan + 4) cycles per batch.
            Generated by approxrtl; interface and timing in docs/rtl.md.
            """
        let module = Module(name, comment: comment, ports: shell.ports, items: items)
        let memories = [MemoryImage(file: "\(name)_weights.hex", width: ww, values: numbers.weights),
                        MemoryImage(file: "\(name)_bias.hex", width: acc, values: numbers.bias),
                        MemoryImage(file: "\(name)_shift.hex", width: numbers.shiftWidth, values: numbers.shifts)]
        return GeneratedUnit(module: module, memories: memories, computeCycles: channels * fan + 4,
                             multipliers: [("w' x input", lanes, (ww, numbers.inputWidth))],
                             adders: [("accumulate", lanes, acc), ("requantize rounding", lanes, acc + numbers.maxLeftShift + 1)])
    }
}
