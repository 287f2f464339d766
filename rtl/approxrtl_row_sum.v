// The adder tree of approxrtl_multiplier: the sum modulo 2^Width of Count values packed in rows_i (value k in bits
// [k*Width +: Width]), combinational; the halves of ceil(Count/2) and floor(Count/2) values are summed
// recursively. Each sum is kept, so that synthesis maps every adder to its own carry chain instead of merging the
// tree back into one multiply.
module approxrtl_row_sum #(
  parameter integer Count = 2,
  parameter integer Width = 16
) (
  input  wire [Count * Width - 1:0] rows_i,
  output wire [Width - 1:0] sum_o
);
  localparam integer LeftCount = (Count + 1) / 2;
  localparam integer RightCount = Count / 2;
  generate
    if (Count == 1) begin : gen_single
      assign sum_o = rows_i;
    end else begin : gen_node
      wire [Width - 1:0] left, right;
      (* keep *) wire [Width - 1:0] sum;
      if (LeftCount == 1) begin : gen_left_row
        assign left = rows_i[Width - 1:0];
      end else begin : gen_left_tree
        approxrtl_row_sum #(.Count(LeftCount), .Width(Width)) u_left (
          .rows_i(rows_i[LeftCount * Width - 1:0]), .sum_o(left));
      end
      if (RightCount == 1) begin : gen_right_row
        assign right = rows_i[Count * Width - 1:LeftCount * Width];
      end else begin : gen_right_tree
        approxrtl_row_sum #(.Count(RightCount), .Width(Width)) u_right (
          .rows_i(rows_i[Count * Width - 1:LeftCount * Width]), .sum_o(right));
      end
      assign sum = left + right;
      assign sum_o = sum;
    end
  endgenerate
endmodule
