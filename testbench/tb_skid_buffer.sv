// Self-checking bench of rtl/skid_buffer.v: a producer with random gaps (data held until accepted) and a
// consumer with random back-pressure; every beat must come out once, in order, and a stream with no gaps and no
// back-pressure must pass one beat per cycle. Deterministic (xorshift, seeded) under both simulators.
`ifndef COUNT
`define COUNT 2000
`endif
module tb_skid_buffer;
  localparam integer Count = `COUNT;
  reg clk = 1'b0;
  reg rst_n = 1'b0;
  reg [15:0] in_data;
  reg in_valid;
  wire in_ready;
  wire [15:0] out_data;
  wire out_valid;
  reg out_ready;

  approxrtl_skid_buffer #(.Width(16)) dut (
    .clk_i(clk), .rst_ni(rst_n), .in_tdata_i(in_data), .in_tvalid_i(in_valid), .in_tready_o(in_ready),
    .out_tdata_o(out_data), .out_tvalid_o(out_valid), .out_tready_i(out_ready));

  always #5 clk = ~clk;

  reg [31:0] state;
  `include "xorshift.svh"

  integer sent;
  integer received;
  integer passed;
  integer failed;
  integer phase;   // 0: random gaps and back-pressure; 1: full rate
  integer cycles;

  initial begin
    state = 32'h1234_5678;
    sent = 0; received = 0; passed = 0; failed = 0; phase = 0; cycles = 0;
    in_valid = 1'b0; in_data = 16'd0; out_ready = 1'b0;
    #22 rst_n = 1'b1;
  end

  // Drive on the falling edge, sample on the rising one.
  always @(negedge clk) begin
    if (rst_n) begin
      state = xorshift(state);
      if (!in_valid || in_ready_seen) begin
        if (sent < Count && (phase == 1 || state[3:0] > 4'd4)) begin
          in_valid = 1'b1;
          in_data = sent[15:0] ^ 16'ha5a5;
        end else begin
          in_valid = 1'b0;
        end
      end
      out_ready = phase == 1 ? 1'b1 : state[7:4] > 4'd5;
    end
  end

  reg in_ready_seen;
  always @(posedge clk) begin
    in_ready_seen <= 1'b0;
    if (rst_n) begin
      cycles = cycles + 1;
      if (in_valid && in_ready) begin
        sent = sent + 1;
        in_ready_seen <= 1'b1;
      end
      if (out_valid && out_ready) begin
        if (out_data === (received[15:0] ^ 16'ha5a5)) passed = passed + 1;
        else begin
          failed = failed + 1;
          if (failed <= 10) $display("FAIL beat %0d: got %h, expected %h", received, out_data, received[15:0] ^ 16'ha5a5);
        end
        received = received + 1;
      end
      if (received == Count && phase == 0) begin
        // Second phase: the same count again at full rate must take Count + 2 cycles at most.
        phase = 1; sent = 0; received = 0; cycles = 0;
      end else if (received == Count && phase == 1) begin
        if (cycles > Count + 2) begin
          failed = failed + 1;
          $display("FAIL throughput: %0d beats took %0d cycles", Count, cycles);
        end
        $display("%0d passed, %0d failed", passed, failed);
        if (failed != 0) $fatal(1, "skid_buffer: %0d failures", failed);
        $finish;
      end
      if (cycles > 20 * Count) begin
        $display("%0d passed, %0d failed", passed, failed + 1);
        $fatal(1, "skid_buffer: stalled after %0d beats", received);
      end
    end
  end
endmodule
