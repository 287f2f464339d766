// Self-checking bench of rtl/requantize.v: reads stimulus and expected codes ($readmemh, written by the Swift
// tests from the golden model's FixedPoint.requantize) from the working directory and checks every vector.
// Configure with -DACC_WIDTH=, -DOUT_WIDTH=, -DCOUNT=, and the shifts the unit supports
// with -DMIN_SHIFT= and -DMAX_SHIFT= (both iverilog -g2012 and Verilator accept them).
`ifndef ACC_WIDTH
`define ACC_WIDTH 32
`endif
`ifndef OUT_WIDTH
`define OUT_WIDTH 8
`endif
`ifndef MIN_SHIFT
`define MIN_SHIFT -16
`endif
`ifndef MAX_SHIFT
`define MAX_SHIFT 63
`endif
`ifndef COUNT
`define COUNT 1
`endif
module tb_requantize;
  localparam integer AccWidth = `ACC_WIDTH;
  localparam integer OutWidth = `OUT_WIDTH;
  localparam integer Count = `COUNT;

  reg [AccWidth - 1:0] acc_mem [0:Count - 1];
  reg [7:0] shift_mem [0:Count - 1];
  reg [3:0] relu_mem [0:Count - 1];
  reg [OutWidth - 1:0] expected_mem [0:Count - 1];

  reg signed [AccWidth - 1:0] acc;
  reg signed [6:0] shift;
  reg relu;
  wire signed [OutWidth - 1:0] y;

  approxrtl_requantize #(.AccWidth(AccWidth), .OutWidth(OutWidth), .ShiftWidth(7), .MaxLeftShift(16),
                         .MinShift(`MIN_SHIFT), .MaxShift(`MAX_SHIFT)) dut (
    .acc_i(acc), .shift_i(shift), .relu_i(relu), .y_o(y));

  integer i;
  integer passed;
  integer failed;
  initial begin
    $readmemh("acc.hex", acc_mem);
    $readmemh("shift.hex", shift_mem);
    $readmemh("relu.hex", relu_mem);
    $readmemh("expected.hex", expected_mem);
    passed = 0;
    failed = 0;
    for (i = 0; i < Count; i = i + 1) begin
      acc = acc_mem[i];
      shift = shift_mem[i][6:0];
      relu = relu_mem[i][0];
      #1;
      if (y === expected_mem[i]) begin
        passed = passed + 1;
      end else begin
        failed = failed + 1;
        if (failed <= 10) $display("FAIL vector %0d: acc %0d shift %0d relu %0d: got %0d, expected %0d",
                                   i, acc, shift, relu, y, $signed(expected_mem[i]));
      end
    end
    $display("%0d passed, %0d failed", passed, failed);
    if (failed != 0) $fatal(1, "requantize: %0d mismatches", failed);
    $finish;
  end
endmodule
