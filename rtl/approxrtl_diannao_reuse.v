// M1 reuse lanes of the DianNao-style accelerator (docs/accelerator.md, "Reuse lanes"). For a layer compressed
// with sorted-weight approximation, every output pixel runs a gather tile and then scan tiles:
//   gather: the window the pixel reads (every input word of its kernel, in the sequencer's ky, kx, ti order) is
//           copied into each lane's window memory, one word per step;
//   scan:   each lane walks its own output channel's members, one per step, part by part and within a part from
//           the highest rank down. A member names a window word and a lane of it (the permutation), flags the
//           part's first and last member, and carries the rank steps d and e; at the part's last member also its
//           coefficients. The lane forms the suffix sum S += x and the moments J += d * S, Q += e * S (d is 0 or
//           1 for a channel's contiguous ranks: an addition) and, at the part's end, C0 * S + C1 * J + C2 * Q,
//           exactly the reuse form of docs/arithmetic.md section 7.1. The NFU adds these terms to the lane's
//           accumulator, which starts from the bias.
// Everything is modulo 2^AccWidth: the final accumulator fits, so any intermediate overflow cancels.
// Stage 1 is the cycle the SB word and the input word arrive; a term leaves three cycles later (term_o).
module approxrtl_diannao_reuse #(
  parameter integer Tn = 16,              // lanes: output channels per scan tile
  parameter integer DataWidth = 9,        // activation lane width (signed)
  parameter integer AccWidth = 24,        // accumulator width
  parameter integer LaneBits = 128,       // SB bits per lane
  parameter integer WindowWords = 16,     // window words per lane (the largest gather tile)
  parameter integer WindowAddrWidth = 4,  // at least clog2(WindowWords)
  parameter integer DWidth = 1,           // unsigned rank step d
  parameter integer EWidth = 1,           // unsigned rank step e (quadratic parts, Terms = 3)
  parameter integer Terms = 2,            // coefficients per part: 2 linear, 3 quadratic
  parameter integer CoefWidth = 16        // signed coefficient width
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire gather_i,                         // stage 1: x_i is the window's next word
  input  wire first_i,                          // stage 1: first step of a tile (the window restarts at word 0)
  input  wire scan_i,                           // stage 1: w_i holds one member per lane
  input  wire [Tn * DataWidth - 1:0] x_i,
  input  wire [Tn * LaneBits - 1:0] w_i,
  output wire [Tn * AccWidth - 1:0] term_o      // stage 4: C0 * S + C1 * J + C2 * Q at a part's end, else 0
);
  localparam integer SelectWidth = $clog2(Tn);
  localparam integer EBits = Terms == 3 ? EWidth : 0;
  // A member, from bit 0 of its lane: window address, lane select, first, last, d, e (quadratic), coefficients.
  localparam integer SelectLsb = WindowAddrWidth;
  localparam integer FirstBit = SelectLsb + SelectWidth;
  localparam integer LastBit = FirstBit + 1;
  localparam integer DLsb = LastBit + 1;
  localparam integer ELsb = DLsb + DWidth;
  localparam integer CoefLsb = ELsb + EBits;
  localparam integer MemberWidth = CoefLsb + Terms * CoefWidth;

  // The window's write address: word 0 at a gather tile's first step, then one word per step.
  reg [WindowAddrWidth - 1:0] waddr_q;
  wire [WindowAddrWidth - 1:0] waddr = first_i ? {WindowAddrWidth{1'b0}} : waddr_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) waddr_q <= {WindowAddrWidth{1'b0}};
    else if (gather_i) waddr_q <= waddr + 1'b1;
  end

  reg scan2_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) scan2_q <= 1'b0;
    else scan2_q <= scan_i;
  end

  genvar g;
  generate
    for (g = 0; g < Tn; g = g + 1) begin : g_lane
      wire [LaneBits - 1:0] member = w_i[g * LaneBits +: LaneBits];
      if (LaneBits > MemberWidth) begin : g_spare
        wire unused_spare = ^member[LaneBits - 1:MemberWidth];
      end

      // Each lane reads its own word of the window: a private copy, written by every gather step.
      wire [Tn * DataWidth - 1:0] window_word;
      approxrtl_ram_sdp #(.Width(Tn * DataWidth), .Depth(WindowWords), .AddrWidth(WindowAddrWidth)) u_window (
        .clk_i(clk_i), .we_i(gather_i), .waddr_i(waddr), .wdata_i(x_i), .raddr_i(member[WindowAddrWidth - 1:0]),
        .rdata_o(window_word));

      // Stage 2: the window word arrives; the member's other fields waited a cycle for it.
      reg [SelectWidth - 1:0] select_q;
      reg first2_q, last2_q;
      reg [DWidth - 1:0] d_q;
      reg [Terms * CoefWidth - 1:0] coef2_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          select_q <= {SelectWidth{1'b0}};
          {first2_q, last2_q} <= 2'b00;
        end else begin
          select_q <= member[SelectLsb +: SelectWidth];
          {first2_q, last2_q} <= {member[FirstBit], member[LastBit]};
        end
      end
      // Data registers have no reset (only control state does).
      always @(posedge clk_i) begin
        d_q <= member[DLsb +: DWidth];
        coef2_q <= member[CoefLsb +: Terms * CoefWidth];
      end
      wire [DataWidth - 1:0] x = window_word[select_q * DataWidth +: DataWidth];

      // The suffix sum and the first moment.
      reg [AccWidth - 1:0] s_q, j_q;
      wire [AccWidth - 1:0] s_next = (first2_q ? {AccWidth{1'b0}} : s_q) + {{(AccWidth - DataWidth){x[DataWidth - 1]}}, x};
      // Products at their operands' widths; their low AccWidth bits are the same signed or unsigned.
      wire [AccWidth + DWidth - 1:0] j_step = s_next * d_q;
      wire [AccWidth - 1:0] j_next = (first2_q ? {AccWidth{1'b0}} : j_q) + j_step[AccWidth - 1:0];
      wire unused_j_step = ^j_step[AccWidth + DWidth - 1:AccWidth];
      reg end3_q;
      reg [Terms * CoefWidth - 1:0] coef3_q;
      always @(posedge clk_i) begin
        if (scan2_q) {s_q, j_q} <= {s_next, j_next};
        coef3_q <= coef2_q;
      end
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) end3_q <= 1'b0;
        else end3_q <= scan2_q && last2_q;
      end

      // The second moment, for quadratic parts.
      wire [AccWidth - 1:0] q_term;
      if (Terms == 3) begin : g_quadratic
        reg [EWidth - 1:0] e_q;
        reg [AccWidth - 1:0] q_q;
        always @(posedge clk_i) e_q <= member[ELsb +: EWidth];
        wire [AccWidth + EWidth - 1:0] q_step = s_next * e_q;
        wire [AccWidth - 1:0] q_next = (first2_q ? {AccWidth{1'b0}} : q_q) + q_step[AccWidth - 1:0];
        wire unused_q_step = ^q_step[AccWidth + EWidth - 1:AccWidth];
        always @(posedge clk_i) if (scan2_q) q_q <= q_next;
        wire signed [AccWidth + CoefWidth - 1:0] p2 = $signed(coef3_q[2 * CoefWidth +: CoefWidth]) * $signed(q_q);
        assign q_term = p2[AccWidth - 1:0];
        wire unused_p2 = ^p2[AccWidth + CoefWidth - 1:AccWidth];
      end else begin : g_linear
        assign q_term = {AccWidth{1'b0}};
      end

      // Stage 3: the coefficient multiplies of a finished part.
      wire signed [AccWidth + CoefWidth - 1:0] p0 = $signed(coef3_q[0 +: CoefWidth]) * $signed(s_q);
      wire signed [AccWidth + CoefWidth - 1:0] p1 = $signed(coef3_q[CoefWidth +: CoefWidth]) * $signed(j_q);
      wire [AccWidth - 1:0] term = p0[AccWidth - 1:0] + p1[AccWidth - 1:0] + q_term;
      wire unused_p = ^{p0[AccWidth + CoefWidth - 1:AccWidth], p1[AccWidth + CoefWidth - 1:AccWidth]};
      reg [AccWidth - 1:0] term_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) term_q <= {AccWidth{1'b0}};
        else term_q <= end3_q ? term : {AccWidth{1'b0}};
      end
      assign term_o[g * AccWidth +: AccWidth] = term_q;
    end
  endgenerate
endmodule
