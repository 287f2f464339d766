// A signed multiplier (docs/rtl.md, "Multipliers"): the product modulo 2^PWidth, combinational. By default `*`,
// which synthesis maps to DSP blocks where the part has them and to LUTs where not (Yosys's iCE40 mapping is the
// cheaper one there). With APPROXRTL_LUT_MULTIPLIERS defined (approxrtl synth --target ecp5 --no-dsp), rows: a
// copy of the wider operand shifted by each bit of the narrower one (one row per bit; the top bit's row subtracted,
// the operands being two's complement), summed by a balanced tree of adders whose sums are kept, so that every
// adder maps to its own carry chain; Yosys's ECP5 LUT mapping of `*` takes more cells.
module approxrtl_multiplier #(
  parameter integer AWidth = 8,   // A, two's complement
  parameter integer BWidth = 8,   // B, two's complement
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
  // Row i is the wider operand shifted by i where the narrower one's bit i is set; the top row counts negative.
  localparam integer Rows = BWidth <= AWidth ? BWidth : AWidth;
  localparam integer WideWidth = BWidth <= AWidth ? AWidth : BWidth;
  wire [WideWidth - 1:0] wide;
  wire [Rows - 1:0] narrow;
  wire [PWidth - 1:0] a_wide;
  wire [Rows * PWidth - 1:0] rows;
  if (BWidth <= AWidth) begin : gen_rows_of_b
    assign wide = a_i;
    assign narrow = b_i;
  end else begin : gen_rows_of_a
    assign wide = b_i;
    assign narrow = a_i;
  end
  approxrtl_resize #(.InWidth(WideWidth), .OutWidth(PWidth)) u_a (.value_i(wide), .value_o(a_wide));
  genvar i;
  for (i = 0; i < Rows; i = i + 1) begin : gen_row
    wire [PWidth - 1:0] shifted;
    if (i < PWidth) begin : gen_shift
      assign shifted = a_wide << i;
    end else begin : gen_out
      assign shifted = {PWidth{1'b0}};  // beyond the kept bits: adds nothing modulo 2^PWidth
    end
    if (i == Rows - 1) begin : gen_sign
      assign rows[i * PWidth +: PWidth] = narrow[i] ? -shifted : {PWidth{1'b0}};
    end else begin : gen_plain
      assign rows[i * PWidth +: PWidth] = narrow[i] ? shifted : {PWidth{1'b0}};
    end
  end
  approxrtl_row_sum #(.Count(Rows), .Width(PWidth)) u_sum (.rows_i(rows), .sum_o(p_o));
`endif
endmodule
