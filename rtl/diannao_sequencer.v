// Control sequencer of the DianNao-style accelerator (docs/accelerator.md): runs the program that approxrtl
// compiles from the model. For each layer it fetches one 128-bit instruction from the program ROM and walks its
// loop nest, one step per cycle:
//   for oy, ox (output pixel), to (output tile of Tn channels), ky, kx (kernel tap), ti (input tile)
// A step names one input word (Tn channels of one input pixel) and one weight word (Tn x Tn weights); the last
// step of an output tile hands its Tn accumulators to NFU-3. Pooling layers walk the same nest with ti fixed at 0
// and read input tile `to`. In a weighted layer each output tile has a descriptor (the tile ROM, read
// combinationally, one entry per bias/shift word): its window (kernel height and width, first tap), so that M4's
// reduced-kernel tiles step over the centre of the kernel only, or for M3's feature tiles the number of feature
// steps, which walk ti over the sources; for M1's reuse lanes a gather tile (the pixel's window, stepped like a
// MAC tile but reading no SB word) and scan tiles of so many steps, one SB word of members each. All tiles of an
// output pixel run before the next pixel, so a feature tile finds its sources' accumulators in the feature unit
// and a scan tile the gathered window. After a layer's last step the sequencer waits Drain
// cycles, so that the next layer reads a complete buffer.
module diannao_sequencer #(
  parameter integer Layers = 1,           // instructions in the program
  parameter integer ProgAddrWidth = 1,    // at least clog2(Layers)
  parameter integer ActAddrWidth = 10,    // activation buffer address width
  parameter integer WeightAddrWidth = 8,  // SB address width
  parameter integer ParamAddrWidth = 4,   // bias/shift ROM address width
  parameter integer TileWords = 16,       // tile descriptors (one per bias/shift word; at most 2^ParamAddrWidth)
  parameter integer Drain = 8,            // cycles from a step's issue to its result being written
  parameter ProgramFile = "program.hex",
  parameter TileFile = "tiles.hex"        // one 32-bit descriptor per output tile of the weighted layers
) (
  input  wire clk_i,
  input  wire rst_ni,
  input  wire start_i,                            // run the program from its first layer
  output wire busy_o,                             // a layer is running (fetch, steps or drain)
  output wire done_o,                             // one cycle: the last layer's results are written
  output wire [ProgAddrWidth - 1:0] layer_o,      // the layer running
  // The step issued this cycle (meaningful while step_valid_o is high).
  output wire step_valid_o,
  output wire [ActAddrWidth - 1:0] in_addr_o,     // input word: (iy * in_w + ix) * in_tiles + tile
  output wire in_mask_o,                          // the input pixel lies inside the map (not padding)
  output wire [WeightAddrWidth - 1:0] weight_addr_o,
  output wire [ParamAddrWidth - 1:0] param_addr_o,
  output wire first_o,                            // first step of an output tile
  output wire last_o,                             // last step of an output tile
  output wire [ActAddrWidth - 1:0] out_addr_o,    // output word: (oy * out_w + ox) * out_tiles + to
  output wire [7:0] tile_o,                       // output tile (to)
  output wire [2:0] op_o,                         // 0 multiply-accumulate, 1 max pool, 2 average pool, 3 feature,
                                                  // 4 gather, 5 scan
  output wire relu_o,
  output wire act_o,                              // the layer's codes go through its activation table
  output wire [3:0] table_o,                      // which table (held for the whole layer)
  output wire logits_o,                           // results go to the logit registers, not a buffer
  output wire src_o,                              // buffer read
  output wire dst_o,                              // buffer written
  output wire [3:0] pool_shift_o                  // average pool: log2 of the window area
);
  localparam [1:0] OpMac = 2'd0, OpMax = 2'd1, OpAverage = 2'd2;
  localparam [1:0] KindMac = 2'd0, KindFeature = 2'd1, KindGather = 2'd2, KindScan = 2'd3;
  localparam [2:0] StIdle = 3'd0, StFetch = 3'd1, StDecode = 3'd2, StRun = 3'd3, StDrain = 3'd4;

  // Program ROM: one instruction per layer.
  wire [127:0] instr_rom;
  reg [ProgAddrWidth - 1:0] layer_q;
  rom #(.Width(128), .Depth(Layers), .AddrWidth(ProgAddrWidth), .InitFile(ProgramFile)) u_program (
    .clk_i(clk_i), .addr_i(layer_q), .data_o(instr_rom));

  reg [2:0] state_q;
  reg [127:0] instr_q;
  reg [7:0] oy_q, ox_q, to_q;
  reg [11:0] ti_q;
  reg [3:0] ky_q, kx_q;
  reg [WeightAddrWidth - 1:0] weight_q;
  reg [4:0] drain_q;

  // Instruction fields (docs/accelerator.md, "Program").
  wire [1:0] op = instr_q[1:0];
  wire [7:0] in_h = instr_q[15:8];
  wire [7:0] in_w = instr_q[23:16];
  wire [7:0] in_tiles = instr_q[31:24];
  wire [7:0] out_h = instr_q[39:32];
  wire [7:0] out_w = instr_q[47:40];
  wire [7:0] out_tiles = instr_q[55:48];
  wire [3:0] pool_k_h = instr_q[59:56];
  wire [3:0] pool_k_w = instr_q[63:60];
  wire [3:0] stride_h = instr_q[67:64];
  wire [3:0] stride_w = instr_q[71:68];
  wire [3:0] pad_t = instr_q[75:72];
  wire [3:0] pad_l = instr_q[79:76];
  wire [23:0] weight_base = instr_q[111:88];
  wire [15:0] param_base = instr_q[127:112];


  // With reuse lanes, output tile 0 of a layer is the gather tile, which writes nothing.
  wire reuse = instr_q[6];

  // Pooling reads one input tile per output tile; multiply-accumulate (and gather) reads all of them; a feature
  // tile takes one step per source, a scan tile one per member.
  wire is_mac = op == OpMac;
  wire is_pool = op == OpMax || op == OpAverage;
  wire [23:0] param_addr = {8'd0, param_base} + {16'd0, to_q};
  // The tile descriptor of output tile `to`: kernel height, width, first tap y, x, steps, kind.
  reg [31:0] tiles_rom [0:TileWords - 1];
  initial $readmemh(TileFile, tiles_rom);
  wire [31:0] tile_desc = tiles_rom[param_addr[ParamAddrWidth - 1:0]];
  wire [1:0] kind = is_pool ? KindMac : tile_desc[29:28];
  wire stepped = kind == KindFeature || kind == KindScan;  // steps from the descriptor, no window
  wire is_gather = kind == KindGather;
  wire [3:0] k_h = is_pool ? pool_k_h : tile_desc[3:0];
  wire [3:0] k_w = is_pool ? pool_k_w : tile_desc[7:4];
  wire [3:0] tap_y = is_pool ? 4'd0 : tile_desc[11:8];
  wire [3:0] tap_x = is_pool ? 4'd0 : tile_desc[15:12];
  wire [11:0] ti_count = is_pool ? 12'd1 : stepped ? tile_desc[27:16] : {4'd0, in_tiles};
  wire ti_end = ti_q == ti_count - 12'd1;
  wire kx_end = kx_q == k_w - 4'd1;
  wire ky_end = ky_q == k_h - 4'd1;
  wire to_end = to_q == out_tiles - 8'd1;
  wire ox_end = ox_q == out_w - 8'd1;
  wire oy_end = oy_q == out_h - 8'd1;
  wire tile_end = ti_end && kx_end && ky_end;
  wire layer_end = tile_end && to_end && ox_end && oy_end;

  // The input pixel of this step: iy = oy * stride_h + tap_y + ky - pad_t (likewise ix), signed.
  wire [11:0] oy_strided = {4'd0, oy_q} * {8'd0, stride_h};
  wire [11:0] ox_strided = {4'd0, ox_q} * {8'd0, stride_w};
  wire signed [13:0] iy = $signed({2'b00, oy_strided}) + $signed({10'd0, ky_q}) + $signed({10'd0, tap_y}) - $signed({10'd0, pad_t});
  wire signed [13:0] ix = $signed({2'b00, ox_strided}) + $signed({10'd0, kx_q}) + $signed({10'd0, tap_x}) - $signed({10'd0, pad_l});
  wire in_map = iy >= 14'sd0 && iy < $signed({6'd0, in_h}) && ix >= 14'sd0 && ix < $signed({6'd0, in_w});
  wire [7:0] tile = is_mac ? ti_q[7:0] : to_q;
  // Outside the map the address is not used (the mask zeroes the word), so its low bits suffice.
  wire [31:0] in_pixel = {18'd0, iy} * {24'd0, in_w} + {18'd0, ix};
  wire [31:0] in_addr = in_pixel * {24'd0, in_tiles} + {24'd0, tile};
  // The output word: (oy * out_w + ox) * out_tiles + to (with reuse lanes the scan tiles are 1 .. out_tiles - 1
  // and write output tiles 0 .. out_tiles - 2).
  wire [15:0] out_pixel = {8'd0, oy_q} * {8'd0, out_w} + {8'd0, ox_q};
  wire [7:0] out_tile = to_q - {7'd0, reuse};
  wire [31:0] out_addr = {16'd0, out_pixel} * {24'd0, out_tiles - {7'd0, reuse}} + {24'd0, out_tile};

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= StIdle;
      layer_q <= {ProgAddrWidth{1'b0}};
      instr_q <= 128'd0;
      {oy_q, ox_q, to_q} <= 24'd0;
      ti_q <= 12'd0;
      {ky_q, kx_q} <= 8'd0;
      weight_q <= {WeightAddrWidth{1'b0}};
      drain_q <= 5'd0;
    end else begin
      case (state_q)
        StIdle: if (start_i) begin
          layer_q <= {ProgAddrWidth{1'b0}};
          state_q <= StFetch;
        end
        // The ROM answers one cycle after the address.
        StFetch: state_q <= StDecode;
        StDecode: begin
          instr_q <= instr_rom;
          {oy_q, ox_q, to_q} <= 24'd0;
          ti_q <= 12'd0;
          {ky_q, kx_q} <= 8'd0;
          weight_q <= instr_rom[88 +: WeightAddrWidth];
          state_q <= StRun;
        end
        StRun: begin
          // The weight words of one output pixel follow one another (a gather step reads none); the next pixel
          // starts from the base again.
          if (tile_end && to_end) weight_q <= weight_base[WeightAddrWidth - 1:0];
          else if (!is_gather) weight_q <= weight_q + 1'b1;
          if (!ti_end) ti_q <= ti_q + 12'd1;
          else begin
            ti_q <= 12'd0;
            if (!kx_end) kx_q <= kx_q + 4'd1;
            else begin
              kx_q <= 4'd0;
              if (!ky_end) ky_q <= ky_q + 4'd1;
              else begin
                ky_q <= 4'd0;
                if (!to_end) to_q <= to_q + 8'd1;
                else begin
                  to_q <= 8'd0;
                  if (!ox_end) ox_q <= ox_q + 8'd1;
                  else begin
                    ox_q <= 8'd0;
                    oy_q <= oy_q + 8'd1;
                  end
                end
              end
            end
          end
          if (layer_end) begin
            drain_q <= 5'd0;
            state_q <= StDrain;
          end
        end
        StDrain: begin
          drain_q <= drain_q + 5'd1;
          if (drain_q == Drain[4:0] - 5'd1) begin
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

  assign busy_o = state_q != StIdle;
  assign done_o = state_q == StDrain && drain_q == Drain[4:0] - 5'd1 && layer_q == Layers[ProgAddrWidth - 1:0] - 1'b1;
  assign layer_o = layer_q;
  assign step_valid_o = state_q == StRun;
  assign in_addr_o = in_addr[ActAddrWidth - 1:0];
  assign in_mask_o = in_map;
  assign weight_addr_o = weight_q;
  assign param_addr_o = param_addr[ParamAddrWidth - 1:0];
  assign first_o = ti_q == 12'd0 && kx_q == 4'd0 && ky_q == 4'd0;
  assign last_o = tile_end;
  assign out_addr_o = out_addr[ActAddrWidth - 1:0];
  assign tile_o = to_q;
  assign op_o = kind == KindFeature ? 3'd3 : kind == KindGather ? 3'd4 : kind == KindScan ? 3'd5 : {1'b0, op};
  assign relu_o = instr_q[2];
  assign act_o = instr_q[7];
  assign table_o = instr_q[87:84];
  assign logits_o = instr_q[3];
  assign src_o = instr_q[4];
  assign dst_o = instr_q[5];
  assign pool_shift_o = instr_q[83:80];

  // Reserved instruction bits, and address bits beyond the buffers' sizes (the compiler checks they are zero).
  wire unused_bits;
  assign unused_bits = ^{tile_desc[31:30], weight_base[23:WeightAddrWidth],
                         in_addr[31:ActAddrWidth], param_addr[23:ParamAddrWidth], out_addr[31:ActAddrWidth]};
endmodule
