// AXI4-Stream skid buffer (register slice): registers the data and valid going out and the ready coming back,
// so that a long combinational path through tready is cut, at full throughput (one beat per cycle). A second
// register catches the beat that arrives in the cycle the output stalls; tready falls only while it is full.
// Latency: one cycle.
module approxrtl_skid_buffer #(
  parameter integer Width = 8  // tdata width
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire [Width - 1:0] in_tdata_i,
  input  wire in_tvalid_i,
  output wire in_tready_o,
  output wire [Width - 1:0] out_tdata_o,
  output wire out_tvalid_o,
  input  wire out_tready_i
);
  reg [Width - 1:0] data_q;
  reg valid_q;
  reg [Width - 1:0] skid_q;
  reg skid_valid_q;

  assign in_tready_o = !skid_valid_q;
  assign out_tdata_o = data_q;
  assign out_tvalid_o = valid_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      data_q <= {Width{1'b0}};
      valid_q <= 1'b0;
      skid_q <= {Width{1'b0}};
      skid_valid_q <= 1'b0;
    end else begin
      if (!valid_q || out_tready_i) begin
        // The output register is free or drains this cycle: refill it from the skid register first.
        if (skid_valid_q) begin
          data_q <= skid_q;
          valid_q <= 1'b1;
          skid_valid_q <= 1'b0;
        end else begin
          data_q <= in_tvalid_i ? in_tdata_i : data_q;
          valid_q <= in_tvalid_i;
        end
      end else if (in_tvalid_i && !skid_valid_q) begin
        // The output stalls while a beat is accepted: keep it in the skid register.
        skid_q <= in_tdata_i;
        skid_valid_q <= 1'b1;
      end
    end
  end
endmodule
