import Accelerator
import Approximation
import EDAFlows
import Foundation
import GoldenModel
import NetworkIR
import Quantization
import TestSupport
import XCTest

/// Random small networks (padding, strides, max and average pooling, partial tiles, several input tiles) compiled
/// for narrow accelerators and run whole-network under both simulators, every logit against the golden model.
final class AcceleratorSimulationTests: XCTestCase {
    static func randomModel(seed: UInt64) throws -> (QuantizedModel, [UInt8]) {
        let graph = try RandomNetworks.graph(seed: seed)
        let shape = graph.nodes[0].shape
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
        return (model, RandomNetworks.images(3, shape: shape, seed: seed &+ 7).pixels)
    }

    /// Writes a design's files under `folder`.
    static func write(_ files: [String: Data], to folder: URL) throws {
        for (path, data) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
    }

    /// Writes the design, runs it under both simulators and checks every image and the cycle model.
    static func simulate(
        _ design: AcceleratorDesign, _ label: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let folder = try makeTemporaryDirectory("accelerator")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.write(design.files, to: folder)
        for simulator in Simulator.allCases {
            let outcome = try simulator.run(directory: folder)
            XCTAssertTrue(outcome.ok, "\(label), \(simulator): \(outcome.log.suffix(1500))", file: file, line: line)
            // With three images or more the bench resets the design in the middle of the stream and restarts it.
            XCTAssertEqual(
                outcome.log.contains("reset mid-stream, restarted at image"), design.manifest.images >= 3,
                "\(label), \(simulator)", file: file, line: line)
            XCTAssertEqual(outcome.passed, design.manifest.images, "\(label), \(simulator)", file: file, line: line)
            // The cycle model the report uses is what the RTL does, layer by layer.
            let measured = outcome.log.split(separator: "\n").filter { $0.hasPrefix("layer ") }.compactMap {
                Int($0.split(separator: " ").last!)
            }
            XCTAssertEqual(
                measured, design.manifest.layers.map(\.cycles), "\(label), \(simulator)", file: file, line: line)
            // Images stream: the next one loads while one computes, so they start one run (and the two cycles of
            // the handoff) apart, when the bench's pixels (three beats in four) keep up.
            let interval = outcome.log.split(separator: "\n").last { $0.hasPrefix("interval cycles ") }
                .flatMap { Int($0.split(separator: " ").last!) }
            if 2 * design.manifest.loadCycles <= design.manifest.computeCycles {
                XCTAssertEqual(
                    interval, design.manifest.computeCycles + CompiledNetwork.startCycles, "\(label), \(simulator)",
                    file: file, line: line)
            } else {
                XCTAssertGreaterThanOrEqual(interval ?? 0, design.manifest.intervalCycles ?? .max, "\(label)")
            }
        }
    }

    func testSWCLanesRunBitExactWithUniformAndPowerOfTwoCodes() throws {
        for (seed, codebook, bits, tn) in [(UInt64(2), Codebook.uniform, 5, 4), (3, .pow2, 4, 3), (4, .uniform, 3, 2)] {
            let (model, pixels) = try Self.randomModel(seed: seed)
            var options = ScalingWeightOptions()
            options.codebook = codebook
            options.codeBits = bits
            let compressed = try ModelCompressor.compress(
                model, method: .scalingWeights(options), maxAccumulatorBits: 40)
            let design = try AcceleratorDesign.generate(
                model: compressed, modelName: "swc\(seed).c.json", config: AcceleratorConfig(tn: tn, swc: true),
                pixels: pixels, labels: [0, 1, 2], count: 3)
            XCTAssertEqual(design.manifest.shiftLanes, codebook == .pow2)
            XCTAssertEqual(design.manifest.weightWidth, bits, "the SB holds the codes")
            try Self.simulate(design, "SWC seed \(seed)")
        }
    }

    /// A part with fewer hard multipliers than NFU-1 has products: the products beyond them are shift-and-add
    /// in LUTs, bit-exact under both simulators; the budget leaves room for the other multipliers first.
    func testProductsBeyondThePartsMultipliersRunInLUTsBitExact() throws {
        for (seed, budget, swc, expected) in [(UInt64(5), 6, false, 6), (6, 4 * 2 + 3, true, 3)] {
            var (model, pixels) = try Self.randomModel(seed: seed)
            if swc {
                model = try ModelCompressor.compress(
                    model, method: .scalingWeights(ScalingWeightOptions()), maxAccumulatorBits: 40)
            }
            var config = AcceleratorConfig(tn: 4, swc: swc)
            (config.targetDevice, config.hardMultipliers) = ("test part", budget)
            let design = try AcceleratorDesign.generate(
                model: model, modelName: "dsp\(seed).q.json", config: config, pixels: pixels,
                labels: [0, 1, 2], count: 3)
            let network = try NetworkCompiler.compile(model, config: config)
            XCTAssertEqual(network.dspProducts, expected)
            XCTAssertEqual(
                network.otherHardMultipliers, swc ? 4 * 2 : 0, "SWC: a 2-DSP MAW multiply per lane at these widths")
            XCTAssertEqual(design.manifest.dspProducts, network.dspProducts)
            let top = String(decoding: design.files["rtl/dsp\(seed)_diannao.v"]!, as: UTF8.self)
            XCTAssertTrue(top.contains(".DspProducts(\(network.dspProducts))"), top)
            try Self.simulate(design, "hard multipliers \(budget), seed \(seed)")
        }
        XCTAssertEqual(
            try NetworkCompiler.compile(Self.randomModel(seed: 5).0, config: AcceleratorConfig(tn: 4)).dspProducts, 16)
    }

    /// M1 on the reuse lanes: layer groups (gapped ranks, d > 1), quadratic channel groups (contiguous, e), and a
    /// model with one layer left uncompressed (the MAC array and the reuse lanes side by side); every layer's words
    /// checked too, under both simulators, with the cycle model.
    func testReuseLanesRunBitExact() throws {
        let cases: [(UInt64, PolynomialDegree, Grouping, Int, Bool)] = [
            (2, .linear, .layer, 4, false), (4, .quadratic, .channel, 4, false),
            (6, .linear, .kernel, 8, true),
        ]
        var strided = false, padded = false
        for (seed, degree, grouping, tn, partial) in cases {
            let (model, pixels) = try Self.randomModel(seed: seed)
            strided = strided || model.layers.contains { $0.kind == .conv2d && $0.stride![0] > 1 }
            padded = padded || model.layers.contains { $0.kind == .conv2d && $0.pads!.contains { $0 > 0 } }
            var options = SortedWeightOptions()
            options.degree = degree
            options.grouping = grouping
            options.segments = 3
            let weighted = model.layers.filter { $0.kind == .conv2d || $0.kind == .dense }.map(\.name)
            let compressed = try ModelCompressor.compress(
                model, method: .sortedWeights(options), layers: partial ? Array(weighted.dropFirst()) : nil,
                maxAccumulatorBits: 40)
            let design = try AcceleratorDesign.generate(
                model: compressed, modelName: "m1-\(seed).c.json", config: AcceleratorConfig(tn: tn, reuse: true),
                pixels: pixels, labels: [0, 1, 2], count: 3, debugLayers: true)
            let label = "M1 \(degree) \(grouping) seed \(seed) Tn \(tn)"
            XCTAssertEqual(design.manifest.macArray, partial, label)
            // Linear parts have too many distinct weights for the factored lanes: the reuse lanes scan them.
            XCTAssertTrue(design.manifest.layers.contains { $0.mapping?.hasPrefix("reuse lanes") == true }, label)
            XCTAssertEqual(
                design.manifest.multipliers, (partial ? tn * tn : 0) + tn * (degree == .quadratic ? 3 : 2), label)
            try Self.simulate(design, label)
            if seed == 2 {
                // The same model on the MAC array: its approximated weights are wider than the 8-bit codes.
                let mac = try AcceleratorDesign.generate(
                    model: compressed, modelName: "m1-mac.c.json", config: AcceleratorConfig(tn: tn),
                    pixels: pixels, labels: [0, 1, 2], count: 3)
                XCTAssertGreaterThan(
                    mac.manifest.weightWidth, compressed.weightBits, "16-bit coefficients make wide weights")
                try Self.simulate(mac, "\(label) on the MAC array")
            }
        }
        // The gather tile steps over the window as a MAC tile does: padding and strides must be among the cases.
        XCTAssertTrue(strided && padded, "strided \(strided), padded \(padded)")
    }

    /// M1 with constant segments on the factored lanes: one value (one multiplier, an extra register), three (the
    /// sum over values a level deeper than the MAC array's second product register), and a model with its first
    /// layer uncompressed (the MAC array beside the factored lanes, its sums delayed to meet theirs). Each layer
    /// keeps the MAC array's steps: the cycles are the MAC array's on the same model plus the extra levels per
    /// layer. Every layer's words checked, under both simulators.
    func testFactoredLanesRunBitExactInTheMacArraysSteps() throws {
        let cases: [(seed: UInt64, grouping: Grouping, segments: Int, tn: Int, partial: Bool)] = [
            (3, .channel, 1, 4, false), (5, .channel, 3, 8, false), (8, .layer, 4, 8, true), (6, .channel, 2, 6, false),
        ]
        for (seed, grouping, segments, tn, partial) in cases {
            let (model, pixels) = try Self.randomModel(seed: seed)
            var options = SortedWeightOptions()
            (options.degree, options.grouping, options.segments) = (.constant, grouping, segments)
            let weighted = model.layers.filter { $0.kind == .conv2d || $0.kind == .dense }.map(\.name)
            let compressed = try ModelCompressor.compress(
                model, method: .sortedWeights(options), layers: partial ? Array(weighted.dropFirst()) : nil,
                maxAccumulatorBits: 40)
            let label = "constant \(grouping) \(segments) seed \(seed) Tn \(tn)"
            let config = AcceleratorConfig(tn: tn, reuse: true)
            let network = try NetworkCompiler.compile(compressed, config: config)
            let factored = try XCTUnwrap(network.factored, label)
            XCTAssertNil(network.reuse, label)
            XCTAssertLessThanOrEqual(factored.values, segments, label)
            XCTAssertEqual(network.macArray, partial, label)
            XCTAssertEqual(
                network.program.filter { $0.op == .multiplyAccumulate }.map(\.factored),
                weighted.indices.map { !partial || $0 > 0 }, label)
            let mac = try NetworkCompiler.compile(compressed, config: AcceleratorConfig(tn: tn))
            XCTAssertEqual(network.program.map(\.steps), mac.program.map(\.steps), label)
            XCTAssertEqual(
                network.computeCycles, mac.computeCycles + network.program.count * factored.extraLatency, label)
            let design = try AcceleratorDesign.generate(
                model: compressed, modelName: "m1c-\(seed).c.json", config: config, pixels: pixels,
                labels: [0, 1, 2], count: 3, debugLayers: true)
            XCTAssertEqual(design.manifest.multipliers, (partial ? tn * tn : 0) + tn * factored.values, label)
            try Self.simulate(design, label)
        }
    }

    /// NFU-3's activation tables: Sigmoid, Tanh, LeakyRelu, HardSigmoid and Clip fused into convolutions and dense
    /// layers, at three lane counts, on the MAC array, the reuse lanes, the SWC lanes and with the feature unit; every
    /// layer's words and every logit under both simulators, with the cycle model (the table stage adds a drain cycle).
    func testActivationTablesRunBitExact() throws {
        let cases: [(UInt64, [Activation], Int, Bool)] = [
            (1, [.sigmoid, .tanh, .leakyRelu(alpha: 0.1)], 4, false),
            (2, [.hardSigmoid(alpha: 0.2, beta: 0.5), .clip(low: -0.5, high: 1.5), .tanh], 2, false),
            (4, [.tanh, .sigmoid, .clip(low: 0, high: 6)], 4, true),
            (5, [.hardSwish, .sigmoid, .hardSwish], 4, false),
        ]
        for (seed, functions, tn, reuse) in cases {
            let graph = try RandomNetworks.graph(seed: seed, activations: functions)
            let shape = graph.nodes[0].shape
            var model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
            if reuse {
                var options = SortedWeightOptions()
                options.segments = 3
                model = try ModelCompressor.compress(model, method: .sortedWeights(options), maxAccumulatorBits: 40)
            }
            let pixels = RandomNetworks.images(3, shape: shape, seed: seed &+ 7).pixels
            let design = try AcceleratorDesign.generate(
                model: model, modelName: "act\(seed).q.json", config: AcceleratorConfig(tn: tn, reuse: reuse),
                pixels: pixels, labels: [0, 1, 2], count: 3, debugLayers: true)
            XCTAssertGreaterThanOrEqual(model.layers.filter { $0.activation != nil }.count, 2, "seed \(seed)")
            try Self.simulate(design, "activations seed \(seed), Tn \(tn)\(reuse ? ", reuse lanes" : "")")
        }
        // The tables after SWC's MAW multiply and after the feature unit's combinations.
        let graph = try RandomNetworks.graph(seed: 3, activations: [.tanh, .sigmoid, .leakyRelu(alpha: 0.05)])
        let shape = graph.nodes[0].shape
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: shape, seed: 3), source: "random")
        let pixels = RandomNetworks.images(3, shape: shape, seed: 10).pixels
        var swcOptions = ScalingWeightOptions()
        swcOptions.codeBits = 5
        let swc = try ModelCompressor.compress(model, method: .scalingWeights(swcOptions), maxAccumulatorBits: 40)
        let calibration = RandomNetworks.images(8, shape: shape, seed: 14).pixels
        let samples = try FeatureApproximator.samples(model, layer: "conv1", pixels: calibration, images: 8)
        let featured = try FeatureApproximator.approximate(model, layer: "conv1", channels: [0], m: 1, samples: samples)
            .model
        for (label, candidate, config) in [
            ("SWC", swc, AcceleratorConfig(tn: 3, swc: true)),
            ("M3", featured, AcceleratorConfig(tn: 2, featureUnit: true)),
        ] {
            let design = try AcceleratorDesign.generate(
                model: candidate, modelName: "act-\(label).c.json", config: config,
                pixels: pixels, labels: [0, 1, 2], count: 3, debugLayers: true)
            XCTAssertGreaterThan(design.manifest.activationTables, 0, label)
            try Self.simulate(design, "activations with \(label)")
        }
    }

    /// With --debug-layers a wrong word in any layer fails the bench and is named, even when the logits survive it.
    /// A logit with an X bit fails the bench under Icarus (four-state): the comparison is !==, under which an X is a
    /// mismatch, where != would give X and let the logit pass.
    func testBenchFailsOnAnXLogitUnderIcarus() throws {
        let (model, pixels) = try Self.randomModel(seed: 2)
        let design = try AcceleratorDesign.generate(
            model: model, modelName: "x.q.json", config: AcceleratorConfig(tn: 4), pixels: pixels, labels: [0, 1, 2],
            count: 3)
        let folder = try makeTemporaryDirectory("accelerator-x")
        defer { try? FileManager.default.removeItem(at: folder) }
        var files = design.files
        let core = "rtl/approxrtl_diannao_core.v"
        let source = String(decoding: files[core]!, as: UTF8.self)
        let emit = "assign out_tdata_o = emit_q[class_q * LogitWidth +: LogitWidth];"
        XCTAssertTrue(source.contains(emit))
        // The logit's lowest bit X, the others the right ones.
        files[core] = Data(
            source.replacingOccurrences(
                of: emit,
                with: "assign out_tdata_o = {emit_q[class_q * LogitWidth + 1 +: LogitWidth - 1], 1'bx};"
            ).utf8)
        try Self.write(files, to: folder)
        let outcome = try Simulator.iverilog.run(directory: folder, count: 1)
        XCTAssertFalse(outcome.ok)
        XCTAssertTrue(outcome.log.contains("FAIL image 0 logit 0"), outcome.log.suffix(800).description)
    }

    func testLayerCheckCatchesACorruptedWord() throws {
        let (model, pixels) = try Self.randomModel(seed: 2)
        let design = try AcceleratorDesign.generate(
            model: model, modelName: "debug.q.json", config: AcceleratorConfig(tn: 4),
            pixels: pixels, labels: [0, 1, 2], count: 3, debugLayers: true)
        let folder = try makeTemporaryDirectory("accelerator-debug")
        defer { try? FileManager.default.removeItem(at: folder) }
        var files = design.files
        var words = String(decoding: files["vectors/layers.hex"]!, as: UTF8.self).split(separator: "\n").map(
            String.init)
        // The last digit of image 1's first word of the first layer.
        let offset = words.count / 3
        let last = words[offset].last!
        words[offset] = String(words[offset].dropLast()) + (last == "0" ? "1" : "0")
        files["vectors/layers.hex"] = Data((words.joined(separator: "\n") + "\n").utf8)
        try Self.write(files, to: folder)
        let outcome = try Simulator.verilator.run(directory: folder)
        XCTAssertFalse(outcome.ok)
        // Once, or twice when the bench's mid-stream reset had image 1 compute it before restarting.
        XCTAssertTrue(
            outcome.log.contains("FAIL layer 0 image 1 word 0")
                && (outcome.log.contains(" 1 mismatched") || outcome.log.contains(" 2 mismatched")),
            outcome.log.suffix(800).description)
    }

    func testRandomNetworksRunBitExactUnderBothSimulators() throws {
        var kinds = Set<QuantizedModel.Kind>()
        var strided = false
        var fused = 0
        for (seed, tn) in [(UInt64(1), 2), (2, 4), (3, 3), (4, 4), (5, 2), (6, 4)] {
            let (model, pixels) = try Self.randomModel(seed: seed)
            kinds.formUnion(model.layers.map(\.kind))
            strided = strided || model.layers.contains { $0.kind == .conv2d && $0.stride![0] > 1 }
            // Odd seeds load one pixel per word (DianNao's mapping) and run pools as passes of their own, even ones
            // load patches of the first kernel's taps and fuse max pools into the convolution before them.
            let mapping: AcceleratorConfig.FirstLayerMapping = seed % 2 == 1 ? .channels : .patches
            var config = AcceleratorConfig(tn: tn, firstLayer: mapping)
            config.fusePooling = seed % 2 == 0
            let design = try AcceleratorDesign.generate(
                model: model, modelName: "random\(seed).q.json", config: config, pixels: pixels, labels: [0, 1, 2],
                count: 3, debugLayers: true)
            fused += try NetworkCompiler.compile(model, config: config).program.filter { $0.fusedLayer != nil }.count
            try Self.simulate(design, "seed \(seed), Tn \(tn), \(mapping)")
        }
        XCTAssertTrue(kinds.isSuperset(of: [.conv2d, .maxPool, .averagePool, .dense]), "the seeds cover \(kinds)")
        XCTAssertTrue(strided, "the seeds include a strided convolution")
        XCTAssertGreaterThan(fused, 0, "the seeds fuse a max pool")
    }

    /// An input normalization: the loader turns pixels into codes less the zero point (9 signed bits through the
    /// line buffer and the patches) and padding stays code 0, on one pixel per word and on patches of several rows.
    func testNormalizedInputsLoadLessTheirZeroPointBitExact() throws {
        var mappings = Set<Int>()
        for seed in UInt64(1)...40 where mappings.count < 2 {
            let graph = try RandomNetworks.graph(seed: seed)
            guard case .conv2d(let conv) = graph.nodes[1].op, conv.kernelH >= 3, conv.padding.top > 0 else { continue }
            let normalized = try graph.normalizingInput(InputNormalization(mean: [0.3], std: [0.25]))
            let shape = graph.nodes[0].shape
            let model = try Quantizer.quantize(
                normalized, calibration: RandomNetworks.images(20, shape: shape, seed: seed), source: "random")
            XCTAssertEqual(model.input.zeroPoints, [77], "round(255 * 0.3)")
            XCTAssertEqual([model.input.low, model.input.high], [-77, 178])
            let pixels = RandomNetworks.images(3, shape: shape, seed: seed &+ 7).pixels
            for (tn, mapping) in [(4, AcceleratorConfig.FirstLayerMapping.channels), (8, .patches)] {
                let config = AcceleratorConfig(tn: tn, firstLayer: mapping)
                let rows = try NetworkCompiler.compile(model, config: config).loader.rows
                guard mapping == .channels || rows > 1, mappings.insert(rows).inserted else { continue }
                let design = try AcceleratorDesign.generate(
                    model: model, modelName: "normalized\(seed).q.json", config: config, pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true)
                XCTAssertTrue(
                    design.files.contains {
                        $0.key.hasSuffix(".v")
                            && String(decoding: $0.value, as: UTF8.self)
                                .contains(".PixelZeros({8'd77})")
                    }, "the top sets the zero point")
                try Self.simulate(design, "normalized, seed \(seed), Tn \(tn), loader rows \(rows)")
            }
        }
        XCTAssertEqual(mappings.count, 2, "one pixel per word and patches of several rows")
    }

    /// A dense layer over the image (an MLP on a 20 x 20 image): on one pixel per word its 400 input words exceed the
    /// instruction's 4-bit kernel fields and are walked as a window the fields hold; on patches of the image (a
    /// word per 2 x 2 pixels at Tn = 4) it takes a quarter of the steps. On the MAC array and on the reuse lanes (M1).
    func testDenseOverTheImageRunsRefoldedOrOnPatchesBitExact() throws {
        let graph = try RandomNetworks.mlp(input: [1, 20, 20], classes: 5, seed: 3)
        let model = try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(20, shape: [1, 20, 20], seed: 3), source: "mlp")
        let pixels = RandomNetworks.images(3, shape: [1, 20, 20], seed: 10).pixels
        var options = SortedWeightOptions()
        options.segments = 4
        let compressed = try ModelCompressor.compress(model, method: .sortedWeights(options), maxAccumulatorBits: 40)
        for mapping in [AcceleratorConfig.FirstLayerMapping.channels, .patches] {
            // M1's reuse lanes on the refolded walk only (their gather over patches is the convolutions' own).
            let units =
                [("MAC array", model, false)] + (mapping == .channels ? [("reuse lanes", compressed, true)] : [])
            for (label, quantized, reuse) in units {
                let config = AcceleratorConfig(tn: 4, reuse: reuse, firstLayer: mapping)
                let network = try NetworkCompiler.compile(quantized, config: config)
                let fc1 = try XCTUnwrap(network.program.first)
                XCTAssertEqual(fc1.layer, "fc1")
                XCTAssertLessThanOrEqual(max(fc1.kernelHeight, fc1.kernelWidth), Instruction.kernelLimit, label)
                if mapping == .channels {
                    XCTAssertEqual(fc1.inputHeight * fc1.inputWidth * fc1.inputTiles, 400, "every pixel once, \(label)")
                } else {
                    XCTAssertEqual([network.loader.rows, network.loader.columns], [2, 2], label)
                    XCTAssertEqual([fc1.kernelHeight, fc1.kernelWidth], [10, 10], "a step per patch, \(label)")
                }
                try Self.simulate(
                    try AcceleratorDesign.generate(
                        model: quantized, modelName: "mlp.q.json", config: config, pixels: pixels, labels: [0, 1, 2],
                        count: 3, debugLayers: true), "MLP on the \(label), \(mapping)")
            }
        }
    }

    /// An RGB CNN on synthetic images: the loader takes a pixel's three channels as three beats and writes them to
    /// lanes 0 to 2 of the pixel's word; with an input normalization, each less its channel's zero point (one mean,
    /// and ImageNet's three). Under both simulators, at Tn = 4 and 8.
    func testRGBImagesLoadAPixelsChannelsOnTheLanesBitExact() throws {
        var state: UInt64 = 21
        func values(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        var b = GraphBuilder()
        let x = try b.add("image", .input, inputShape: [3, 10, 10])
        let padding = Padding2D(top: 1, left: 1, bottom: 1, right: 1)
        let c1 = try b.add(
            "conv1", .conv2d(Conv2D(weight: Tensor(shape: [6, 3, 3, 3], data: values(162, 0.8)), padding: padding)),
            inputs: [x])
        let p1 = try b.add(
            "pool1", .maxPool(Pool2D(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2)),
            inputs: [b.add("relu1", .relu, inputs: [c1])])
        let c2 = try b.add(
            "conv2",
            .conv2d(Conv2D(weight: Tensor(shape: [8, 6, 3, 3], data: values(432, 0.5)), bias: values(8, 0.2))),
            inputs: [p1])
        let f = try b.add("flatten", .flatten, inputs: [b.add("relu2", .relu, inputs: [c2])])
        let d = try b.add(
            "fc", .dense(Dense(weight: Tensor(shape: [5, 72], data: values(360, 0.3)), bias: values(5, 0.1))),
            inputs: [f])
        let graph = try b.build(outputs: [d])
        let calibration = RandomNetworks.images(20, shape: [3, 10, 10], seed: 5)
        let pixels = RandomNetworks.images(3, shape: [3, 10, 10], seed: 6).pixels
        let normalizations: [(([Float], [Float])?, Int)] = [
            (nil, 4), (([0.3], [0.25]), 8), (([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), 4),
        ]
        for (normalization, tn) in normalizations {
            let normalized =
                try normalization.map { try graph.normalizingInput(InputNormalization(mean: $0.0, std: $0.1)) } ?? graph
            let model = try Quantizer.quantize(normalized, calibration: calibration, source: "rgb")
            let config = AcceleratorConfig(tn: tn)
            let network = try NetworkCompiler.compile(model, config: config)
            XCTAssertEqual(network.loader.channels, 3)
            XCTAssertEqual(network.loadCycles, 300, "a beat per channel")
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: model, modelName: "rgb.q.json", config: config, pixels: pixels, labels: [0, 1, 2],
                    count: 3, debugLayers: true), "RGB, Tn \(tn), zero points \(model.input.zeroPoints ?? [0])")
        }
    }

    /// The loader's patches on random networks whose first convolution has a 3x3 or 5x5 kernel: a patch of
    /// several rows (the loader stores the top padding and the zero rows below the image), one narrower than the
    /// kernel (several steps per kernel row), pixel lanes (two pixels of a fused max pool's window per step), and
    /// padding wider than a patch (5x5, pad 2 on 2 x 2 patches: the loader steps through a zero row and column
    /// first, so that the patches starting at -2 are written), on the MAC array, and the first on the reuse lanes
    /// (M1).
    func testPatchesRunBitExact() throws {
        var tall = false, narrow = false, pixelLanes = false, lead = false
        for seed in UInt64(1)...60 where !(tall && narrow && pixelLanes && lead) {
            let (model, pixels) = try Self.randomModel(seed: seed)
            let conv = model.layers[0]
            guard conv.kind == .conv2d, conv.kernel![0] >= 3 else { continue }
            for tn in [4, 8] {
                let config = AcceleratorConfig(tn: tn)
                let loader = try NetworkCompiler.compile(model, config: config).loader
                let isTall = loader.rows > 1, isNarrow = loader.columns < conv.kernel![1] && loader.columns > 1
                let isPixelLanes = loader.pixelRows > 1
                let isLead = loader.padLeft > loader.columns - 1 || (loader.rows > 1 && loader.padTop > loader.rows - 1)
                guard (isTall && !tall) || (isNarrow && !narrow) || (isPixelLanes && !pixelLanes) || (isLead && !lead)
                else { continue }
                XCTAssertLessThanOrEqual(loader.rows * loader.columns, tn)
                let label = "seed \(seed), Tn \(tn), patches \(loader.rows) x \(loader.columns)"
                try Self.simulate(
                    try AcceleratorDesign.generate(
                        model: model, modelName: "patches\(seed).q.json", config: config, pixels: pixels,
                        labels: [0, 1, 2], count: 3, debugLayers: true), label)
                if isTall && !tall {
                    var options = SortedWeightOptions()
                    options.segments = 3
                    let compressed = try ModelCompressor.compress(
                        model, method: .sortedWeights(options), maxAccumulatorBits: 40)
                    try Self.simulate(
                        try AcceleratorDesign.generate(
                            model: compressed, modelName: "patches-m1-\(seed).c.json",
                            config: AcceleratorConfig(tn: tn, reuse: true), pixels: pixels, labels: [0, 1, 2],
                            count: 3, debugLayers: true), "M1 on the reuse lanes, " + label)
                }
                tall = tall || isTall
                narrow = narrow || isNarrow
                pixelLanes = pixelLanes || isPixelLanes
                lead = lead || isLead
            }
        }
        XCTAssertTrue(tall && narrow, "the seeds give a patch of several rows and one narrower than the kernel")
        XCTAssertTrue(lead, "the seeds give a first layer padded beyond its patch")
        XCTAssertTrue(pixelLanes, "the seeds give a first layer with two pixels on the output lanes")
    }

    /// Strips: on random networks whose second convolution has no padding, the first one's fused max pool writes
    /// two pixels per word and the second convolution steps two columns at a time; at Tn = 8 and 16 (with pixel
    /// lanes in the first layer where its channels fit twice).
    func testFusedPoolsWriteStripsBitExact() throws {
        var found: [Int] = []
        for seed in UInt64(1)...80 where found.count < 2 {
            // (Some draws leave conv2 a map smaller than its kernel without padding.)
            guard let graph = try? RandomNetworks.graph(seed: seed, conv2Padding: 0),
                graph.nodes.contains(where: { $0.name == "conv2" }), graph.nodes.contains(where: { $0.name == "pool1" })
            else { continue }
            let model = try Quantizer.quantize(
                graph, calibration: RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: seed), source: "random"
            )
            let pixels = RandomNetworks.images(3, shape: graph.nodes[0].shape, seed: seed &+ 7).pixels
            let tn = found.isEmpty ? 8 : 16
            let network = try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: tn))
            guard network.program.contains(where: \.writesStrips) else { continue }
            XCTAssertTrue(network.program.contains(where: \.readsStrips))
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: model, modelName: "strips\(seed).q.json", config: AcceleratorConfig(tn: tn), pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true), "strips, seed \(seed), Tn \(tn)")
            found.append(tn)
        }
        XCTAssertEqual(found, [8, 16], "the seeds give strips at Tn = 8 and 16")
    }

    /// Strips in channel groups: random networks shaped like LeNet-5 (6 channels before a 5 x 5 convolution
    /// without padding) at Tn = 16, where 5 pixels of 3 channels in 2 words per pixel take 10 steps per output
    /// pixel (2 pixels of 8 lanes: 15, one pixel per word: 25); bit-exact plain, with SWC lanes, and with 16 of
    /// conv2's 20 channels reduced to 3 x 3 (M4), whose tile takes one step per kernel row from the word that ends
    /// on its window (6 steps), its first 2 lanes' pixels left of the window.
    func testStripGroupsRunBitExact() throws {
        var checked = 0
        for seed in UInt64(1)...80 where checked < 2 {
            guard
                let graph = try? RandomNetworks.graph(
                    seed: seed, conv2Padding: 0, conv1Channels: 6, conv2Channels: 20, conv2Kernel: 5),
                graph.nodes.contains(where: { $0.name == "conv2" }), graph.nodes.contains(where: { $0.name == "pool1" })
            else { continue }
            let calibration = RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: seed)
            let model = try Quantizer.quantize(graph, calibration: calibration, source: "random")
            let pixels = RandomNetworks.images(3, shape: graph.nodes[0].shape, seed: seed &+ 7).pixels
            let network = try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 16))
            guard let strip = network.stripLayout else { continue }
            XCTAssertEqual(strip, StripLayout(pixels: 5, lanes: 3, groups: 2), "seed \(seed)")
            let conv2 = try XCTUnwrap(network.program.first { $0.layer == "conv2" })
            XCTAssertEqual(conv2.tileSteps, [10, 10], "5 kernel rows x 1 column step x 2 groups, per output tile")
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: model, modelName: "groups\(seed).q.json", config: AcceleratorConfig(tn: 16), pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true), "strip groups, seed \(seed)")
            let swc = try ModelCompressor.compress(
                model, method: .scalingWeights(ScalingWeightOptions()), maxAccumulatorBits: 40)
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: swc, modelName: "groups-swc\(seed).c.json", config: AcceleratorConfig(tn: 16, swc: true),
                    pixels: pixels, labels: [0, 1, 2], count: 3), "strip groups with SWC lanes, seed \(seed)")
            let reduced = try KernelReducer.reduce(
                model, layer: "conv2", size: 3, pixels: calibration.pixels, images: 20, channels: Set(0..<16))
            let config = AcceleratorConfig(tn: 16, kernelTiles: true)
            let slim = try NetworkCompiler.compile(reduced, config: config)
            XCTAssertEqual(slim.stripLayout, strip)
            XCTAssertEqual(
                slim.program.first { $0.layer == "conv2" }?.tileSteps, [10, 6],
                "the 4 channels at 5 x 5 with 12 reduced ones, then 4 reduced ones: 3 rows x 1 step x 2 groups")
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: reduced, modelName: "groups-m4\(seed).c.json", config: config, pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true), "strip groups, 3 x 3 tile, seed \(seed)")
            checked += 1
        }
        XCTAssertEqual(checked, 2, "the seeds give LeNet-like networks with strip groups")
    }

    /// Strips over several writer tiles: the same LeNet-like networks at Tn = 4, where conv1's 6 channels take 2
    /// output tiles and pool1 writes 2 pixels of 2 channels in 3 groups (2 from the first tile, 1 from the
    /// second; a history of the row's previous pixel per tile), so conv2 takes 5 x 3 x 3 = 45 steps per output
    /// pixel instead of 5 x 5 x 2 = 50; bit-exact plain (every layer's words checked), with SWC lanes, and with
    /// conv2's second output tile reduced to 3 x 3 (M4).
    func testStripGroupsOverWriterTilesRunBitExact() throws {
        var checked = 0
        for seed in UInt64(1)...80 where checked < 2 {
            guard
                let graph = try? RandomNetworks.graph(
                    seed: seed, conv2Padding: 0, conv1Channels: 6, conv2Channels: 8, conv2Kernel: 5),
                graph.nodes.contains(where: { $0.name == "conv2" }), graph.nodes.contains(where: { $0.name == "pool1" })
            else { continue }
            let calibration = RandomNetworks.images(20, shape: graph.nodes[0].shape, seed: seed)
            let model = try Quantizer.quantize(graph, calibration: calibration, source: "random")
            let pixels = RandomNetworks.images(3, shape: graph.nodes[0].shape, seed: seed &+ 7).pixels
            let network = try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4))
            guard let strip = network.stripLayout else { continue }
            XCTAssertEqual(strip, StripLayout(pixels: 2, lanes: 2, groups: 3, tileGroups: 2), "seed \(seed)")
            let conv1 = try XCTUnwrap(network.program.first { $0.layer == "conv1" })
            XCTAssertEqual(conv1.outputTiles, 2)
            XCTAssertEqual(conv1.tileWords, 2, "the second tile's group follows the first tile's two")
            let conv2 = try XCTUnwrap(network.program.first { $0.layer == "conv2" })
            XCTAssertEqual(conv2.tileSteps, [45, 45], "5 kernel rows x 3 column steps x 3 groups, per output tile")
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: model, modelName: "tiles\(seed).q.json", config: AcceleratorConfig(tn: 4), pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true), "strips over writer tiles, seed \(seed)")
            let swc = try ModelCompressor.compress(
                model, method: .scalingWeights(ScalingWeightOptions()), maxAccumulatorBits: 40)
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: swc, modelName: "tiles-swc\(seed).c.json", config: AcceleratorConfig(tn: 4, swc: true),
                    pixels: pixels, labels: [0, 1, 2], count: 3),
                "strips over writer tiles with SWC lanes, seed \(seed)")
            // conv2's second output tile reduced to 3 x 3 (M4): 3 rows x 2 column steps x 3 groups.
            let reduced = try KernelReducer.reduce(
                model, layer: "conv2", size: 3, pixels: calibration.pixels, images: 20, channels: Set(4..<8))
            let config = AcceleratorConfig(tn: 4, kernelTiles: true)
            let slim = try NetworkCompiler.compile(reduced, config: config)
            XCTAssertEqual(slim.stripLayout, strip)
            XCTAssertEqual(slim.program.first { $0.layer == "conv2" }?.tileSteps, [45, 18])
            try Self.simulate(
                try AcceleratorDesign.generate(
                    model: reduced, modelName: "tiles-m4\(seed).c.json", config: config, pixels: pixels,
                    labels: [0, 1, 2], count: 3, debugLayers: true),
                "strips over writer tiles, 3 x 3 tile, seed \(seed)")
            checked += 1
        }
        XCTAssertEqual(checked, 2, "the seeds give LeNet-like networks with strips over writer tiles")
    }

    /// M4 and M3 on random networks: conv1's two last channels reduced to a smaller window, then its channel 0
    /// approximated from two sources; run with reduced-kernel tiles and the feature
    /// unit at Tn = 2, where the reduced channels fill a tile of their own.
    func testKernelTilesAndFeatureUnitRunBitExact() throws {
        var checked = 0
        for seed in UInt64(1)...40 where checked < 3 {
            let (model, pixels) = try Self.randomModel(seed: seed)
            guard let conv = model.layers.first(where: { $0.name == "conv1" }), conv.kernel![0] >= 3, conv.shape[0] >= 4
            else { continue }
            let channels = conv.shape[0], kernel = conv.kernel![0]
            let calibration = RandomNetworks.images(8, shape: model.input.shape, seed: seed &+ 11).pixels
            let reduced = try KernelReducer.reduce(
                model, layer: "conv1", size: kernel - 2, pixels: calibration, images: 8,
                channels: [channels - 2, channels - 1])
            let samples = try FeatureApproximator.samples(reduced, layer: "conv1", pixels: calibration, images: 8)
            let both = try FeatureApproximator.approximate(
                reduced, layer: "conv1", channels: [0], m: 2, samples: samples
            ).model
            for (label, candidate, config) in [
                ("M4", reduced, AcceleratorConfig(tn: 2, kernelTiles: true)),
                ("M4+M3", both, AcceleratorConfig(tn: 2, kernelTiles: true, featureUnit: true)),
            ] {
                // Every layer's words are checked too: the permuted channel orders must hold the golden codes.
                let design = try AcceleratorDesign.generate(
                    model: candidate, modelName: "slim\(seed).c.json", config: config,
                    pixels: pixels, labels: [0, 1, 2], count: 3, debugLayers: true)
                let plain = try NetworkCompiler.compile(
                    candidate.withoutKernelSizes(), config: AcceleratorConfig(tn: 2, featureUnit: config.featureUnit))
                // The reduced channels' tile steps over the smaller window: conv1 takes fewer cycles than without the extension.
                XCTAssertLessThan(design.manifest.layers[0].cycles, plain.layerCycles[0], "\(label) seed \(seed)")
                try Self.simulate(design, "\(label) seed \(seed)")
            }
            // Without the feature unit an M3 model is refused, naming the layer.
            XCTAssertThrowsError(try NetworkCompiler.compile(both, config: AcceleratorConfig(tn: 2))) {
                XCTAssertTrue("\($0)".contains("conv1"))
            }
            checked += 1
        }
        XCTAssertEqual(checked, 3)
    }
}

extension QuantizedModel {
    /// The same model without M4's record (the zeros outside the windows stay, so the arithmetic is the same):
    /// what the accelerator runs when it does not know the windows.
    func withoutKernelSizes() -> QuantizedModel {
        var copy = self
        for i in copy.layers.indices { copy.layers[i].kernelSizes = nil }
        return copy
    }
}

/// `approxrtl synth --target ice40` on an accelerator: the mapped cells, the cell-delay bound of the longest
/// path (Yosys sta) and, for a design small enough to place, nextpnr's Fmax, which the bound must not undercut
/// (routing only adds delay).
final class AcceleratorSynthesisTests: XCTestCase {
    func testCellDelayBoundsTheFmaxNextpnrMeasures() throws {
        let (model, pixels) = try AcceleratorSimulationTests.randomModel(seed: 2)
        let design = try AcceleratorDesign.generate(
            model: model, modelName: "tiny.q.json", config: AcceleratorConfig(tn: 2),
            pixels: pixels, labels: [0, 1, 2], count: 3)
        let folder = try makeTemporaryDirectory("accelerator-ice40")
        defer { try? FileManager.default.removeItem(at: folder) }
        try AcceleratorSimulationTests.write(design.files, to: folder)
        let report = try Synthesis.run(directory: folder, target: .ice40)
        let bound = try XCTUnwrap(report.fmaxBoundMHz, report.note ?? "no bound")
        let fmax = try XCTUnwrap(report.fmaxMHz, report.note ?? "no Fmax")
        XCTAssertGreaterThan(try XCTUnwrap(report.luts), 0)
        XCTAssertGreaterThanOrEqual(bound, fmax, "cell delays alone allow at least the placed design's clock")
        XCTAssertEqual(report.fmaxText, String(format: "%.1f", fmax))
    }
}
