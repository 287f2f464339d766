// Read-only memory initialised from a $readmemh file (weights, coefficients, codes): synchronous read, so
// synthesis maps it to block RAM; data_o holds mem[addr_i] of the previous cycle.
module approxrtl_rom #(
  parameter integer Width = 8,        // word width
  parameter integer Depth = 16,       // number of words
  parameter integer AddrWidth = 4,    // at least clog2(Depth)
  parameter InitFile = "rom.hex"      // $readmemh file, one word per line
) (
  input  wire clk_i,
  input  wire [AddrWidth - 1:0] addr_i,
  output wire [Width - 1:0] data_o
);
  reg [Width - 1:0] mem [0:Depth - 1];
  reg [Width - 1:0] data_q;

  initial $readmemh(InitFile, mem);

  always @(posedge clk_i) begin
    data_q <= mem[addr_i];
  end
  assign data_o = data_q;
endmodule
