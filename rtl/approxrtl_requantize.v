// Requantization of docs/arithmetic.md section 3, combinational: round half up by an arithmetic right shift of
// shift_i (a left shift when shift_i <= 0), then the optional ReLU, then saturation to OutWidth bits.
//   shift_i > 0:  y = (acc_i + 2^(shift_i - 1)) >>> shift_i
//   shift_i <= 0: y = acc_i <<< -shift_i
//   relu_i:       y = max(y, 0)
//   y_o = clamp(y, -2^(OutWidth-1), 2^(OutWidth-1) - 1)
// The shift works on a value wide enough for the largest left shift, so nothing overflows before saturation.
// When every shift the unit must support is a right shift (MinShift >= 1), the rounding is
// ((acc_i >>> (shift_i - 1)) + 1) >>> 1, the same value; acc_i >>> (MinShift - 1) is wiring, so the shifter covers
// only the MaxShift - MinShift positions of the range (a layer's shifts span one or two), not the whole ShiftWidth.
module approxrtl_requantize #(
  parameter integer AccWidth = 32,     // accumulator width
  parameter integer OutWidth = 8,      // output code width
  parameter integer ShiftWidth = 7,    // width of the signed shift amount
  parameter integer MaxLeftShift = 16, // largest left shift (-shift_i) the unit supports
  parameter integer MinShift = -MaxLeftShift,                 // the shifts shift_i takes: MinShift ... MaxShift
  parameter integer MaxShift = (1 << (ShiftWidth - 1)) - 1
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

  wire signed [Wide - 1:0] shifted;
  if (MinShift >= 1) begin : gen_right
    localparam integer Span = MaxShift - MinShift;
    localparam integer OffsetWidth = Span > 0 ? $clog2(Span + 1) : 1;
    localparam integer First = MinShift - 1;
    localparam [ShiftWidth - 1:0] Min = MinShift[ShiftWidth - 1:0];
    wire [ShiftWidth - 1:0] offset_full;
    wire [OffsetWidth - 1:0] offset;
    wire signed [AccWidth:0] pre, moved, rounded;
    assign offset_full = shift_i - Min;
    approxrtl_resize #(.InWidth(ShiftWidth), .OutWidth(OffsetWidth)) u_offset (.value_i(offset_full), .value_o(offset));
    assign pre = $signed({acc_i[AccWidth - 1], acc_i}) >>> First;
    assign moved = pre >>> offset;
    assign rounded = (moved + $signed({{AccWidth{1'b0}}, 1'b1})) >>> 1;
    approxrtl_resize #(.InWidth(AccWidth + 1), .OutWidth(Wide)) u_wide (.value_i(rounded), .value_o(shifted));
    wire unused_acc_wide;
    assign unused_acc_wide = ^acc_wide;
  end else begin : gen_any
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

    assign shifted = shift_right ? ((acc_wide + half) >>> right_amount) : (acc_wide <<< left_amount);
  end

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
