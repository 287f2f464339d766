// Self-checking bench of rtl/approxrtl_multiplier.v: A_WIDTH x B_WIDTH signed operands, the product modulo
// 2^P_WIDTH. Every operand pair when A_WIDTH + B_WIDTH <= 16 (the extremes included), else VECTORS pairs, random
// with the extremes mixed in; each product must equal the one computed here in 64 bits, sign-extended from P_WIDTH.
`ifndef A_WIDTH
`define A_WIDTH 8
`endif
`ifndef B_WIDTH
`define B_WIDTH 8
`endif
`ifndef P_WIDTH
`define P_WIDTH 16
`endif
`ifndef VECTORS
`define VECTORS 2000
`endif
module tb_multiplier;
  localparam integer AWidth = `A_WIDTH;
  localparam integer BWidth = `B_WIDTH;
  localparam integer PWidth = `P_WIDTH;
  localparam integer Exhaustive = (AWidth + BWidth <= 16) ? 1 : 0;
  localparam integer Vectors = Exhaustive != 0 ? (1 << (AWidth + BWidth)) : `VECTORS;

  reg [AWidth - 1:0] a;
  reg [BWidth - 1:0] b;
  wire [PWidth - 1:0] p;

  approxrtl_multiplier #(.AWidth(AWidth), .BWidth(BWidth), .PWidth(PWidth)) dut (.a_i(a), .b_i(b), .p_o(p));

  reg [31:0] state;
  `include "xorshift.svh"

  // An operand of `width` bits: one in four at an extreme (most negative, most positive, -1), else random.
  function automatic [63:0] operand(input [31:0] r, input integer width);
    reg [63:0] v;
    begin
      case (r[1:0])
        2'd0: v = 64'd1 << (width - 1);
        2'd1: v = (64'd1 << (width - 1)) - 1;
        2'd2: v = {64{1'b1}};
        default: v = {r, r} >> 2;
      endcase
      operand = v;
    end
  endfunction

  integer n;
  integer passed;
  integer failed;
  reg signed [63:0] sa, sb, expected, got;
  reg [63:0] mask;
  reg [63:0] drawn;

  initial begin
    state = 32'h1234_5678 ^ (AWidth << 16) ^ (BWidth << 8) ^ PWidth;
    passed = 0; failed = 0;
    mask = PWidth >= 64 ? {64{1'b1}} : (64'd1 << PWidth) - 1;
    for (n = 0; n < Vectors; n = n + 1) begin
      if (Exhaustive != 0) begin
        drawn = {32'd0, n};
        a = drawn[AWidth - 1:0];
        b = drawn[AWidth +: BWidth];
      end else begin
        state = xorshift(state);
        drawn = operand(state, AWidth);
        a = drawn[AWidth - 1:0];
        state = xorshift(state);
        drawn = operand(state, BWidth);
        b = drawn[BWidth - 1:0];
      end
      #1;
      sa = {{(64 - AWidth){a[AWidth - 1]}}, a};
      sb = {{(64 - BWidth){b[BWidth - 1]}}, b};
      expected = (sa * sb) & mask;
      got = {{(64 - PWidth){1'b0}}, p};
      if (^p === 1'bx) got = -1;  // X or Z fails
      if (got === expected) passed = passed + 1;
      else begin
        failed = failed + 1;
        if (failed <= 10) $display("FAIL %0d x %0d: got %0h, expected %0h", sa, sb, p, expected);
      end
    end
    $display("%0d passed, %0d failed", passed, failed);
    if (failed != 0) $fatal(1, "multiplier: %0d failures", failed);
    $finish;
  end
endmodule
