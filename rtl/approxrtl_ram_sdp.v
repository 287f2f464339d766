// Simple dual-port RAM (one write port, one read port, one clock): the accelerator's activation buffers NBin and
// NBout. Synchronous read, so synthesis maps it to block RAM; data_o holds mem[raddr_i] of the previous cycle
// (a read of the address written in the same cycle returns the old word).
module approxrtl_ram_sdp #(
  parameter integer Width = 8,      // word width
  parameter integer Depth = 16,     // number of words
  parameter integer AddrWidth = 4   // at least clog2(Depth)
) (
  input  wire clk_i,
  input  wire we_i,
  input  wire [AddrWidth - 1:0] waddr_i,
  input  wire [Width - 1:0] wdata_i,
  input  wire [AddrWidth - 1:0] raddr_i,
  output wire [Width - 1:0] rdata_o
);
  reg [Width - 1:0] mem [0:Depth - 1];
  reg [Width - 1:0] rdata_q;

  always @(posedge clk_i) begin
    if (we_i) mem[waddr_i] <= wdata_i;
    rdata_q <= mem[raddr_i];
  end
  assign rdata_o = rdata_q;
endmodule
