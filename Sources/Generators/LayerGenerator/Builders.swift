import Verilog

// Small shorthands over the Verilog builder, so that the generators read close to the Verilog they write.

func lit(_ value: Int, _ width: Int) -> Expr { .literal(value, width: width) }
func eq(_ a: Expr, _ b: Expr) -> Expr { .binary(a, "==", b) }
func ne(_ a: Expr, _ b: Expr) -> Expr { .binary(a, "!=", b) }
func lt(_ a: Expr, _ b: Expr) -> Expr { .binary(a, "<", b) }
func and(_ terms: Expr...) -> Expr { terms.dropFirst().reduce(terms[0]) { .binary($0, "&&", $1) } }
func not(_ a: Expr) -> Expr { .unary("!", a) }
func mux(_ condition: Expr, _ a: Expr, _ b: Expr) -> Expr { .ternary(condition, a, b) }

func reg(_ name: String, _ bits: Int, signed: Bool = false, depth: Int? = nil, _ comment: String? = nil) -> Item {
    .net(
        Net(
            .reg, name, bits > 1 || signed ? .bits(bits) : nil, signed: signed, depth: depth.map { .integer($0) },
            comment: comment))
}

func wire(_ name: String, _ bits: Int, signed: Bool = false, _ comment: String? = nil) -> Item {
    .net(Net(.wire, name, bits > 1 || signed ? .bits(bits) : nil, signed: signed, comment: comment))
}

/// `name[lsb +: width]` at a constant position.
func field(_ name: Expr, _ lsb: Int, _ width: Int) -> Expr {
    width == 1 ? .index(name, .integer(lsb)) : .slice(name, msb: .integer(lsb + width - 1), lsb: .integer(lsb))
}

/// A value of `width` bits, as a signed operand of exactly `target` bits or fewer: wider values keep their low
/// `target` bits (arithmetic modulo 2^target is all the accumulators need, docs/arithmetic.md section 7).
func operand(_ value: Expr, width: Int, target: Int) -> Expr {
    width > target ? .signed(.slice(value, msb: .integer(target - 1), lsb: 0)) : .signed(value)
}

/// A signed zero of `width` bits (an unsigned literal would make a whole expression unsigned).
func zero(_ width: Int) -> Expr { .literal(0, width: width, signed: true) }

/// `value` (`width` bits, two's complement) sign-extended to `target` bits, as a signed expression.
func signExtend(_ value: Expr, width: Int, target: Int) -> Expr {
    if width >= target { return operand(value, width: width, target: target) }
    return .signed(.concat([.replicate(.integer(target - width), field(value, width - 1, 1)), value]))
}

/// The exact product of two signed codes at its natural width (`a` + `b` bits), as items declaring `name`; when
/// that is wider than the accumulator, the product is formed modulo 2^target instead. Returns the product's width.
/// The multiplier is rtl/approxrtl_multiplier.v (`*`, or rows of adders for a LUT-only ECP5).
func productItems(_ name: String, _ a: Expr, width aWidth: Int, _ b: Expr, width bWidth: Int, target: Int) -> (
    items: [Item], width: Int
) {
    let width = min(aWidth + bWidth, target)
    return (
        [
            wire(name, width, signed: true),
            .instance(
                Instance(
                    "approxrtl_multiplier", "u_\(name)",
                    parameters: [
                        ("AWidth", .integer(aWidth)), ("BWidth", .integer(bWidth)), ("PWidth", .integer(width)),
                    ],
                    connections: [("a_i", a), ("b_i", b), ("p_o", .name(name))])),
        ], width
    )
}

/// A synchronous-read ROM from rtl/approxrtl_rom.v, initialised from `file` (relative to where the simulator or Yosys runs).
func romInstance(_ name: String, file: String, width: Int, depth: Int, address: Expr, data: String) -> Item {
    let addressBits = unsignedBits(depth - 1)
    return .instance(
        Instance(
            "approxrtl_rom", name,
            parameters: [
                ("Width", .integer(width)), ("Depth", .integer(depth)),
                ("AddrWidth", .integer(addressBits)), ("InitFile", .string(file)),
            ],
            connections: [("clk_i", "clk_i"), ("addr_i", address), ("data_o", .name(data))]))
}

/// The requantization of docs/arithmetic.md section 3 (rtl/approxrtl_requantize.v) for one result.
func requantizeInstance(_ name: String, numbers: LayerNumbers, acc: Expr, shift: Expr, output: Expr) -> Item {
    .instance(
        Instance(
            "approxrtl_requantize", name,
            parameters: [
                ("AccWidth", .integer(numbers.accumulatorWidth)), ("OutWidth", .integer(numbers.outputWidth)),
                ("ShiftWidth", .integer(numbers.shiftWidth)), ("MaxLeftShift", .integer(numbers.maxLeftShift)),
                ("MinShift", .integer(numbers.shifts.min()!)), ("MaxShift", .integer(numbers.shifts.max()!)),
            ],
            connections: [
                ("acc_i", acc), ("shift_i", shift), ("relu_i", lit(numbers.relu ? 1 : 0, 1)), ("y_o", output),
            ]))
}

/// A case statement choosing one of `count` equal slices of a packed vector by a narrow selector: the lane
/// multiplexers, unrolled so that every index has an explicit width.
func sliceMux(
    target: String, source: String, selector: String, selectorBits: Int, count: Int, width: Int, offset: Int = 0
) -> Item {
    if count == 1 { return .combinational([.blocking(.name(target), field(.name(source), offset * width, width))]) }
    let arms: [(Expr, [Statement])] = (0..<count).map {
        (lit($0, selectorBits), [.blocking(.name(target), field(.name(source), (offset + $0) * width, width))])
    }
    return .combinational([.caseOf(.name(selector), arms, default: [.blocking(.name(target), lit(0, width))])])
}
