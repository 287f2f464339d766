// The reuse array of a layer unit for M1 with contiguous ranks (approxrtl generate --arch reuse; docs/rtl.md,
// "Layer units"; the arithmetic in docs/arithmetic.md section 7). Lanes lanes hold Lanes input vectors and share
// the member word read from ROM, as the MAC array's lanes share the weight.
//
// Scan, adders only: the member ROM lists each output channel's weights part by part (a part is one segment's
// ranks), in descending rank, as {hold, channel end, part end, input address}. Every lane reads its input code at
// that address and forms the part's moments with suffix sums: S += x, J += S (and for quadratics Q' += J) except
// at the part's rank 0, its end, where X = S + x, J and Q' go to the lane's capture register and the sums
// restart: no moment memories. (C1 J + C2 Q = (C1 - C2) J + 2 C2 Q' with Q = 2 Q' - J: the coefficient ROM
// holds C0, C1 - C2, 2 C2.)
//
// Pool, the multiplies: Multipliers pools each serve Lanes / Multipliers lanes. For each part a pool walks its
// lanes and each lane's terms C_t * moment_t, digit-serially: the coefficient ROM holds every coefficient as
// Digits signed digits of DigitWidth bits, most significant first, and h = h * 2^DigitWidth + digit * moment
// (Horner: a small multiplier, Digits cycles a product). As a walk starts the lanes copy their captures into walk
// registers, which shift towards the pool lane by lane as the walk moves on, so the pool reads only its first
// lane's (no multiplexer over the lanes). A lane's sum, bias + every part's terms, waits between parts in a ring
// of accumulators that turns once per lane, so no accumulator is addressed. After a channel's last part the pool
// requantizes the sum and writes the lane's result. A walk lasts PerPool * Terms * Digits cycles and starts a
// cycle after its part's capture at the earliest; the generator puts hold words in the member ROM where a part
// would end before the walk of the part before it has started.
//
// Phases as in the MAC array: load a batch of up to Lanes vectors, compute, drain. Compute cycles per batch: what
// the generator's schedule says (the bench checks every batch). Only control state is reset; the datapath needs
// none.
module approxrtl_reuse_array #(
  parameter integer Lanes = 4,           // input vectors computed together
  parameter integer Multipliers = 1,     // pools (each a DigitWidth x MomentWidth multiplier), divides Lanes
  parameter integer Fan = 25,            // codes per input vector
  parameter integer Channels = 6,        // codes per output vector
  parameter integer InWidth = 9,         // input code width
  parameter integer OutWidth = 8,        // output code width
  parameter integer AccWidth = 24,       // accumulator width (the quantizer's bound)
  parameter integer ShiftWidth = 6,      // width of the signed requantization shift
  parameter integer MaxLeftShift = 0,    // largest left shift of the requantization
  parameter integer MinShift = -MaxLeftShift,           // the requantization shifts, MinShift ... MaxShift
  parameter integer MaxShift = (1 << (ShiftWidth - 1)) - 1,
  parameter integer Relu = 1,            // ReLU after rounding
  parameter integer Degree = 1,          // 1: linear (X, J), 2: quadratic (X, J, Q)
  parameter integer ScanDepth = 150,     // member ROM words (hold words included)
  parameter integer CoefDepth = 24,      // coefficient ROM words: parts * Terms * Digits
  parameter integer DigitWidth = 4,      // bits per coefficient digit
  parameter integer Digits = 4,          // digits per coefficient
  parameter integer CoefWidth = 5,       // coefficient ROM word: one signed digit
  parameter integer SumWidth = 16,       // S and X
  parameter integer JWidth = 22,         // J
  parameter integer QPrimeWidth = 1,     // Q' (quadratic)
  parameter integer MomentWidth = 22,    // the widest moment, what the pool multiplies
  parameter MemberFile = "members.hex",  // $readmemh images
  parameter CoefFile = "coefficients.hex",
  parameter BiasFile = "bias.hex",
  parameter ShiftFile = "shift.hex"
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire [InWidth - 1:0] in_tdata_i,    // one input code (two's complement)
  input  wire in_tvalid_i,
  output wire in_tready_o,
  input  wire in_tlast_i,                    // last code of a frame: closes the batch
  output wire [OutWidth - 1:0] out_tdata_o,  // one output code (two's complement)
  output wire out_tvalid_o,
  input  wire out_tready_i,
  output wire out_tlast_o                    // last code of a frame
);
  localparam integer Terms = Degree + 1;
  localparam integer PerPool = Lanes / Multipliers;
  localparam integer TapBits = Fan > 1 ? $clog2(Fan) : 1;
  localparam integer ChannelBits = Channels > 1 ? $clog2(Channels) : 1;
  localparam integer LaneBits = Lanes > 1 ? $clog2(Lanes) : 1;
  localparam integer LiBits = PerPool > 1 ? $clog2(PerPool) : 1;
  localparam integer TermBits = Terms > 1 ? $clog2(Terms) : 1;
  localparam integer DigitBits = Digits > 1 ? $clog2(Digits) : 1;
  localparam integer MemberWidth = TapBits + 3;
  localparam integer ScanAddrWidth = ScanDepth > 1 ? $clog2(ScanDepth) : 1;
  localparam integer CoefAddrWidth = CoefDepth > 1 ? $clog2(CoefDepth) : 1;
  localparam integer ProductWidth = CoefWidth + MomentWidth;
  localparam integer FanLast = Fan - 1, ChannelsLast = Channels - 1, LanesLast = Lanes - 1;
  localparam integer ScanLast = ScanDepth - 1, PerPoolLast = PerPool - 1, TermsLast = Terms - 1;
  localparam integer DigitsLast = Digits - 1, WalkBack = Terms * Digits - 1;
  localparam [TapBits - 1:0] LastTap = FanLast[TapBits - 1:0];
  localparam [ChannelBits - 1:0] LastChannel = ChannelsLast[ChannelBits - 1:0];
  localparam [LaneBits - 1:0] LastLane = LanesLast[LaneBits - 1:0];
  localparam [ScanAddrWidth - 1:0] LastWord = ScanLast[ScanAddrWidth - 1:0];
  localparam [LiBits - 1:0] LastLi = PerPoolLast[LiBits - 1:0];
  localparam [TermBits - 1:0] LastTerm = TermsLast[TermBits - 1:0];
  localparam [DigitBits - 1:0] TopDigit = DigitsLast[DigitBits - 1:0];
  localparam [CoefAddrWidth - 1:0] Back = WalkBack[CoefAddrWidth - 1:0];
  localparam [1:0] PhaseLoad = 2'd0;
  localparam [1:0] PhaseCompute = 2'd1;
  localparam [1:0] PhaseDrain = 2'd2;

  reg [1:0] phase_q;
  reg [TapBits - 1:0] load_k_q;         // code of the vector being loaded
  reg [LaneBits - 1:0] load_v_q;        // lane of the vector being loaded
  reg [LaneBits - 1:0] last_lane_q;     // the batch's last lane
  reg frame_end_q;                      // the batch ends a frame
  reg [ChannelBits - 1:0] drain_c_q;    // channel being sent
  reg [LaneBits - 1:0] drain_v_q;       // lane being sent
  wire in_fire, out_fire, compute_done;
  wire [Lanes * OutWidth - 1:0] lane_results;  // every lane's result for channel drain_c_q

  // Scan issue: the member ROM in address order, once per batch.
  reg [ScanAddrWidth - 1:0] scan_addr_q;
  reg scan_done_q;
  wire scan_issue;
  assign scan_issue = (phase_q == PhaseCompute) && !scan_done_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      scan_addr_q <= {ScanAddrWidth{1'b0}};
      scan_done_q <= 1'b0;
    end else begin
      if (scan_issue) begin
        if (scan_addr_q == LastWord) begin
          scan_addr_q <= {ScanAddrWidth{1'b0}};
          scan_done_q <= 1'b1;
        end else begin
          scan_addr_q <= scan_addr_q + 1'b1;
        end
      end
      if (compute_done) scan_done_q <= 1'b0;
    end
  end

  wire [MemberWidth - 1:0] member;
  approxrtl_rom #(.Width(MemberWidth), .Depth(ScanDepth), .AddrWidth(ScanAddrWidth), .InitFile(MemberFile)) u_member_rom (
    .clk_i(clk_i), .addr_i(scan_addr_q), .data_o(member));
  // s1 has the member word and registers it (nothing but a register after the block RAM), r reads the lanes'
  // buffers at its address, s2 updates the sums; hold words update nothing.
  reg s1_valid_q, r_valid_q, s2_valid_q;
  reg [TapBits - 1:0] read_addr_q;
  reg r_end_q, r_channel_end_q;
  reg s2_end_q, s2_channel_end_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      r_valid_q <= 1'b0;
      s2_valid_q <= 1'b0;
    end else begin
      s1_valid_q <= scan_issue;
      r_valid_q <= s1_valid_q && !member[TapBits + 2];
      s2_valid_q <= r_valid_q;
    end
  end
  always @(posedge clk_i) begin
    read_addr_q <= member[TapBits - 1:0];
    r_end_q <= member[TapBits];
    r_channel_end_q <= member[TapBits + 1];
    s2_end_q <= r_end_q;
    s2_channel_end_q <= r_channel_end_q;
  end

  // A part ends: the lanes capture their moments, and the pools walk them when they are free. With the capture
  // go what the walk's products need later: first/last (the part is its channel's first, whose sum starts from
  // the bias, or its last, whose sum is finished), the channel, its bias and shift (ROMs addressed by the scan's
  // channel).
  wire part_end;
  // Two registers per moment: the capture, written as a part ends, and the walk register, loaded from the
  // capture as a walk starts and shifted lane to lane through the pool's lanes as the walk moves on, so the
  // pool reads one lane's moments (no multiplexer over the lanes) and a part may end while the pools still walk
  // the part before it: short parts (a segment's outliers) need no hold words as long as the parts around them
  // give the walks time.
  reg next_first_q;
  reg cap_first_q, cap_last_q, walk_first_q, walk_last_q;
  reg [ChannelBits - 1:0] scan_channel_q;
  reg [ChannelBits - 1:0] cap_channel_q, walk_channel_q;
  reg [AccWidth - 1:0] cap_bias_q, walk_bias_q;
  reg [ShiftWidth - 1:0] cap_shift_q, walk_shift_q;
  wire [AccWidth - 1:0] bias;
  wire [ShiftWidth - 1:0] shift;
  assign part_end = s2_valid_q && s2_end_q;
  // The sums restart after each part's end by a synchronous clear (no operand multiplexer), and stay clear while
  // the unit does not compute, so that the first part starts from zero.
  wire sums_clear;
  assign sums_clear = part_end || phase_q != PhaseCompute;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      next_first_q <= 1'b1;
      scan_channel_q <= {ChannelBits{1'b0}};
    end else if (part_end) begin
      next_first_q <= s2_channel_end_q;
      if (s2_channel_end_q) scan_channel_q <= scan_channel_q == LastChannel ? {ChannelBits{1'b0}} : scan_channel_q + 1'b1;
    end
  end
  always @(posedge clk_i) begin
    if (part_end) begin
      cap_first_q <= next_first_q;
      cap_last_q <= s2_channel_end_q;
      cap_channel_q <= scan_channel_q;
      cap_bias_q <= bias;
      cap_shift_q <= shift;
    end
  end
  approxrtl_rom #(.Width(AccWidth), .Depth(Channels), .AddrWidth(ChannelBits), .InitFile(BiasFile)) u_bias_rom (
    .clk_i(clk_i), .addr_i(scan_channel_q), .data_o(bias));
  approxrtl_rom #(.Width(ShiftWidth), .Depth(Channels), .AddrWidth(ChannelBits), .InitFile(ShiftFile)) u_shift_rom (
    .clk_i(clk_i), .addr_i(scan_channel_q), .data_o(shift));

  // The walk (p0), the same in every pool: lane by lane, term by term, digit by digit from the top; the
  // coefficient address returns to the part's first word for each lane and moves on to the next part's after the
  // last. A walk starts the cycle after its part ends at the earliest, when the previous walk is in its last
  // cycle or done; the generator's hold words make sure a part never ends before the previous part's walk has
  // started (its capture would be overwritten).
  reg walk_q;
  reg [1:0] pending_q;                  // captures not yet walked
  reg [LiBits - 1:0] li_q;
  reg [TermBits - 1:0] term_q;
  reg [DigitBits - 1:0] digit_q;
  reg [CoefAddrWidth - 1:0] coef_addr_q;
  wire walk_last, walk_start, walk_shift;
  assign walk_last = walk_q && digit_q == {DigitBits{1'b0}} && term_q == LastTerm && li_q == LastLi;
  assign walk_start = pending_q != 2'd0 && (!walk_q || walk_last);
  // The walk moves to the next lane: the walk registers shift one lane towards the pool.
  assign walk_shift = walk_q && digit_q == {DigitBits{1'b0}} && term_q == LastTerm;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      walk_q <= 1'b0;
      pending_q <= 2'd0;
      li_q <= {LiBits{1'b0}};
      term_q <= {TermBits{1'b0}};
      digit_q <= TopDigit;
      coef_addr_q <= {CoefAddrWidth{1'b0}};
    end else begin
      pending_q <= pending_q + {1'b0, part_end} - {1'b0, walk_start};
      if (walk_q) begin
        if (digit_q == {DigitBits{1'b0}}) begin
          digit_q <= TopDigit;
          if (term_q == LastTerm) begin
            term_q <= {TermBits{1'b0}};
            if (li_q == LastLi) begin
              li_q <= {LiBits{1'b0}};
              walk_q <= 1'b0;
              coef_addr_q <= coef_addr_q + 1'b1;
            end else begin
              li_q <= li_q + 1'b1;
              coef_addr_q <= coef_addr_q - Back;
            end
          end else begin
            term_q <= term_q + 1'b1;
            coef_addr_q <= coef_addr_q + 1'b1;
          end
        end else begin
          digit_q <= digit_q - 1'b1;
          coef_addr_q <= coef_addr_q + 1'b1;
        end
      end
      if (walk_start) begin
        walk_q <= 1'b1;
      end
      if (compute_done) begin
        coef_addr_q <= {CoefAddrWidth{1'b0}};
      end
    end
  end

  always @(posedge clk_i) begin
    if (walk_start) begin
      walk_first_q <= cap_first_q;
      walk_last_q <= cap_last_q;
      walk_channel_q <= cap_channel_q;
      walk_bias_q <= cap_bias_q;
      walk_shift_q <= cap_shift_q;
    end
  end

  wire [CoefWidth - 1:0] coefficient_digit;
  approxrtl_rom #(.Width(CoefWidth), .Depth(CoefDepth), .AddrWidth(CoefAddrWidth), .InitFile(CoefFile)) u_coef_rom (
    .clk_i(clk_i), .addr_i(coef_addr_q), .data_o(coefficient_digit));

  // The pool pipeline's flags: p1 multiplies the digit and the moment, pm takes the Horner step, p2 adds a finished
  // product to the
  // lane's sum, fin requantizes.
  reg p1_valid_q, p1_top_q, p1_done_q, p1_term_first_q, p1_term_last_q, p1_first_q, p1_last_q;
  reg [LiBits - 1:0] p1_li_q;
  reg pm_valid_q, pm_top_q, pm_done_q, pm_term_first_q, pm_term_last_q, pm_first_q, pm_last_q;
  reg [LiBits - 1:0] pm_li_q;
  reg [ChannelBits - 1:0] pm_channel_q;
  reg [AccWidth - 1:0] pm_bias_q;
  reg [ShiftWidth - 1:0] pm_shift_q;
  reg [ChannelBits - 1:0] p1_channel_q, p2_channel_q, fin_channel_q;
  reg [AccWidth - 1:0] p1_bias_q;
  reg [ShiftWidth - 1:0] p1_shift_q, p2_shift_q;
  reg p2_valid_q, p2_term_first_q, p2_term_last_q, p2_first_q, p2_last_q;
  reg [LiBits - 1:0] p2_li_q;
  reg signed [AccWidth - 1:0] p2_bias_q;
  reg fin_valid_q;
  reg [LiBits - 1:0] fin_li_q;
  reg signed [ShiftWidth - 1:0] fin_shift_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      p1_valid_q <= 1'b0;
      pm_valid_q <= 1'b0;
      p2_valid_q <= 1'b0;
      fin_valid_q <= 1'b0;
    end else begin
      p1_valid_q <= walk_q;
      pm_valid_q <= p1_valid_q;
      p2_valid_q <= pm_valid_q && pm_done_q;
      fin_valid_q <= p2_valid_q && p2_term_last_q && p2_last_q;
    end
  end
  always @(posedge clk_i) begin
    p1_top_q <= digit_q == TopDigit;
    p1_done_q <= digit_q == {DigitBits{1'b0}};
    p1_term_first_q <= term_q == {TermBits{1'b0}};
    p1_term_last_q <= term_q == LastTerm;
    p1_first_q <= walk_first_q;
    p1_last_q <= walk_last_q;
    p1_li_q <= li_q;
    p1_channel_q <= walk_channel_q;
    p1_bias_q <= walk_bias_q;
    p1_shift_q <= walk_shift_q;
    pm_top_q <= p1_top_q;
    pm_done_q <= p1_done_q;
    pm_term_first_q <= p1_term_first_q;
    pm_term_last_q <= p1_term_last_q;
    pm_first_q <= p1_first_q;
    pm_last_q <= p1_last_q;
    pm_li_q <= p1_li_q;
    pm_channel_q <= p1_channel_q;
    pm_bias_q <= p1_bias_q;
    pm_shift_q <= p1_shift_q;
    p2_term_first_q <= pm_term_first_q;
    p2_term_last_q <= pm_term_last_q;
    p2_first_q <= pm_first_q;
    p2_last_q <= pm_last_q;
    p2_li_q <= pm_li_q;
    p2_channel_q <= pm_channel_q;
    p2_bias_q <= $signed(pm_bias_q);
    p2_shift_q <= pm_shift_q;
    fin_li_q <= p2_li_q;
    fin_channel_q <= p2_channel_q;
    fin_shift_q <= $signed(p2_shift_q);
  end

  // Load, compute, drain: the handshakes and the phase sequence (as in approxrtl_mac_array).
  assign in_tready_o = phase_q == PhaseLoad;
  assign in_fire = in_tvalid_i && in_tready_o;
  assign out_tvalid_o = phase_q == PhaseDrain;
  assign out_fire = out_tvalid_o && out_tready_i;
  assign out_tlast_o = frame_end_q && drain_v_q == last_lane_q && drain_c_q == LastChannel;
  assign compute_done = phase_q == PhaseCompute && scan_done_q && !s1_valid_q && !r_valid_q && !s2_valid_q && pending_q == 2'd0 && !walk_q
                        && !p1_valid_q && !pm_valid_q && !p2_valid_q
                        && !fin_valid_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      phase_q <= PhaseLoad;
      load_k_q <= {TapBits{1'b0}};
      load_v_q <= {LaneBits{1'b0}};
      last_lane_q <= {LaneBits{1'b0}};
      frame_end_q <= 1'b0;
      drain_c_q <= {ChannelBits{1'b0}};
      drain_v_q <= {LaneBits{1'b0}};
    end else begin
      if (in_fire) begin
        if (load_k_q == LastTap) begin
          load_k_q <= {TapBits{1'b0}};
          if (load_v_q == LastLane || in_tlast_i) begin
            phase_q <= PhaseCompute;
            last_lane_q <= load_v_q;
            frame_end_q <= in_tlast_i;
            load_v_q <= {LaneBits{1'b0}};
          end else begin
            load_v_q <= load_v_q + 1'b1;
          end
        end else begin
          load_k_q <= load_k_q + 1'b1;
        end
      end
      if (compute_done) phase_q <= PhaseDrain;
      if (out_fire) begin
        if (drain_c_q == LastChannel) begin
          drain_c_q <= {ChannelBits{1'b0}};
          if (drain_v_q == last_lane_q) begin
            phase_q <= PhaseLoad;
            drain_v_q <= {LaneBits{1'b0}};
          end else begin
            drain_v_q <= drain_v_q + 1'b1;
          end
        end else begin
          drain_c_q <= drain_c_q + 1'b1;
        end
      end
    end
  end

  reg [OutWidth - 1:0] drain_code;
  integer l;
  always @(*) begin
    drain_code = {OutWidth{1'b0}};
    for (l = 0; l < Lanes; l = l + 1) begin
      if (drain_v_q == l[LaneBits - 1:0]) drain_code = lane_results[l * OutWidth +: OutWidth];
    end
  end
  assign out_tdata_o = drain_code;

  // Every lane's walk register, {Q', J, X} at their own widths, for the lane before it in its pool's chain; the
  // pool reads its first lane's.
  localparam integer MomentBits = SumWidth + JWidth + (Degree == 2 ? QPrimeWidth : 0);
  wire [Lanes * MomentBits - 1:0] walk_moments;
  wire [Multipliers * OutWidth - 1:0] pool_results;

  genvar g;
  generate
    for (g = 0; g < Lanes; g = g + 1) begin : gen_lane
      localparam integer Lane = g;
      localparam integer LaneInPool = g % PerPool;
      (* ram_style = "block" *) reg [InWidth - 1:0] buffer_q [0:Fan - 1];  // block RAM, as on iCE40
      reg signed [InWidth - 1:0] x_q;
      reg [OutWidth - 1:0] result_q [0:Channels - 1];
      // Suffix sums in descending rank; J (and R) skip the part's rank 0, the last member.
      reg signed [SumWidth - 1:0] s_q;
      reg signed [JWidth - 1:0] j_q;
      wire [MomentBits - 1:0] moments;   // what a part end captures
      reg [MomentBits - 1:0] lane_cap_q, lane_walk_q;
      // The lane after this one in the pool moves up as the walk moves on; the pool's last lane keeps its own.
      wire [MomentBits - 1:0] next_walk;
      if (LaneInPool < PerPool - 1) begin : gen_chain
        assign next_walk = walk_moments[(g + 1) * MomentBits +: MomentBits];
      end else begin : gen_chain_end
        assign next_walk = lane_walk_q;
      end
      wire [SumWidth - 1:0] x_wide;
      wire [JWidth - 1:0] s_for_j;
      wire signed [SumWidth - 1:0] s_next;
      wire signed [JWidth - 1:0] j_next;
      approxrtl_resize #(.InWidth(InWidth), .OutWidth(SumWidth)) u_x (.value_i(x_q), .value_o(x_wide));
      approxrtl_resize #(.InWidth(SumWidth), .OutWidth(JWidth)) u_s_j (.value_i(s_next), .value_o(s_for_j));
      assign s_next = s_q + $signed(x_wide);
      assign j_next = j_q + $signed(s_for_j);
      always @(posedge clk_i) begin
        if (in_fire && load_v_q == Lane[LaneBits - 1:0]) buffer_q[load_k_q] <= in_tdata_i;
        x_q <= $signed(buffer_q[read_addr_q]);
        if (sums_clear) begin
          s_q <= {SumWidth{1'b0}};
          j_q <= {JWidth{1'b0}};
        end else if (s2_valid_q) begin
          s_q <= s_next;
          j_q <= j_next;
        end
        if (part_end) lane_cap_q <= moments;
        if (walk_start) lane_walk_q <= lane_cap_q;
        else if (walk_shift) lane_walk_q <= next_walk;
        if (fin_valid_q && fin_li_q == LaneInPool[LiBits - 1:0]) begin
          result_q[fin_channel_q] <= pool_results[(g / PerPool) * OutWidth +: OutWidth];
        end
      end
      assign lane_results[g * OutWidth +: OutWidth] = result_q[drain_c_q];
      assign walk_moments[g * MomentBits +: MomentBits] = lane_walk_q;
      if (Degree == 2) begin : gen_quadratic
        // Q' += J likewise (section 7.1's R is J); the pool applies C1 - C2 to J and 2 C2 to Q', which is
        // C1 J + C2 Q with Q = 2 Q' - J.
        reg signed [QPrimeWidth - 1:0] qp_q;
        wire [QPrimeWidth - 1:0] j_for_qp;
        approxrtl_resize #(.InWidth(JWidth), .OutWidth(QPrimeWidth)) u_j_qp (.value_i(j_next), .value_o(j_for_qp));
        always @(posedge clk_i) begin
          if (sums_clear) qp_q <= {QPrimeWidth{1'b0}};
          else if (s2_valid_q) qp_q <= qp_q + $signed(j_for_qp);
        end
        assign moments = {qp_q, j_q, s_next};
      end else begin : gen_linear
        assign moments = {j_q, s_next};
      end
    end

    for (g = 0; g < Multipliers; g = g + 1) begin : gen_pool
      // p0: the term of the lane at the head of this pool's chain (unused codes read zero), registered.
      localparam integer Choices = 1 << TermBits;
      wire [MomentBits - 1:0] head;
      wire [MomentWidth - 1:0] choice [0:Choices - 1];
      reg signed [MomentWidth - 1:0] moment_q;
      assign head = walk_moments[g * PerPool * MomentBits +: MomentBits];
      approxrtl_resize #(.InWidth(SumWidth), .OutWidth(MomentWidth)) u_x (
        .value_i(head[SumWidth - 1:0]), .value_o(choice[0]));
      approxrtl_resize #(.InWidth(JWidth), .OutWidth(MomentWidth)) u_j (
        .value_i(head[SumWidth +: JWidth]), .value_o(choice[1]));
      if (Degree == 2) begin : gen_quadratic
        approxrtl_resize #(.InWidth(QPrimeWidth), .OutWidth(MomentWidth)) u_qp (
          .value_i(head[SumWidth + JWidth +: QPrimeWidth]), .value_o(choice[2]));
      end
      if (Choices > Terms) begin : gen_unused
        assign choice[Choices - 1] = {MomentWidth{1'b0}};
      end
      always @(posedge clk_i) moment_q <= $signed(choice[term_q]);
      // p1: Horner over the digits, modulo 2^AccWidth (the finished sum fits, so wrapping in between is exact).
      // The product modulo 2^AccWidth when that is narrower.
      localparam integer KeptWidth = ProductWidth < AccWidth ? ProductWidth : AccWidth;
      wire signed [KeptWidth - 1:0] product;
      wire signed [AccWidth - 1:0] product_acc;
      reg signed [AccWidth - 1:0] product_q;
      reg signed [AccWidth - 1:0] h_q;
      approxrtl_multiplier #(.AWidth(MomentWidth), .BWidth(CoefWidth), .PWidth(KeptWidth)) u_multiplier (
        .a_i(moment_q), .b_i(coefficient_digit), .p_o(product));
      approxrtl_resize #(.InWidth(KeptWidth), .OutWidth(AccWidth)) u_product (
        .value_i(product), .value_o(product_acc));
      always @(posedge clk_i) begin
        product_q <= product_acc;
        if (pm_valid_q) h_q <= (pm_top_q ? $signed({AccWidth{1'b0}}) : (h_q <<< DigitWidth)) + product_q;
      end
      // p2: the lane's sum, from the bias, from the ring (the lane's sum of earlier parts) or from the previous term.
      reg signed [AccWidth - 1:0] ring_q [0:PerPool - 1];
      integer i;
      reg signed [AccWidth - 1:0] a_q;
      reg signed [AccWidth - 1:0] final_q;
      wire signed [AccWidth - 1:0] base, sum;
      wire signed [OutWidth - 1:0] y;
      assign base = p2_term_first_q ? (p2_first_q ? p2_bias_q : ring_q[0]) : a_q;
      assign sum = base + h_q;
      always @(posedge clk_i) begin
        if (p2_valid_q) begin
          a_q <= sum;
          if (p2_term_last_q) begin
            for (i = 0; i < PerPool - 1; i = i + 1) ring_q[i] <= ring_q[i + 1];
            ring_q[PerPool - 1] <= sum;
            final_q <= sum;
          end
        end
      end
      approxrtl_requantize #(.AccWidth(AccWidth), .OutWidth(OutWidth), .ShiftWidth(ShiftWidth), .MaxLeftShift(MaxLeftShift),
                           .MinShift(MinShift), .MaxShift(MaxShift)) u_requantize (
        .acc_i(final_q), .shift_i(fin_shift_q), .relu_i(Relu != 0), .y_o(y));
      assign pool_results[g * OutWidth +: OutWidth] = y;
    end
  endgenerate
endmodule
