// NFU-3's piecewise-linear activation for one lane (docs/arithmetic.md section 10), combinational:
//   segment k = number of breakpoints t_j with x >= t_j (the breakpoints do not descend),
//   y = clamp((slope_k * x + intercept_k) >>> shift, -2^(ActWidth-1), 2^(ActWidth-1) - 1).
// The table word, from bit 0: Segments - 1 breakpoints (ActWidth each), Segments slopes (SlopeWidth), Segments
// intercepts (InterceptWidth), the shift (ShiftBits). A table of fewer real segments repeats its last breakpoint
// and its last segment, so the count lands on a copy of the right segment.
module approxrtl_pwl_activation #(
  parameter integer ActWidth = 8,         // code width in and out
  parameter integer Segments = 2,         // segments per table (>= 2)
  parameter integer SlopeWidth = 12,      // signed slope width
  parameter integer InterceptWidth = 20,  // signed intercept width (the rounding constant included)
  parameter integer ShiftBits = 5,        // unsigned shift width
  parameter integer TableWidth = (Segments - 1) * ActWidth + Segments * (SlopeWidth + InterceptWidth) + ShiftBits
) (
  input  wire signed [ActWidth - 1:0] x_i,
  input  wire [TableWidth - 1:0] table_i,
  output wire signed [ActWidth - 1:0] y_o
);
  localparam integer SlopeLsb = (Segments - 1) * ActWidth;
  localparam integer InterceptLsb = SlopeLsb + Segments * SlopeWidth;
  localparam integer ShiftLsb = InterceptLsb + Segments * InterceptWidth;
  localparam integer ProductWidth = SlopeWidth + ActWidth;
  localparam integer SumWidth = (ProductWidth > InterceptWidth ? ProductWidth : InterceptWidth) + 1;

  // Segment select. above[j]: x >= breakpoint j. The breakpoints do not descend, so `above` is a thermometer code
  // and segment k (the count of ones) is the one where above[k - 1] is set and above[k] is not. The slope and
  // intercept are picked with that one-hot select by AND-OR: a variable part-select of the table word would be
  // a shifter across all of its bits.
  wire [Segments:0] above;
  assign above[0] = 1'b1;
  assign above[Segments] = 1'b0;
  genvar j;
  generate
    for (j = 1; j < Segments; j = j + 1) begin : g_compare
      assign above[j] = x_i >= $signed(table_i[(j - 1) * ActWidth +: ActWidth]);
    end
  endgenerate
  reg [SlopeWidth - 1:0] slope_bits;
  reg [InterceptWidth - 1:0] intercept_bits;
  integer k;
  always @* begin
    slope_bits = {SlopeWidth{1'b0}};
    intercept_bits = {InterceptWidth{1'b0}};
    for (k = 0; k < Segments; k = k + 1) begin
      slope_bits = slope_bits | ({SlopeWidth{above[k] & ~above[k + 1]}} & table_i[SlopeLsb + k * SlopeWidth +: SlopeWidth]);
      intercept_bits = intercept_bits
        | ({InterceptWidth{above[k] & ~above[k + 1]}} & table_i[InterceptLsb + k * InterceptWidth +: InterceptWidth]);
    end
  end
  wire signed [SlopeWidth - 1:0] slope = $signed(slope_bits);
  wire signed [InterceptWidth - 1:0] intercept = $signed(intercept_bits);
  wire [ShiftBits - 1:0] shift = table_i[ShiftLsb +: ShiftBits];

  // slope * x + intercept, exact, then the rounding shift (the half is in the intercept).
  wire signed [ProductWidth - 1:0] product = slope * x_i;
  wire signed [SumWidth - 1:0] sum = $signed({{(SumWidth - ProductWidth){product[ProductWidth - 1]}}, product})
                                   + $signed({{(SumWidth - InterceptWidth){intercept[InterceptWidth - 1]}}, intercept});
  wire signed [SumWidth - 1:0] shifted = sum >>> shift;

  // Saturate to ActWidth bits.
  localparam signed [SumWidth - 1:0] Top = {{(SumWidth - ActWidth + 1){1'b0}}, {(ActWidth - 1){1'b1}}};
  localparam signed [SumWidth - 1:0] Bottom = {{(SumWidth - ActWidth + 1){1'b1}}, {(ActWidth - 1){1'b0}}};
  wire signed [SumWidth - 1:0] clamped = shifted > Top ? Top : shifted < Bottom ? Bottom : shifted;
  assign y_o = clamped[ActWidth - 1:0];

  wire unused_clamped = ^clamped[SumWidth - 1:ActWidth];
endmodule
