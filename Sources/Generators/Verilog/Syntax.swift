/// A small typed description of Verilog-2005 modules: what the generators build and `VerilogPrinter` writes.
/// Only the constructs generated hardware needs: parameters, ports and nets with explicit widths and signedness,
/// continuous assignments, clocked and combinational always blocks, and instances. Names follow the lowRISC
/// style of DESIGN.md section 4 (checked by `Module.validate`).

/// An expression. Widths are the writer's business: the printer writes exactly what it is given.
public indirect enum Expr: Equatable, Sendable {
    case name(String)
    /// A sized literal `width'd value` (`width'sd` when signed; negative values as `-width'sd|value|`).
    case literal(Int, width: Int, signed: Bool = false)
    /// A bare integer (parameter values, indices, shift amounts).
    case integer(Int)
    case unary(String, Expr)
    case binary(Expr, String, Expr)
    case ternary(Expr, Expr, Expr)
    /// `base[index]`.
    case index(Expr, Expr)
    /// `base[msb:lsb]`.
    case slice(Expr, msb: Expr, lsb: Expr)
    case concat([Expr])
    /// `{count{value}}`.
    case replicate(Expr, Expr)
    /// `$signed(value)` / `$unsigned(value)`.
    case signed(Expr)
    case unsigned(Expr)
    /// An indexed part-select `base[lsb +: width]` (lanes packed in one vector).
    case part(Expr, lsb: Expr, width: Expr)
    /// A string literal (file names passed as parameters).
    case string(String)
    /// A system function call such as `$clog2(x)`.
    case call(String, [Expr])

    public static func + (a: Expr, b: Expr) -> Expr { .binary(a, "+", b) }
    public static func - (a: Expr, b: Expr) -> Expr { .binary(a, "-", b) }
    public static func * (a: Expr, b: Expr) -> Expr { .binary(a, "*", b) }
}

extension Expr: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral name: String) { self = .name(name) }
    public init(integerLiteral value: Int) { self = .integer(value) }
}

/// `[msb:lsb]` of a net or port; nil width means one bit.
public struct Range: Equatable, Sendable {
    public var msb: Expr
    public var lsb: Expr
    public init(msb: Expr, lsb: Expr = 0) { self.msb = msb; self.lsb = lsb }
    /// `[bits-1:0]`.
    public static func bits(_ bits: Int) -> Range { Range(msb: .integer(bits - 1)) }
    /// `[Parameter-1:0]`.
    public static func bits(_ parameter: String) -> Range { Range(msb: .binary(.name(parameter), "-", .integer(1))) }
}

public struct Parameter: Equatable, Sendable {
    public var name: String
    public var value: Expr
    public var comment: String?
    /// A sized localparam `localparam [msb:lsb] Name` (nil: `integer`), for constants compared with narrow nets.
    public var range: Range?
    public init(_ name: String, _ value: Expr, range: Range? = nil, comment: String? = nil) {
        self.name = name; self.value = value; self.range = range; self.comment = comment
    }
}

public struct Port: Equatable, Sendable {
    public enum Direction: String, Sendable { case input, output }
    public var name: String
    public var direction: Direction
    public var range: Range?
    public var signed: Bool
    public var comment: String?

    public init(
        _ name: String, _ direction: Direction, _ range: Range? = nil, signed: Bool = false, comment: String? = nil
    ) {
        self.name = name; self.direction = direction; self.range = range; self.signed = signed; self.comment = comment
    }
}

public struct Net: Equatable, Sendable {
    public enum Kind: String, Sendable { case wire, reg }
    public var name: String
    public var kind: Kind
    public var range: Range?
    public var signed: Bool
    /// An unpacked array `[0:depth-1]` (memories).
    public var depth: Expr?
    public var comment: String?

    public init(
        _ kind: Kind, _ name: String, _ range: Range? = nil, signed: Bool = false, depth: Expr? = nil,
        comment: String? = nil
    ) {
        self.kind = kind; self.name = name; self.range = range; self.signed = signed; self.depth = depth;
        self.comment = comment
    }
}

public indirect enum Statement: Sendable {
    /// `lhs <= rhs;` (clocked blocks).
    case nonblocking(Expr, Expr)
    /// `lhs = rhs;` (combinational blocks).
    case blocking(Expr, Expr)
    case ifElse(Expr, [Statement], [Statement])
    /// `case (selector)` with `value: statements` arms and a default.
    case caseOf(Expr, [(Expr, [Statement])], default: [Statement])
    case comment(String)
}

public struct Instance: Sendable {
    public var module: String
    public var name: String
    public var parameters: [(String, Expr)]
    public var connections: [(String, Expr)]

    public init(_ module: String, _ name: String, parameters: [(String, Expr)] = [], connections: [(String, Expr)]) {
        self.module = module; self.name = name; self.parameters = parameters; self.connections = connections
    }
}

/// One item of a module body, printed in the order given.
public enum Item: Sendable {
    /// A comment line (or lines) saying what the next block computes.
    case comment(String)
    case net(Net)
    case localparam(Parameter)
    case assign(Expr, Expr)
    /// `always @(posedge clk)`; with `reset`, an asynchronous active-low reset branch (the one reset style of the
    /// project, after lowRISC: mixing styles on one reset net is a lint error).
    case clocked(clock: String, reset: String?, onReset: [Statement], body: [Statement])
    /// `always @(*)`.
    case combinational([Statement])
    case instance(Instance)
    /// `generate for` over `genvar = 0 ... count-1`, a named block per iteration (one per lane).
    case generateFor(genvar: String, count: Expr, label: String, items: [Item])
    case blank
}

public struct Module: Sendable {
    public var name: String
    /// What the module computes (printed as the header comment).
    public var comment: String
    public var parameters: [Parameter]
    public var ports: [Port]
    public var items: [Item]

    public init(_ name: String, comment: String, parameters: [Parameter] = [], ports: [Port], items: [Item]) {
        self.name = name; self.comment = comment; self.parameters = parameters; self.ports = ports; self.items = items
    }
}
