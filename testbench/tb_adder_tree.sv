// Self-checking bench of rtl/adder_tree.v: COUNT (-DCOUNT) signed IN_WIDTH-bit inputs, random values with the
// extremes mixed in, a new vector on most cycles; every valid output must equal the sum computed here, in order.
`ifndef COUNT
`define COUNT 5
`endif
`ifndef IN_WIDTH
`define IN_WIDTH 8
`endif
`ifndef VECTORS
`define VECTORS 1000
`endif
module tb_adder_tree;
  localparam integer Count = `COUNT;
  localparam integer InWidth = `IN_WIDTH;
  localparam integer Vectors = `VECTORS;
  localparam integer OutWidth = InWidth + $clog2(Count);

  reg clk = 1'b0;
  reg rst_n = 1'b0;
  reg [Count * InWidth - 1:0] in_bus;
  reg in_valid;
  wire signed [OutWidth - 1:0] sum;
  wire sum_valid;

  approxrtl_adder_tree #(.Count(Count), .InWidth(InWidth)) dut (
    .clk_i(clk), .rst_ni(rst_n), .in_i(in_bus), .valid_i(in_valid), .sum_o(sum), .valid_o(sum_valid));

  always #5 clk = ~clk;

  reg [31:0] state;
  `include "xorshift.svh"

  reg signed [63:0] expected [0:Vectors - 1];
  integer sent;
  integer checked;
  integer passed;
  integer failed;
  integer k;
  integer cycles;
  reg signed [InWidth - 1:0] value;
  reg signed [63:0] total;

  initial begin
    state = 32'hdead_beef ^ Count;
    sent = 0; checked = 0; passed = 0; failed = 0; cycles = 0;
    in_valid = 1'b0; in_bus = {(Count * InWidth){1'b0}};
    #22 rst_n = 1'b1;
  end

  always @(negedge clk) begin
    if (rst_n) begin
      in_valid = 1'b0;
      state = xorshift(state);
      if (sent < Vectors && state[2:0] != 3'd0) begin
        total = 0;
        for (k = 0; k < Count; k = k + 1) begin
          state = xorshift(state);
          // One value in eight at an extreme, so the widest sums occur.
          case (state[2:0])
            3'd0: value = {1'b1, {(InWidth - 1){1'b0}}};
            3'd1: value = {1'b0, {(InWidth - 1){1'b1}}};
            default: value = state[InWidth + 2:3];
          endcase
          in_bus[k * InWidth +: InWidth] = value;
          total = total + {{(64 - InWidth){value[InWidth - 1]}}, value};
        end
        expected[sent] = total;
        sent = sent + 1;
        in_valid = 1'b1;
      end
    end
  end

  always @(posedge clk) begin
    if (rst_n) begin
      cycles = cycles + 1;
      if (sum_valid) begin
        if ({{(64 - OutWidth){sum[OutWidth - 1]}}, sum} === expected[checked]) passed = passed + 1;
        else begin
          failed = failed + 1;
          if (failed <= 10) $display("FAIL vector %0d: got %0d, expected %0d", checked, sum, expected[checked]);
        end
        checked = checked + 1;
      end
      if (checked == Vectors || cycles > 4 * Vectors + 100) begin
        if (checked != Vectors) failed = failed + 1;
        $display("%0d passed, %0d failed", passed, failed);
        if (failed != 0) $fatal(1, "adder_tree: %0d failures", failed);
        $finish;
      end
    end
  end
endmodule
