// Self-checking bench of rtl/rom.v: reads rom.hex through the ROM at the addresses of addr.hex and compares each
// word, one cycle later, with expected.hex (both written by the Swift test).
`ifndef WIDTH
`define WIDTH 12
`endif
`ifndef DEPTH
`define DEPTH 100
`endif
`ifndef READS
`define READS 300
`endif
module tb_rom;
  localparam integer Width = `WIDTH;
  localparam integer Depth = `DEPTH;
  localparam integer Reads = `READS;
  localparam integer AddrWidth = $clog2(Depth);
  reg clk = 1'b0;
  reg [AddrWidth - 1:0] addr = {AddrWidth{1'b0}};
  wire [Width - 1:0] data;
  reg [AddrWidth - 1:0] addr_mem [0:Reads - 1];
  reg [Width - 1:0] expected_mem [0:Reads - 1];

  approxrtl_rom #(.Width(Width), .Depth(Depth), .AddrWidth(AddrWidth), .InitFile("rom.hex")) dut (.clk_i(clk), .addr_i(addr), .data_o(data));

  integer i;
  integer passed;
  integer failed;
  initial begin
    $readmemh("addr.hex", addr_mem);
    $readmemh("expected.hex", expected_mem);
    passed = 0;
    failed = 0;
    for (i = 0; i < Reads; i = i + 1) begin
      addr = addr_mem[i];
      #5 clk = 1'b1;
      #5 clk = 1'b0;
      if (data === expected_mem[i]) passed = passed + 1;
      else begin
        failed = failed + 1;
        if (failed <= 10) $display("FAIL read %0d at %0d: got %h, expected %h", i, addr, data, expected_mem[i]);
      end
    end
    $display("%0d passed, %0d failed", passed, failed);
    if (failed != 0) $fatal(1, "rom: %0d failures", failed);
    $finish;
  end
endmodule
