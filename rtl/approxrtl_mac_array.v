// The plain multiply-accumulate array of a layer unit (approxrtl generate --arch baseline; docs/rtl.md, "Layer
// units"): Lanes lanes hold Lanes input vectors (output pixels) and share the weight read from ROM, a
// weight-broadcast, output-stationary array. Each lane multiplies its input code by w'[c, k] and accumulates from
// the bias, one tap per cycle, channel after channel, then requantizes (docs/arithmetic.md section 3).
//
// Three phases that do not overlap: load a batch of up to Lanes vectors (one code per beat; in_tlast_i closes the
// batch early, so a frame never shares a batch), compute every channel for them, drain the results (each vector's
// channels in order; out_tlast_o on a frame's last code).
//
// Pipeline: cycle 0 issues the tap (ROM and buffer addresses from counters), cycle 1 has the weight and the input
// code from the memories and registers them (no logic after a block RAM's output), cycle 2 multiplies, cycle 3
// accumulates the registered product (from the bias on a channel's first tap), cycle 4 requantizes the finished
// accumulator into the lane's result memory. Compute: Channels * Fan + 5 cycles per batch.
// Only control state is reset; the datapath needs none.
module approxrtl_mac_array #(
  parameter integer Lanes = 4,          // input vectors computed together
  parameter integer Fan = 25,           // codes per input vector
  parameter integer Channels = 6,       // codes per output vector
  parameter integer InWidth = 9,        // input code width
  parameter integer OutWidth = 8,       // output code width
  parameter integer WeightWidth = 8,    // weight code width
  parameter integer AccWidth = 24,      // accumulator width (the quantizer's bound)
  parameter integer ShiftWidth = 6,     // width of the signed requantization shift
  parameter integer MaxLeftShift = 0,   // largest left shift of the requantization
  parameter integer MinShift = -MaxLeftShift,          // the requantization shifts, MinShift ... MaxShift
  parameter integer MaxShift = (1 << (ShiftWidth - 1)) - 1,
  parameter integer Relu = 1,           // ReLU after rounding
  parameter WeightFile = "weights.hex", // $readmemh images: Channels * Fan weights (channel-major), biases, shifts
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
  localparam integer TapBits = Fan > 1 ? $clog2(Fan) : 1;
  localparam integer ChannelBits = Channels > 1 ? $clog2(Channels) : 1;
  localparam integer LaneBits = Lanes > 1 ? $clog2(Lanes) : 1;
  localparam integer WeightDepth = Fan * Channels;
  localparam integer WeightAddrWidth = WeightDepth > 1 ? $clog2(WeightDepth) : 1;
  // The exact product, or the product modulo 2^AccWidth when that is narrower (the final sum fits anyway).
  localparam integer FullWidth = WeightWidth + InWidth;
  localparam integer ProductWidth = FullWidth < AccWidth ? FullWidth : AccWidth;
  localparam integer FanLast = Fan - 1, ChannelsLast = Channels - 1, LanesLast = Lanes - 1;
  localparam [TapBits - 1:0] LastTap = FanLast[TapBits - 1:0];
  localparam [ChannelBits - 1:0] LastChannel = ChannelsLast[ChannelBits - 1:0];
  localparam [LaneBits - 1:0] LastLane = LanesLast[LaneBits - 1:0];
  localparam [1:0] PhaseLoad = 2'd0;
  localparam [1:0] PhaseCompute = 2'd1;
  localparam [1:0] PhaseDrain = 2'd2;

  // Phases: load a batch of input vectors, compute all channels for them, drain the results.
  reg [1:0] phase_q;
  reg [TapBits - 1:0] load_k_q;         // code of the vector being loaded
  reg [LaneBits - 1:0] load_v_q;        // lane of the vector being loaded
  reg [LaneBits - 1:0] last_lane_q;     // the batch's last lane
  reg frame_end_q;                      // the batch ends a frame
  reg [ChannelBits - 1:0] drain_c_q;    // channel being sent
  reg [LaneBits - 1:0] drain_v_q;       // lane being sent
  wire in_fire, out_fire, compute_done;
  wire [Lanes * OutWidth - 1:0] lane_results;  // every lane's result for channel drain_c_q

  // Issue: channel by channel, tap by tap; the weight ROM is read in address order.
  reg [ChannelBits - 1:0] issue_c_q;
  reg [TapBits - 1:0] issue_k_q;
  reg [WeightAddrWidth - 1:0] weight_addr_q;
  reg issue_done_q;                     // every tap of the batch issued
  wire issue;
  assign issue = (phase_q == PhaseCompute) && !issue_done_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      issue_c_q <= {ChannelBits{1'b0}};
      issue_k_q <= {TapBits{1'b0}};
      weight_addr_q <= {WeightAddrWidth{1'b0}};
      issue_done_q <= 1'b0;
    end else begin
      if (issue) begin
        weight_addr_q <= weight_addr_q + 1'b1;
        if (issue_k_q == LastTap) begin
          issue_k_q <= {TapBits{1'b0}};
          if (issue_c_q == LastChannel) begin
            issue_c_q <= {ChannelBits{1'b0}};
            weight_addr_q <= {WeightAddrWidth{1'b0}};
            issue_done_q <= 1'b1;
          end else begin
            issue_c_q <= issue_c_q + 1'b1;
          end
        end else begin
          issue_k_q <= issue_k_q + 1'b1;
        end
      end
      if (compute_done) issue_done_q <= 1'b0;
    end
  end

  // Weights, biases and shifts: synchronous ROMs, data one cycle after the address.
  wire [WeightWidth - 1:0] weight;
  wire [AccWidth - 1:0] bias;
  wire [ShiftWidth - 1:0] shift;
  approxrtl_rom #(.Width(WeightWidth), .Depth(WeightDepth), .AddrWidth(WeightAddrWidth), .InitFile(WeightFile)) u_weight_rom (
    .clk_i(clk_i), .addr_i(weight_addr_q), .data_o(weight));
  approxrtl_rom #(.Width(AccWidth), .Depth(Channels), .AddrWidth(ChannelBits), .InitFile(BiasFile)) u_bias_rom (
    .clk_i(clk_i), .addr_i(issue_c_q), .data_o(bias));
  approxrtl_rom #(.Width(ShiftWidth), .Depth(Channels), .AddrWidth(ChannelBits), .InitFile(ShiftFile)) u_shift_rom (
    .clk_i(clk_i), .addr_i(issue_c_q), .data_o(shift));

  // Pipeline flags: s1 has the weight and input code, m multiplies their registered copies, s2 accumulates, fin
  // requantizes.
  reg s1_valid_q, s1_first_q, s1_last_q;
  reg [ChannelBits - 1:0] s1_channel_q;
  reg m_valid_q, m_first_q, m_last_q;
  reg [ChannelBits - 1:0] m_channel_q;
  reg [WeightWidth - 1:0] weight_q;
  reg [AccWidth - 1:0] m_bias_q;
  reg [ShiftWidth - 1:0] m_shift_q;
  reg s2_valid_q, s2_first_q, s2_last_q;
  reg [ChannelBits - 1:0] s2_channel_q;
  reg signed [AccWidth - 1:0] s2_bias_q;
  reg signed [ShiftWidth - 1:0] s2_shift_q;
  reg fin_valid_q;
  reg [ChannelBits - 1:0] fin_channel_q;
  reg signed [ShiftWidth - 1:0] fin_shift_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_valid_q <= 1'b0;
      m_valid_q <= 1'b0;
      s2_valid_q <= 1'b0;
      fin_valid_q <= 1'b0;
    end else begin
      s1_valid_q <= issue;
      m_valid_q <= s1_valid_q;
      s2_valid_q <= m_valid_q;
      fin_valid_q <= s2_valid_q && s2_last_q;
    end
  end
  always @(posedge clk_i) begin
    s1_first_q <= issue_k_q == {TapBits{1'b0}};
    s1_last_q <= issue_k_q == LastTap;
    s1_channel_q <= issue_c_q;
    m_first_q <= s1_first_q;
    m_last_q <= s1_last_q;
    m_channel_q <= s1_channel_q;
    weight_q <= weight;
    m_bias_q <= bias;
    m_shift_q <= shift;
    s2_first_q <= m_first_q;
    s2_last_q <= m_last_q;
    s2_channel_q <= m_channel_q;
    s2_bias_q <= $signed(m_bias_q);
    s2_shift_q <= $signed(m_shift_q);
    fin_channel_q <= s2_channel_q;
    fin_shift_q <= s2_shift_q;
  end

  // Load, compute, drain: the handshakes and the phase sequence.
  assign in_tready_o = phase_q == PhaseLoad;
  assign in_fire = in_tvalid_i && in_tready_o;
  assign out_tvalid_o = phase_q == PhaseDrain;
  assign out_fire = out_tvalid_o && out_tready_i;
  assign out_tlast_o = frame_end_q && drain_v_q == last_lane_q && drain_c_q == LastChannel;
  assign compute_done = phase_q == PhaseCompute && issue_done_q && !s1_valid_q && !m_valid_q && !s2_valid_q
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
            // Batch full, or the frame ends: compute.
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

  // The code sent: lane drain_v_q's result for channel drain_c_q.
  reg [OutWidth - 1:0] drain_code;
  integer l;
  always @(*) begin
    drain_code = {OutWidth{1'b0}};
    for (l = 0; l < Lanes; l = l + 1) begin
      if (drain_v_q == l[LaneBits - 1:0]) drain_code = lane_results[l * OutWidth +: OutWidth];
    end
  end
  assign out_tdata_o = drain_code;

  genvar g;
  generate
    for (g = 0; g < Lanes; g = g + 1) begin : gen_lane
      localparam integer Lane = g;
      // This lane's input vector, and its results for every channel.
      (* ram_style = "block" *) reg [InWidth - 1:0] buffer_q [0:Fan - 1];  // block RAM, as on iCE40
      reg signed [InWidth - 1:0] x_q;   // the input code read from the buffer
      reg signed [InWidth - 1:0] xm_q;  // its registered copy, multiplied
      reg [OutWidth - 1:0] result_q [0:Channels - 1];
      // w' * x at its natural width, then the running sum from the bias (modulo 2^AccWidth: the final sum fits).
      wire signed [ProductWidth - 1:0] product;
      approxrtl_multiplier #(.AWidth(InWidth), .BWidth(WeightWidth), .PWidth(ProductWidth)) u_multiplier (
        .a_i(xm_q), .b_i(weight_q), .p_o(product));
      reg signed [ProductWidth - 1:0] product_q;
      reg signed [AccWidth - 1:0] acc_q;
      reg signed [AccWidth - 1:0] final_q;  // the finished accumulator
      wire signed [AccWidth - 1:0] product_wide;
      wire signed [AccWidth - 1:0] sum;
      wire signed [OutWidth - 1:0] y;
      if (ProductWidth < AccWidth) begin : gen_extend
        assign product_wide = {{(AccWidth - ProductWidth){product_q[ProductWidth - 1]}}, product_q};
      end else begin : gen_same
        assign product_wide = product_q;
      end
      assign sum = (s2_first_q ? s2_bias_q : acc_q) + product_wide;
      always @(posedge clk_i) begin
        xm_q <= x_q;
        product_q <= product;
        if (s2_valid_q) begin
          acc_q <= sum;
          if (s2_last_q) final_q <= sum;
        end
      end
      approxrtl_requantize #(.AccWidth(AccWidth), .OutWidth(OutWidth), .ShiftWidth(ShiftWidth), .MaxLeftShift(MaxLeftShift),
                           .MinShift(MinShift), .MaxShift(MaxShift)) u_requantize (
        .acc_i(final_q), .shift_i(fin_shift_q), .relu_i(Relu != 0), .y_o(y));
      // Load into the buffer, read the next input code, store a finished result.
      always @(posedge clk_i) begin
        if (in_fire && load_v_q == Lane[LaneBits - 1:0]) buffer_q[load_k_q] <= in_tdata_i;
        x_q <= $signed(buffer_q[issue_k_q]);
        if (fin_valid_q) result_q[fin_channel_q] <= y;
      end
      assign lane_results[g * OutWidth +: OutWidth] = result_q[drain_c_q];
    end
  endgenerate
endmodule
