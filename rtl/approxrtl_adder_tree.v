// Pipelined adder tree: the exact sum of Count signed InWidth-bit values (packed in in_i, value k in bits
// [k*InWidth +: InWidth]), InWidth + clog2(Count) bits wide, one register per adder level. A valid bit travels
// alongside (the only register with a reset). Latency clog2(Count) cycles, one new vector per cycle. Count >= 2.
module approxrtl_adder_tree #(
  parameter integer Count = 4,
  parameter integer InWidth = 8
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire [Count * InWidth - 1:0] in_i,
  input  wire valid_i,
  output wire signed [InWidth + $clog2(Count) - 1:0] sum_o,
  output wire valid_o
);
  approxrtl_adder_tree_core #(.Count(Count), .InWidth(InWidth)) u_core (
    .clk_i(clk_i), .in_i(in_i), .sum_o(sum_o));
  approxrtl_delay_line #(.Width(1), .Depth($clog2(Count))) u_valid (
    .clk_i(clk_i), .rst_ni(rst_ni), .d_i(valid_i), .q_o(valid_o));
endmodule
