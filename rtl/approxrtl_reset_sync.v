// Reset synchronizer: rst_no follows rst_ni low at once (asynchronous assertion) and goes high two clock edges
// after rst_ni does (synchronous release), so every flip-flop leaves reset on the same edge.
module approxrtl_reset_sync (
  input  wire clk_i,
  input  wire rst_ni,
  output wire rst_no
);
  reg [1:0] sync_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sync_q <= 2'b00;
    else sync_q <= {sync_q[0], 1'b1};
  end
  assign rst_no = sync_q[1];
endmodule
