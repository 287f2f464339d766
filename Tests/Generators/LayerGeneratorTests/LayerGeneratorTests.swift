import Approximation
import EDAFlows
import Foundation
import GoldenModel
import LayerGenerator
import Quantization
import RTLSources
import TestSupport
import XCTest

/// The layer generators on small random networks, where every construct shows up quickly: each weighted layer,
/// both architectures, M1 with contiguous and gapped ranks, M2 with uniform and power-of-two codes. The bundled
/// LeNet-5 runs the same checks at full size in `make rtl-check`.
final class LayerGeneratorTests: XCTestCase {
    static let methods: [(String, Method)] = {
        var kernel = SortedWeightOptions()
        kernel.degree = .linear; kernel.grouping = .kernel; kernel.segments = 3; kernel.boundaries = .equal
        var layer = SortedWeightOptions()
        layer.degree = .quadratic; layer.grouping = .layer; layer.segments = 7; layer.boundaries = .optimal;
        layer.coefficientBits = 10
        var pow2 = ScalingWeightOptions()
        pow2.codebook = .pow2; pow2.codeBits = 3; pow2.threshold = 0.1
        var uniform = ScalingWeightOptions()
        uniform.codebook = .uniform; uniform.codeBits = 2
        return [
            ("linear kernel 3", .sortedWeights(kernel)), ("quadratic layer 7", .sortedWeights(layer)),
            ("swc pow2 3", .scalingWeights(pow2)), ("swc uniform 2", .scalingWeights(uniform)),
        ]
    }()

    static func model(seed: UInt64, method: Method?) throws -> (QuantizedModel, GoldenModel, [UInt8]) {
        let graph = try RandomNetworks.graph(seed: seed)
        let shape = graph.nodes[0].shape
        var model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
        if let method { model = try ModelCompressor.compress(model, method: method, maxAccumulatorBits: 40) }
        return (model, try GoldenModel(model), RandomNetworks.images(3, shape: shape, seed: seed &+ 77).pixels)
    }

    static func design(
        _ model: QuantizedModel, _ golden: GoldenModel, pixels: [UInt8], layer: String, arch: Architecture,
        lanes: Int = 3, multipliers: Int? = nil, vectors: Int = 12
    ) throws -> LayerDesign {
        let inputs = try LayerStimulus.vectors(golden: golden, layer: layer, pixels: pixels, images: 3, count: vectors)
        return try LayerDesign.generate(
            model: model, modelName: "random", layer: layer, arch: arch, lanes: lanes, multipliers: multipliers,
            inputs: inputs, frame: 4)
    }

    static func write(_ design: LayerDesign, to directory: URL) throws {
        for (path, data) in design.files {
            let url = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }

    static func weighted(_ model: QuantizedModel) -> [String] {
        model.layers.filter { $0.kind == .conv2d || $0.kind == .dense }.map(\.name)
    }

    /// Lint (Verilator -Wall, Icarus -Wall, no waivers) and the bench under Icarus: every layer, both arches, four
    /// methods, two networks; odd lane counts and a pool of several multipliers on the way.
    func testEveryLayerIsLintCleanAndBitExactUnderIcarus() throws {
        let root = try makeTemporaryDirectory("layer-units")
        defer { try? FileManager.default.removeItem(at: root) }
        var simulated = 0
        for seed in UInt64(1)...2 {
            for (name, method) in Self.methods {
                let (model, golden, pixels) = try Self.model(seed: seed, method: method)
                for layer in Self.weighted(model) {
                    for arch in Architecture.allCases {
                        let lanes = arch == .reuse && seed == 2 ? 4 : 3
                        let design = try Self.design(
                            model, golden, pixels: pixels, layer: layer, arch: arch, lanes: lanes,
                            multipliers: arch == .reuse && seed == 2 ? 2 : nil)
                        let directory = root.appendingPathComponent("\(seed)-\(simulated)")
                        try Self.write(design, to: directory)
                        let context = "seed \(seed), \(name), \(layer), \(arch)"
                        let lint = try runProcess(
                            "verilator",
                            ["--lint-only", "-Wall", "--top-module", design.manifest.top] + design.manifest.rtl,
                            in: directory)
                        XCTAssertEqual(lint.status, 0, "\(context): \(lint.output)")
                        let icarus = try runProcess(
                            "iverilog", ["-g2005", "-Wall", "-o", "/dev/null"] + design.manifest.rtl, in: directory)
                        XCTAssertTrue(icarus.status == 0 && icarus.output.isEmpty, "\(context): \(icarus.output)")
                        let outcome = try Simulator.iverilog.run(directory: directory)
                        XCTAssertTrue(outcome.ok, "\(context):\n\(outcome.log.suffix(2000))")
                        XCTAssertEqual(outcome.passed, 12 * design.manifest.channels, context)
                        XCTAssertTrue(outcome.log.contains("reset mid-stream"), context)
                        simulated += 1
                    }
                }
            }
        }
        XCTAssertGreaterThanOrEqual(simulated, 2 * Self.methods.count * 2 * 2)
    }

    /// The same bench under Verilator for one design per method, and a corrupted expected value fails both
    /// simulators with exactly one mismatch.
    func testVerilatorAgreesAndACorruptedExpectationFailsBothSimulators() throws {
        let root = try makeTemporaryDirectory("layer-units-verilator")
        defer { try? FileManager.default.removeItem(at: root) }
        for (index, (name, method)) in Self.methods.enumerated() {
            let (model, golden, pixels) = try Self.model(seed: 3, method: method)
            let layer = Self.weighted(model)[index % Self.weighted(model).count]
            let directory = root.appendingPathComponent(name.replacingOccurrences(of: " ", with: "-"))
            try Self.write(try Self.design(model, golden, pixels: pixels, layer: layer, arch: .reuse), to: directory)
            let outcome = try Simulator.verilator.run(directory: directory)
            XCTAssertTrue(outcome.ok, "\(name), \(layer):\n\(outcome.log.suffix(2000))")
            if index == 0 {
                let expected = directory.appendingPathComponent("vectors/expected.hex")
                var lines = try String(contentsOf: expected, encoding: .utf8).split(separator: "\n").map(String.init)
                // Flip the lowest bit of the fourth expected code.
                let value = Int(lines[3], radix: 16)! ^ 1
                lines[3] =
                    String(repeating: "0", count: max(0, lines[3].count - String(value, radix: 16).count))
                    + String(value, radix: 16)
                try (lines.joined(separator: "\n") + "\n").write(to: expected, atomically: true, encoding: .utf8)
                for simulator in Simulator.allCases {
                    let bad = try simulator.run(directory: directory)
                    XCTAssertFalse(bad.ok, "\(simulator) passed a corrupted expectation")
                    XCTAssertEqual(bad.failed, 1, "\(simulator):\n\(bad.log.suffix(1500))")
                }
            }
        }
    }

    /// The bench's mid-stream reset catches state that a reset fails to clear: the MAC array with its weight
    /// address set only at time zero (an `initial`) instead of by the reset passes a run without reset, and fails
    /// after the bench's reset under both simulators.
    func testAMidStreamResetCatchesStateTheResetLeaves() throws {
        let root = try makeTemporaryDirectory("layer-units-reset")
        defer { try? FileManager.default.removeItem(at: root) }
        let (model, golden, pixels) = try Self.model(seed: 3, method: Self.methods[0].1)
        // The layer with the most weights: its batches compute long enough for the reset to fall mid-issue.
        let layer = try XCTUnwrap(
            model.layers.filter { Self.weighted(model).contains($0.name) }.max {
                ($0.weightShape ?? []).reduce(1, *) < ($1.weightShape ?? []).reduce(1, *)
            }?.name)
        let directory = root.appendingPathComponent("baseline")
        try Self.write(try Self.design(model, golden, pixels: pixels, layer: layer, arch: .baseline), to: directory)
        let clean = try Simulator.iverilog.run(directory: directory)
        XCTAssertTrue(clean.ok && clean.log.contains("reset mid-stream"), clean.log.suffix(1500).description)
        let array = directory.appendingPathComponent("rtl/approxrtl_mac_array.v")
        let text = try String(contentsOf: array, encoding: .utf8)
        let reset = "      weight_addr_q <= {WeightAddrWidth{1'b0}};\n      issue_done_q <= 1'b0;"
        XCTAssertTrue(text.contains(reset))
        var mutated = text.replacingOccurrences(of: reset, with: "      issue_done_q <= 1'b0;")
        let first = try XCTUnwrap(mutated.range(of: "  always @(posedge clk_i"))
        mutated.insert(contentsOf: "  initial weight_addr_q = 0;\n", at: first.lowerBound)
        try mutated.write(to: array, atomically: true, encoding: .utf8)
        for simulator in Simulator.allCases {
            let outcome = try simulator.run(directory: directory)
            XCTAssertFalse(outcome.ok, "\(simulator) passed a unit whose reset leaves the weight address")
            XCTAssertEqual(outcome.cycles, clean.cycles, "\(simulator): the clean run after the reset keeps its cycles")
        }
    }

    /// Error-optimal segments leave short parts (a channel's outliers), shorter than one pool's walk over many lanes:
    /// the member ROM gets hold words, both snapshot banks are in use, every batch computes for exactly the cycles the
    /// generator says (the bench checks it), and the results stay bit-exact under both simulators, for linear and
    /// quadratic parts and a pool serving every lane.
    func testShortPartsWaitForThePoolsWalks() throws {
        let root = try makeTemporaryDirectory("layer-units-holds")
        defer { try? FileManager.default.removeItem(at: root) }
        for degree in [PolynomialDegree.linear, .quadratic] {
            var options = SortedWeightOptions()
            options.degree = degree; options.grouping = .channel; options.segments = 8; options.boundaries = .optimal
            let (model, golden, pixels) = try Self.model(seed: 4, method: .sortedWeights(options))
            var fans: [String: Int] = [:]
            for name in Self.weighted(model) { fans[name] = try LayerFunction(model: model, layer: name).fan }
            let layer = try XCTUnwrap(
                fans.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }?.key)
            let design = try Self.design(
                model, golden, pixels: pixels, layer: layer, arch: .reuse, lanes: 8, multipliers: 1, vectors: 17)
            let directory = root.appendingPathComponent("\(degree)")
            try Self.write(design, to: directory)
            let fan = design.manifest.fan
            let holdBit = 1 << (max(1, Int.bitWidth - (fan - 1).leadingZeroBitCount) + 2)
            let members = String(decoding: design.files["mem/\(layer)_reuse_members.hex"]!, as: UTF8.self)
                .split(separator: "\n").map { Int($0, radix: 16)! }
            XCTAssertGreaterThan(members.filter { $0 & holdBit != 0 }.count, 0, "\(degree): no hold words")
            XCTAssertEqual(members.filter { $0 & holdBit == 0 }.count, fan * design.manifest.channels)
            for simulator in Simulator.allCases {
                let outcome = try simulator.run(directory: directory)
                XCTAssertTrue(outcome.ok, "\(degree), \(simulator):\n\(outcome.log.suffix(2000))")
                XCTAssertEqual(outcome.passed, 17 * design.manifest.channels)
            }
        }
    }

    /// After M4 the reuse array's scan walks only the taps inside the windows (fewer cycles per channel) and
    /// stays bit-exact; the baseline multiplies the zeros and agrees. The member ROM (docs/formats.md) holds every
    /// channel's window taps once, besides hold words.
    func testKernelReducedLayersRunInBothArrays() throws {
        let root = try makeTemporaryDirectory("layer-units-m4")
        defer { try? FileManager.default.removeItem(at: root) }
        var checked = 0
        for seed in UInt64(1)...40 where checked < 2 {
            let (model, _, pixels) = try Self.model(seed: seed, method: nil)
            guard let conv = model.layers.first(where: { $0.name == "conv1" }), let kernel = conv.kernel?.first,
                kernel >= 3
            else { continue }
            let reduced = try KernelReducer.reduce(model, layer: "conv1", size: kernel - 2, pixels: pixels, images: 3)
            let compressed = try ModelCompressor.compress(reduced, method: Self.methods[0].1, maxAccumulatorBits: 40)
            let golden = try GoldenModel(compressed)
            var members: [Int] = [], fan = 0, channels = 0
            for arch in Architecture.allCases {
                let design = try Self.design(compressed, golden, pixels: pixels, layer: "conv1", arch: arch)
                let directory = root.appendingPathComponent("\(seed)-\(arch)")
                try Self.write(design, to: directory)
                let outcome = try Simulator.iverilog.run(directory: directory)
                XCTAssertTrue(outcome.ok, "seed \(seed), \(arch):\n\(outcome.log.suffix(2000))")
                if arch == .reuse {
                    let text = String(decoding: design.files["mem/conv1_reuse_members.hex"]!, as: UTF8.self)
                    members = text.split(separator: "\n").map { Int($0, radix: 16)! }
                    (fan, channels) = (design.manifest.fan, design.manifest.channels)
                }
            }
            let windowTaps = conv.weightShape![1] * (kernel - 2) * (kernel - 2)
            let holdBit = 1 << (Int.bitWidth - (fan - 1).leadingZeroBitCount + 2)
            XCTAssertEqual(
                members.filter { $0 & holdBit == 0 }.count, channels * windowTaps,
                "the scan walks the window's taps only")
            checked += 1
        }
        XCTAssertEqual(checked, 2)
    }

    /// The same model gives the same bytes; a different lane count changes the RTL but not the vectors.
    func testSameInputGivesByteIdenticalFiles() throws {
        let (model, golden, pixels) = try Self.model(seed: 4, method: Self.methods[1].1)
        let layer = Self.weighted(model)[0]
        let a = try Self.design(model, golden, pixels: pixels, layer: layer, arch: .reuse)
        let b = try Self.design(model, golden, pixels: pixels, layer: layer, arch: .reuse)
        XCTAssertEqual(a.files, b.files)
        let c = try Self.design(model, golden, pixels: pixels, layer: layer, arch: .reuse, lanes: 2)
        XCTAssertNotEqual(a.files["rtl/\(a.manifest.top).v"], c.files["rtl/\(c.manifest.top).v"])
        XCTAssertEqual(a.files["vectors/expected.hex"], c.files["vectors/expected.hex"])
    }

    /// Impossible requests are refused with the layer's name and the reason.
    func testRefusals() throws {
        let (plain, plainGolden, pixels) = try Self.model(seed: 1, method: nil)
        let layer = Self.weighted(plain)[0]
        XCTAssertThrowsError(try Self.design(plain, plainGolden, pixels: pixels, layer: layer, arch: .reuse)) {
            XCTAssertTrue("\($0)".contains("layer '\(layer)'") && "\($0)".contains("not compressed"), "\($0)")
        }
        // The baseline of an uncompressed layer is fine: the plain quantized network in RTL.
        XCTAssertNoThrow(try Self.design(plain, plainGolden, pixels: pixels, layer: layer, arch: .baseline))
        let (model, golden, _) = try Self.model(seed: 1, method: Self.methods[0].1)
        XCTAssertThrowsError(
            try Self.design(model, golden, pixels: pixels, layer: layer, arch: .reuse, lanes: 4, multipliers: 3)
        ) {
            XCTAssertTrue("\($0)".contains("must divide --lanes 4"), "\($0)")
        }
        if let pool = model.layers.first(where: { $0.kind == .maxPool || $0.kind == .flatten || $0.kind == .relu }) {
            XCTAssertThrowsError(try LayerNumbers(model: model, layer: pool.name)) {
                XCTAssertTrue("\($0)".contains("has no weights"), "\($0)")
            }
        }
        XCTAssertThrowsError(try LayerNumbers(model: model, layer: "nope")) {
            XCTAssertTrue("\($0)".contains("no such layer"), "\($0)")
        }
        // A convolution with an approximated feature (M3) is the accelerator's, not a layer array's.
        let approximated = try FeatureApproximator.approximateLeastSensitive(
            plain, layer: "conv1", count: 1, m: 1, pixels: pixels, images: 2
        ).model
        XCTAssertThrowsError(try LayerNumbers(model: approximated, layer: "conv1")) {
            XCTAssertTrue(
                "\($0)".contains("layer 'conv1'") && "\($0)".contains("approximated features (M3) are not supported"),
                "\($0)")
        }
        // A layer with an activation table (a fused Tanh) ends in NFU-3's table, which the layer arrays do not have.
        let graph = try RandomNetworks.graph(seed: 1, activations: [.tanh])
        let tanh = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(10, shape: graph.nodes[0].shape, seed: 1), source: "random")
        XCTAssertThrowsError(try LayerNumbers(model: tanh, layer: "conv1")) {
            XCTAssertTrue(
                "\($0)".contains("layer 'conv1'")
                    && "\($0)".contains("activation Tanh is not supported by the layer arrays"), "\($0)")
        }
        let fan = try LayerFunction(model: model, layer: layer).fan
        XCTAssertThrowsError(
            try LayerDesign.generate(
                model: model, modelName: "m", layer: layer, arch: .baseline, lanes: 2, multipliers: nil,
                inputs: [Int](repeating: 100_000, count: fan), frame: 1)
        ) {
            XCTAssertTrue("\($0)".contains("outside the layer's input range"), "\($0)")
        }
    }

    /// The primitives and the bench harnesses travel inside the generator (the EmbedRTL plugin): every file of
    /// rtl/ and testbench/, as it is in the repository.
    func testEmbeddedSourcesMatchTheRepository() throws {
        let repository = repositoryRoot()
        var onDisk: [String] = []
        for folder in ["rtl", "testbench"] {
            onDisk += try FileManager.default.contentsOfDirectory(
                atPath: repository.appendingPathComponent(folder).path
            ).map { "\(folder)/\($0)" }
        }
        XCTAssertEqual(EmbeddedSources.files.map(\.path), onDisk.sorted())
        for (path, text) in EmbeddedSources.files {
            XCTAssertEqual(text, try String(contentsOf: repository.appendingPathComponent(path), encoding: .utf8), path)
            XCTAssertEqual(EmbeddedSources.text(path), text)
        }
        XCTAssertNil(EmbeddedSources.text("rtl/none.v"))
    }
}
