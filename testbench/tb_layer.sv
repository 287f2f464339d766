// Self-checking bench of a generated layer unit (approxrtl generate): streams VECTORS input vectors of FAN codes
// (+vectors=N: the first N of them) from vectors/input.hex with random gaps, frames of FRAME vectors (in_tlast on a frame's last code), takes the
// results against random back-pressure and compares every output code with vectors/expected.hex, which the golden
// model wrote. tb_config.svh (written by the generator) defines DUT and the sizes. Prints "N passed, M failed" and
// the cycle count; ends with $fatal on any mismatch (!==: X and Z bits fail), a wrong tlast, a code after the last
// expected one (the bench watches 64 cycles more) or a timeout. With more than one frame, the bench resets the unit
// mid-stream (rst_ni low for 3 cycles, 3 cycles into the computation of a batch after the first frame's codes are
// out) and then replays the whole stream with the same gaps and back-pressure: the run after the reset must be a
// clean run (its codes and its cycles, counted from the reset, are the ones reported); failures before the reset
// are reported apart and fail the bench as well.
// +define+DUMP writes wave.vcd.
`include "tb_config.svh"
`ifndef SEED
`define SEED 32'h1234_5678
`endif
module tb_layer;
  localparam integer InWidth = `IN_WIDTH;
  localparam integer OutWidth = `OUT_WIDTH;
  localparam integer Fan = `FAN;
  localparam integer Channels = `CHANNELS;
  localparam integer Vectors = `VECTORS;
  localparam integer Frame = `FRAME;
  localparam integer Timeout = `TIMEOUT;
  localparam integer Compute = `COMPUTE;  // the generator's compute cycles per batch

  reg clk = 1'b0;
  reg rst_n = 1'b0;
  reg [InWidth - 1:0] in_data;
  reg in_valid;
  reg in_last;
  wire in_ready;
  wire [OutWidth - 1:0] out_data;
  wire out_valid;
  reg out_ready;
  wire out_last;

  `DUT dut (
    .clk_i(clk), .rst_ni(rst_n),
    .in_tdata_i(in_data), .in_tvalid_i(in_valid), .in_tready_o(in_ready), .in_tlast_i(in_last),
    .out_tdata_o(out_data), .out_tvalid_o(out_valid), .out_tready_i(out_ready), .out_tlast_o(out_last));

  always #5 clk = ~clk;

  reg [31:0] state;
  `include "xorshift.svh"

  reg [InWidth - 1:0] inputs [0:Vectors * Fan - 1];
  reg [OutWidth - 1:0] expected [0:Vectors * Channels - 1];
  // How many of the VECTORS vectors to run: +vectors=N, at most VECTORS.
  integer vectors;
  integer sent;
  integer received;
  integer passed;
  integer failed;
  integer cycles;
  integer busy;     // cycles of the batch computing so far: neither loading nor draining
  integer end_cycles;  // the cycle of the last expected code
  reg want_last;
  reg in_ready_seen;
  reg reset_request;  // reset at the next falling edge
  reg reset_done;
  integer reset_hold;  // falling edges left with rst_n low
  integer failed_before_reset;

  initial begin
`ifdef DUMP
    $dumpfile("wave.vcd");
    $dumpvars(0, tb_layer);
`endif
    vectors = Vectors;
    if ($value$plusargs("vectors=%d", vectors) && (vectors < 1 || vectors > Vectors))
      $fatal(1, "+vectors=%0d: the bench holds 1 to %0d vectors", vectors, Vectors);
    $readmemh("vectors/input.hex", inputs);
    $readmemh("vectors/expected.hex", expected);
    state = `SEED;
    sent = 0; received = 0; passed = 0; failed = 0; cycles = 0; busy = 0; end_cycles = 0;
    in_ready_seen = 1'b0; reset_request = 1'b0; reset_done = 1'b0; reset_hold = 0;
    failed_before_reset = 0;
    in_valid = 1'b0; in_last = 1'b0; in_data = {InWidth{1'b0}}; out_ready = 1'b0;
    #22 rst_n = 1'b1;
  end

  // Driver: a new beat after a handshake, with a gap one time in four; tlast on the last code of a frame.
  always @(negedge clk) begin
    if (reset_request) begin
      // Mid-stream reset: the buses go idle with the reset.
      reset_request = 1'b0; reset_done = 1'b1; reset_hold = 3;
      rst_n = 1'b0; in_valid = 1'b0; in_last = 1'b0; out_ready = 1'b0;
      $display("reset mid-stream after %0d cycles (%0d of %0d codes out); the stream restarts", cycles, received,
               vectors * Channels);
    end else if (reset_hold > 0) begin
      reset_hold = reset_hold - 1;
      if (reset_hold == 0) begin
        // The clean restart: everything a fresh run starts from, but the failures seen so far.
        state = `SEED;
        failed_before_reset = failed;
        sent = 0; received = 0; passed = 0; failed = 0; cycles = 0; busy = 0; end_cycles = 0;
        rst_n = 1'b1;
      end
    end else if (rst_n) begin
      if (!in_valid || in_ready_seen) begin
        in_valid = 1'b0;
        state = xorshift(state);
        if (sent < vectors * Fan && state[1:0] != 2'd0) begin
          in_data = inputs[sent];
          in_last = (sent % Fan == Fan - 1) && ((sent / Fan) % Frame == Frame - 1 || sent / Fan == vectors - 1);
          in_valid = 1'b1;
          sent = sent + 1;
        end
      end
      // Back-pressure: the consumer is ready three cycles in four.
      state = xorshift(state);
      out_ready = state[3:2] != 2'd0;
    end
  end

  // The beat on the bus is taken at the rising edge when valid and ready; the driver learns it at the next falling edge.
  always @(posedge clk) in_ready_seen <= in_valid && in_ready;

  always @(posedge clk) begin
    if (rst_n) begin
      cycles = cycles + 1;
      // Every batch computes for exactly the cycles the generator's model says.
      if (!in_ready && !out_valid) busy = busy + 1;
      else if (busy != 0) begin
        if (busy != Compute) begin
          failed = failed + 1;
          $display("FAIL a batch computed for %0d cycles, the generator says %0d", busy, Compute);
        end
        busy = 0;
      end
      // The reset falls three cycles into the computation of a batch after the first frame's codes are out, while
      // the unit's addresses and counters have moved (half way for a batch shorter than six cycles).
      if (!reset_done && vectors > Frame && received >= Frame * Channels && busy == (Compute < 6 ? (Compute + 1) / 2 : 3))
        reset_request = 1'b1;
      if (out_valid && out_ready && received == vectors * Channels) begin
        failed = failed + 1;
        $display("FAIL a code after the last expected one: %0d (tlast %0d)", $signed(out_data), out_last);
      end else if (out_valid && out_ready) begin
        want_last = (received % Channels == Channels - 1) && ((received / Channels) % Frame == Frame - 1 || received / Channels == vectors - 1);
        if (out_data === expected[received] && out_last === want_last) passed = passed + 1;
        else begin
          failed = failed + 1;
          if (failed <= 10) $display("FAIL vector %0d channel %0d: got %0d (tlast %0d), expected %0d (tlast %0d)", received / Channels,
                                     received % Channels, $signed(out_data), out_last, $signed(expected[received]), want_last);
        end
        received = received + 1;
        if (received == vectors * Channels) end_cycles = cycles;

      end
      if ((received == vectors * Channels && cycles >= end_cycles + 64) || cycles > Timeout) begin
        if (received != vectors * Channels) begin
          failed = failed + vectors * Channels - received;
          $display("timeout after %0d cycles: %0d of %0d codes received", cycles, received, vectors * Channels);
        end
        if (received != vectors * Channels) end_cycles = cycles;
        if (failed_before_reset != 0) $display("%0d failed before the reset", failed_before_reset);
        $display("%0d passed, %0d failed", passed, failed);
        $display("cycles %0d", end_cycles);
        if (failed + failed_before_reset != 0) $fatal(1, "layer unit: %0d failures", failed + failed_before_reset);
        $finish;
      end
    end
  end
endmodule
