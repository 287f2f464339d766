/// Writes a `Module` as Verilog-2005 text: one module, two-space indentation, one declaration per line, comments
/// where the module says what a block computes. The same module always gives the same bytes.
public enum VerilogPrinter {
    public static func print(_ module: Module) throws -> String {
        try module.validate()
        var out: [String] = []
        for line in module.comment.split(separator: "\n", omittingEmptySubsequences: false) {
            out.append(line.isEmpty ? "//" : "// \(line)")
        }
        var header = "module \(module.name)"
        if !module.parameters.isEmpty {
            header += " #("
            out.append(header)
            for (i, p) in module.parameters.enumerated() {
                let comma = i + 1 < module.parameters.count ? "," : ""
                // A string parameter (a file name) is untyped; every other parameter is an integer.
                let type = if case .string = p.value { "" } else { " integer" }
                out.append(
                    "  parameter\(type) \(p.name) = \(expr(p.value))\(comma)" + (p.comment.map { "  // \($0)" } ?? ""))
            }
            header = ")"
        }
        out.append(header + " (")
        for (i, port) in module.ports.enumerated() {
            let comma = i + 1 < module.ports.count ? "," : ""
            let type = port.direction == .input ? "input  wire" : "output wire"
            out.append(
                "  \(type)\(declaration(port.range, signed: port.signed)) \(port.name)\(comma)"
                    + (port.comment.map { "  // \($0)" } ?? ""))
        }
        out.append(");")
        for item in module.items { out += lines(item).map { $0.isEmpty ? "" : "  " + $0 } }
        out.append("endmodule")
        return out.joined(separator: "\n") + "\n"
    }

    static func declaration(_ range: Range?, signed: Bool) -> String {
        (signed ? " signed" : "") + (range.map { " [\(expr($0.msb)):\(expr($0.lsb))]" } ?? "")
    }

    static func lines(_ item: Item) -> [String] {
        switch item {
        case .comment(let text):
            return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "//" : "// \($0)" }
        case .blank:
            return [""]
        case .net(let net):
            let depth = net.depth.map { " [0:\(expr(.binary($0, "-", .integer(1))))]" } ?? ""
            return [
                "\(net.kind.rawValue)\(declaration(net.range, signed: net.signed)) \(net.name)\(depth);"
                    + (net.comment.map { "  // \($0)" } ?? "")
            ]
        case .localparam(let p):
            let type = p.range.map { "[\(expr($0.msb)):\(expr($0.lsb))]" } ?? "integer"
            return ["localparam \(type) \(p.name) = \(expr(p.value));" + (p.comment.map { "  // \($0)" } ?? "")]
        case .assign(let lhs, let rhs):
            return ["assign \(expr(lhs)) = \(expr(rhs));"]
        case .clocked(let clock, let reset, let onReset, let body):
            guard let reset else {
                return ["always @(posedge \(clock)) begin"] + body.flatMap(statement).map { "  " + $0 } + ["end"]
            }
            return ["always @(posedge \(clock) or negedge \(reset)) begin", "  if (!\(reset)) begin"]
                + onReset.flatMap(statement).map { "    " + $0 }
                + ["  end else begin"]
                + body.flatMap(statement).map { "    " + $0 }
                + ["  end", "end"]
        case .combinational(let body):
            return ["always @(*) begin"] + body.flatMap(statement).map { "  " + $0 } + ["end"]
        case .instance(let instance):
            var result = [instance.module + (instance.parameters.isEmpty ? "" : " #(")]
            for (i, (name, value)) in instance.parameters.enumerated() {
                result.append("  .\(name)(\(expr(value)))" + (i + 1 < instance.parameters.count ? "," : ""))
            }
            if instance.parameters.isEmpty {
                result[0] += " \(instance.name) ("
            } else {
                result.append(") \(instance.name) (")
            }
            for (i, (port, value)) in instance.connections.enumerated() {
                result.append("  .\(port)(\(expr(value)))" + (i + 1 < instance.connections.count ? "," : ""))
            }
            result.append(");")
            return result
        case .generateFor(let genvar, let count, let label, let items):
            return [
                "genvar \(genvar);", "generate",
                "  for (\(genvar) = 0; \(genvar) < \(expr(count)); \(genvar) = \(genvar) + 1) begin : \(label)",
            ]
                + items.flatMap(lines).map { $0.isEmpty ? "" : "    " + $0 }
                + ["  end", "endgenerate"]
        }
    }

    static func statement(_ s: Statement) -> [String] {
        switch s {
        case .nonblocking(let lhs, let rhs): return ["\(expr(lhs)) <= \(expr(rhs));"]
        case .blocking(let lhs, let rhs): return ["\(expr(lhs)) = \(expr(rhs));"]
        case .comment(let text): return text.split(separator: "\n").map { "// \($0)" }
        case .ifElse(let condition, let then, let otherwise):
            var result = ["if (\(expr(condition))) begin"] + then.flatMap(statement).map { "  " + $0 }
            if otherwise.isEmpty {
                result.append("end")
            } else {
                result.append("end else begin")
                result += otherwise.flatMap(statement).map { "  " + $0 }
                result.append("end")
            }
            return result
        case .caseOf(let selector, let arms, let fallback):
            var result = ["case (\(expr(selector)))"]
            for (value, body) in arms {
                result.append("  \(expr(value)): begin")
                result += body.flatMap(statement).map { "    " + $0 }
                result.append("  end")
            }
            result.append("  default: begin")
            result += fallback.flatMap(statement).map { "    " + $0 }
            result.append("  end")
            result.append("endcase")
            return result
        }
    }

    /// Expressions are fully parenthesised below the top level, so precedence never depends on the reader.
    public static func expr(_ e: Expr, top: Bool = true) -> String {
        switch e {
        case .name(let name): return name
        case .integer(let value): return "\(value)"
        case .literal(let value, let width, let signed):
            let body = "\(width)'\(signed ? "s" : "")d\(abs(value))"
            return value < 0 ? (top ? "-\(body)" : "(-\(body))") : body
        case .unary(let op, let a): return "\(op)\(expr(a, top: false))"
        case .binary(let a, let op, let b):
            let text = "\(expr(a, top: false)) \(op) \(expr(b, top: false))"
            return top ? text : "(\(text))"
        case .ternary(let c, let a, let b):
            let text = "\(expr(c, top: false)) ? \(expr(a, top: false)) : \(expr(b, top: false))"
            return top ? text : "(\(text))"
        case .index(let base, let index): return "\(expr(base, top: false))[\(expr(index))]"
        case .slice(let base, let msb, let lsb): return "\(expr(base, top: false))[\(expr(msb)):\(expr(lsb))]"
        case .concat(let parts): return "{" + parts.map { expr($0) }.joined(separator: ", ") + "}"
        case .replicate(let count, let value): return "{\(expr(count)){\(expr(value))}}"
        case .signed(let a): return "$signed(\(expr(a)))"
        case .unsigned(let a): return "$unsigned(\(expr(a)))"
        case .part(let base, let lsb, let width): return "\(expr(base, top: false))[\(expr(lsb)) +: \(expr(width))]"
        case .string(let text): return "\"\(text)\""
        case .call(let name, let arguments):
            return "\(name)(" + arguments.map { expr($0) }.joined(separator: ", ") + ")"
        }
    }
}
