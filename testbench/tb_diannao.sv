// Self-checking whole-network bench of the DianNao-style accelerator (approxrtl generate --arch diannao): streams
// IMAGES test images from vectors/images.hex (one pixel per beat, random gaps; +images=N runs the first N of them),
// takes the logits against random
// back-pressure and compares every logit with vectors/logits.hex, which the golden model wrote. An image passes
// when all its logits match. Prints "N passed, M failed" (images), the accuracy of the RTL's own predictions against
// vectors/labels.hex, the cycles per inference, each layer's compute cycles, the interval between images (the
// cycles from one image's start to the next one's, averaged over the stream: images load while others compute)
// and the first image's latency (its first pixel taken to its last logit taken); ends with $fatal on any mismatch,
// a wrong tlast, a logit beat after the last expected one (the bench watches TailCycles more) or a timeout. Logits
// compare with !==, so that X and Z bits fail. With three images or more the bench pulls the reset in the middle
// of the stream (ResetDelay cycles after the second image starts computing, while the third loads) and restarts the
// stream at the first image not wholly received: the design must come back clean. The cycle figures count from
// the reset on. tb_config.svh (written by the generator) defines DUT and the sizes. With DEBUG_LAYERS
// (approxrtl generate --debug-layers) it also compares every word the NFU writes to a buffer with the golden
// model's codes of that layer (vectors/layers.hex), and names the first mismatches by layer, image and word.
`include "tb_config.svh"
`ifndef SEED
`define SEED 32'h1234_5678
`endif
module tb_diannao;
  localparam integer LogitWidth = `LOGIT_WIDTH;
  localparam integer Classes = `CLASSES;
  localparam integer Pixels = `PIXELS;
  localparam integer Images = `IMAGES;
  localparam integer Layers = `LAYERS;
  localparam integer LayerBits = `LAYER_BITS;
  localparam integer Timeout = `TIMEOUT;
  localparam integer TailCycles = 64;
  localparam integer ResetDelay = 7;

  reg clk = 1'b0;
  reg rst_n = 1'b0;
  reg [7:0] in_data;
  reg in_valid;
  reg in_last;
  wire in_ready;
  wire [LogitWidth - 1:0] out_data;
  wire out_valid;
  reg out_ready;
  wire out_last;
  wire computing;
  wire [LayerBits - 1:0] layer;

  `DUT dut (
    .clk_i(clk), .rst_ni(rst_n),
    .in_tdata_i(in_data), .in_tvalid_i(in_valid), .in_tready_o(in_ready), .in_tlast_i(in_last),
    .out_tdata_o(out_data), .out_tvalid_o(out_valid), .out_tready_i(out_ready), .out_tlast_o(out_last),
    .computing_o(computing), .layer_o(layer));

  always #5 clk = ~clk;

  reg [31:0] state;
  `include "xorshift.svh"

  reg [7:0] pixels [0:Images * Pixels - 1];
  reg [LogitWidth - 1:0] expected [0:Images * Classes - 1];
  reg [7:0] labels [0:Images - 1];
  integer layer_cycles [0:Layers - 1];
  integer sent, received, passed, failed, correct, cycles, compute_cycles, l;
  integer starts, first_start, last_start, first_pixel, latency;
  integer end_cycles, extra;  // the cycle of the last expected logit; beats after it
  // The mid-stream reset: 0 armed, 1 due at reset_at, 2 held for reset_hold cycles, 3 done (or no reset); the
  // images wholly received before it (the cycle figures average over the rest).
  integer reset_phase, reset_at, reset_hold, done_before, reset_cycle;
  reg was_reset;
  integer started, word;  // the layer check's image (starts seen) and word
  integer image, best;
  // How many of the IMAGES images to run: +images=N, at most IMAGES.
  integer images;
  reg image_ok;
  reg signed [LogitWidth - 1:0] best_value;
  reg want_last;
  reg in_ready_seen;

  initial begin
`ifdef DUMP
    $dumpfile("wave.vcd");
    $dumpvars(0, tb_diannao);
`endif
    images = Images;
    if ($value$plusargs("images=%d", images) && (images < 1 || images > Images))
      $fatal(1, "+images=%0d: the bench holds 1 to %0d images", images, Images);
    $readmemh("vectors/images.hex", pixels);
    $readmemh("vectors/logits.hex", expected);
    $readmemh("vectors/labels.hex", labels);
    state = `SEED;
    sent = 0; received = 0; passed = 0; failed = 0; correct = 0; cycles = 0; compute_cycles = 0;
    starts = 0; first_start = 0; last_start = 0; first_pixel = -1; latency = 0; end_cycles = 0; extra = 0;
    reset_phase = images >= 3 ? 0 : 3; reset_at = 0; reset_hold = 0; done_before = 0; reset_cycle = 0;
    was_reset = 1'b0;
    image_ok = 1'b1; best = 0; best_value = {LogitWidth{1'b0}};
    for (l = 0; l < Layers; l = l + 1) layer_cycles[l] = 0;
    in_ready_seen = 1'b0;
    in_valid = 1'b0; in_last = 1'b0; in_data = 8'd0; out_ready = 1'b0;
    #22 rst_n = 1'b1;
  end

  // Driver: a new pixel after a handshake, with a gap one time in four; tlast on an image's last pixel. The
  // mid-stream reset rewinds the stream to the first image not wholly received.
  always @(negedge clk) begin
    if (reset_phase == 1 && cycles >= reset_at) begin
      rst_n = 1'b0; was_reset = 1'b1;
      reset_phase = 2; reset_hold = 4;
      done_before = received / Classes;
      sent = done_before * Pixels; received = done_before * Classes;
      in_valid = 1'b0; in_last = 1'b0; out_ready = 1'b0; image_ok = 1'b1;
      compute_cycles = 0; starts = 0; first_pixel = -1; reset_cycle = cycles;
      for (l = 0; l < Layers; l = l + 1) layer_cycles[l] = 0;
`ifdef DEBUG_LAYERS
      started = done_before;
`endif
    end else if (reset_phase == 2) begin
      reset_hold = reset_hold - 1;
      if (reset_hold == 0) begin
        rst_n = 1'b1; reset_phase = 3;
      end
    end
    if (rst_n) begin
      if (!in_valid || in_ready_seen) begin
        in_valid = 1'b0;
        state = xorshift(state);
        if (sent < images * Pixels && state[1:0] != 2'd0) begin
          in_data = pixels[sent];
          in_last = sent % Pixels == Pixels - 1;
          in_valid = 1'b1;
          sent = sent + 1;
        end
      end
      // Back-pressure: the consumer is ready three cycles in four.
      state = xorshift(state);
      out_ready = state[3:2] != 2'd0;
    end
  end

  always @(posedge clk) in_ready_seen <= in_valid && in_ready;

  integer layer_checked, layer_failed;
  initial begin
    layer_checked = 0; layer_failed = 0;
  end
`ifdef DEBUG_LAYERS
  reg [`WORD_BITS - 1:0] layer_words [0:Images * `LAYER_WORDS - 1];
  reg [31:0] layer_offsets [0:Layers - 1];
  initial begin
    $readmemh("vectors/layers.hex", layer_words);
    $readmemh("vectors/layer_offsets.hex", layer_offsets);
    started = 0;
  end
  // Every buffer write of image `started - 1`, against the golden model's codes of the layer running.
  always @(posedge clk) begin
    if (rst_n) begin
      if (dut.u_core.start_q) started = started + 1;
      if (dut.u_core.buf_write && layer_offsets[layer] != 32'hffff_ffff) begin
        word = (started - 1) * `LAYER_WORDS + layer_offsets[layer] + {{(32 - `ACT_ADDR_BITS){1'b0}}, dut.u_core.buf_addr};
        layer_checked = layer_checked + 1;
        if (dut.u_core.buf_data !== layer_words[word]) begin
          layer_failed = layer_failed + 1;
          if (layer_failed <= 10) $display("FAIL layer %0d image %0d word %0d: got %h, expected %h", layer, started - 1,
                                           dut.u_core.buf_addr, dut.u_core.buf_data, layer_words[word]);
        end
      end
    end
  end
`endif

  always @(posedge clk) begin
    if (rst_n) begin
      cycles = cycles + 1;
      if (in_valid && in_ready && first_pixel < 0) first_pixel = cycles;
      if (dut.u_core.start_q) begin
        if (starts == 0) first_start = cycles;
        last_start = cycles;
        starts = starts + 1;
        if (starts == 2 && reset_phase == 0) begin
          reset_phase = 1; reset_at = cycles + ResetDelay;
        end
      end
      if (computing) begin
        compute_cycles = compute_cycles + 1;
        layer_cycles[layer] = layer_cycles[layer] + 1;
      end
      if (out_valid && out_ready && received == images * Classes) begin
        extra = extra + 1;
        $display("FAIL a logit beat after the last expected one: %0d (tlast %0d)", $signed(out_data), out_last);
      end else if (out_valid && out_ready) begin
        image = received / Classes;
        want_last = received % Classes == Classes - 1;
        if (out_data !== expected[received] || out_last !== want_last) begin
          image_ok = 1'b0;
          $display("FAIL image %0d logit %0d: got %0d (tlast %0d), expected %0d (tlast %0d)", image, received % Classes,
                   $signed(out_data), out_last, $signed(expected[received]), want_last);
        end
        // The prediction: the largest logit, the lowest index among equals.
        if (received % Classes == 0 || $signed(out_data) > best_value) begin
          best = received % Classes;
          best_value = $signed(out_data);
        end
        if (want_last) begin
          if (image == done_before) latency = cycles - first_pixel + 1;
          if (image_ok) passed = passed + 1; else failed = failed + 1;
          if (best == {24'd0, labels[image]}) correct = correct + 1;
          image_ok = 1'b1;
        end
        received = received + 1;
        if (received == images * Classes) end_cycles = cycles;

      end
      if ((received == images * Classes && cycles >= end_cycles + TailCycles) || cycles - reset_cycle > Timeout) begin
        if (received != images * Classes) begin
          failed = failed + images - received / Classes;
          $display("timeout after %0d cycles: %0d of %0d logits received", cycles, received, images * Classes);
        end
        $display("accuracy %0d of %0d", correct, images);
        for (l = 0; l < Layers; l = l + 1) $display("layer %0d cycles %0d", l, layer_cycles[l] / (images - done_before));
        $display("compute cycles %0d", compute_cycles / (images - done_before));
        if (was_reset) $display("reset mid-stream, restarted at image %0d", done_before);
        if (received != images * Classes) end_cycles = cycles;
        $display("cycles per inference %0d", (end_cycles - reset_cycle) / (images - done_before));
        if (starts > 1) $display("interval cycles %0d", (last_start - first_start) / (starts - 1));
        $display("latency cycles %0d", latency);
        if (layer_checked > 0) $display("layer words: %0d checked, %0d mismatched", layer_checked, layer_failed);
        if ((layer_failed != 0 || extra != 0) && failed == 0) failed = 1;
        $display("%0d passed, %0d failed", passed, failed);
        $display("cycles %0d", end_cycles);
        if (failed != 0) $fatal(1, "accelerator: %0d of %0d images failed", failed, images);
        $finish;
      end
    end
  end
endmodule
