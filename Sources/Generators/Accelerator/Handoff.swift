/// The handoff files of an accelerator folder: FuseSoC core, Yosys script, clock constraint stub and README.
public enum Handoff {
    static func files(manifest m: AcceleratorManifest) -> [(String, String)] {
        [("\(m.top).core", core(m)), ("synth.ys", yosys(m)), ("constraints.sdc", sdc(m)), ("README.md", readme(m))]
    }

    /// The FuseSoC core: filesets and the default, sim and synth targets.
    static func core(_ m: AcceleratorManifest) -> String {
        let memories = ["mem/weights.hex", "mem/params.hex", "mem/program.hex", "mem/tiles.hex", "mem/tables.hex"]
        let vectors = ["vectors/images.hex", "vectors/logits.hex", "vectors/labels.hex"]
        return """
            CAPI=2:
            # FuseSoC core of a generated DianNao-style accelerator (approxrtl generate --arch diannao).
            # The ROM images under mem/ are read by $readmemh relative to the working directory (copied there).
            name: approxrtl:accelerator:\(m.top):1.0.0
            description: \(m.model) on a DianNao-style accelerator, Tn = \(m.config.tn)

            filesets:
              rtl:
                file_type: verilogSource
                files:
            \(m.rtl.map { "      - \($0)" }.joined(separator: "\n"))
              mem:
                file_type: user
                files:
            \(memories.map { "      - \($0): {copyto: \($0)}" }.joined(separator: "\n"))
              bench:
                file_type: systemVerilogSource
                files:
                  - tb/tb_config.svh: {is_include_file: true}
                  - tb/xorshift.svh: {is_include_file: true}
                  - tb/\(m.bench).sv
              vectors:
                file_type: user
                files:
            \(vectors.map { "      - \($0): {copyto: \($0)}" }.joined(separator: "\n"))

            targets:
              default:
                filesets: [rtl, mem]
                toplevel: \(m.top)
              sim:
                default_tool: icarus
                filesets: [rtl, mem, bench, vectors]
                toplevel: \(m.bench)
                tools:
                  icarus:
                    iverilog_options: [-g2012]
              synth:
                default_tool: yosys
                filesets: [rtl, mem]
                toplevel: \(m.top)
                tools:
                  yosys:
                    arch: ice40

            """
    }

    /// The Yosys script: runs from the folder as shipped (it writes next to itself, into no folder it must make).
    static func yosys(_ m: AcceleratorManifest) -> String {
        """
        # Yosys synthesis of \(m.top) for a Lattice iCE40 (run from this folder: yosys -s synth.ys).
        # For another part, replace synth_ice40 with the family's synth_* command (approxrtl synth DIR --target ecp5
        # runs synth_ecp5 and nextpnr-ecp5).
        read_verilog -defer \(m.rtl.joined(separator: " "))
        hierarchy -top \(m.top)
        synth_ice40 -top \(m.top) -json \(m.top).ice40.json
        stat

        """
    }

    static func sdc(_ m: AcceleratorManifest) -> String { constraints(top: m.top, met: nil) }

    /// The clock constraint: a stub of 10 ns until a place and route met a clock (`met`: the part and the
    /// routed Fmax in MHz), then that clock's period, rounded up to the picosecond.
    public static func constraints(top: String, met: (part: String, fmaxMHz: Double)?) -> String {
        let comment: String, period: Double
        if let met {
            period = (1_000_000 / met.fmaxMHz).rounded(.up) / 1000
            comment = String(format: "# Clock of %@ on clk_i: the %.1f MHz nextpnr-ecp5 met on the %@ (approxrtl synth --target ecp5).",
                             top, met.fmaxMHz, met.part)
        } else {
            (period, comment) = (10, "# Clock constraint stub for \(top): one clock on clk_i. Set the period for your part and target.")
        }
        return """
            \(comment)
            create_clock -name clk -period \(String(format: "%.3f", period)) [get_ports clk_i]
            # The AXI4-Stream ports are synchronous to clk_i; rst_ni is asynchronous (active low).
            set_false_path -from [get_ports rst_ni]

            """
    }

    /// The folder's README: what the design is, its files, how to simulate it.
    static func readme(_ m: AcceleratorManifest) -> String {
        let mac = m.macArray ? "\(m.config.tn * m.config.tn) NFU-1 lanes (\(m.dataWidth) x \(m.weightWidth) bits) and \(m.config.tn) adder trees" : "no NFU-1 multipliers"
        let reuse = m.config.reuse ? ", \(m.config.tn) M1 reuse lanes (\(m.stepMultipliers) rank-step multipliers)" : ""
        let tables = m.activationTables > 0 ? ", NFU-3 activation tables for \(m.activationTables) layers (\(m.config.tn) slope multipliers)" : ""
        let units = "\(m.multipliers) multipliers in all; \(mac)\(reuse)\(tables)"
        return """
            # \(m.top)

            A DianNao-style accelerator for `\(m.model)`, generated by `approxrtl generate --arch diannao`
            (docs/accelerator.md in the approxrtl repository describes the design, the program and the interfaces).

            - Tn = \(m.config.tn): \(units), \(m.accumulatorWidth)-bit accumulators.
            - Image in: AXI4-Stream `in_t*`, one 8-bit pixel per beat, row by row. Logits out: AXI4-Stream `out_t*`,
              one \(m.logitWidth)-bit logit code per beat, tlast on the last class.
            - \(m.computeCycles) compute cycles per image (plus one cycle per pixel loaded and per logit sent).
            - Buffers: two activation buffers of \(m.activationWords) words x \(m.config.tn * m.dataWidth) bits, SB of
              \(m.weightWords) words x \(m.weightBufferBits / max(1, m.weightWords)) bits, bias/shift ROM of \(m.paramWords) words.

            | file | what |
            |---|---|
            | rtl/ | the design, one module per file; `\(m.top)` is the top |
            | mem/ | ROM images read by `$readmemh` (weights, biases and shifts, program, tile descriptors), relative to the working directory |
            | files.f | the RTL in compile order |
            | \(m.top).core | FuseSoC core (targets default, sim, synth) |
            | synth.ys | Yosys script for iCE40 |
            | constraints.sdc | clock constraint stub |
            | tb/, vectors/ | the self-checking bench: \(m.images) test images against the golden model's logits |
            | report.json, report.html | resources, Fmax estimate, cycles, accuracy (written by `approxrtl sim` and `approxrtl synth`) |

            Simulate: `iverilog -g2012 -Itb -o tb.vvp $(cat files.f) tb/\(m.bench).sv && vvp tb.vvp`, or
            `verilator --binary -Itb --top-module \(m.bench) $(cat files.f) tb/\(m.bench).sv && obj_dir/V\(m.bench)`.

            """
    }
}
