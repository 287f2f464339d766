// The neural functional unit of the DianNao-style accelerator (docs/accelerator.md), one step per cycle:
//   NFU-1: Tn x Tn multipliers, weight w[o][i] times input lane x[i] (zero outside the map); with SWC lanes
//          (Swc = 1) the SB holds scaling-weight codes instead, multiplied (uniform codes) or, with Pow2Codes,
//          applied as a shift of x and a sign (power-of-two codes: no multipliers);
//   NFU-2: per output lane o, a pipelined adder tree over the Tn products and the accumulator, which starts from
//          the bias; in pooling layers the lane-wise max or sum of the input words instead;
//   NFU-3: on a tile's last step, with SWC lanes first the MAW multiply: bias + scale * (sum of code * x), exact
//          since every weight is scale * code; then requantization (rounding shift, ReLU, saturation), the
//          rounded average of a pooling window, or the logits aligned by a left shift. With activation tables
//          (Pwl = 1) a further stage maps a layer's requantized codes through its piecewise-linear table
//          (approxrtl_pwl_activation.v, one multiplier per lane) when the instruction asks for it.
// Feature-approximation unit (FeatureUnit = 1, M3): the accumulators of the current pixel's computed tiles are kept
// (KeptTiles tiles); a feature step's SB word gives each lane a source channel and a coefficient, and the lane adds
// coefficient * kept accumulator to its own, which starts from the bias: bias_j + sum_i A_i * acc_{k_i}, exactly
// docs/arithmetic.md section 9. A source's tile is kept when its last step leaves NFU-2, before any feature step
// of the same pixel reads it.
// M1 reuse lanes (Reuse = 1, approxrtl_diannao_reuse.v): gather steps copy the pixel's window into the lanes' window
// memories, scan steps walk one member per lane and add C0 * S + C1 * J + C2 * Q at each part's end. Without
// MacArray (every weighted layer runs on the reuse lanes) NFU-1's multipliers and NFU-2's adder trees are left out.
// Factored lanes (Factored = 1, approxrtl_diannao_factored.v): a factored step (op 6) sums each output lane's inputs
// by the index the SB gives them and multiplies each sum by one of the lane's FactorValues values; the sums meet
// the accumulators as the adder trees' do, FactorExtra cycles later than the MAC array alone would.
// Step flags enter with the buffer and SB addresses (the issue cycle); x_i and w_i arrive one cycle later (the
// memories' read latency) and param_i, the tile's biases, shifts (and scales), Levels + 3 + FactorExtra cycles after
// the issue. The result of a step issued in cycle t is written in cycle t + Levels + 7 + FactorExtra (+ 1 with Pwl,
// + 1 with Swc).
module approxrtl_diannao_nfu #(
  parameter integer Tn = 16,            // lanes: input and output channels per step
  parameter integer DataWidth = 9,      // activation lane width (signed; input pixels zero-extended)
  parameter integer ActWidth = 8,       // activation code width after requantization
  parameter integer WeightWidth = 8,    // weight code width
  parameter integer AccWidth = 24,      // accumulator width
  parameter integer ShiftWidth = 6,     // signed requantization shift width
  parameter integer MaxLeftShift = 1,   // largest left shift of a requantization or of the logits
  parameter integer LogitWidth = 24,    // logit code width
  parameter integer AddrWidth = 10,     // result address width
  parameter integer Swc = 0,            // SWC lanes: SB codes, one MAW multiply per output
  parameter integer Pow2Codes = 0,      // SWC codes are sign and log2 index (0: zero, k + 1: 2^k)
  parameter integer ScaleWidth = 1,     // unsigned per-channel scale width (Swc)
  parameter integer ProductWidth = DataWidth + WeightWidth, // a product's width (Pow2Codes: x shifted by the largest code)
  parameter integer FeatureUnit = 0,    // M3: keep accumulators, run feature steps
  parameter integer KeptTiles = 1,      // computed tiles kept per pixel
  parameter integer SourceWidth = 1,    // bits of a source channel index (< KeptTiles * Tn)
  parameter integer CoefWidth = 2,      // signed feature coefficient width
  parameter integer LaneBits = Tn * WeightWidth, // SB bits per output lane (a MAC word's Tn weights from bit 0)
  parameter integer MacArray = 1,       // NFU-1 multipliers and NFU-2 adder trees
  parameter integer DspProducts = Tn * Tn, // NFU-1 products written as multiplies (hard multipliers); the rest
                                           // are shift-and-add in LUTs, so that the part's DSPs suffice
  parameter integer Reuse = 0,          // M1 reuse lanes (approxrtl_diannao_reuse.v)
  parameter integer WindowWords = 16,   // reuse lanes: window words per lane
  parameter integer WindowAddrWidth = 4,
  parameter integer DWidth = 1,         // reuse lanes: rank step widths, coefficients per part, coefficient width
  parameter integer EWidth = 1,
  parameter integer Terms = 2,
  parameter integer ReuseCoefWidth = 16,
  parameter integer Factored = 0,       // factored lanes (approxrtl_diannao_factored.v)
  parameter integer FactorValues = 1,   // factored lanes: values per output lane, index and value widths
  parameter integer IndexWidth = 1,
  parameter integer FactorValueWidth = 2,
  parameter integer Pwl = 0,            // NFU-3 activation tables (approxrtl_pwl_activation.v)
  parameter integer Segments = 2,       // activation tables: segments, slope, intercept and shift widths
  parameter integer SlopeWidth = 2,
  parameter integer InterceptWidth = 2,
  parameter integer TableShiftBits = 1,
  parameter integer TableWidth = (Segments - 1) * ActWidth + Segments * (SlopeWidth + InterceptWidth) + TableShiftBits,
  parameter integer PwlLaneBit = Pwl != 0 ? 1 : 0
) (
  input  wire clk_i,
  input  wire rst_ni,
  // Issue cycle.
  input  wire valid_i,
  input  wire mask_i,
  input  wire first_i,
  input  wire last_i,
  input  wire [AddrWidth - 1:0] addr_i,
  input  wire [7:0] tile_i,
  input  wire [2:0] op_i,
  input  wire relu_i,
  input  wire act_i,                    // the layer's codes go through the activation table
  input  wire logits_i,
  input  wire [1:0] dst_i,
  input  wire [3:0] pool_shift_i,
  // One cycle after the issue; zero where the step's mask is low (padding).
  input  wire [Tn * DataWidth - 1:0] x_i,
  // The same word once per output lane (NFU-1's lane o multiplies copy o): registered apart, so that each copy
  // sits beside its lane's multipliers (only read with MacArray).
  input  wire [Tn * Tn * DataWidth - 1:0] x_lanes_i,
  input  wire [Tn * LaneBits - 1:0] w_i,
  // The running layer's activation table (held for the whole layer).
  input  wire [TableWidth - 1:0] table_i,
  // Levels + 3 + FactorExtra cycles after the issue: lane o's bias in [o*AccWidth +: AccWidth], its shift after all biases,
  // with Swc its scale after all shifts, and with Pwl a bit per lane after those: the lane holds a channel (an
  // idle lane keeps its 0 instead of the table's value at 0).
  input  wire [Tn * (AccWidth + ShiftWidth + Swc * ScaleWidth + PwlLaneBit) - 1:0] param_i,
  // A finished tile: Tn activation codes (sign-extended to DataWidth) for buffer dst_o, or Tn logits.
  output wire write_o,
  output wire [1:0] dst_o,
  output wire [AddrWidth - 1:0] write_addr_o,
  output wire [Tn * DataWidth - 1:0] write_data_o,
  output wire logit_write_o,
  output wire [Tn * LogitWidth - 1:0] logit_data_o
);
  localparam integer Levels = $clog2(Tn);
  localparam integer SumWidth = ProductWidth + Levels;
  localparam integer Parts = (WeightWidth + 3) / 4;  // a LUT product's nibbles (product_half)
  // The factored lanes' sum over their values takes clog2(FactorValues) levels where the MAC array's second
  // product register takes one: the cycles they add to the pipeline (approxrtl_diannao_core.v's Drain).
  localparam integer FactorLevels = FactorValues > 1 ? $clog2(FactorValues) : 1;
  localparam integer FactorExtra = Factored != 0 ? FactorLevels - 1 : 0;
  localparam integer FactorSumWidth = DataWidth + Levels + FactorValueWidth + (FactorValues > 1 ? $clog2(FactorValues) : 0);
  // Cycles from the products' first register (stage 2) to the sums: the product's second register, the tree.
  localparam integer Through = 1 + Levels + FactorExtra;
  localparam [2:0] OpMac = 3'd0, OpMax = 3'd1, OpAverage = 3'd2, OpFeature = 3'd3, OpGather = 3'd4, OpScan = 3'd5,
                   OpFactored = 3'd6;
  // Flags carried down the pipeline, from bit 0: address, tile, pool shift, dst, logits, act, relu, op, last,
  // first, mask, valid.
  localparam integer TileLsb = AddrWidth;
  localparam integer PoolShiftLsb = TileLsb + 8;
  localparam integer DstLsb = PoolShiftLsb + 4;  // two bits: buffer 0, 1 or 2
  localparam integer LogitsBit = DstLsb + 2;
  localparam integer ActBit = LogitsBit + 1;
  localparam integer ReluBit = ActBit + 1;
  localparam integer OpLsb = ReluBit + 1;
  localparam integer LastBit = OpLsb + 3;
  localparam integer FirstBit = LastBit + 1;
  localparam integer MaskBit = FirstBit + 1;
  localparam integer ValidBit = MaskBit + 1;
  localparam integer FlagWidth = ValidBit + 1;
  localparam integer LaneFeatureWidth = SourceWidth + CoefWidth;

  // Stage 1: the memories' words arrive; the flags wait one cycle for them.
  reg [FlagWidth - 1:0] flags1_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) flags1_q <= {FlagWidth{1'b0}};
    // Without tables the act flag is constant, so synthesis drops its flip-flops.
    else flags1_q <= {valid_i, mask_i, first_i, last_i, op_i, relu_i, act_i && Pwl != 0, logits_i, dst_i, pool_shift_i, tile_i, addr_i};
  end
  // Padding contributes zero to a sum (x_i is zero there); the max ignores it through the mask flag.
  wire [Tn * DataWidth - 1:0] x_masked = x_i;

  // NFU-1: the products (or shifted inputs), registered.
  function automatic [ProductWidth - 1:0] product(input [WeightWidth - 1:0] w, input [DataWidth - 1:0] x);
    reg [WeightWidth - 2:0] index;
    reg signed [ProductWidth - 1:0] shifted;
    begin
      if (Pow2Codes != 0) begin
        // Sign and index: 0 is zero, k + 1 is 2^k.
        index = w[WeightWidth - 2:0];
        shifted = {{(ProductWidth - DataWidth){x[DataWidth - 1]}}, x} <<< (index - 1'b1);
        product = index == {(WeightWidth - 1){1'b0}} ? {ProductWidth{1'b0}} : w[WeightWidth - 1] ? -shifted : shifted;
      end else begin
        product = $signed(w) * $signed(x);
      end
    end
  endfunction

  // A product as shifts and adds (w's bits select shifted copies of x; the sign bit subtracts), so that
  // synthesis builds it from LUTs and carry chains rather than a hard multiplier: half of it, the terms of w's
  // bits Lsb .. Lsb + 3 added as a two-level tree; the halves are added in the next stage.
  function automatic [ProductWidth - 1:0] product_half(input [WeightWidth - 1:0] w, input [DataWidth - 1:0] x,
                                                        input integer lsb);
    reg signed [ProductWidth - 1:0] wide;
    reg signed [ProductWidth - 1:0] term [0:3];
    integer b;
    begin
      wide = {{(ProductWidth - DataWidth){x[DataWidth - 1]}}, x};
      for (b = 0; b < 4; b = b + 1) begin
        if (lsb + b >= WeightWidth || !w[lsb + b]) term[b] = {ProductWidth{1'b0}};
        else if (lsb + b == WeightWidth - 1) term[b] = -(wide <<< (lsb + b));
        else term[b] = wide <<< (lsb + b);
      end
      product_half = (term[0] + term[1]) + (term[2] + term[3]);
    end
  endfunction

  // The sum of a product's parts (modulo 2^ProductWidth, where the product fits).
  function automatic [ProductWidth - 1:0] product_total(input [Parts * ProductWidth - 1:0] parts);
    reg [ProductWidth - 1:0] total;
    integer n;
    begin
      total = {ProductWidth{1'b0}};
      for (n = 0; n < Parts; n = n + 1) total = total + parts[n * ProductWidth +: ProductWidth];
      product_total = total;
    end
  endfunction

  reg [Tn * DataWidth - 1:0] x2_q;
  reg [FlagWidth - 1:0] flags2_q;
  integer k;
  // Data registers have no reset (only control state does), so synthesis can absorb them into DSPs and BRAMs.
  always @(posedge clk_i) x2_q <= x_masked;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      flags2_q <= {FlagWidth{1'b0}};
    end else begin
      flags2_q <= flags1_q;
    end
  end

  // NFU-2: one adder tree per output lane; the pooling inputs and the flags travel beside them.
  wire [Tn * SumWidth - 1:0] sums;
  wire [Tn * DataWidth - 1:0] x3;
  wire [FlagWidth - 1:0] flags3;
  genvar g;
  generate
    if (MacArray != 0) begin : g_mac
      // Two stages, so that neither holds more than a multiply or two levels of adders after the broadcast:
      // hard multipliers register their product, then register it again (where synthesis could use the
      // multiplier's own output register; Yosys's synth_ecp5 does not, docs/accelerator.md "Fmax"); LUT products
      // register the sums of each nibble of w's terms, then add those.
      wire [Tn * SumWidth - 1:0] tree_sums;
      for (g = 0; g < Tn; g = g + 1) begin : g_tree
        // Each product in a block of its own, in registers of its own width: Verilator keeps those as machine
        // words, where a lane's products packed into one wide vector cost it most of its time in shifts and masks
        // (LeNet-5 at Tn = 16 simulates 1.3x faster this way), and Icarus runs short processes on narrow values
        // (2.7x faster than one process per lane over the wide vectors).
        wire [Tn * ProductWidth - 1:0] products;
        genvar i;
        for (i = 0; i < Tn; i = i + 1) begin : g_in
          if (Pow2Codes != 0 || g * Tn + i < DspProducts) begin : g_dsp
            reg [ProductWidth - 1:0] first_q, product_q;
            always @(posedge clk_i) begin
              first_q <= product(w_i[g * LaneBits + i * WeightWidth +: WeightWidth],
                                 x_lanes_i[(g * Tn + i) * DataWidth +: DataWidth]);
              product_q <= first_q;
            end
            assign products[i * ProductWidth +: ProductWidth] = product_q;
          end else begin : g_lut
            reg [Parts * ProductWidth - 1:0] partial_q;
            reg [ProductWidth - 1:0] product_q;
            integer n;
            always @(posedge clk_i) begin
              for (n = 0; n < Parts; n = n + 1)
                partial_q[n * ProductWidth +: ProductWidth] <=
                  product_half(w_i[g * LaneBits + i * WeightWidth +: WeightWidth],
                               x_lanes_i[(g * Tn + i) * DataWidth +: DataWidth], 4 * n);
              product_q <= product_total(partial_q);
            end
            assign products[i * ProductWidth +: ProductWidth] = product_q;
          end
        end
        wire tree_valid_unused;
        approxrtl_adder_tree #(.Count(Tn), .InWidth(ProductWidth)) u_tree (
          .clk_i(clk_i), .rst_ni(rst_ni), .in_i(products), .valid_i(1'b0),
          .sum_o(tree_sums[g * SumWidth +: SumWidth]), .valid_o(tree_valid_unused));
      end
      // Beside factored lanes, the sums wait for theirs.
      if (FactorExtra > 0) begin : g_wait
        approxrtl_delay_line #(.Width(Tn * SumWidth), .Depth(FactorExtra), .Reset(0)) u_wait (
          .clk_i(clk_i), .rst_ni(rst_ni), .d_i(tree_sums), .q_o(sums));
      end else begin : g_now
        assign sums = tree_sums;
      end
      if (LaneBits > Tn * WeightWidth) begin : g_spare
        wire [Tn * LaneBits - 1:0] spare_lanes = w_i;
        wire unused_spare = ^spare_lanes;  // bits beyond a lane's Tn weights hold other words' fields
      end
    end else begin : g_no_mac
      // Every weighted layer runs on the reuse or the factored lanes.
      assign sums = {(Tn * SumWidth){1'b0}};
      if (Factored == 0) begin : g_no_lanes
        wire unused_x_lanes = ^x_lanes_i;
      end
    end
  endgenerate

  // The factored lanes' sums, at accumulator width like the trees' (below).
  wire [Tn * AccWidth - 1:0] factored_acc;
  generate
    if (Factored != 0) begin : g_factored
      wire [Tn * FactorSumWidth - 1:0] factored_sums;
      approxrtl_diannao_factored #(
        .Tn(Tn), .DataWidth(DataWidth), .Values(FactorValues), .IndexWidth(IndexWidth), .ValueWidth(FactorValueWidth),
        .LaneBits(LaneBits), .SumWidth(FactorSumWidth)
      ) u_factored (.clk_i(clk_i), .x_lanes_i(x_lanes_i), .w_i(w_i), .sum_o(factored_sums));
      for (g = 0; g < Tn; g = g + 1) begin : g_lane
        approxrtl_resize #(.InWidth(FactorSumWidth), .OutWidth(AccWidth)) u_acc (
          .value_i(factored_sums[g * FactorSumWidth +: FactorSumWidth]), .value_o(factored_acc[g * AccWidth +: AccWidth]));
      end
    end else begin : g_no_factored
      assign factored_acc = {(Tn * AccWidth){1'b0}};
    end
  endgenerate
  approxrtl_delay_line #(.Width(Tn * DataWidth), .Depth(Through), .Reset(0)) u_beside (
    .clk_i(clk_i), .rst_ni(rst_ni), .d_i(x2_q), .q_o(x3));
  approxrtl_delay_line #(.Width(FlagWidth), .Depth(Through)) u_beside_flags (
    .clk_i(clk_i), .rst_ni(rst_ni), .d_i(flags2_q), .q_o(flags3));

  // The sums at accumulator width: sign-extended, or their low bits (the accumulator works modulo 2^AccWidth and
  // the final value fits, docs/arithmetic.md section 7).
  wire [Tn * AccWidth - 1:0] sums_acc;
  generate
    for (g = 0; g < Tn; g = g + 1) begin : g_sum
      approxrtl_resize #(.InWidth(SumWidth), .OutWidth(AccWidth)) u_acc (
        .value_i(sums[g * SumWidth +: SumWidth]), .value_o(sums_acc[g * AccWidth +: AccWidth]));
    end
  endgenerate

  // The feature unit: kept accumulators and one coefficient multiplier per lane.
  wire [Tn * AccWidth - 1:0] feature_terms;
  wire [7:0] tile3 = flags3[TileLsb +: 8];
  generate
    if (FeatureUnit != 0) begin : g_feature
      // The lanes' (source, coefficient) pairs travel with the step until NFU-2's sums are out.
      reg [Tn * LaneFeatureWidth - 1:0] lanes2_q;
      wire [Tn * LaneFeatureWidth - 1:0] lanes3;
      always @(posedge clk_i) lanes2_q <= w_i[Tn * LaneFeatureWidth - 1:0];
      approxrtl_delay_line #(.Width(Tn * LaneFeatureWidth), .Depth(Through), .Reset(0)) u_lanes (
        .clk_i(clk_i), .rst_ni(rst_ni), .d_i(lanes2_q), .q_o(lanes3));
      // The computed tiles of the current pixel, written as their last step completes.
      reg [KeptTiles * Tn * AccWidth - 1:0] kept_q;
      integer t;
      always @(posedge clk_i) begin
        if (valid3 && last3 && op3 == OpMac) begin
          for (t = 0; t < KeptTiles; t = t + 1)
            if (tile3 == t[7:0]) kept_q[t * Tn * AccWidth +: Tn * AccWidth] <= acc_next;
        end
      end
      for (g = 0; g < Tn; g = g + 1) begin : g_lane
        wire [SourceWidth - 1:0] source = lanes3[g * LaneFeatureWidth +: SourceWidth];
        wire signed [CoefWidth - 1:0] coefficient = $signed(lanes3[g * LaneFeatureWidth + SourceWidth +: CoefWidth]);
        wire signed [AccWidth - 1:0] kept = $signed(kept_q[source * AccWidth +: AccWidth]);
        wire signed [AccWidth + CoefWidth - 1:0] term = coefficient * kept;
        // Modulo 2^AccWidth, like every accumulation (the combination fits the accumulator).
        assign feature_terms[g * AccWidth +: AccWidth] = term[AccWidth - 1:0];
        wire unused_term = ^term[AccWidth + CoefWidth - 1:AccWidth];
      end
    end else begin : g_no_feature
      assign feature_terms = {(Tn * AccWidth){1'b0}};
      wire unused_tile = ^tile3;
    end
  endgenerate

  wire valid3 = flags3[ValidBit];
  wire mask3 = flags3[MaskBit];
  wire first3 = flags3[FirstBit];
  wire last3 = flags3[LastBit];
  wire [2:0] op3 = flags3[OpLsb +: 3];

  // The reuse lanes' terms, aligned with the adder trees' sums.
  wire [Tn * AccWidth - 1:0] reuse_terms;
  generate
    if (Reuse != 0) begin : g_reuse
      wire valid1 = flags1_q[ValidBit];
      wire [2:0] op1 = flags1_q[OpLsb +: 3];
      wire [Tn * AccWidth - 1:0] terms4;
      approxrtl_diannao_reuse #(
        .Tn(Tn), .DataWidth(DataWidth), .AccWidth(AccWidth), .LaneBits(LaneBits), .WindowWords(WindowWords),
        .WindowAddrWidth(WindowAddrWidth), .DWidth(DWidth), .EWidth(EWidth), .Terms(Terms), .CoefWidth(ReuseCoefWidth)
      ) u_reuse (
        .clk_i(clk_i), .rst_ni(rst_ni), .gather_i(valid1 && op1 == OpGather), .first_i(flags1_q[FirstBit]),
        .scan_i(valid1 && op1 == OpScan), .x_i(x_masked), .w_i(w_i), .term_o(terms4));
      // The terms leave the reuse lanes in stage 4; the sums leave the trees in stage Levels + 3 (Tn >= 4).
      if (Levels > 1) begin : g_align
        approxrtl_delay_line #(.Width(Tn * AccWidth), .Depth(Levels - 1)) u_align (
          .clk_i(clk_i), .rst_ni(rst_ni), .d_i(terms4), .q_o(reuse_terms));
      end else begin : g_aligned
        assign reuse_terms = terms4;
      end
    end else begin : g_no_reuse
      assign reuse_terms = {(Tn * AccWidth){1'b0}};
    end
  endgenerate

  // The accumulators: multiply-accumulate from the bias, or the window's max or sum.
  reg [Tn * AccWidth - 1:0] acc_q;
  reg [Tn * ShiftWidth - 1:0] shift_q;
  reg [Tn * AccWidth - 1:0] bias_q;
  wire [Tn * ScaleWidth - 1:0] scale_q;
  generate
    if (Swc != 0) begin : g_scales
      reg [Tn * ScaleWidth - 1:0] scales_q;
      always @(posedge clk_i) scales_q <= param_i[Tn * (AccWidth + ShiftWidth) +: Tn * ScaleWidth];
      assign scale_q = scales_q;
    end else begin : g_no_scales
      assign scale_q = {(Tn * ScaleWidth){1'b0}};
    end
  endgenerate
  reg [FlagWidth - 1:0] flags4_q;
  // The accumulator stage is a loop (a lane's next step adds to what this one wrote), so it holds one adder and
  // a LUT on each side: the step's op and first flag are decoded before the trees' latency into the selects below,
  // the base (bias, zero or the accumulator) and the addend (the sums, the window's word, the feature or reuse
  // term) are each one LUT, and the max compares DataWidth + 1 bits: in a max window the accumulator holds an
  // input word or, for a window that starts in the padding, MinCode, below every word (its low DataWidth bits are
  // zero, like those of any most negative start).
  localparam signed [AccWidth - 1:0] MinCode = -(1 <<< DataWidth);
  wire [6:0] decoded2 = {
    flags2_q[OpLsb +: 3] == OpFactored,
    flags2_q[OpLsb +: 3] == OpMax,
    flags2_q[FirstBit] && (flags2_q[OpLsb +: 3] == OpAverage || (flags2_q[OpLsb +: 3] == OpMac && Swc != 0)),
    flags2_q[FirstBit] && ((flags2_q[OpLsb +: 3] == OpMac && Swc == 0) || flags2_q[OpLsb +: 3] == OpFeature
                           || flags2_q[OpLsb +: 3] == OpScan || flags2_q[OpLsb +: 3] == OpFactored),
    flags2_q[OpLsb +: 3] == OpAverage, flags2_q[OpLsb +: 3] == OpFeature || flags2_q[OpLsb +: 3] == OpScan,
    flags2_q[OpLsb +: 3] == OpMac};
  wire [6:0] decoded3;
  approxrtl_delay_line #(.Width(7), .Depth(Through), .Reset(0)) u_decoded (
    .clk_i(clk_i), .rst_ni(rst_ni), .d_i(decoded2), .q_o(decoded3));
  wire add_factored3 = decoded3[6];
  wire is_max3 = decoded3[5], take_zero3 = decoded3[4], take_param3 = decoded3[3];
  wire add_x3 = decoded3[2], add_term3 = decoded3[1], add_sum3 = decoded3[0];
  reg [Tn * AccWidth - 1:0] acc_next;
  reg signed [AccWidth - 1:0] lane_acc, lane_x, lane_base, lane_addend, lane_max;
  always @* begin
    for (k = 0; k < Tn; k = k + 1) begin
      lane_acc = $signed(acc_q[k * AccWidth +: AccWidth]);
      lane_x = {{(AccWidth - DataWidth){x3[k * DataWidth + DataWidth - 1]}}, x3[k * DataWidth +: DataWidth]};
      lane_base = take_param3 ? $signed(param_i[k * AccWidth +: AccWidth]) : take_zero3 ? {AccWidth{1'b0}} : lane_acc;
      // Only one of the feature and reuse terms exists in a design (the other is zero).
      lane_addend = (add_sum3 ? $signed(sums_acc[k * AccWidth +: AccWidth]) : {AccWidth{1'b0}})
                  | (add_factored3 ? $signed(factored_acc[k * AccWidth +: AccWidth]) : {AccWidth{1'b0}})
                  | (add_x3 ? lane_x : {AccWidth{1'b0}})
                  | (add_term3 ? $signed(feature_terms[k * AccWidth +: AccWidth] | reuse_terms[k * AccWidth +: AccWidth])
                               : {AccWidth{1'b0}});
      // Padding never wins; a window that starts in the padding starts from MinCode.
      if (first3) lane_max = mask3 ? lane_x : MinCode;
      else lane_max = (mask3 && $signed(lane_x[DataWidth:0]) > $signed(lane_acc[DataWidth:0])) ? lane_x : lane_acc;
      acc_next[k * AccWidth +: AccWidth] = is_max3 ? lane_max : lane_base + lane_addend;
    end
  end

  always @(posedge clk_i) begin
    // A gather step leaves the accumulators alone.
    if (valid3 && op3 != OpGather) acc_q <= acc_next;
    shift_q <= param_i[Tn * AccWidth +: Tn * ShiftWidth];
    bias_q <= param_i[0 +: Tn * AccWidth];
  end
  always @(posedge clk_i or negedge rst_ni) begin
    // Only a tile's last step produces a result (a gather tile none).
    if (!rst_ni) flags4_q <= {FlagWidth{1'b0}};
    else flags4_q <= {valid3 && last3 && op3 != OpGather, flags3[FlagWidth - 2:0]};
  end

  // NFU-3, pipelined so that no stage holds more than a multiply, two adds or a shift: stage 5 the MAW multiply
  // (SWC lanes), stage 6 the bias (SWC) and the rounding terms, stage 7 the shifts; the ReLU and the saturation
  // select the results of stage 7 (requantized codes, pooled codes, logits), then with Pwl the activation stage.
  // The arithmetic is approxrtl_requantize.v's (docs/arithmetic.md section 3), split at its registers.
  localparam integer Wide = AccWidth + MaxLeftShift + 1;
  // With SWC lanes the MAW multiply takes two cycles (partial products, then their sum), so what stage 5 takes
  // from stage 4 waits a cycle (MawDelay) beside it.
  localparam integer MawDelay = Swc != 0 ? 1 : 0;
  wire [FlagWidth - 1:0] flags4m;
  wire [Tn * AccWidth - 1:0] bias4m;
  wire [Tn * ShiftWidth - 1:0] shift4m;
  generate
    if (Swc != 0) begin : g_maw_wait
      reg [FlagWidth - 1:0] flags4m_q;
      reg [Tn * AccWidth - 1:0] bias4m_q;
      reg [Tn * ShiftWidth - 1:0] shift4m_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) flags4m_q <= {FlagWidth{1'b0}};
        else flags4m_q <= flags4_q;
      end
      always @(posedge clk_i) {bias4m_q, shift4m_q} <= {bias_q, shift_q};
      assign {flags4m, bias4m, shift4m} = {flags4m_q, bias4m_q, shift4m_q};
    end else begin : g_maw_none
      assign {flags4m, bias4m, shift4m} = {flags4_q, bias_q, shift_q};
    end
  endgenerate
  reg [FlagWidth - 1:0] flags5_q, flags6_q, flags7_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) {flags5_q, flags6_q, flags7_q} <= {(3 * FlagWidth){1'b0}};
    else {flags5_q, flags6_q, flags7_q} <= {flags4m, flags5_q, flags6_q};
  end
  wire [2:0] op4 = flags4m[OpLsb +: 3];  // (read by the MAW multiply only)
  generate
    if (Swc == 0) begin : g_no_maw
      wire unused_op4 = ^op4;
    end
  endgenerate
  wire [2:0] op5 = flags5_q[OpLsb +: 3];
  wire [3:0] pool_shift5 = flags5_q[PoolShiftLsb +: 4];
  wire [3:0] pool_shift6 = flags6_q[PoolShiftLsb +: 4];
  wire done7 = flags7_q[ValidBit];
  wire [2:0] op7 = flags7_q[OpLsb +: 3];
  wire relu7 = flags7_q[ReluBit];
  wire logits7 = flags7_q[LogitsBit];
  wire [Tn * DataWidth - 1:0] data7;
  wire [Tn * LogitWidth - 1:0] logits_data7;
  generate
    for (g = 0; g < Tn; g = g + 1) begin : g_out
      wire signed [AccWidth - 1:0] sum = $signed(acc_q[g * AccWidth +: AccWidth]);
      // Datapath registers: no reset.
      reg signed [AccWidth - 1:0] maw5_q, bias5_q, acc6_q, average6_q;
      reg signed [ShiftWidth - 1:0] shift5_q, shift6_q;
      reg signed [Wide - 1:0] rounded6_q, shifted7_q;
      reg signed [AccWidth - 1:0] pooled7_q;
      reg signed [LogitWidth - 1:0] logit7_q;
      // Stage 5: the MAW multiply, modulo 2^AccWidth (the result fits: it is the layer's accumulator), as two
      // products registered in the cycle before (the low LowBits of the sum, unsigned, and the rest, signed, each
      // one 18 x 18 multiplier), added here.
      if (Swc != 0) begin : g_maw
        localparam integer LowBits = AccWidth > 17 ? 17 : AccWidth - 1;
        localparam integer HighBits = AccWidth - LowBits;
        localparam integer LowWidth = LowBits + ScaleWidth;  // an unsigned product
        wire [ScaleWidth - 1:0] scale = scale_q[g * ScaleWidth +: ScaleWidth];
        reg [LowWidth - 1:0] low_q;
        reg signed [HighBits + ScaleWidth:0] high_q;
        reg signed [AccWidth - 1:0] sum_q;
        always @(posedge clk_i) begin
          low_q <= sum[LowBits - 1:0] * scale;
          high_q <= $signed(sum[AccWidth - 1:LowBits]) * $signed({1'b0, scale});
          sum_q <= sum;
        end
        wire [AccWidth - 1:0] low_part;
        if (LowWidth >= AccWidth) begin : g_low_wrap
          assign low_part = low_q[AccWidth - 1:0];
          if (LowWidth > AccWidth) begin : g_low_unused
            wire unused_low = ^low_q[LowWidth - 1:AccWidth];
          end
        end else begin : g_low_extend
          assign low_part = {{(AccWidth - LowWidth){1'b0}}, low_q};
        end
        wire [AccWidth - 1:0] high_part = {high_q[HighBits - 1:0], {LowBits{1'b0}}};
        wire [AccWidth - 1:0] scaled = low_part + high_part;
        wire unused_high = ^high_q[HighBits + ScaleWidth:HighBits];
        always @(posedge clk_i) maw5_q <= op4 == OpMac ? scaled : sum_q;  // no M3 with SWC
      end else begin : g_plain
        always @(posedge clk_i) maw5_q <= sum;
        wire unused_scale = ^scale_q[g * ScaleWidth +: ScaleWidth];
      end
      always @(posedge clk_i) begin
        bias5_q <= $signed(bias4m[g * AccWidth +: AccWidth]);
        shift5_q <= $signed(shift4m[g * ShiftWidth +: ShiftWidth]);
      end
      // Stage 6: the accumulator (SWC: the bias joins after the MAW multiply), the requantization's half step
      // 2^(shift - 1) added before a right shift, and the average's rounding (half up by the area's shift).
      wire signed [AccWidth - 1:0] acc = (Swc != 0 && op5 == OpMac) ? bias5_q + maw5_q : maw5_q;
      wire signed [Wide - 1:0] acc_wide = {{(Wide - AccWidth){acc[AccWidth - 1]}}, acc};
      wire shift_right5 = shift5_q > $signed({ShiftWidth{1'b0}});
      wire [ShiftWidth - 1:0] right5 = $unsigned(shift5_q);
      wire signed [Wide - 1:0] half = shift_right5 ? $signed({{(Wide - 1){1'b0}}, 1'b1} << (right5 - 1'b1)) : $signed({Wide{1'b0}});
      wire signed [AccWidth - 1:0] rounding = pool_shift5 == 4'd0 ? {AccWidth{1'b0}}
                                            : $signed({{(AccWidth - 1){1'b0}}, 1'b1} << (pool_shift5 - 4'd1));
      always @(posedge clk_i) begin
        acc6_q <= acc;
        rounded6_q <= acc_wide + half;
        average6_q <= acc + rounding;
        shift6_q <= shift5_q;
      end
      // Stage 7: the shifts. Requantization: an arithmetic right shift of the rounded value, or a left shift;
      // average: the rounded sum shifted by the area; logits: the accumulator aligned by a left shift of -shift
      // (the compiler checks shift <= 0).
      wire shift_right6 = shift6_q > $signed({ShiftWidth{1'b0}});
      wire [ShiftWidth - 1:0] right6 = $unsigned(shift6_q);
      wire [ShiftWidth - 1:0] left6 = $unsigned(-shift6_q);
      wire signed [Wide - 1:0] acc6_wide = {{(Wide - AccWidth){acc6_q[AccWidth - 1]}}, acc6_q};
      wire signed [LogitWidth - 1:0] logit_wide = {{(LogitWidth - AccWidth){acc6_q[AccWidth - 1]}}, acc6_q};
      always @(posedge clk_i) begin
        shifted7_q <= shift_right6 ? rounded6_q >>> right6 : acc6_wide <<< left6;
        pooled7_q <= flags6_q[OpLsb +: 3] == OpMax ? acc6_q : average6_q >>> pool_shift6;
        logit7_q <= logit_wide <<< left6;
      end
      // The ReLU after rounding, then saturation to ActWidth bits.
      localparam signed [Wide - 1:0] Top = $signed({{(Wide - ActWidth + 1){1'b0}}, {(ActWidth - 1){1'b1}}});
      localparam signed [Wide - 1:0] Bottom = $signed({{(Wide - ActWidth + 1){1'b1}}, {(ActWidth - 1){1'b0}}});
      // Out of range above or below: the bits above the code's sign bit are not all copies of the sign (wide
      // ORs and ANDs rather than compare chains, since this path ends in the buffers' write data).
      wire negative7 = shifted7_q[Wide - 1];
      wire [Wide - ActWidth:0] top_bits = shifted7_q[Wide - 1:ActWidth - 1];
      wire over = !negative7 && |top_bits;
      wire under = negative7 && !(&top_bits);
      wire signed [ActWidth - 1:0] requantized = (relu7 && negative7) ? {ActWidth{1'b0}}
                                               : over ? Top[ActWidth - 1:0]
                                               : under ? Bottom[ActWidth - 1:0] : shifted7_q[ActWidth - 1:0];
      assign data7[g * DataWidth +: DataWidth] = (op7 == OpMac || op7 == OpFeature || op7 == OpScan || op7 == OpFactored)
        ? {{(DataWidth - ActWidth){requantized[ActWidth - 1]}}, requantized} : pooled7_q[DataWidth - 1:0];
      assign logits_data7[g * LogitWidth +: LogitWidth] = logit7_q;
      wire unused_pooled = ^pooled7_q[AccWidth - 1:DataWidth];
    end
  endgenerate

  generate
    if (Pwl != 0) begin : g_pwl
      // Stage 8: the activation table on layers that have one (a fused Sigmoid, Tanh, ...); a register stage,
      // so that the table's compare, multiply and saturation do not lengthen stage 7's path.
      reg done5_q, logits5_q, act5_q;
      reg [1:0] dst5_q;
      // The lanes that hold a channel: with the parameters in stage 4, beside the codes in stage 8.
      reg [Tn - 1:0] active4_q, active5_q, active6_q, active7_q, active8_q;
      // The lanes in stage 4, once the MAW multiply's extra cycle has passed (declared before use: Yosys needs it).
      wire [Tn - 1:0] active4m;
      reg [AddrWidth - 1:0] addr5_q;
      reg [Tn * DataWidth - 1:0] data5_q;
      reg [Tn * LogitWidth - 1:0] logits_data5_q;
      always @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          {done5_q, logits5_q, act5_q, dst5_q} <= 5'd0;
          {active4_q, active5_q, active6_q, active7_q, active8_q} <= {(5 * Tn){1'b0}};
          addr5_q <= {AddrWidth{1'b0}};
          data5_q <= {(Tn * DataWidth){1'b0}};
          logits_data5_q <= {(Tn * LogitWidth){1'b0}};
        end else begin
          {done5_q, logits5_q, act5_q, dst5_q} <= {done7, logits7, flags7_q[ActBit], flags7_q[DstLsb +: 2]};
          active4_q <= param_i[Tn * (AccWidth + ShiftWidth + Swc * ScaleWidth) +: Tn];
          {active5_q, active6_q, active7_q, active8_q} <= {active4m, active5_q, active6_q, active7_q};
          addr5_q <= flags7_q[AddrWidth - 1:0];
          data5_q <= data7;
          logits_data5_q <= logits_data7;
        end
      end
      if (MawDelay != 0) begin : g_active_wait
        approxrtl_delay_line #(.Width(Tn), .Depth(MawDelay)) u_active_wait (
          .clk_i(clk_i), .rst_ni(rst_ni), .d_i(active4_q), .q_o(active4m));
      end else begin : g_active_now
        assign active4m = active4_q;
      end
      for (g = 0; g < Tn; g = g + 1) begin : g_lane
        wire signed [ActWidth - 1:0] activated;
        approxrtl_pwl_activation #(
          .ActWidth(ActWidth), .Segments(Segments), .SlopeWidth(SlopeWidth), .InterceptWidth(InterceptWidth),
          .ShiftBits(TableShiftBits)
        ) u_pwl (.x_i(data5_q[g * DataWidth +: ActWidth]), .table_i(table_i), .y_o(activated));
        assign write_data_o[g * DataWidth +: DataWidth] = act5_q && active8_q[g]
          ? {{(DataWidth - ActWidth){activated[ActWidth - 1]}}, activated} : data5_q[g * DataWidth +: DataWidth];
      end
      assign write_o = done5_q && !logits5_q;
      assign logit_write_o = done5_q && logits5_q;
      assign dst_o = dst5_q;
      assign write_addr_o = addr5_q;
      assign logit_data_o = logits_data5_q;
    end else begin : g_no_pwl
      assign write_o = done7 && !logits7;
      assign logit_write_o = done7 && logits7;
      assign dst_o = flags7_q[DstLsb +: 2];
      assign write_addr_o = flags7_q[AddrWidth - 1:0];
      assign write_data_o = data7;
      assign logit_data_o = logits_data7;
      wire unused_table = ^{table_i, flags7_q[ActBit]};
    end
  endgenerate

  wire unused_flags = ^{flags7_q[MaskBit:LastBit], flags7_q[TileLsb +: 8], flags7_q[PoolShiftLsb +: 4], flags3[OpLsb - 1:0]};
endmodule
