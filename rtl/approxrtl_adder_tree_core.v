// The recursive body of adder_tree (Count >= 2): sums Count signed InWidth-bit values packed in in_i (value k in bits
// [k*InWidth +: InWidth]) into sum_o (data only: no reset; approxrtl_adder_tree carries the valid bit), exactly (OutWidth = InWidth + clog2(Count)), with a register after every
// adder level: latency clog2(Count) cycles. The two halves are ceil(Count/2) and floor(Count/2) values; the
// smaller one is delayed when its tree is shallower.
module approxrtl_adder_tree_core #(
  parameter integer Count = 2,
  parameter integer InWidth = 8,
  parameter integer OutWidth = InWidth + $clog2(Count)
) (
  input  wire clk_i,
  input  wire [Count * InWidth - 1:0] in_i,
  output wire signed [OutWidth - 1:0] sum_o
);
  localparam integer Levels = $clog2(Count);
  localparam integer LeftCount = (Count + 1) / 2;
  localparam integer RightCount = Count / 2;
  localparam integer RightLevels = $clog2(RightCount);
  // The left half reaches this level with Levels - 1 bits of growth, the right one with RightLevels.
  wire signed [InWidth + Levels - 2:0] left;
  wire signed [InWidth + RightLevels - 1:0] right_raw;
  wire signed [InWidth + RightLevels - 1:0] right_late;
  generate
    if (LeftCount == 1) begin : g_left_leaf
      assign left = $signed(in_i[InWidth - 1:0]);
    end else begin : g_left_tree
      approxrtl_adder_tree_core #(.Count(LeftCount), .InWidth(InWidth)) u_left (
        .clk_i(clk_i), .in_i(in_i[LeftCount * InWidth - 1:0]), .sum_o(left));
    end
    if (RightCount == 1) begin : g_right_leaf
      assign right_raw = $signed(in_i[Count * InWidth - 1:LeftCount * InWidth]);
    end else begin : g_right_tree
      approxrtl_adder_tree_core #(.Count(RightCount), .InWidth(InWidth)) u_right (
        .clk_i(clk_i), .in_i(in_i[Count * InWidth - 1:LeftCount * InWidth]), .sum_o(right_raw));
    end
    // A shallower right half waits for the left one.
    if (Levels - 1 > RightLevels) begin : g_balance
      approxrtl_delay_line #(.Width(InWidth + RightLevels), .Depth(Levels - 1 - RightLevels), .Reset(0)) u_balance (
        .clk_i(clk_i), .rst_ni(1'b1), .d_i(right_raw), .q_o(right_late));
    end else begin : g_aligned
      assign right_late = right_raw;
    end
  endgenerate

  // One adder and its register (data: no reset): both halves sign-extended to the output width.
  reg signed [OutWidth - 1:0] sum_q;
  always @(posedge clk_i) begin
    sum_q <= $signed({{(OutWidth - InWidth - Levels + 1){left[InWidth + Levels - 2]}}, left})
           + $signed({{(OutWidth - InWidth - RightLevels){right_late[InWidth + RightLevels - 1]}}, right_late});
  end
  assign sum_o = sum_q;
endmodule
