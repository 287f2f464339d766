// The DianNao-style accelerator (docs/accelerator.md): a whole network, image in, logits out.
//   load:  the image arrives on an AXI4-Stream, one pixel (0..255) per beat, row by row, tlast on the last
//          pixel. The image buffer has two halves of ImageWords words: the loader fills one while the network
//          runs on the other (images stream: the next one loads while the current one computes). A half gets
//          patches of PatchRows x PatchColumns pixels: word (sy * RowWords + sx) holds the
//          patch whose top-left pixel is (sy - PatchTop, sx - PatchLeft), pixel (r, c) of it in lane
//          r * PatchColumns + c (0 outside the image), so that the first convolution finds a patch of its
//          kernel's taps in one word (a patch of one pixel: pixel p is lane 0 of word p). A patch is written
//          when its last pixel arrives; the loader steps through LoadRows x LoadColumns positions per image, the
//          ones right of and below the image being zeros that complete the last patches (tready is low then).
//   run:   once a half holds an image, the sequencer walks the program, layer by layer; each step reads an input
//          word (Tn channels of one pixel) from the layer's source buffer (the first layer: the image's half) and a
//          weight word (Tn x Tn weights) from SB; the NFU writes each finished tile of Tn output channels to the
//          other buffer (NBin and NBout swap roles every layer), and the last layer's accumulators to the logit
//          registers. Then the logits move to the emit registers, the half is free again, and the next image runs.
//   emit:  the Classes logits leave on an AXI4-Stream, tlast on the last, while the next image computes.
// Buffers hold activations channel-tiled: word (pixel * tiles + t) has channels t*Tn .. t*Tn+Tn-1 of a pixel.
module approxrtl_diannao_core #(
  parameter integer Tn = 16,              // lanes
  parameter integer DataWidth = 9,        // activation lane width (input pixels need 9 signed bits)
  parameter integer ActWidth = 8,         // activation code width
  parameter integer WeightWidth = 8,      // SB lane width: weight codes (or SWC codes)
  parameter integer AccWidth = 24,        // accumulator width
  parameter integer ShiftWidth = 6,       // signed requantization shift width
  parameter integer MaxLeftShift = 1,     // largest left shift of a requantization or of the logits
  parameter integer LogitWidth = 24,      // logit code width (>= AccWidth)
  parameter integer Classes = 10,         // logits per image
  parameter integer LogitTiles = 1,       // ceil(Classes / Tn)
  parameter integer ImageWidth = 28,      // pixels per row
  parameter integer ImageHeight = 28,     // rows
  parameter integer Channels = 1,         // channels per pixel (3: RGB), one beat each, pixel by pixel (one per word)
  // Per channel (channel 0 in the low byte), the pixel that enters as code 0: an input normalization's zero point.
  parameter [8 * Channels - 1:0] PixelZeros = 0,
  parameter integer PatchRows = 1,        // image rows per buffer word as loaded
  parameter integer PatchColumns = 1,     // image columns per buffer word (PatchRows x PatchColumns <= Tn)
  parameter integer PatchTop = 0,         // patch rows stored above the image
  parameter integer PatchLeft = 0,        // patch columns stored left of the image
  parameter integer RowWords = 28,        // patches stored per row
  parameter integer StoredRows = 28,      // rows of patches stored
  parameter integer LoadRows = 28,        // rows the loader steps through (>= ImageHeight + LeadRows)
  parameter integer LoadColumns = 28,     // columns per row (>= ImageWidth + PatchColumns - 1 - PatchLeft + LeadColumns)
  parameter integer ImageWords = 784,     // words per half of the image buffer (RowWords x StoredRows)
  parameter integer ImageAddrWidth = 11,  // clog2(2 * ImageWords), at most ActAddrWidth
  parameter integer ActWords = 1024,      // words per activation buffer
  parameter integer Buffers = 2,          // activation buffers: 2, or 3 for residual connections
  parameter integer BufAddrWidth = 10,    // clog2(ActWords), at most ActAddrWidth
  parameter integer ActAddrWidth = 11,    // the sequencer's input addresses: both buffers and the image buffer
  parameter integer WeightWords = 256,    // SB words
  parameter integer WeightAddrWidth = 8,
  parameter integer ParamWords = 16,      // bias/shift words, one per output tile
  parameter integer ParamAddrWidth = 4,
  parameter integer Layers = 1,           // program instructions
  parameter integer ProgAddrWidth = 1,
  parameter integer Swc = 0,              // SWC lanes (approxrtl_diannao_nfu.v)
  parameter integer Pow2Codes = 0,
  parameter integer ScaleWidth = 1,
  parameter integer ProductWidth = DataWidth + WeightWidth,
  parameter integer FeatureUnit = 0,      // M3 feature-approximation unit (approxrtl_diannao_nfu.v)
  parameter integer KeptTiles = 1,
  parameter integer SourceWidth = 1,
  parameter integer CoefWidth = 2,
  parameter integer LaneBits = Tn * WeightWidth, // SB bits per output lane (approxrtl_diannao_nfu.v)
  parameter integer MacArray = 1,         // NFU-1 multipliers and NFU-2 adder trees
  parameter integer DspProducts = Tn * Tn, // NFU-1 products on hard multipliers (the rest in LUTs)
  parameter integer Reuse = 0,            // M1 reuse lanes (approxrtl_diannao_reuse.v)
  parameter integer WindowWords = 16,
  parameter integer WindowAddrWidth = 4,
  parameter integer DWidth = 1,
  parameter integer EWidth = 1,
  parameter integer Terms = 2,
  parameter integer ReuseCoefWidth = 16,
  parameter integer Factored = 0,         // factored lanes (approxrtl_diannao_factored.v)
  parameter integer FactorValues = 1,
  parameter integer IndexWidth = 1,
  parameter integer FactorValueWidth = 2,
  parameter integer FusedPools = 0,       // max pools fused into the convolution before them (a combiner stage)
  parameter integer FusedTiles = 1,       // output tiles of the widest convolution with a fused pool
  parameter integer PixelLanes = 1,       // 2: a layer's output lanes may carry two pixels (two groups of Tn / 2
                                          // channels) that its fused pool folds by max; 1: none
  parameter integer Strips = 0,           // pixels per word of a strip map a fused pool may write (0: none)
  parameter integer StripLanes = 1,       // a strip map's channels per pixel
  parameter integer StripGroups = 1,      // a strip map's words per pixel
  parameter integer StripTileGroups = 1,  // of them from one output tile of the writer, written one per cycle
  parameter integer StripTiles = 1,       // the writer's output tiles that hold groups
  parameter integer Pwl = 0,              // NFU-3 activation tables (approxrtl_diannao_nfu.v, approxrtl_pwl_activation.v)
  parameter integer Tables = 1,           // tables in the table ROM, one per distinct activation layer
  parameter integer TableAddrWidth = 1,
  parameter integer Segments = 2,
  parameter integer SlopeWidth = 2,
  parameter integer InterceptWidth = 2,
  parameter integer TableShiftBits = 1,
  parameter WeightFile = "weights.hex",
  parameter ParamFile = "params.hex",
  parameter ProgramFile = "program.hex",
  parameter TileFile = "tiles.hex",       // tile descriptors, one per bias/shift word
  parameter TableFile = "tables.hex"      // activation tables (Pwl)
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire [7:0] in_tdata_i,
  input  wire in_tvalid_i,
  output wire in_tready_o,
  input  wire in_tlast_i,
  output wire [LogitWidth - 1:0] out_tdata_o,
  output wire out_tvalid_o,
  input  wire out_tready_i,
  output wire out_tlast_o,
  output wire computing_o,                    // the sequencer runs a layer
  output wire [ProgAddrWidth - 1:0] layer_o   // which one
);
  // The reset, synchronized: asserted at once, released on a clock edge; only control state uses it.
  wire rst_n;
  approxrtl_reset_sync u_reset_sync (.clk_i(clk_i), .rst_ni(rst_ni), .rst_no(rst_n));
  localparam integer Levels = $clog2(Tn);
  // A step's result leaves the NFU Levels + 7 cycles after it enters (one more through the activation stage, one
  // more through the SWC lanes' two-cycle MAW multiply), which is two cycles after the sequencer issues it (the
  // memories' words are registered twice before the NFU takes them), and is written a cycle later (the NFU's
  // results are registered before the buffers); the next layer (or the logit stream) waits for it.
  // With fused pools the fold's and the combiner's registers add two; factored lanes with more than two values
  // add the levels of their sum over the values beyond one (approxrtl_diannao_nfu.v FactorExtra); a writer
  // tile's strip groups after the first are written one per cycle after it.
  localparam integer FactorExtra = Factored != 0 && FactorValues > 2 ? $clog2(FactorValues) - 1 : 0;
  localparam integer Drain = 2 + Levels + 7 + 1 + (Pwl != 0 ? 1 : 0) + (Swc != 0 ? 1 : 0) + (FusedPools != 0 ? 2 : 0)
                           + FactorExtra + (Strips != 0 ? StripTileGroups - 1 : 0);
  // The NFU carries the result's address and, with fused pools, its tile and window flags beside it.
  localparam integer FusedTileBits = FusedTiles > 1 ? $clog2(FusedTiles) : 1;
  localparam integer ResultAddrWidth = ActAddrWidth + (FusedPools != 0 ? FusedTileBits + 5 : 0);
  localparam integer TableWidth = (Segments - 1) * ActWidth + Segments * (SlopeWidth + InterceptWidth) + TableShiftBits;
  localparam integer WordWidth = Tn * DataWidth;
  localparam integer ParamWidth = Tn * (AccWidth + ShiftWidth + Swc * ScaleWidth + (Pwl != 0 ? 1 : 0));
  localparam integer ClassCountWidth = $clog2(Classes + 1);
  // A pixel's code: the byte as it comes, or with a zero point the byte less it (9 signed bits).
  localparam integer PixelBits = PixelZeros != 0 ? 9 : 8;
  localparam integer ColumnBits = PixelBits * PatchRows;  // one column of a patch, its top row in the low bits

  // Patches that start above (left of) the padding the loader stores are all zeros, but no pixel of theirs
  // arrives to write them: the loader first steps through LeadRows rows (LeadColumns columns) of zeros.
  localparam integer LeadRows = PatchTop > PatchRows - 1 ? PatchTop - (PatchRows - 1) : 0;
  localparam integer LeadColumns = PatchLeft > PatchColumns - 1 ? PatchLeft - (PatchColumns - 1) : 0;
  reg [8:0] col_q;     // column of the pixel taken, from LeadColumns before the image (zeros outside it)
  reg [8:0] row_q;     // row, from LeadRows above the image (zeros outside it)
  reg [ActAddrWidth - 1:0] row_base_q;  // the stored row's first word, in the half being loaded
  reg [ColumnBits * PatchColumns - 1:0] patch_q;  // the last PatchColumns columns, newest in the top bits
  reg [ClassCountWidth - 1:0] class_q;
  reg start_q;
  // Streaming: which half the loader fills and which the network runs on, the halves holding an image not yet
  // run to its end, a run in progress, its logits complete (waiting for the emit registers), logits leaving.
  reg load_half_q, run_half_q, running_q, done_q, emitting_q;
  reg [1:0] ready_q;
  wire [ActAddrWidth - 1:0] image_base = run_half_q ? ImageWords[ActAddrWidth - 1:0] : {ActAddrWidth{1'b0}};

  // Sequencer.
  wire seq_done, step_valid, in_mask, first, last, relu, act, logits, image, window_first, window_last, fold, strip, row_first;
  wire [1:0] src, dst;  // buffers read and written (0, 1 or 2)
  wire [3:0] table_index;
  wire [ActAddrWidth - 1:0] in_addr, out_addr;
  wire [WeightAddrWidth - 1:0] weight_addr;
  wire [ParamAddrWidth - 1:0] param_addr;
  wire [2:0] op;
  wire [7:0] tile;
  wire [3:0] pool_shift;
  approxrtl_diannao_sequencer #(
    .Layers(Layers), .ProgAddrWidth(ProgAddrWidth), .ActAddrWidth(ActAddrWidth), .WeightAddrWidth(WeightAddrWidth),
    .ParamAddrWidth(ParamAddrWidth), .TileWords(ParamWords), .Drain(Drain), .ProgramFile(ProgramFile),
    .TileFile(TileFile)
  ) u_sequencer (
    .clk_i(clk_i), .rst_ni(rst_n), .start_i(start_q), .image_base_i(image_base), .busy_o(computing_o), .done_o(seq_done), .layer_o(layer_o),
    .step_valid_o(step_valid), .in_addr_o(in_addr), .in_mask_o(in_mask), .weight_addr_o(weight_addr),
    .param_addr_o(param_addr), .first_o(first), .last_o(last), .out_addr_o(out_addr), .tile_o(tile),
    .window_first_o(window_first), .window_last_o(window_last), .fold_o(fold), .strip_o(strip),
    .row_first_o(row_first), .op_o(op), .relu_o(relu),
    .act_o(act), .table_o(table_index), .logits_o(logits), .src_o(src), .image_o(image), .dst_o(dst), .pool_shift_o(pool_shift));

  // SB: one word per step: Tn x Tn weights, a feature step's sources and coefficients, or a scan step's members.
  wire [Tn * LaneBits - 1:0] weight_word;
  approxrtl_rom #(.Width(Tn * LaneBits), .Depth(WeightWords), .AddrWidth(WeightAddrWidth), .InitFile(WeightFile)) u_sb (
    .clk_i(clk_i), .addr_i(weight_addr), .data_o(weight_word));

  // Biases and shifts of an output tile, read so that they arrive with the adder trees' sums.
  wire [ParamAddrWidth - 1:0] param_addr_late;
  wire [ParamWidth - 1:0] param_word;
  approxrtl_delay_line #(.Width(ParamAddrWidth), .Depth(Levels + 4 + FactorExtra)) u_param_delay (
    .clk_i(clk_i), .rst_ni(rst_n), .d_i(param_addr), .q_o(param_addr_late));
  approxrtl_rom #(.Width(ParamWidth), .Depth(ParamWords), .AddrWidth(ParamAddrWidth), .InitFile(ParamFile)) u_params (
    .clk_i(clk_i), .addr_i(param_addr_late), .data_o(param_word));

  // The running layer's activation table: the sequencer holds the index for the whole layer, and the next layer
  // starts only after the drain, so the word never changes under a result in flight.
  wire [TableWidth - 1:0] table_word;
  generate
    if (Pwl != 0) begin : g_tables
      approxrtl_rom #(.Width(TableWidth), .Depth(Tables), .AddrWidth(TableAddrWidth), .InitFile(TableFile)) u_tables (
        .clk_i(clk_i), .addr_i(table_index[TableAddrWidth - 1:0]), .data_o(table_word));
      if (TableAddrWidth < 4) begin : g_unused_index
        wire unused_index = ^table_index[3:TableAddrWidth];
      end
    end else begin : g_no_tables
      assign table_word = {TableWidth{1'b0}};
      wire unused_index = ^table_index;
    end
  endgenerate

  // The two activation buffers, which the NFU writes (the layer's destination), and the image buffer, which the
  // loader writes.
  // (The NFU's results, registered: the write-data select and the block RAMs' inputs start from flip-flops.)
  reg nfu_write, logit_write;
  reg [1:0] nfu_dst;
  reg [ResultAddrWidth - 1:0] nfu_result_addr;
  wire [ActAddrWidth - 1:0] nfu_addr = nfu_result_addr[ActAddrWidth - 1:0];
  reg [WordWidth - 1:0] nfu_data;
  reg [Tn * LogitWidth - 1:0] logit_data;
  // The loader: a pixel (or a zero past the image) enters its column of PatchRows rows (the rows above it come
  // from the line buffer), the column enters the patch, and the patch ending at it is complete.
  // The image's coordinates of the position (the lead rows and columns wrap to large values).
  wire [8:0] image_col = col_q - LeadColumns[8:0];
  wire [8:0] image_row = row_q - LeadRows[8:0];
  wire flushing = image_col >= ImageWidth[8:0] || image_row >= ImageHeight[8:0];
  wire load_step = !ready_q[load_half_q] && (flushing || in_tvalid_i);
  // With several channels a pixel takes a beat per channel; it moves on (and is written) at its last channel.
  wire pixel_step;
  wire load_done = pixel_step && col_q == LoadColumns[8:0] - 9'd1 && row_q == LoadRows[8:0] - 9'd1;
  // Padding and the zeros past the image are code 0 (the normalized zero).
  wire [PixelBits - 1:0] pixel_in;
  wire [7:0] zero_now;  // the zero point of the channel arriving
  generate
    if (PixelZeros != 0) begin : g_zero_point
      wire [8:0] centred = {1'b0, in_tdata_i} - {1'b0, zero_now};
      assign pixel_in = flushing ? 9'd0 : centred;
    end else begin : g_bytes
      assign pixel_in = flushing ? 8'd0 : in_tdata_i;
      wire unused_zero = ^zero_now;  // every zero point is 0
    end
  endgenerate
  wire [ColumnBits - 1:0] column;
  generate
    if (PatchRows == 1) begin : g_one_row
      assign column = pixel_in;
    end else begin : g_rows
      // The PatchRows - 1 rows above, per column (their top row in the low bits); rows above the image read as
      // zero, since the line buffer still holds the previous image's last rows.
      localparam integer LineAddrWidth = LoadColumns > 1 ? $clog2(LoadColumns) : 1;
      reg [PixelBits * (PatchRows - 1) - 1:0] lines_q [0:LoadColumns - 1];
      wire [LineAddrWidth - 1:0] line_addr = col_q[LineAddrWidth - 1:0];
      wire [PixelBits * (PatchRows - 1) - 1:0] above = lines_q[line_addr];
      wire [PixelBits * (PatchRows - 1) - 1:0] above_masked;
      genvar j;
      for (j = 0; j < PatchRows - 1; j = j + 1) begin : g_above
        assign above_masked[PixelBits * j +: PixelBits] =
          {23'd0, row_q} < PatchRows - 1 - j ? {PixelBits{1'b0}} : above[PixelBits * j +: PixelBits];
      end
      assign column = {pixel_in, above_masked};
      // The column's rows, less the top one, are the next row's rows above.
      always @(posedge clk_i) begin
        if (pixel_step) lines_q[line_addr] <= column[ColumnBits - 1:PixelBits];
      end
    end
  endgenerate
  wire [ColumnBits * PatchColumns - 1:0] patch_next;
  generate
    if (PatchColumns == 1) begin : g_one_column
      assign patch_next = column;
      wire unused_patch = ^patch_q;
    end else begin : g_shift
      // The oldest column leaves the patch.
      assign patch_next = {column, patch_q[ColumnBits * PatchColumns - 1:ColumnBits]};
      wire unused_oldest = ^patch_q[ColumnBits - 1:0];
    end
  endgenerate
  // Where the patch ending at this pixel is stored: its first row and column plus the padding stored; patches
  // outside the stored rows and columns are not written.
  wire signed [31:0] stored_row = $signed({23'd0, row_q}) - LeadRows - (PatchRows - 1) + PatchTop;
  wire signed [31:0] stored_col = $signed({23'd0, col_q}) - LeadColumns - (PatchColumns - 1) + PatchLeft;
  wire load_beat = pixel_step && stored_row >= 0 && stored_row < StoredRows && stored_col >= 0
                   && stored_col < RowWords;
  wire [ActAddrWidth - 1:0] patch_addr = row_base_q + stored_col[ActAddrWidth - 1:0];
  wire unused_stored_col = ^stored_col[31:ActAddrWidth];
  // A pixel's channels: the earlier ones kept as they arrive (channel 0 lowest), the last one as it comes.
  wire [PixelBits * Channels - 1:0] channels_in;
  generate
    if (Channels > 1) begin : g_channels
      localparam integer ChannelBits = $clog2(Channels);
      reg [ChannelBits - 1:0] channel_q;
      reg [PixelBits * (Channels - 1) - 1:0] pending_q;
      wire last_channel = channel_q == Channels[ChannelBits - 1:0] - 1'b1;
      assign pixel_step = load_step && (flushing || last_channel);
      assign channels_in = {pixel_in, pending_q};
      assign zero_now = PixelZeros[8 * channel_q +: 8];
      always @(posedge clk_i or negedge rst_n) begin
        if (!rst_n) channel_q <= {ChannelBits{1'b0}};
        else if (load_step && !flushing) channel_q <= last_channel ? {ChannelBits{1'b0}} : channel_q + 1'b1;
      end
      if (Channels > 2) begin : g_shift_in
        always @(posedge clk_i) begin
          if (load_step && !flushing && !last_channel)
            pending_q <= {pixel_in, pending_q[PixelBits * (Channels - 1) - 1:PixelBits]};
        end
      end else begin : g_keep
        always @(posedge clk_i) begin
          if (load_step && !flushing && !last_channel) pending_q <= pixel_in;
        end
      end
    end else begin : g_one_channel
      assign pixel_step = load_step;
      assign channels_in = pixel_in;
      assign zero_now = PixelZeros[7:0];
      wire unused_channels = ^channels_in;  // one channel: the lanes take the patch
    end
  endgenerate
  wire [WordWidth - 1:0] pixel_word;
  genvar s;
  generate
    for (s = 0; s < Tn; s = s + 1) begin : g_patch
      if (s < PatchRows * PatchColumns * Channels) begin : g_pixel
        wire [PixelBits - 1:0] code;
        if (Channels > 1) begin : g_channel
          assign code = channels_in[PixelBits * s +: PixelBits];
        end else begin : g_tap
          assign code = patch_next[ColumnBits * (s % PatchColumns) + PixelBits * (s / PatchColumns) +: PixelBits];
        end
        // Bytes are zero-extended, codes less a zero point (9 bits) sign-extended; DataWidth >= 9.
        wire signed [DataWidth - 1:0] lane;
        if (PixelZeros != 0) begin : g_signed
          wire signed [PixelBits - 1:0] signed_code = code;
          assign lane = signed_code;
        end else begin : g_unsigned
          wire signed [PixelBits:0] unsigned_code = {1'b0, code};
          assign lane = unsigned_code;
        end
        assign pixel_word[s * DataWidth +: DataWidth] = lane;
      end else begin : g_zero
        assign pixel_word[s * DataWidth +: DataWidth] = {DataWidth{1'b0}};
      end
    end
  endgenerate
  wire [WordWidth - 1:0] rdata0, rdata1, rdata2, rdata_image;
  approxrtl_ram_sdp #(.Width(WordWidth), .Depth(2 * ImageWords), .AddrWidth(ImageAddrWidth)) u_image (
    .clk_i(clk_i), .we_i(load_beat), .waddr_i(patch_addr[ImageAddrWidth - 1:0]), .wdata_i(pixel_word),
    .raddr_i(in_addr[ImageAddrWidth - 1:0]), .rdata_o(rdata_image));
  // What the buffers are written with: the NFU's results, or with fused pools the combiner's.
  wire buf_write;
  wire [1:0] buf_dst;
  wire [ActAddrWidth - 1:0] buf_addr;
  wire [WordWidth - 1:0] buf_data;
  wire [BufAddrWidth - 1:0] buf_waddr = buf_addr[BufAddrWidth - 1:0];
  wire [BufAddrWidth - 1:0] buf_raddr = in_addr[BufAddrWidth - 1:0];
  generate
    if (BufAddrWidth < ActAddrWidth) begin : g_image_addresses
      // Addresses above the activation buffers' reach only the image buffer.
      wire unused_addr = ^{buf_addr[ActAddrWidth - 1:BufAddrWidth], in_addr[ActAddrWidth - 1:BufAddrWidth]};
    end
    if (ImageAddrWidth < ActAddrWidth) begin : g_buffer_addresses
      wire unused_image_addr = ^{in_addr[ActAddrWidth - 1:ImageAddrWidth], patch_addr[ActAddrWidth - 1:ImageAddrWidth]};
    end
  endgenerate
  approxrtl_ram_sdp #(.Width(WordWidth), .Depth(ActWords), .AddrWidth(BufAddrWidth)) u_buffer0 (
    .clk_i(clk_i), .we_i(buf_write && buf_dst == 2'd0), .waddr_i(buf_waddr), .wdata_i(buf_data), .raddr_i(buf_raddr),
    .rdata_o(rdata0));
  approxrtl_ram_sdp #(.Width(WordWidth), .Depth(ActWords), .AddrWidth(BufAddrWidth)) u_buffer1 (
    .clk_i(clk_i), .we_i(buf_write && buf_dst == 2'd1), .waddr_i(buf_waddr), .wdata_i(buf_data), .raddr_i(buf_raddr),
    .rdata_o(rdata1));
  // A third buffer keeps a residual block's input while the block's convolutions alternate between the other two.
  generate
    if (Buffers > 2) begin : g_buffer2
      approxrtl_ram_sdp #(.Width(WordWidth), .Depth(ActWords), .AddrWidth(BufAddrWidth)) u_buffer2 (
        .clk_i(clk_i), .we_i(buf_write && buf_dst == 2'd2), .waddr_i(buf_waddr), .wdata_i(buf_data),
        .raddr_i(buf_raddr), .rdata_o(rdata2));
    end else begin : g_two_buffers
      assign rdata2 = {WordWidth{1'b0}};
    end
  endgenerate

  // The memories' words are registered as they leave them (the block RAMs' output registers), then the word
  // from the buffer the step named is selected and registered again before the NFU broadcasts it to the
  // multipliers (the SB word beside it): no memory output drives a select, a multiplier or a fan-out directly.
  // Padding is zeroed in the same LUT as the buffer select, so that the multipliers take flip-flops directly.
  // The step's flags wait two cycles with them.
  reg [WordWidth - 1:0] rdata0_q, rdata1_q, rdata2_q, rdata_image_q;
  reg [Tn * LaneBits - 1:0] weight_q;
  always @(posedge clk_i) begin
    {rdata0_q, rdata1_q, rdata2_q, rdata_image_q} <= {rdata0, rdata1, rdata2, rdata_image};
    weight_q <= weight_word;
  end
  reg step_valid_f, step_valid_q;
  reg [1:0] src_f, src_q;
  always @(posedge clk_i or negedge rst_n) begin
    if (!rst_n) {step_valid_f, step_valid_q, src_f, src_q} <= 6'd0;
    else {step_valid_f, step_valid_q, src_f, src_q} <= {step_valid, step_valid_f, src, src_f};
  end
  reg [1:0] dst_f, dst_q;
  reg in_mask_f, first_f, last_f, relu_f, act_f, logits_f, image_f, window_first_f, window_last_f, fold_f, strip_f,
      row_first_f;
  reg [ActAddrWidth - 1:0] out_addr_f;
  reg [7:0] tile_f;
  reg [2:0] op_f;
  reg [3:0] pool_shift_f;
  reg in_mask_q, first_q, last_q, relu_q, act_q, logits_q1, image_q, window_first_q, window_last_q, fold_q, strip_q,
      row_first_q;
  reg [ActAddrWidth - 1:0] out_addr_q;
  reg [7:0] tile_q;
  reg [2:0] op_q;
  reg [3:0] pool_shift_q;
  always @(posedge clk_i) begin
    {in_mask_f, first_f, last_f, relu_f, act_f, logits_f, image_f, dst_f} <=
      {in_mask, first, last, relu, act, logits, image, dst};
    {out_addr_f, tile_f, op_f, pool_shift_f, window_first_f, window_last_f, fold_f, strip_f, row_first_f} <=
      {out_addr, tile, op, pool_shift, window_first, window_last, fold, strip, row_first};
    {in_mask_q, first_q, last_q, relu_q, act_q, logits_q1, image_q, dst_q} <=
      {in_mask_f, first_f, last_f, relu_f, act_f, logits_f, image_f, dst_f};
    {out_addr_q, tile_q, op_q, pool_shift_q, window_first_q, window_last_q, fold_q, strip_q, row_first_q} <=
      {out_addr_f, tile_f, op_f, pool_shift_f, window_first_f, window_last_f, fold_f, strip_f, row_first_f};
  end
  wire [WordWidth - 1:0] x_d = !in_mask_q ? {WordWidth{1'b0}} : image_q ? rdata_image_q
                             : src_q == 2'd2 ? rdata2_q : src_q[0] ? rdata1_q : rdata0_q;
  reg [WordWidth - 1:0] x_q;
  reg [Tn * LaneBits - 1:0] w_q;
  always @(posedge clk_i) begin
    x_q <= x_d;
    w_q <= weight_q;
  end
  // The input word is broadcast to Tn x Tn multipliers spread over the die (the DSP columns), and one register
  // driving them all was the Fmax-limiting route at Tn = 16: each output lane's multipliers read a copy of their
  // own, which placement puts beside them. keep stops synthesis from merging the copies back into one.
  wire [Tn * WordWidth - 1:0] x_lanes;
  generate
    if (MacArray != 0 || Factored != 0) begin : g_x_lanes
      genvar copy;
      for (copy = 0; copy < Tn; copy = copy + 1) begin : g_copy
        reg [WordWidth - 1:0] x_copy_q;
        (* keep *) always @(posedge clk_i) x_copy_q <= x_d;
        assign x_lanes[copy * WordWidth +: WordWidth] = x_copy_q;
      end
    end else begin : g_no_x_lanes
      assign x_lanes = {(Tn * WordWidth){1'b0}};
    end
  endgenerate

  wire nfu_write_d, logit_write_d;
  wire [1:0] nfu_dst_d;
  wire [ResultAddrWidth - 1:0] nfu_addr_d;
  wire [ResultAddrWidth - 1:0] result_addr;
  generate
    if (FusedPools != 0) begin : g_result_flags
      assign result_addr = {row_first_q, strip_q, fold_q, window_last_q, window_first_q, tile_q[FusedTileBits - 1:0],
                            out_addr_q};
      if (FusedTileBits < 8) begin : g_tile_high
        wire unused_tile = ^tile_q[7:FusedTileBits];
      end
    end else begin : g_result_plain
      assign result_addr = out_addr_q;
      wire unused_window = ^{window_first_q, window_last_q, fold_q, strip_q, row_first_q};
    end
  endgenerate
  wire [WordWidth - 1:0] nfu_data_d;
  wire [Tn * LogitWidth - 1:0] logit_data_d;
  approxrtl_diannao_nfu #(
    .Tn(Tn), .DataWidth(DataWidth), .ActWidth(ActWidth), .WeightWidth(WeightWidth), .AccWidth(AccWidth),
    .ShiftWidth(ShiftWidth), .MaxLeftShift(MaxLeftShift), .LogitWidth(LogitWidth), .AddrWidth(ResultAddrWidth), .Swc(Swc),
    .Pow2Codes(Pow2Codes), .ScaleWidth(ScaleWidth), .ProductWidth(ProductWidth), .FeatureUnit(FeatureUnit),
    .KeptTiles(KeptTiles), .SourceWidth(SourceWidth), .CoefWidth(CoefWidth), .LaneBits(LaneBits), .MacArray(MacArray), .DspProducts(DspProducts),
    .Reuse(Reuse), .WindowWords(WindowWords), .WindowAddrWidth(WindowAddrWidth), .DWidth(DWidth), .EWidth(EWidth),
    .Terms(Terms), .ReuseCoefWidth(ReuseCoefWidth), .Factored(Factored), .FactorValues(FactorValues),
    .IndexWidth(IndexWidth), .FactorValueWidth(FactorValueWidth), .Pwl(Pwl), .Segments(Segments), .SlopeWidth(SlopeWidth),
    .InterceptWidth(InterceptWidth), .TableShiftBits(TableShiftBits)
  ) u_nfu (
    .clk_i(clk_i), .rst_ni(rst_n), .valid_i(step_valid_q), .mask_i(in_mask_q), .first_i(first_q), .last_i(last_q),
    .addr_i(result_addr), .tile_i(tile_q), .op_i(op_q), .relu_i(relu_q), .act_i(act_q), .logits_i(logits_q1), .dst_i(dst_q),
    .pool_shift_i(pool_shift_q), .x_i(x_q), .x_lanes_i(x_lanes), .w_i(w_q), .table_i(table_word), .param_i(param_word),
    .write_o(nfu_write_d), .dst_o(nfu_dst_d), .write_addr_o(nfu_addr_d), .write_data_o(nfu_data_d),
    .logit_write_o(logit_write_d), .logit_data_o(logit_data_d));
  always @(posedge clk_i or negedge rst_n) begin
    if (!rst_n) {nfu_write, logit_write} <= 2'b00;
    else {nfu_write, logit_write} <= {nfu_write_d, logit_write_d};
  end
  always @(posedge clk_i) begin
    {nfu_dst, nfu_result_addr, nfu_data, logit_data} <= {nfu_dst_d, nfu_addr_d, nfu_data_d, logit_data_d};
  end

  // Fused max pools: a convolution's results arrive window by window (the sequencer's order), each output tile's
  // running max is kept per lane (the codes are signed, DataWidth bits), and the window's last pixel writes it.
  // A layer without a fused pool has 1 x 1 windows: every result is first and last, and is written as it is.
  generate
    if (FusedPools != 0) begin : g_fused
      wire result_fold = nfu_result_addr[ActAddrWidth + FusedTileBits + 2];
      // Pixel lanes: lane c and lane Tn / 2 + c hold channel c of two pixels of the same window; their max is
      // channel c's (the upper lanes then hold zeros, as idle lanes do).
      wire [WordWidth - 1:0] folded;
      genvar half;
      for (half = 0; half < Tn; half = half + 1) begin : g_fold
        if (PixelLanes == 2 && half < Tn / 2) begin : g_low
          wire signed [DataWidth - 1:0] upper = $signed(nfu_data[(half + Tn / 2) * DataWidth +: DataWidth]);
          wire signed [DataWidth - 1:0] lower = $signed(nfu_data[half * DataWidth +: DataWidth]);
          assign folded[half * DataWidth +: DataWidth] = result_fold && upper > lower ? upper : lower;
        end else if (PixelLanes == 2) begin : g_high
          assign folded[half * DataWidth +: DataWidth] =
            result_fold ? {DataWidth{1'b0}} : nfu_data[half * DataWidth +: DataWidth];
        end else begin : g_none
          assign folded[half * DataWidth +: DataWidth] = nfu_data[half * DataWidth +: DataWidth];
        end
      end
      if (PixelLanes == 1) begin : g_no_fold
        wire unused_fold = result_fold;
      end
      // The fold is registered before the running max, so that the two compares (and the strip select) do not
      // share a cycle: the Fmax-limiting path at Tn = 16 ran from the NFU's result through both into the buffer.
      reg folded_write_q;
      reg [1:0] folded_dst_q;
      reg [ActAddrWidth - 1:0] folded_addr_q;
      reg [FusedTileBits + 4:0] folded_flags_q;  // tile, first, last, (fold), strip, row first
      reg [WordWidth - 1:0] folded_q;
      always @(posedge clk_i or negedge rst_n) begin
        if (!rst_n) folded_write_q <= 1'b0;
        else folded_write_q <= nfu_write;
      end
      always @(posedge clk_i) begin
        {folded_dst_q, folded_addr_q, folded_q} <= {nfu_dst, nfu_addr, folded};
        folded_flags_q <= nfu_result_addr[ActAddrWidth +: FusedTileBits + 5];
      end
      wire [FusedTileBits - 1:0] result_tile = folded_flags_q[FusedTileBits - 1:0];
      wire result_first = folded_flags_q[FusedTileBits];
      wire result_last = folded_flags_q[FusedTileBits + 1];
      wire unused_folded_fold = folded_flags_q[FusedTileBits + 2];
      wire result_strip = folded_flags_q[FusedTileBits + 3];
      wire result_row_first = folded_flags_q[FusedTileBits + 4];
      reg [WordWidth - 1:0] window_max_q [0:FusedTiles - 1];
      wire [WordWidth - 1:0] running = window_max_q[result_tile];
      wire [WordWidth - 1:0] combined;
      genvar lane;
      for (lane = 0; lane < Tn; lane = lane + 1) begin : g_lane
        wire signed [DataWidth - 1:0] now = $signed(folded_q[lane * DataWidth +: DataWidth]);
        wire signed [DataWidth - 1:0] kept = $signed(running[lane * DataWidth +: DataWidth]);
        assign combined[lane * DataWidth +: DataWidth] = !result_first && kept > now ? kept : now;
      end
      reg pooled_write;
      reg [1:0] pooled_dst;
      reg [ActAddrWidth - 1:0] pooled_addr;
      reg [WordWidth - 1:0] pooled_data;
      wire pooled_now = folded_write_q && result_last;
      always @(posedge clk_i) begin
        if (folded_write_q) window_max_q[result_tile] <= combined;
      end
      // Strips (StripLayout.swift): each output tile's pooled pixel is written as StripTileGroups words (the
      // last tile's: the rest of StripGroups), word g holding the tile's channels g * StripLanes ... of this
      // pixel and of the Strips - 1 pooled pixels left of it in its row (zeros before the row's start), kept in
      // a history register per tile; pixel q of the word (q = Strips - 1: this one) in lanes q * StripLanes ....
      // The first word goes at once, the others one per cycle after it (the compiler spaces the tiles' pooled
      // pixels at least StripTileGroups cycles apart).
      if (Strips != 0) begin : g_strips
        localparam integer GroupWidth = StripLanes * DataWidth;
        localparam integer PixelWidth = StripTileGroups * GroupWidth;
        localparam integer HistoryWidth = (Strips - 1) * PixelWidth;
        localparam integer LastGroups = StripGroups - (StripTiles - 1) * StripTileGroups;
        localparam integer PendingWidth = StripTileGroups > 1 ? (StripTileGroups - 1) * WordWidth : WordWidth;
        wire [HistoryWidth - 1:0] history;
        wire last_tile;  // the writer's last tile with groups: it writes LastGroups
        wire [HistoryWidth - 1:0] earlier = result_row_first ? {HistoryWidth{1'b0}} : history;
        // Pixel age a (0: this one) at bits a * PixelWidth.
        wire [Strips * PixelWidth - 1:0] pixels = {earlier, combined[PixelWidth - 1:0]};
        if (StripTiles > 1) begin : g_tile_history
          localparam integer StripTileBits = $clog2(StripTiles);
          reg [HistoryWidth - 1:0] history_q [0:StripTiles - 1];
          wire [StripTileBits - 1:0] strip_tile = result_tile[StripTileBits - 1:0];
          assign history = history_q[strip_tile];
          localparam integer LastTile = StripTiles - 1;
          assign last_tile = strip_tile == LastTile[StripTileBits - 1:0];
          always @(posedge clk_i) begin
            if (pooled_now && result_strip) history_q[strip_tile] <= pixels[HistoryWidth - 1:0];
          end
        end else begin : g_one_history
          reg [HistoryWidth - 1:0] history_q;
          assign history = history_q;
          assign last_tile = 1'b1;
          always @(posedge clk_i) begin
            if (pooled_now) history_q <= pixels[HistoryWidth - 1:0];
          end
        end
        wire [StripTileGroups * WordWidth - 1:0] words;
        genvar g, q;
        for (g = 0; g < StripTileGroups; g = g + 1) begin : g_group
          for (q = 0; q < Strips; q = q + 1) begin : g_pixel
            assign words[g * WordWidth + q * GroupWidth +: GroupWidth] =
              pixels[(Strips - 1 - q) * PixelWidth + g * GroupWidth +: GroupWidth];
          end
          if (Strips * GroupWidth < WordWidth) begin : g_idle
            assign words[g * WordWidth + Strips * GroupWidth +: WordWidth - Strips * GroupWidth] =
              {(WordWidth - Strips * GroupWidth){1'b0}};
          end
        end
        wire [WordWidth - 1:0] pooled_word = result_strip ? words[WordWidth - 1:0] : combined;
        if (StripTileGroups > 1) begin : g_groups
          localparam integer CountBits = $clog2(StripTileGroups);
          localparam integer TileExtra = StripTileGroups - 1;
          localparam integer LastExtra = LastGroups - 1;
          reg [CountBits - 1:0] pending_q;  // groups still to write
          reg [PendingWidth - 1:0] pending_words_q;
          reg [ActAddrWidth - 1:0] pending_addr_q;
          reg [1:0] pending_dst_q;
          wire pending = pending_q != {CountBits{1'b0}};
          always @(posedge clk_i or negedge rst_n) begin
            if (!rst_n) begin
              pending_q <= {CountBits{1'b0}};
              pooled_write <= 1'b0;
            end else begin
              pooled_write <= pooled_now || pending;
              if (pooled_now && result_strip) pending_q <= last_tile ? LastExtra[CountBits - 1:0] : TileExtra[CountBits - 1:0];
              else if (pending) pending_q <= pending_q - 1'b1;
            end
          end
          always @(posedge clk_i) begin
            if (pooled_now) begin
              pending_words_q <= words[StripTileGroups * WordWidth - 1:WordWidth];
              pending_addr_q <= folded_addr_q + 1'b1;
              pending_dst_q <= folded_dst_q;
            end else if (pending) begin
              pending_words_q <= pending_words_q >> WordWidth;
              pending_addr_q <= pending_addr_q + 1'b1;
            end
            {pooled_dst, pooled_addr, pooled_data} <= pooled_now ? {folded_dst_q, folded_addr_q, pooled_word}
                                                                 : {pending_dst_q, pending_addr_q, pending_words_q[WordWidth - 1:0]};
          end
        end else begin : g_one_group
          wire unused_last = last_tile;
          always @(posedge clk_i or negedge rst_n) begin
            if (!rst_n) pooled_write <= 1'b0;
            else pooled_write <= pooled_now;
          end
          always @(posedge clk_i) {pooled_dst, pooled_addr, pooled_data} <= {folded_dst_q, folded_addr_q, pooled_word};
        end
      end else begin : g_no_strips
        wire unused_strip = ^{result_strip, result_row_first};
        always @(posedge clk_i or negedge rst_n) begin
          if (!rst_n) pooled_write <= 1'b0;
          else pooled_write <= pooled_now;
        end
        always @(posedge clk_i) {pooled_dst, pooled_addr, pooled_data} <= {folded_dst_q, folded_addr_q, combined};
      end
      assign {buf_write, buf_dst, buf_addr, buf_data} = {pooled_write, pooled_dst, pooled_addr, pooled_data};
    end else begin : g_unfused
      assign {buf_write, buf_dst, buf_addr, buf_data} = {nfu_write, nfu_dst, nfu_addr, nfu_data};
    end
  endgenerate

  // The logit registers, one tile of Tn per write, in tile order.
  reg [LogitTiles * Tn * LogitWidth - 1:0] logits_q;
  integer t;
  always @(posedge clk_i) begin
    if (logit_write) begin
      for (t = 0; t < LogitTiles; t = t + 1)
        if (nfu_addr == t[ActAddrWidth - 1:0]) logits_q[t * Tn * LogitWidth +: Tn * LogitWidth] <= logit_data;
    end
  end

  // The emit registers: the logits of the image that ran last, leaving while the next one runs.
  reg [LogitTiles * Tn * LogitWidth - 1:0] emit_q;
  // A run's logits are complete the cycle after the sequencer is done (done_q); they move to the emit registers
  // once the previous image's have left, and then the half the run read is free and the next image may start.
  wire handoff = done_q && !emitting_q;
  wire next_half = handoff ? !run_half_q : run_half_q;
  wire start = (!running_q || handoff) && ready_q[next_half];
  always @(posedge clk_i) begin
    if (handoff) emit_q <= logits_q;
  end

  // The loader: the next position of its image (a row of patches, then the next row; the half after the last).
  always @(posedge clk_i or negedge rst_n) begin
    if (!rst_n) begin
      col_q <= 9'd0;
      row_q <= 9'd0;
      row_base_q <= {ActAddrWidth{1'b0}};
      patch_q <= {(ColumnBits * PatchColumns){1'b0}};
      load_half_q <= 1'b0;
    end else if (pixel_step) begin
      if (col_q == LoadColumns[8:0] - 9'd1) begin
        // A new row starts from an empty patch.
        col_q <= 9'd0;
        patch_q <= {(ColumnBits * PatchColumns){1'b0}};
        if (row_q == LoadRows[8:0] - 9'd1) begin
          row_q <= 9'd0;
          row_base_q <= load_half_q ? {ActAddrWidth{1'b0}} : ImageWords[ActAddrWidth - 1:0];
          load_half_q <= !load_half_q;
        end else begin
          row_q <= row_q + 9'd1;
          if (stored_row >= 0) row_base_q <= row_base_q + RowWords[ActAddrWidth - 1:0];
        end
      end else begin
        col_q <= col_q + 9'd1;
        patch_q <= patch_next;
      end
    end
  end

  // Run and emit.
  always @(posedge clk_i or negedge rst_n) begin
    if (!rst_n) begin
      {run_half_q, running_q, done_q, emitting_q, start_q} <= 5'd0;
      ready_q <= 2'b00;
      class_q <= {ClassCountWidth{1'b0}};
    end else begin
      start_q <= start;
      if (load_done) ready_q[load_half_q] <= 1'b1;
      if (seq_done) done_q <= 1'b1;
      if (handoff) begin
        {done_q, running_q, emitting_q} <= 3'b001;
        ready_q[run_half_q] <= 1'b0;
        run_half_q <= !run_half_q;
        class_q <= {ClassCountWidth{1'b0}};
      end
      if (start) running_q <= 1'b1;
      if (emitting_q && out_tready_i) begin
        if (class_q == Classes[ClassCountWidth - 1:0] - 1'b1) emitting_q <= 1'b0;
        else class_q <= class_q + 1'b1;
      end
    end
  end

  // Not ready until the synchronized reset is released: a beat taken earlier would be lost.
  assign in_tready_o = rst_n && !ready_q[load_half_q] && !flushing;
  assign out_tvalid_o = emitting_q;
  assign out_tdata_o = emit_q[class_q * LogitWidth +: LogitWidth];
  assign out_tlast_o = class_q == Classes[ClassCountWidth - 1:0] - 1'b1;

  // The image's tlast is not needed: an image is ImageWidth x ImageHeight beats.
  wire unused_tlast = in_tlast_i;
endmodule
