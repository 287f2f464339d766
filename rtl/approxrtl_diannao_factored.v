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

  // The masked trees of all values, one register per tree node in a block of its own: Verilator keeps each as a
  // machine word and Icarus runs short processes on narrow values (a memory of levels, each a wide vector of all
  // values' sums, cost both simulators most of their time in part-selects). A node's sum fits DataWidth + its
  // level + 1 bits; synthesis trims the sign extension.
  localparam integer Size = 1 << Levels;  // Tn, or the next power of two (the extra inputs are zero)
  localparam integer Pairs = Size / 2;
  localparam integer Nodes = Size - 1;  // level 0's Pairs nodes first, then each level's after the one below
  genvar o, u, k, p;
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
      // groups[u]: after Levels adder levels, the sum of the inputs whose index is u + 1.
      wire [Values * GroupWidth - 1:0] groups;
      for (u = 0; u < Values; u = u + 1) begin : g_tree
        wire [Nodes * GroupWidth - 1:0] nodes;
        for (k = 0; k < Levels; k = k + 1) begin : g_level
          // Level k's first node, and the level below's.
          localparam integer First = Size - (Size >> k), Below = Size - (Size >> (k > 0 ? k - 1 : 0));
          for (p = 0; p < (Pairs >> k); p = p + 1) begin : g_node
            reg signed [GroupWidth - 1:0] sum_q;
            if (k == 0) begin : g_leaves
              always @(posedge clk_i) sum_q <= masked(2 * p, u) + masked(2 * p + 1, u);
            end else begin : g_sums
              always @(posedge clk_i)
                sum_q <= $signed(nodes[(Below + 2 * p) * GroupWidth +: GroupWidth])
                         + $signed(nodes[(Below + 2 * p + 1) * GroupWidth +: GroupWidth]);
            end
            assign nodes[(First + p) * GroupWidth +: GroupWidth] = sum_q;
          end
        end
        assign groups[u * GroupWidth +: GroupWidth] = nodes[(Nodes - 1) * GroupWidth +: GroupWidth];
      end
      // The values wait beside the trees.
      wire [Values * ValueWidth - 1:0] values_late;
      approxrtl_delay_line #(.Width(Values * ValueWidth), .Depth(Levels), .Reset(0)) u_values (
        .clk_i(clk_i), .rst_ni(1'b1), .d_i(values), .q_o(values_late));
      wire [Values * ProductWidth - 1:0] products;
      for (u = 0; u < Values; u = u + 1) begin : g_value
        wire signed [GroupWidth - 1:0] group = groups[u * GroupWidth +: GroupWidth];
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
