// Factored lanes of the DianNao-style accelerator (docs/accelerator.md, "Factored lanes"): NFU-1 and NFU-2 for a
// layer whose weights repeat (M1 with constant segments, or any M1 layer with few distinct codes per channel).
// Each output lane o's SB field gives every input lane i an index (0: weight zero; u: the lane's value u) and
// holds Values values; the lane sums the inputs that share an index (Values masked adder trees) and multiplies
// each sum once by its value:
//   sum_i w[o][i] * x[i] = sum_u v[o][u] * (sum of x[i] with index u),
// the factorized dot product of UCNN (ISCA 2018), with the same broadcast input word and the same steps as the
// MAC array: Values multipliers per lane instead of Tn. Exact at SumWidth bits (the caller keeps the low
// AccWidth bits: the accumulator works modulo 2^AccWidth and the final value fits).
// Latency from w_i and x_lanes_i (stage 1): clog2(Tn) adder levels, the multiply's register, clog2(Values) adder
// levels, and one register more when Values = 1 (so the latency is at least the MAC array's clog2(Tn) + 2).
module approxrtl_diannao_factored #(
  parameter integer Tn = 16,              // input and output lanes
  parameter integer DataWidth = 9,        // activation lane width (signed)
  parameter integer Values = 4,           // values per output lane and SB word
  parameter integer IndexWidth = 3,       // clog2(Values + 1): index 0 is a zero weight
  parameter integer ValueWidth = 16,      // signed value width
  parameter integer LaneBits = Tn * IndexWidth + Values * ValueWidth,  // SB bits per output lane
  parameter integer SumWidth = DataWidth + $clog2(Tn) + ValueWidth + (Values > 1 ? $clog2(Values) : 0)
) (
  input  wire clk_i,
  input  wire [Tn * Tn * DataWidth - 1:0] x_lanes_i,  // the input word, one private copy per output lane
  input  wire [Tn * LaneBits - 1:0] w_i,              // per output lane: Tn indices, then Values values
  output wire [Tn * SumWidth - 1:0] sum_o
);
  localparam integer Levels = $clog2(Tn);
  localparam integer GroupWidth = DataWidth + Levels;
  localparam integer ProductWidth = GroupWidth + ValueWidth;
  localparam integer FieldBits = Tn * IndexWidth + Values * ValueWidth;

  // The masked trees of all values, level by level in one block per lane (a memory of levels, each a vector of
  // Values x Pairs sums of GroupWidth bits; a level's sums fit DataWidth + level + 1 bits and synthesis trims the
  // sign extension): fewer processes than a tree of modules, which keeps event-driven simulators fast.
  localparam integer Size = 1 << Levels;  // Tn, or the next power of two (the extra inputs are zero)
  localparam integer Pairs = Size / 2;
  genvar o, u;
  generate
    for (o = 0; o < Tn; o = o + 1) begin : g_lane
      wire [Tn * IndexWidth - 1:0] index = w_i[o * LaneBits +: Tn * IndexWidth];
      wire [Values * ValueWidth - 1:0] values = w_i[o * LaneBits + Tn * IndexWidth +: Values * ValueWidth];
      wire [Tn * DataWidth - 1:0] x = x_lanes_i[o * Tn * DataWidth +: Tn * DataWidth];
      if (LaneBits > FieldBits) begin : g_spare
        wire unused_spare = ^w_i[o * LaneBits + FieldBits +: LaneBits - FieldBits];  // other words' fields
      end
      // The input i when its index is u + 1, else zero (beyond Tn: zero).
      function automatic signed [GroupWidth - 1:0] masked(input integer i, input integer v);
        begin
          if (i < Tn && {{(32 - IndexWidth){1'b0}}, index[i * IndexWidth +: IndexWidth]} == v + 1)
            masked = {{(GroupWidth - DataWidth){x[i * DataWidth + DataWidth - 1]}}, x[i * DataWidth +: DataWidth]};
          else
            masked = {GroupWidth{1'b0}};
        end
      endfunction
      // level_q[k]: after k + 1 adder levels, sum p of value v at [(v * Pairs + p) * GroupWidth +: GroupWidth].
      reg [Values * Pairs * GroupWidth - 1:0] level_q [0:Levels - 1];
      integer k, v, p;
      always @(posedge clk_i) begin
        for (v = 0; v < Values; v = v + 1)
          for (p = 0; p < Pairs; p = p + 1)
            level_q[0][(v * Pairs + p) * GroupWidth +: GroupWidth] <= masked(2 * p, v) + masked(2 * p + 1, v);
        for (k = 1; k < Levels; k = k + 1)
          for (v = 0; v < Values; v = v + 1)
            for (p = 0; p < (Pairs >> k); p = p + 1)
              level_q[k][(v * Pairs + p) * GroupWidth +: GroupWidth] <=
                $signed(level_q[k - 1][(v * Pairs + 2 * p) * GroupWidth +: GroupWidth])
                + $signed(level_q[k - 1][(v * Pairs + 2 * p + 1) * GroupWidth +: GroupWidth]);
      end
      // The values wait beside the trees.
      wire [Values * ValueWidth - 1:0] values_late;
      approxrtl_delay_line #(.Width(Values * ValueWidth), .Depth(Levels), .Reset(0)) u_values (
        .clk_i(clk_i), .rst_ni(1'b1), .d_i(values), .q_o(values_late));
      wire [Values * ProductWidth - 1:0] products;
      for (u = 0; u < Values; u = u + 1) begin : g_value
        wire signed [GroupWidth - 1:0] group = level_q[Levels - 1][u * Pairs * GroupWidth +: GroupWidth];
        reg signed [ProductWidth - 1:0] product_q;
        always @(posedge clk_i) product_q <= group * $signed(values_late[u * ValueWidth +: ValueWidth]);
        assign products[u * ProductWidth +: ProductWidth] = product_q;
      end
      if (Values > 1) begin : g_sum
        approxrtl_adder_tree_core #(.Count(Values), .InWidth(ProductWidth)) u_sum (
          .clk_i(clk_i), .in_i(products), .sum_o(sum_o[o * SumWidth +: SumWidth]));
      end else begin : g_one
        reg [ProductWidth - 1:0] sum_q;
        always @(posedge clk_i) sum_q <= products;
        assign sum_o[o * SumWidth +: SumWidth] = sum_q;
      end
    end
  endgenerate
endmodule
