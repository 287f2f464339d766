// A signed multiplier (docs/rtl.md, "Multipliers"): the product modulo 2^PWidth, combinational. By default `*`,
// which synthesis maps to DSP blocks where the part has them and to LUTs where not (Yosys's iCE40 mapping is the
// cheaper one there). With APPROXRTL_LUT_MULTIPLIERS defined (approxrtl synth --target ecp5 --no-dsp), B's rows:
// copies of A shifted by each bit of B (the top bit's row subtracted, B being two's complement), summed by a
// balanced tree of adders whose sums are kept, so that every adder maps to its own carry chain; Yosys's ECP5 LUT
// mapping of `*` takes about twice the cells. B should be the narrower operand (one row per bit).
module approxrtl_multiplier #(
  parameter integer AWidth = 8,   // A, two's complement
  parameter integer BWidth = 8,   // B, two's complement: the rows
  parameter integer PWidth = 16   // product bits: the product modulo 2^PWidth (sign-extended if wider than A + B)
) (
  input  wire [AWidth - 1:0] a_i,
  input  wire [BWidth - 1:0] b_i,
  output wire [PWidth - 1:0] p_o
);
`ifndef APPROXRTL_LUT_MULTIPLIERS
  wire signed [AWidth + BWidth - 1:0] full;
  assign full = $signed(a_i) * $signed(b_i);
  approxrtl_resize #(.InWidth(AWidth + BWidth), .OutWidth(PWidth)) u_p (.value_i(full), .value_o(p_o));
`else
  // Row i is A shifted by i where B's bit i is set; the top row counts negative.
  localparam integer Rows = BWidth;
  wire [PWidth - 1:0] a_wide;
  wire [Rows * PWidth - 1:0] rows;
  approxrtl_resize #(.InWidth(AWidth), .OutWidth(PWidth)) u_a (.value_i(a_i), .value_o(a_wide));
  genvar i;
  for (i = 0; i < Rows; i = i + 1) begin : gen_row
    wire [PWidth - 1:0] shifted;
    if (i < PWidth) begin : gen_shift
      assign shifted = a_wide << i;
    end else begin : gen_out
      assign shifted = {PWidth{1'b0}};  // beyond the kept bits: adds nothing modulo 2^PWidth
    end
    if (i == Rows - 1) begin : gen_sign
      assign rows[i * PWidth +: PWidth] = b_i[i] ? -shifted : {PWidth{1'b0}};
    end else begin : gen_plain
      assign rows[i * PWidth +: PWidth] = b_i[i] ? shifted : {PWidth{1'b0}};
    end
  end
  approxrtl_row_sum #(.Count(Rows), .Width(PWidth)) u_sum (.rows_i(rows), .sum_o(p_o));
`endif
endmodule
