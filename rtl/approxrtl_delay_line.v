// A chain of Depth >= 1 registers: balances pipeline branches of different latency. Reset = 0 for data, which
// needs no reset (valid flags travel beside it in a chain that has one), so synthesis can use shift-register and
// DSP/BRAM registers.
module approxrtl_delay_line #(
  parameter integer Width = 8,
  parameter integer Depth = 1,
  parameter integer Reset = 1
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire [Width - 1:0] d_i,
  output wire [Width - 1:0] q_o
);
  reg [Width - 1:0] stage_q [0:Depth - 1];
  integer i;
  generate
    if (Reset != 0) begin : g_reset
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          for (i = 0; i < Depth; i = i + 1) stage_q[i] <= {Width{1'b0}};
        end else begin
          stage_q[0] <= d_i;
          for (i = 1; i < Depth; i = i + 1) stage_q[i] <= stage_q[i - 1];
        end
      end
    end else begin : g_data
      wire unused_rst = rst_ni;
      always @(posedge clk_i) begin
        stage_q[0] <= d_i;
        for (i = 1; i < Depth; i = i + 1) stage_q[i] <= stage_q[i - 1];
      end
    end
  endgenerate
  assign q_o = stage_q[Depth - 1];
endmodule
