import Foundation
import TestSupport
import Verilog
import XCTest

final class PrinterTests: XCTestCase {
    /// A registered signed multiply-accumulate: the example every construct below is checked on.
    static func mac() -> Module {
        Module(
            "mac_example", comment: "Accumulates a_i * b_i on every valid cycle; acc_o holds the running sum.",
            parameters: [Parameter("InWidth", 8, comment: "operand width"), Parameter("AccWidth", 20)],
            ports: [
                Port("clk_i", .input), Port("rst_ni", .input), Port("valid_i", .input),
                Port("a_i", .input, .bits("InWidth"), signed: true),
                Port("b_i", .input, .bits("InWidth"), signed: true),
                Port("acc_o", .output, .bits("AccWidth"), signed: true),
            ],
            items: [
                .comment("The product, sign-extended to the accumulator width."),
                .net(Net(.wire, "product", .bits(16), signed: true)),
                .net(Net(.wire, "product_ext", .bits("AccWidth"), signed: true)),
                .assign("product", .binary("a_i", "*", "b_i")),
                .assign(
                    "product_ext",
                    .signed(.concat([.replicate(.binary("AccWidth", "-", 16), .index("product", 15)), "product"]))),
                .net(Net(.reg, "acc_q", .bits("AccWidth"), signed: true)),
                .clocked(
                    clock: "clk_i", reset: "rst_ni", onReset: [.nonblocking("acc_q", .literal(0, width: 20))],
                    body: [.ifElse("valid_i", [.nonblocking("acc_q", .binary("acc_q", "+", "product_ext"))], [])]),
                .assign("acc_o", "acc_q"),
            ])
    }

    func testPrintsTheExpectedText() throws {
        let expected = """
            // Accumulates a_i * b_i on every valid cycle; acc_o holds the running sum.
            module mac_example #(
              parameter integer InWidth = 8,  // operand width
              parameter integer AccWidth = 20
            ) (
              input  wire clk_i,
              input  wire rst_ni,
              input  wire valid_i,
              input  wire signed [InWidth - 1:0] a_i,
              input  wire signed [InWidth - 1:0] b_i,
              output wire signed [AccWidth - 1:0] acc_o
            );
              // The product, sign-extended to the accumulator width.
              wire signed [15:0] product;
              wire signed [AccWidth - 1:0] product_ext;
              assign product = a_i * b_i;
              assign product_ext = $signed({{AccWidth - 16{product[15]}}, product});
              reg signed [AccWidth - 1:0] acc_q;
              always @(posedge clk_i or negedge rst_ni) begin
                if (!rst_ni) begin
                  acc_q <= 20'd0;
                end else begin
                  if (valid_i) begin
                    acc_q <= acc_q + product_ext;
                  end
                end
              end
              assign acc_o = acc_q;
            endmodule

            """
        XCTAssertEqual(try VerilogPrinter.print(Self.mac()), expected)
    }

    func testExpressionsAreParenthesisedBelowTheTop() {
        XCTAssertEqual(
            VerilogPrinter.expr(.binary(.binary("a", "+", "b"), "*", .literal(-3, width: 4, signed: true))),
            "(a + b) * (-4'sd3)")
        XCTAssertEqual(
            VerilogPrinter.expr(.ternary("s", .slice("x", msb: 7, lsb: 0), .unary("~", "y"))), "s ? x[7:0] : ~y")
        XCTAssertEqual(VerilogPrinter.expr(.literal(-5, width: 8, signed: true)), "-8'sd5")
    }

    func testBadNamesAreRefusedWithTheReason() {
        var module = Self.mac()
        module.ports[3].name = "a"
        XCTAssertThrowsError(try VerilogPrinter.print(module)) {
            XCTAssertTrue("\($0)".contains("input port 'a' must end in _i or _ni"), "\($0)")
        }
        module = Self.mac()
        module.parameters[0].name = "in_width"
        XCTAssertThrowsError(try VerilogPrinter.print(module)) {
            XCTAssertTrue("\($0)".contains("UpperCamelCase"), "\($0)")
        }
        module = Self.mac()
        module.items.append(.net(Net(.wire, "product")))
        XCTAssertThrowsError(try VerilogPrinter.print(module)) {
            XCTAssertTrue("\($0)".contains("'product' is declared twice"), "\($0)")
        }
        module = Self.mac()
        module.items.append(.net(Net(.wire, "logic")))
        XCTAssertThrowsError(try VerilogPrinter.print(module)) { XCTAssertTrue("\($0)".contains("keyword"), "\($0)") }
        // Names inside a generate block are checked too (here a SystemVerilog keyword Verilator rejects).
        module = Self.mac()
        module.items.append(.generateFor(genvar: "g", count: 2, label: "lane", items: [.net(Net(.wire, "packed"))]))
        XCTAssertThrowsError(try VerilogPrinter.print(module)) {
            XCTAssertTrue("\($0)".contains("'packed' is a Verilog keyword"), "\($0)")
        }
    }

    /// Every construct the printer writes, in one module: Verilator's -Wall lint and Icarus must accept it
    /// without a warning or waiver.
    func testEveryConstructIsLintCleanUnderVerilatorAndIcarus() throws {
        let kitchen = Module(
            "kitchen_sink", comment: "Exercises every construct of the printer.",
            parameters: [Parameter("Width", 8)],
            ports: [
                Port("clk_i", .input), Port("rst_ni", .input), Port("sel_i", .input, .bits(2)),
                Port("x_i", .input, .bits("Width")),
                Port("y_o", .output, .bits("Width")), Port("z_o", .output, .bits(4), signed: true),
                Port("acc_o", .output, .bits(20), signed: true),
                Port("parity_o", .output),
            ],
            items: [
                .localparam(Parameter("Depth", 4, comment: "entries")),
                .net(Net(.reg, "mem_q", .bits("Width"), depth: "Depth")),
                .net(Net(.reg, "y_d", .bits("Width"))),
                .net(Net(.reg, "sync_q", .bits("Width"))),
                .net(Net(.wire, "read", .bits("Width"))),
                .clocked(
                    clock: "clk_i", reset: nil, onReset: [], body: [.nonblocking(.index("mem_q", "sel_i"), "x_i")]),
                .assign("read", .index("mem_q", "sel_i")),
                .clocked(
                    clock: "clk_i", reset: "rst_ni", onReset: [.nonblocking("sync_q", .literal(0, width: 8))],
                    body: [.nonblocking("sync_q", .binary("sync_q", "^", "x_i"))]),
                .combinational([
                    .comment("a mux"),
                    .caseOf(
                        "sel_i",
                        [
                            (.literal(0, width: 2), [.blocking("y_d", "read")]),
                            (.literal(1, width: 2), [.blocking("y_d", .binary("read", "&", "sync_q"))]),
                        ],
                        default: [
                            .blocking(
                                "y_d",
                                .ternary(.binary("sel_i", "==", .literal(2, width: 2)), "sync_q", .unary("~", "x_i")))
                        ]),
                ]),
                .blank,
                .assign("y_o", "y_d"),
                .assign("z_o", .signed(.slice("x_i", msb: 3, lsb: 0))),
                .net(Net(.wire, "acc", .bits(20), signed: true)),
                .instance(
                    Instance(
                        "mac_example", "u_mac", parameters: [("InWidth", 8), ("AccWidth", 20)],
                        connections: [
                            ("clk_i", "clk_i"), ("rst_ni", "rst_ni"), ("valid_i", .index("sel_i", 0)),
                            ("a_i", .signed("x_i")), ("b_i", .signed("y_d")), ("acc_o", "acc"),
                        ])),
                .assign("acc_o", "acc"),
                // Lanes in a generate loop, packed with indexed part-selects; a sized localparam; a string
                // parameter and a system function call.
                .localparam(Parameter("Lanes", .call("$clog2", [16]))),
                .localparam(Parameter("Top", .literal(3, width: 2), range: .bits(2))),
                .net(Net(.wire, "packed_lanes", .bits(16))),
                .generateFor(
                    genvar: "g", count: "Lanes", label: "lane",
                    items: [
                        .net(Net(.reg, "lane_q", .bits(4))),
                        .clocked(
                            clock: "clk_i", reset: nil, onReset: [],
                            body: [
                                .nonblocking(
                                    "lane_q",
                                    .ternary(.binary("sel_i", "==", "Top"), .part("x_i", lsb: 0, width: 4), "lane_q"))
                            ]),
                        .assign(.part("packed_lanes", lsb: .binary("g", "*", 4), width: 4), "lane_q"),
                    ]),
                .net(Net(.wire, "rom_data", .bits(8))),
                .instance(
                    Instance(
                        "approxrtl_rom", "u_rom",
                        parameters: [
                            ("Width", 8), ("Depth", 16), ("AddrWidth", 4), ("InitFile", .string("mem/x.hex")),
                        ],
                        connections: [
                            ("clk_i", "clk_i"), ("addr_i", .slice("packed_lanes", msb: 3, lsb: 0)),
                            ("data_o", "rom_data"),
                        ])),
                .assign("parity_o", .binary(.unary("^", "packed_lanes"), "^", .unary("^", "rom_data"))),
            ])
        let directory = try makeTemporaryDirectory("verilog-lint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let files = [
            ("kitchen_sink.v", try VerilogPrinter.print(kitchen)),
            ("mac_example.v", try VerilogPrinter.print(Self.mac())),
        ]
        for (name, text) in files {
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        // The string parameter goes to the repository's ROM primitive.
        let repository = repositoryRoot()
        let paths =
            files.map { directory.appendingPathComponent($0.0).path } + [
                repository.appendingPathComponent("rtl/approxrtl_rom.v").path
            ]
        let lint = try runProcess("verilator", ["--lint-only", "-Wall", "--top-module", "kitchen_sink"] + paths)
        XCTAssertEqual(lint.status, 0, lint.output)
        XCTAssertFalse(lint.output.contains("%Warning"), lint.output)
        let icarus = try runProcess(
            "iverilog", ["-g2005", "-Wall", "-o", directory.appendingPathComponent("a.out").path] + paths)
        XCTAssertEqual(icarus.status, 0, icarus.output)
        XCTAssertTrue(icarus.output.isEmpty, icarus.output)
    }

    /// The example simulates as written: a small hand-written bench under Icarus checks the accumulated sum.
    func testGeneratedMacAccumulatesUnderIcarus() throws {
        let directory = try makeTemporaryDirectory("verilog-sim")
        defer { try? FileManager.default.removeItem(at: directory) }
        try VerilogPrinter.print(Self.mac()).write(
            to: directory.appendingPathComponent("mac_example.v"), atomically: true, encoding: .utf8)
        // (-3 * 7) + (100 * -128) + (-128 * -128) = -21 - 12800 + 16384 = 3563; the cycle with valid low adds nothing.
        let bench = """
            module tb;
              reg clk = 0, rst_n = 0, valid = 0;
              reg signed [7:0] a = 0, b = 0;
              wire signed [19:0] acc;
              mac_example dut (.clk_i(clk), .rst_ni(rst_n), .valid_i(valid), .a_i(a), .b_i(b), .acc_o(acc));
              always #5 clk = ~clk;
              initial begin
                #12 rst_n = 1;
                @(negedge clk) begin valid = 1; a = -3; b = 7; end
                @(negedge clk) begin a = 100; b = -128; end
                @(negedge clk) begin valid = 0; a = 55; b = 55; end
                @(negedge clk) begin valid = 1; a = -128; b = -128; end
                @(negedge clk) valid = 0;
                @(negedge clk);
                if (acc == 20'sd3563) $display("PASS %0d", acc); else $display("FAIL %0d", acc);
                $finish;
              end
            endmodule
            """
        try bench.write(to: directory.appendingPathComponent("tb.v"), atomically: true, encoding: .utf8)
        let binary = directory.appendingPathComponent("sim").path
        let build = try runProcess(
            "iverilog",
            [
                "-g2012", "-o", binary, directory.appendingPathComponent("tb.v").path,
                directory.appendingPathComponent("mac_example.v").path,
            ])
        XCTAssertEqual(build.status, 0, build.output)
        let run = try runProcess("vvp", [binary])
        XCTAssertTrue(run.output.contains("PASS 3563"), run.output)
    }
}
