// Requantization of docs/arithmetic.md section 3, combinational: round half up by an arithmetic right shift of
// shift_i (a left shift when shift_i <= 0), then the optional ReLU, then saturation to OutWidth bits.
//   shift_i > 0:  y = (acc_i + 2^(shift_i - 1)) >>> shift_i
//   shift_i <= 0: y = acc_i <<< -shift_i
//   relu_i:       y = max(y, 0)
//   y_o = clamp(y, -2^(OutWidth-1), 2^(OutWidth-1) - 1)
// The shift works on a value wide enough for the largest left shift, so nothing overflows before saturation.
module approxrtl_requantize #(
  parameter integer AccWidth = 32,     // accumulator width
  parameter integer OutWidth = 8,      // output code width
  parameter integer ShiftWidth = 7,    // width of the signed shift amount
  parameter integer MaxLeftShift = 16  // largest left shift (-shift_i) the unit supports
) (
  input  wire signed [AccWidth - 1:0] acc_i,
  input  wire signed [ShiftWidth - 1:0] shift_i,
  input  wire relu_i,
  output wire signed [OutWidth - 1:0] y_o
);
  localparam integer Wide = AccWidth + MaxLeftShift + 1;

  // The accumulator sign-extended to the working width.
  wire signed [Wide - 1:0] acc_wide;
  assign acc_wide = {{(Wide - AccWidth){acc_i[AccWidth - 1]}}, acc_i};

  // Right shift with rounding, or left shift: the amounts as unsigned magnitudes.
  wire shift_right;
  wire [ShiftWidth - 1:0] right_amount;
  wire [ShiftWidth - 1:0] left_amount;
  assign shift_right = shift_i > $signed({ShiftWidth{1'b0}});
  assign right_amount = $unsigned(shift_i);
  assign left_amount = $unsigned(-shift_i);

  // Half an output step, 2^(shift - 1), added before the right shift.
  wire signed [Wide - 1:0] half;
  assign half = shift_right ? $signed({{(Wide - 1){1'b0}}, 1'b1} << (right_amount - 1'b1)) : $signed({Wide{1'b0}});

  wire signed [Wide - 1:0] shifted;
  assign shifted = shift_right ? ((acc_wide + half) >>> right_amount) : (acc_wide <<< left_amount);

  // ReLU after rounding, then saturation.
  wire signed [Wide - 1:0] rectified;
  assign rectified = (relu_i && shifted[Wide - 1]) ? $signed({Wide{1'b0}}) : shifted;

  // 2^(OutWidth-1) - 1 and -2^(OutWidth-1) at the working width.
  localparam signed [Wide - 1:0] Top = $signed({{(Wide - OutWidth + 1){1'b0}}, {(OutWidth - 1){1'b1}}});
  localparam signed [Wide - 1:0] Bottom = $signed({{(Wide - OutWidth + 1){1'b1}}, {(OutWidth - 1){1'b0}}});
  assign y_o = rectified > Top ? Top[OutWidth - 1:0]
             : rectified < Bottom ? Bottom[OutWidth - 1:0]
             : rectified[OutWidth - 1:0];
endmodule
