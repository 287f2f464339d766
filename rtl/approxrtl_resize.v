// A two's complement value resized from InWidth to OutWidth bits: sign-extended when wider, the low bits (the value
// modulo 2^OutWidth) when narrower. A module so that equal widths need no zero-length replication (not legal
// Verilog-2005) and dropped bits are declared unused in one place.
module approxrtl_resize #(
  parameter integer InWidth = 8,
  parameter integer OutWidth = 16
) (
  input  wire [InWidth - 1:0] value_i,
  output wire [OutWidth - 1:0] value_o
);
  if (OutWidth > InWidth) begin : gen_extend
    assign value_o = {{(OutWidth - InWidth){value_i[InWidth - 1]}}, value_i};
  end else if (OutWidth == InWidth) begin : gen_same
    assign value_o = value_i;
  end else begin : gen_wrap
    wire unused_high;
    assign unused_high = ^value_i[InWidth - 1:OutWidth];
    assign value_o = value_i[OutWidth - 1:0];
  end
endmodule
