/// The handoff files every design folder carries (layer units and accelerators alike): a FuseSoC core whose
/// targets run as shipped, a Yosys script, the clock constraint. The README is each generator's own.
public struct Handoff: Sendable {
    /// The core's VLNV name is `approxrtl:<library>:<top>`.
    public var library: String
    public var top: String
    /// The bench module, tb/<bench>.sv.
    public var bench: String
    public var description: String
    /// RTL in compile order, relative to the folder.
    public var rtl: [String]
    /// ROM images the RTL reads by $readmemh relative to the working directory.
    public var memories: [String]
    /// The bench's test vectors (read relative to the working directory too).
    public var vectors: [String]
    /// The bench's plusarg that runs the first N of its vectors (`images` or `vectors`).
    public var countPlusarg: String
    /// The ECP5 part for the core's ecp5 target (LFE5U-25F, -45F or -85F).
    public var part: String

    public init(
        library: String, top: String, bench: String, description: String, rtl: [String], memories: [String],
        vectors: [String], countPlusarg: String, part: String?
    ) {
        self.library = library; self.top = top; self.bench = bench; self.description = description; self.rtl = rtl
        self.memories = memories; self.vectors = vectors; self.countPlusarg = countPlusarg
        self.part = part ?? "LFE5U-85F"
    }

    /// The ECP5 target aims at this clock (MHz) and writes the bitstream whatever it meets: nextpnr's log
    /// (next.log) says the Fmax it reached, as `approxrtl synth --target ecp5` does.
    public static let ecp5TargetMHz = 150

    /// The core, the Yosys script and the constraints, by path.
    public var files: [(String, String)] {
        [("\(top).core", core), ("synth.ys", yosys), ("constraints.sdc", Handoff.constraints(top: top, met: nil))]
    }

    /// nextpnr-ecp5's device flag for `part` (LFE5U-85F -> --85k).
    var deviceFlag: String { "--" + part.dropFirst("LFE5U-".count).dropLast().lowercased() + "k" }

    /// The FuseSoC core: filesets; targets default, sim (Icarus or Verilator), lint (Verilator -Wall), synth (Yosys
    /// for iCE40) and ecp5 (Yosys, nextpnr-ecp5 and ecppack: Project Trellis).
    public var core: String {
        func list(_ paths: [String], _ attributes: String = "") -> String {
            paths.map { "      - \($0)\(attributes.isEmpty ? "" : ": {\(attributes)}")" }.joined(separator: "\n")
        }
        func copied(_ paths: [String]) -> String {
            paths.map { "      - \($0): {copyto: \($0)}" }.joined(separator: "\n")
        }
        return """
            CAPI=2:
            # FuseSoC core written by approxrtl generate. The ROM images under mem/ and the bench's vectors are read by
            # $readmemh relative to the working directory (copied there). `fusesoc run --target sim [--tool verilator]`
            # runs the self-checking bench; `--\(countPlusarg) N` runs its first N \(countPlusarg).
            name: approxrtl:\(library):\(top):1.0.0
            description: \(description)

            filesets:
              rtl:
                file_type: verilogSource
                files:
            \(list(rtl))
              mem:
                file_type: user
                files:
            \(copied(memories))
              bench:
                file_type: systemVerilogSource
                files:
            \(list(["tb/tb_config.svh", "tb/xorshift.svh"], "is_include_file: true"))
                  - tb/\(bench).sv
              vectors:
                file_type: user
                files:
            \(copied(vectors))

            parameters:
              \(countPlusarg):
                datatype: int
                paramtype: plusarg
                description: run the first N of the bench's \(countPlusarg)

            targets:
              default:
                filesets: [rtl, mem]
                toplevel: \(top)
              sim:
                default_tool: icarus
                filesets: [rtl, mem, bench, vectors]
                parameters: [\(countPlusarg)]
                toplevel: \(bench)
                tools:
                  icarus:
                    iverilog_options: [-g2012]
                  verilator:
                    mode: binary
                    verilator_options: [-O3]
                    make_options: [OPT_FAST=-O2]
              lint:
                default_tool: verilator
                filesets: [rtl]
                toplevel: \(top)
                tools:
                  verilator:
                    mode: lint-only
                    verilator_options: [-Wall]
              synth:
                default_tool: yosys
                filesets: [rtl, mem]
                toplevel: \(top)
                tools:
                  yosys:
                    arch: ice40
              ecp5:
                default_tool: trellis
                filesets: [rtl, mem]
                toplevel: \(top)
                tools:
                  trellis:
                    nextpnr_options: [\(deviceFlag), --package, CABGA381, --freq, '\(Handoff.ecp5TargetMHz)', --timing-allow-fail]

            """
    }

    /// The Yosys script: runs from the folder as shipped (it writes next to itself, into no folder it must make).
    public var yosys: String {
        """
        # Yosys synthesis of \(top) for a Lattice iCE40 (run from this folder: yosys -s synth.ys).
        # For another part, replace synth_ice40 with the family's synth_* command (approxrtl synth DIR --target ecp5
        # runs synth_ecp5 and nextpnr-ecp5; `fusesoc run --target ecp5` does too).
        read_verilog -defer \(rtl.joined(separator: " "))
        hierarchy -top \(top)
        synth_ice40 -top \(top) -json \(top).ice40.json
        stat

        """
    }

    /// The clock constraint: a stub of 10 ns until a place and route met a clock (`met`: the part and the
    /// routed Fmax in MHz), then that clock's period, rounded up to the picosecond.
    public static func constraints(top: String, met: (part: String, fmaxMHz: Double)?) -> String {
        let comment: String, period: Double
        if let met {
            period = (1_000_000 / met.fmaxMHz).rounded(.up) / 1000
            comment = String(
                format:
                    "# Clock of %@ on clk_i: the %.1f MHz nextpnr-ecp5 met on the %@ (approxrtl synth --target ecp5).",
                top, met.fmaxMHz, met.part)
        } else {
            (period, comment) = (
                10, "# Clock constraint stub for \(top): one clock on clk_i. Set the period for your part and target."
            )
        }
        return """
            \(comment)
            create_clock -name clk -period \(String(format: "%.3f", period)) [get_ports clk_i]
            # The AXI4-Stream ports are synchronous to clk_i; rst_ni is asynchronous (active low).
            set_false_path -from [get_ports rst_ni]

            """
    }

    /// The README's table rows for the handoff files and how to run them.
    public var readmeRows: String {
        """
        | files.f | the RTL in compile order |
        | \(top).core | FuseSoC core: targets default, sim (Icarus, or `--tool verilator`), lint (Verilator -Wall), synth (Yosys, iCE40), ecp5 (Yosys, nextpnr-ecp5, ecppack; \(part)) |
        | synth.ys | Yosys script for iCE40 |
        | constraints.sdc | the clock (a 10 ns stub until `approxrtl synth --target ecp5` writes the clock it met) |
        """
    }

    /// How to run the bench: by hand under both simulators, and through FuseSoC.
    public var runInstructions: String {
        """
        Simulate: `iverilog -g2012 -Itb -o tb.vvp $(cat files.f) tb/\(bench).sv && vvp tb.vvp`, or
        `verilator --binary -O3 -MAKEFLAGS OPT_FAST=-O2 -Itb --top-module \(bench) $(cat files.f) tb/\(bench).sv && obj_dir/V\(bench)`
        (`+\(countPlusarg)=N` runs the first N \(countPlusarg)). With FuseSoC:
        `fusesoc --cores-root . run --target sim [--tool verilator] approxrtl:\(library):\(top)`; the same with
        `--target lint`, `--target synth` or `--target ecp5`.
        """
    }
}
