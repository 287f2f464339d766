// Control sequencer of the DianNao-style accelerator (docs/accelerator.md): runs the program that approxrtl
// compiles from the model. For each layer it fetches one 256-bit instruction from the program ROM and walks its
// loop nest, one step per cycle:
//   for oy, ox (output pixel), wy, wx (a fused pooling window's pixel), to (output tile of Tn channels),
//       ky, kx (kernel tap), ti (input tile)
// A step names one input word (Tn channels of one input pixel) and one weight word (Tn x Tn weights); the last
// step of an output tile hands its Tn accumulators to NFU-3. Pooling layers walk the same nest with ti fixed at 0
// and read input tile `to`. In a weighted layer each output tile has a descriptor (the tile ROM, one entry per
// bias/shift word): its window (kernel height and width, first tap, and that tap's word offset), so that M4's
// reduced-kernel tiles step over the centre of the kernel only, or for M3's feature tiles the number of feature
// steps, which walk ti over the sources; for M1's reuse lanes a gather tile (the pixel's window, stepped like a
// MAC tile but reading no SB word) and scan tiles of so many steps, one SB word of members each. All tiles of an
// output pixel run before the next pixel, so a feature tile finds its sources' accumulators in the feature unit
// and a scan tile the gathered window. A convolution with a fused max pool (window wh x ww, its stride) walks its
// output pixels window by window: (oy, ox) is the pooled pixel, (wy, wx) the convolution's pixel in its window,
// and the window's first and last pixel are flagged, so that the core keeps the running max and writes the
// pooled word once; without a fused pool the window is 1 x 1.
// Timing: no multiplier and no memory output sits on a path to an address. Every address is a sum of counters
// that step by constants the compiler wrote into the instruction's second word (input words per kernel row and
// column step, per output row and column, the window's origin) and the tile's tap offset; the tile ROM is read synchronously one tile
// ahead (the descriptor of the tile after the current one is always in its output register); and every output
// is registered, so a step leaves the sequencer one cycle after its counters. A layer takes three cycles to
// fetch its instruction and first descriptors, one per step, and after its last step waits the NFU's Drain
// cycles (plus that output register), so that the next layer reads a complete buffer.
module approxrtl_diannao_sequencer #(
  parameter integer InstrWidth = 384,     // program word: the layer, the address word, the fused pool's word
  parameter integer Layers = 1,           // instructions in the program
  parameter integer ProgAddrWidth = 1,    // at least clog2(Layers)
  parameter integer ActAddrWidth = 10,    // activation buffer address width (at most 24)
  parameter integer WeightAddrWidth = 8,  // SB address width
  parameter integer ParamAddrWidth = 4,   // bias/shift ROM address width
  parameter integer TileWords = 16,       // tile descriptors (one per bias/shift word; at most 2^ParamAddrWidth)
  parameter integer Drain = 8,            // cycles from a step leaving the sequencer to its result being written
  parameter ProgramFile = "program.hex",
  parameter TileFile = "tiles.hex"        // one 64-bit descriptor per output tile of the weighted layers
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire start_i,                            // run the program from its first layer
  input  wire [ActAddrWidth - 1:0] image_base_i,  // first word of the image's half of the image buffer
  output wire busy_o,                             // a layer is running (fetch, steps or drain)
  output wire done_o,                             // one cycle: the last layer's results are written
  output wire [ProgAddrWidth - 1:0] layer_o,      // the layer running
  // The step issued this cycle (meaningful while step_valid_o is high).
  output reg  step_valid_o,
  output reg  [ActAddrWidth - 1:0] in_addr_o,     // input word: (iy * in_w + ix) * in_tiles + tile
  output reg  in_mask_o,                          // the input pixel lies inside the map (not padding)
  output reg  [WeightAddrWidth - 1:0] weight_addr_o,
  output reg  [ParamAddrWidth - 1:0] param_addr_o,
  output reg  first_o,                            // first step of an output tile
  output reg  last_o,                             // last step of an output tile
  output reg  [ActAddrWidth - 1:0] out_addr_o,    // output word: (oy * out_w + ox) * out_tiles + to
  output reg  [7:0] tile_o,                       // output tile (to)
  output reg  window_first_o,                     // the first pixel of a fused pooling window (1 x 1: every one)
  output reg  window_last_o,                      // its last pixel
  output reg  fold_o,                             // pixel lanes: the fused pool folds the output lanes' groups
  output reg  strip_o,                            // the fused pool writes strips of two pixels per word
  output reg  row_first_o,                        // the output pixel is the first of its row
  output reg  [2:0] op_o,                         // 0 multiply-accumulate, 1 max pool, 2 average pool, 3 feature,
                                                  // 4 gather, 5 scan, 6 factored MAC
  output reg  relu_o,
  output reg  act_o,                              // the layer's codes go through its activation table
  output reg  [3:0] table_o,                      // which table (held for the whole layer)
  output reg  logits_o,                           // results go to the logit registers, not a buffer
  output reg  [1:0] src_o,                        // buffer read (0, 1 or 2)
  output reg  image_o,                            // the image buffer read (not buffer src_o)
  output reg  [1:0] dst_o,                        // buffer written
  output reg  [3:0] pool_shift_o                  // average pool: log2 of the window area
);
  localparam [1:0] OpMac = 2'd0, OpMax = 2'd1, OpAverage = 2'd2;
  localparam [1:0] KindMac = 2'd0, KindFeature = 2'd1, KindGather = 2'd2, KindScan = 2'd3;
  localparam [2:0] StIdle = 3'd0, StFetch = 3'd1, StDecode = 3'd2, StFirst = 3'd3, StRun = 3'd4, StDrain = 3'd5;
  // Address arithmetic: signed, wide enough for any buffer address and the window's negative origin.
  localparam integer AW = 26;

  // Program ROM: one instruction per layer.
  wire [InstrWidth - 1:0] instr_rom;
  reg [ProgAddrWidth - 1:0] layer_q;
  approxrtl_rom #(.Width(InstrWidth), .Depth(Layers), .AddrWidth(ProgAddrWidth), .InitFile(ProgramFile)) u_program (
    .clk_i(clk_i), .addr_i(layer_q), .data_o(instr_rom));

  reg [2:0] state_q;
  reg [InstrWidth - 1:0] instr_q;
  reg [7:0] oy_q, ox_q, to_q;
  reg [11:0] ti_q;
  reg [3:0] ky_q, kx_q, wy_q, wx_q;
  reg [WeightAddrWidth - 1:0] weight_q;
  reg [5:0] drain_q;

  // Instruction fields (docs/accelerator.md, "Program").
  wire [1:0] op = instr_q[1:0];
  wire [7:0] in_h = instr_q[15:8];
  wire [7:0] in_w = instr_q[23:16];
  wire [7:0] in_tiles = instr_q[31:24];
  wire [3:0] pool_k_h = instr_q[59:56];
  wire [3:0] pool_k_w = instr_q[63:60];
  wire [3:0] stride_h = instr_q[67:64];
  wire [3:0] stride_w = instr_q[71:68];
  wire [3:0] pad_l = instr_q[79:76];
  wire [23:0] weight_base = instr_q[111:88];
  wire [15:0] param_base = instr_q[127:112];
  // The address word: input words per input row, per output row (stride_h rows) and per output column (the word
  // of the window origin, -pad_t, -pad_l, two's complement, bits 215:192, is read at decode).
  wire [AW - 1:0] row_words = {2'd0, instr_q[151:128]};
  wire [AW - 1:0] oy_words = {2'd0, instr_q[175:152]};
  wire [AW - 1:0] ox_words = {10'd0, instr_q[191:176]};
  // Input words per kernel-column step: one pixel (in_tiles words), or on the loader's patches a patch's columns
  // (row_words likewise steps a patch's rows).
  wire [AW - 1:0] col_words = {10'd0, instr_q[231:216]};
  // With reuse lanes, output tile 0 of a layer is the gather tile, which writes nothing.
  // The fused pool's word: its window's steps in input pixels and in input words (per window column, per window
  // row); the window's size is read at decode.
  wire [7:0] fstride_h = instr_q[271:264];
  wire [7:0] fstride_w = instr_q[279:272];
  wire [AW - 1:0] fcol_words = {2'd0, instr_q[303:280]};
  wire [AW - 1:0] frow_words = {2'd0, instr_q[327:304]};
  wire reuse = instr_q[6];
  // The layer's MAC steps run on the factored lanes (op 6 to the NFU).
  wire factored = instr_q[240];
  // A residual add: each output tile takes two steps at the same word, the first from buffer source, the second
  // from buffer addend_source (docs/accelerator.md, "Residual add").
  wire addend = instr_q[237];
  wire [1:0] source = {instr_q[235], instr_q[4]};
  wire [1:0] addend_source = instr_q[239:238];
  wire [AW - 1:0] image_base = {{(AW - ActAddrWidth){1'b0}}, image_base_i};
  wire is_mac = op == OpMac;
  wire is_pool = op == OpMax || op == OpAverage;

  // Tile descriptors: kind_q and the bounds below are the current tile's, next_q (the ROM's output register) is
  // the next tile's descriptor.
  reg [63:0] tiles_rom [0:TileWords - 1];
  initial $readmemh(TileFile, tiles_rom);
  reg [63:0] next_q;
  reg [1:0] kind_q;
  reg [ParamAddrWidth - 1:0] desc_addr;
  always @(posedge clk_i) next_q <= tiles_rom[desc_addr];

  wire [1:0] kind = is_pool ? KindMac : kind_q;
  wire is_gather = kind == KindGather;
  // The loop bounds (those the counters need) as last values, registered (a tile's with its descriptor, the layer's at decode), and with
  // them the values before the last (pen) and whether the last is 0; each loop's end flag is registered, set when
  // its counter steps from its pen value or restarts at a last of 0, so that the end tests, which decide every
  // counter's next value, are flip-flops.
  reg [11:0] ti_pen_q;
  reg [3:0] kx_last_q, kx_pen_q, ky_pen_q;
  reg [7:0] to_last_q, to_pen_q, ox_pen_q, oy_pen_q;
  reg [3:0] wx_pen_q, wy_pen_q;
  reg ti_zero_q, kx_zero_q, to_zero_q, ox_zero_q, wx_zero_q, wy_zero_q;
  reg ti_end_q, kx_end_q, ky_end_q, to_end_q, ox_end_q, oy_end_q, wx_end_q, wy_end_q;
  // The last ti, ky and kx of a tile with descriptor d (pooling: the layer's window, one input tile).
  function automatic [19:0] bounds(input [1:0] kind_d, input [11:0] steps_d, input [3:0] kh_d, input [3:0] kw_d, input pool,
                                   input [3:0] pool_kh, input [3:0] pool_kw, input [7:0] tiles);
    reg [1:0] k;
    reg [11:0] count;
    begin
      k = pool ? KindMac : kind_d;
      count = pool ? 12'd1 : (k == KindFeature || k == KindScan) ? steps_d : {4'd0, tiles};
      bounds = {count - 12'd1, (pool ? pool_kh : kh_d) - 4'd1, (pool ? pool_kw : kw_d) - 4'd1};
    end
  endfunction
  wire [19:0] next_bounds = bounds(next_q[29:28], next_q[27:16], next_q[3:0], next_q[7:4], is_pool, pool_k_h, pool_k_w,
                                   addend ? 8'd2 : in_tiles);
  wire [11:0] next_ti_last = next_bounds[19:8];
  wire [3:0] next_ky_last = next_bounds[7:4];
  wire [3:0] next_kx_last = next_bounds[3:0];
  wire ti_end = ti_end_q;
  wire kx_end = kx_end_q;
  wire ky_end = ky_end_q;
  wire to_end = to_end_q;
  wire ox_end = ox_end_q;
  wire oy_end = oy_end_q;
  wire wx_end = wx_end_q;
  wire wy_end = wy_end_q;
  wire tile_end = ti_end && kx_end && ky_end;
  wire layer_end = tile_end && to_end && wx_end && wy_end && ox_end && oy_end;
  // The next tile's first tap (pooling: the window's corner) and its word offset.
  wire [3:0] next_tap_y = is_pool ? 4'd0 : next_q[11:8];
  wire [3:0] next_tap_x = is_pool ? 4'd0 : next_q[15:12];
  wire [AW - 1:0] next_tap_words = is_pool ? {AW{1'b0}} : {2'd0, next_q[55:32]};

  // The successor tile of `to` (0 after the last) and its descriptor address, kept ahead.
  reg [7:0] succ_q;
  reg [ParamAddrWidth - 1:0] succ_param_q;
  wire succ_last = succ_q == to_last_q;
  wire [7:0] succ_next = succ_last ? 8'd0 : succ_q + 8'd1;
  wire [ParamAddrWidth - 1:0] succ_param_next = succ_last ? param_base[ParamAddrWidth - 1:0] : succ_param_q + 1'b1;

  // Window state: the pixel's origin (coordinates and word), the tap within the window (coordinates and word
  // offset from the origin), the row the tap is on, the output pixel's first word, the SB and bias/shift words.
  // (origin_row_q: the first pixel of the window row; window_q: the window's first pixel; window_row_q: the
  // first window of the pooled row; wiy0_q, wix0_q: the window's first pixel's coordinates.)
  reg signed [9:0] iy0_q, ix0_q, wiy0_q, wix0_q;
  reg [AW - 1:0] origin_q, origin_row_q, window_q, window_row_q;
  reg [4:0] dy_q, dx_q;
  reg [AW - 1:0] tap_q, tap_row_q;
  reg [AW - 1:0] out_pixel_q;
  reg [ParamAddrWidth - 1:0] param_q;
  // Output words per output pixel: the tiles written (a reuse layer's gather tile writes none), or a strip map's
  // groups.
  wire [7:0] pixel_words = instr_q[335:328];
  // Output words from one output tile to the next within a pixel: 1, or a strip map's groups per tile.
  wire [7:0] tile_words = instr_q[343:336];
  reg [7:0] to_word_q;  // to_q * tile_words

  // The step the counters name, computed from registers only (adds and compares), registered on the way out.
  wire signed [10:0] iy = iy0_q + $signed({6'd0, dy_q});
  wire signed [10:0] ix = ix0_q + $signed({6'd0, dx_q});
  wire in_map = iy >= 11'sd0 && iy < $signed({3'd0, in_h}) && ix >= 11'sd0 && ix < $signed({3'd0, in_w});
  wire [7:0] tile = addend ? 8'd0 : is_mac ? ti_q[7:0] : to_q;
  wire [AW - 1:0] in_addr = origin_q + tap_q + {{(AW - 8){1'b0}}, tile};
  wire [AW - 1:0] out_addr = out_pixel_q + {{(AW - 8){1'b0}}, to_word_q - {7'd0, reuse}};
  wire step = state_q == StRun;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) step_valid_o <= 1'b0;
    else step_valid_o <= step;
  end
  always @(posedge clk_i) begin
    in_addr_o <= in_addr[ActAddrWidth - 1:0];
    in_mask_o <= in_map;
    weight_addr_o <= weight_q;
    param_addr_o <= param_q;
    first_o <= ti_q == 12'd0 && kx_q == 4'd0 && ky_q == 4'd0;
    last_o <= tile_end;
    out_addr_o <= out_addr[ActAddrWidth - 1:0];
    tile_o <= to_q;
    window_first_o <= wx_q == 4'd0 && wy_q == 4'd0;
    window_last_o <= wx_end_q && wy_end_q;
    fold_o <= instr_q[233];
    strip_o <= instr_q[234];
    row_first_o <= ox_q == 8'd0;
    op_o <= kind == KindFeature ? 3'd3 : kind == KindGather ? 3'd4 : kind == KindScan ? 3'd5
          : factored && is_mac ? 3'd6 : {1'b0, op};
    relu_o <= instr_q[2];
    act_o <= instr_q[7];
    table_o <= instr_q[87:84];
    logits_o <= instr_q[3];
    src_o <= addend && ti_q[0] ? addend_source : source;
    image_o <= instr_q[232];
    dst_o <= {instr_q[236], instr_q[5]};
    pool_shift_o <= instr_q[83:80];
  end

  // Which descriptor the tile ROM reads this cycle (its output register holds it next cycle): at a layer's start
  // tile 0's, then its successor's; while running, the successor of the tile the next step belongs to.
  wire to_advance = step && tile_end;
  always @(*) begin
    case (state_q)
      StDecode: desc_addr = instr_rom[112 +: ParamAddrWidth];
      StFirst: desc_addr = succ_param_q;
      default: desc_addr = to_advance ? succ_param_next : succ_param_q;
    endcase
  end

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= StIdle;
      layer_q <= {ProgAddrWidth{1'b0}};
      drain_q <= 6'd0;
    end else begin
      case (state_q)
        StIdle: if (start_i) begin
          layer_q <= {ProgAddrWidth{1'b0}};
          state_q <= StFetch;
        end
        // The ROMs answer one cycle after the address.
        StFetch: state_q <= StDecode;
        StDecode: state_q <= StFirst;
        StFirst: state_q <= StRun;
        StRun: if (layer_end) begin
          drain_q <= 6'd0;
          state_q <= StDrain;
        end
        StDrain: begin
          drain_q <= drain_q + 6'd1;
          // Drain + 1: the step's own output register.
          if (drain_q == Drain[5:0]) begin
            if (layer_q == Layers[ProgAddrWidth - 1:0] - 1'b1) state_q <= StIdle;
            else begin
              layer_q <= layer_q + 1'b1;
              state_q <= StFetch;
            end
          end
        end
        default: state_q <= StIdle;
      endcase
    end
  end

  // The loop nest and the window state (datapath registers: no reset, set up by every layer's decode).
  always @(posedge clk_i) begin
    if (state_q == StDecode) begin
      instr_q <= instr_rom;
      {oy_q, ox_q, to_q, to_word_q} <= 32'd0;
      ti_q <= 12'd0;
      {ky_q, kx_q} <= 8'd0;
      weight_q <= instr_rom[88 +: WeightAddrWidth];
      param_q <= instr_rom[112 +: ParamAddrWidth];
      succ_q <= instr_rom[55:48] == 8'd1 ? 8'd0 : 8'd1;
      succ_param_q <= instr_rom[55:48] == 8'd1 ? instr_rom[112 +: ParamAddrWidth] : instr_rom[112 +: ParamAddrWidth] + 1'b1;
      iy0_q <= -$signed({6'd0, instr_rom[75:72]});
      ix0_q <= -$signed({6'd0, instr_rom[79:76]});
      wiy0_q <= -$signed({6'd0, instr_rom[75:72]});
      wix0_q <= -$signed({6'd0, instr_rom[79:76]});
      {wy_q, wx_q} <= 8'd0;
      {wy_pen_q, wx_pen_q} <= {instr_rom[259:256] - 4'd2, instr_rom[263:260] - 4'd2};
      {wy_zero_q, wx_zero_q, wy_end_q, wx_end_q} <= {instr_rom[259:256] == 4'd1, instr_rom[263:260] == 4'd1,
                                                     instr_rom[259:256] == 4'd1, instr_rom[263:260] == 4'd1};
      // A layer that reads the image starts from the half the loader filled.
      origin_q <= {{2{instr_rom[215]}}, instr_rom[215:192]} + (instr_rom[232] ? image_base : {AW{1'b0}});
      origin_row_q <= {{2{instr_rom[215]}}, instr_rom[215:192]} + (instr_rom[232] ? image_base : {AW{1'b0}});
      window_q <= {{2{instr_rom[215]}}, instr_rom[215:192]} + (instr_rom[232] ? image_base : {AW{1'b0}});
      window_row_q <= {{2{instr_rom[215]}}, instr_rom[215:192]} + (instr_rom[232] ? image_base : {AW{1'b0}});
      out_pixel_q <= {AW{1'b0}};
      to_last_q <= instr_rom[55:48] - 8'd1;
      {to_pen_q, ox_pen_q, oy_pen_q} <= {instr_rom[55:48] - 8'd2, instr_rom[47:40] - 8'd2, instr_rom[39:32] - 8'd2};
      {to_zero_q, ox_zero_q} <= {instr_rom[55:48] == 8'd1, instr_rom[47:40] == 8'd1};
      {to_end_q, ox_end_q, oy_end_q} <= {instr_rom[55:48] == 8'd1, instr_rom[47:40] == 8'd1, instr_rom[39:32] == 8'd1};
    end
    if (state_q == StFirst) begin
      // next_q holds tile 0's descriptor now; the ROM reads its successor's.
      kind_q <= next_q[29:28];
      kx_last_q <= next_kx_last;
      {ti_pen_q, ky_pen_q, kx_pen_q} <= {next_ti_last - 12'd1, next_ky_last - 4'd1, next_kx_last - 4'd1};
      {ti_zero_q, kx_zero_q} <= {next_ti_last == 12'd0, next_kx_last == 4'd0};
      {ti_end_q, ky_end_q, kx_end_q} <= {next_ti_last == 12'd0, next_ky_last == 4'd0, next_kx_last == 4'd0};
      dy_q <= op == OpMac ? {1'b0, next_q[11:8]} : 5'd0;
      dx_q <= op == OpMac ? {1'b0, next_q[15:12]} : 5'd0;
      tap_q <= op == OpMac ? {2'd0, next_q[55:32]} : {AW{1'b0}};
      tap_row_q <= op == OpMac ? {2'd0, next_q[55:32]} : {AW{1'b0}};
    end
    if (step) begin
      // The weight words of one output pixel follow one another (a gather step reads none); the next pixel
      // starts from the base again.
      if (tile_end && to_end) weight_q <= weight_base[WeightAddrWidth - 1:0];
      else if (!is_gather) weight_q <= weight_q + 1'b1;
      if (!ti_end) begin
        ti_q <= ti_q + 12'd1;
        ti_end_q <= ti_q == ti_pen_q;
      end else begin
        ti_q <= 12'd0;
        ti_end_q <= ti_zero_q;
        if (!kx_end) begin
          kx_q <= kx_q + 4'd1;
          kx_end_q <= kx_q == kx_pen_q;
          dx_q <= dx_q + 5'd1;
          tap_q <= tap_q + col_words;
        end else begin
          kx_q <= 4'd0;
          kx_end_q <= kx_zero_q;
          if (!ky_end) begin
            ky_q <= ky_q + 4'd1;
            ky_end_q <= ky_q == ky_pen_q;
            dy_q <= dy_q + 5'd1;
            dx_q <= dx_q - {1'b0, kx_last_q};
            tap_q <= tap_row_q + row_words;
            tap_row_q <= tap_row_q + row_words;
          end else begin
            // A new tile: its descriptor was read ahead.
            ky_q <= 4'd0;
            kind_q <= next_q[29:28];
            kx_last_q <= next_kx_last;
            {ti_pen_q, ky_pen_q, kx_pen_q} <= {next_ti_last - 12'd1, next_ky_last - 4'd1, next_kx_last - 4'd1};
            {ti_zero_q, kx_zero_q} <= {next_ti_last == 12'd0, next_kx_last == 4'd0};
            {ti_end_q, ky_end_q, kx_end_q} <= {next_ti_last == 12'd0, next_ky_last == 4'd0, next_kx_last == 4'd0};
            to_q <= to_end ? 8'd0 : to_q + 8'd1;
            to_word_q <= to_end ? 8'd0 : to_word_q + tile_words;
            to_end_q <= to_end ? to_zero_q : to_q == to_pen_q;
            succ_q <= succ_next;
            succ_param_q <= succ_param_next;
            param_q <= to_end ? param_base[ParamAddrWidth - 1:0] : param_q + 1'b1;
            dy_q <= {1'b0, next_tap_y};
            dx_q <= {1'b0, next_tap_x};
            tap_q <= next_tap_words;
            tap_row_q <= next_tap_words;
            if (to_end) begin
              // The output word advances once per pooled pixel (every pixel without a fused pool).
              if (wx_end && wy_end) out_pixel_q <= out_pixel_q + {{(AW - 8){1'b0}}, pixel_words};
              if (!wx_end) begin
                wx_q <= wx_q + 4'd1;
                wx_end_q <= wx_q == wx_pen_q;
                ix0_q <= ix0_q + $signed({6'd0, stride_w});
                origin_q <= origin_q + ox_words;
              end else begin
                wx_q <= 4'd0;
                wx_end_q <= wx_zero_q;
                if (!wy_end) begin
                  wy_q <= wy_q + 4'd1;
                  wy_end_q <= wy_q == wy_pen_q;
                  ix0_q <= wix0_q;
                  iy0_q <= iy0_q + $signed({6'd0, stride_h});
                  origin_q <= origin_row_q + oy_words;
                  origin_row_q <= origin_row_q + oy_words;
                end else begin
                  wy_q <= 4'd0;
                  wy_end_q <= wy_zero_q;
                  if (!ox_end) begin
                    ox_q <= ox_q + 8'd1;
                    ox_end_q <= ox_q == ox_pen_q;
                    ix0_q <= wix0_q + $signed({2'd0, fstride_w});
                    wix0_q <= wix0_q + $signed({2'd0, fstride_w});
                    iy0_q <= wiy0_q;
                    origin_q <= window_q + fcol_words;
                    origin_row_q <= window_q + fcol_words;
                    window_q <= window_q + fcol_words;
                  end else begin
                    ox_q <= 8'd0;
                    ox_end_q <= ox_zero_q;
                    oy_q <= oy_q + 8'd1;
                    oy_end_q <= oy_q == oy_pen_q;
                    ix0_q <= -$signed({6'd0, pad_l});
                    wix0_q <= -$signed({6'd0, pad_l});
                    iy0_q <= wiy0_q + $signed({2'd0, fstride_h});
                    wiy0_q <= wiy0_q + $signed({2'd0, fstride_h});
                    origin_q <= window_row_q + frow_words;
                    origin_row_q <= window_row_q + frow_words;
                    window_q <= window_row_q + frow_words;
                    window_row_q <= window_row_q + frow_words;
                  end
                end
              end
            end
          end
        end
      end
    end
  end

  assign busy_o = state_q != StIdle;
  assign done_o = state_q == StDrain && drain_q == Drain[5:0] && layer_q == Layers[ProgAddrWidth - 1:0] - 1'b1;
  assign layer_o = layer_q;

  // Reserved instruction and descriptor bits, and address bits beyond the buffers' sizes (the compiler checks
  // they are zero).
  wire unused_bits;
  assign unused_bits = ^{next_q[63:56], next_q[31:30], weight_base[23:WeightAddrWidth],
                         param_base[15:ParamAddrWidth], instr_q[InstrWidth - 1:344], instr_q[263:240], instr_q[215:192], instr_q[75:72], instr_q[55:32], in_addr[AW - 1:ActAddrWidth],
                         out_addr[AW - 1:ActAddrWidth], instr_rom[InstrWidth - 1:264], instr_rom[255:233], instr_rom[231:216], instr_rom[127:112 + ParamAddrWidth]};
endmodule
