/// Why a module cannot be written: names the module, the item and the reason.
public struct VerilogError: Error, CustomStringConvertible, Equatable {
    public var module: String
    public var reason: String
    public var description: String { "module '\(module)': \(reason)" }
}

/// Verilog-2005 and SystemVerilog keywords that may not name anything.
let reservedWords: Set<String> = [
    "always", "and", "assign", "automatic", "begin", "buf", "case", "casex", "casez", "cell", "cmos", "config",
    "deassign",
    "default", "defparam", "design", "disable", "edge", "else", "end", "endcase", "endconfig", "endfunction",
    "endgenerate",
    "endmodule", "endprimitive", "endspecify", "endtable", "endtask", "event", "for", "force", "forever", "fork",
    "function",
    "generate", "genvar", "highz0", "highz1", "if", "ifnone", "incdir", "include", "initial", "inout", "input",
    "instance",
    "integer", "join", "large", "liblist", "library", "localparam", "macromodule", "medium", "module", "nand",
    "negedge",
    "nmos", "nor", "noshowcancelled", "not", "notif0", "notif1", "or", "output", "parameter", "pmos", "posedge",
    "primitive",
    "pull0", "pull1", "pulldown", "pullup", "pulsestyle_onevent", "pulsestyle_ondetect", "rcmos", "real", "realtime",
    "reg",
    "release", "repeat", "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1", "scalared", "showcancelled", "signed",
    "small",
    "specify", "specparam", "strong0", "strong1", "supply0", "supply1", "table", "task", "time", "tran", "tranif0",
    "tranif1",
    "tri", "tri0", "tri1", "triand", "trior", "trireg", "unsigned", "use", "uwire", "vectored", "wait", "wand", "weak0",
    "weak1", "while", "wire", "wor", "xnor", "xor",
    // SystemVerilog, so that the generated files also read as SystemVerilog (Verilator, iverilog -g2012).
    "bit", "byte", "int", "logic", "longint", "shortint", "string", "type", "var", "void", "interface", "package",
    "import",
    "export", "class", "program", "property", "sequence", "final", "unique", "priority", "return", "break", "continue",
    "packed", "struct", "union", "enum", "typedef", "always_ff", "always_comb", "always_latch", "bind", "chandle",
    "const",
    "constraint", "covergroup", "coverpoint", "cross", "extern", "extends", "implements", "inside", "local", "modport",
    "new", "null", "protected", "pure", "rand", "randc", "randcase", "ref", "shortreal", "solve", "static", "super",
    "this", "virtual", "with", "within", "assert", "assume", "cover", "expect", "foreach", "tagged", "timeprecision",
    "timeunit", "context", "dist", "wildcard", "endclass", "endinterface", "endpackage", "endprogram", "endproperty",
    "endsequence", "endgroup", "endclocking", "clocking", "matches", "alias", "do", "forever", "iff", "ignore_bins",
    "illegal_bins", "intersect", "join_any", "join_none", "first_match", "throughout", "unique0", "restrict", "let",
    "checker", "endchecker", "global", "nettype", "soft", "untyped", "s_always", "s_eventually", "eventually",
    "accept_on", "reject_on", "sync_accept_on", "sync_reject_on", "until", "until_with", "s_until", "s_until_with",
    "nexttime", "s_nexttime", "strong", "weak", "implies", "interconnect",
]

extension Module {
    /// Names: lower_snake_case modules, nets and ports; ports end in _i or _o (the clock is clk_i, the reset
    /// rst_ni); parameters UpperCamelCase; no keyword; each name declared once.
    public func validate() throws {
        func fail(_ reason: String) -> VerilogError { VerilogError(module: name, reason: reason) }
        func snake(_ s: String) -> Bool {
            guard let first = s.first, first.isLowercase, first.isASCII else { return false }
            return s.allSatisfy { ($0.isLowercase && $0.isASCII) || $0.isNumber || $0 == "_" }
        }
        func camel(_ s: String) -> Bool {
            guard let first = s.first, first.isUppercase, first.isASCII else { return false }
            return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
        guard snake(name), !reservedWords.contains(name) else {
            throw fail("the module name must be lower_snake_case and not a keyword")
        }
        var declared = Set<String>()
        func declare(_ item: String, _ set: inout Set<String>) throws {
            guard !reservedWords.contains(item) else { throw fail("'\(item)' is a Verilog keyword") }
            guard set.insert(item).inserted else { throw fail("'\(item)' is declared twice") }
        }
        for p in parameters {
            guard camel(p.name) else { throw fail("parameter '\(p.name)' must be UpperCamelCase") }
            try declare(p.name, &declared)
        }
        for port in ports {
            guard snake(port.name) else { throw fail("port '\(port.name)' must be lower_snake_case") }
            let suffix = port.direction == .input ? ["_i", "_ni"] : ["_o", "_no"]
            guard suffix.contains(where: { port.name.hasSuffix($0) }) else {
                throw fail(
                    "\(port.direction.rawValue) port '\(port.name)' must end in \(suffix.joined(separator: " or "))")
            }
            try declare(port.name, &declared)
        }
        try Module.declareItems(items, into: &declared, snake: snake, camel: camel, declare: declare, fail: fail)
    }

    /// Names inside a generate block live in the block's scope: they may reuse an outer name's spelling only
    /// through the block label, so they are checked against the outer names too (no shadowing).
    private static func declareItems(
        _ items: [Item], into declared: inout Set<String>, snake: (String) -> Bool, camel: (String) -> Bool,
        declare: (String, inout Set<String>) throws -> Void, fail: (String) -> VerilogError
    ) throws {
        for item in items {
            switch item {
            case .net(let net):
                guard snake(net.name) else { throw fail("\(net.kind.rawValue) '\(net.name)' must be lower_snake_case") }
                try declare(net.name, &declared)
            case .localparam(let p):
                guard camel(p.name) else { throw fail("localparam '\(p.name)' must be UpperCamelCase") }
                try declare(p.name, &declared)
            case .instance(let instance):
                guard snake(instance.name), snake(instance.module) else {
                    throw fail("instance '\(instance.name)' of '\(instance.module)': names must be lower_snake_case")
                }
                try declare(instance.name, &declared)
            case .generateFor(let genvar, _, let label, let inner):
                guard snake(genvar), snake(label) else {
                    throw fail("generate block '\(label)' and genvar '\(genvar)' must be lower_snake_case")
                }
                try declare(genvar, &declared)
                try declare(label, &declared)
                var scope = declared
                try declareItems(inner, into: &scope, snake: snake, camel: camel, declare: declare, fail: fail)
            case .comment, .assign, .clocked, .combinational, .blank:
                break
            }
        }
    }
}
