import Datasets
import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif
import OnnxProto
import TestSupport
import XCTest

/// Runs the built `approxrtl` executable as a user would.
final class CLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("approxrtl-cli")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    var binary: URL {
        // The test executable (.xctest) sits next to the products of the same build.
        #if os(macOS)
            let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") } ?? Bundle.main
            return bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("approxrtl")
        #else
            return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
                "approxrtl")
        #endif
    }

    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self)
        )
    }

    /// A 4x4-image "classifier": logit c is pixel c of the flattened image (classes 0...3).
    func writePixelPicker() throws -> String {
        var f = OnnxModelFactory(opset: 13)
        f.input("image", [.param("N"), .value(1), .value(4), .value(4)])
        f.node("Flatten", ["image"], ["flat"])
        var weights = [Float](repeating: 0, count: 16 * 4)
        for c in 0..<4 { weights[c * 4 + c] = 1 }  // B is [K=16, M=4]
        f.initializer("B", [16, 4], weights)
        f.node("Gemm", ["flat", "B"], ["logits"], name: "fc")
        f.output("logits", [.param("N"), .value(4)])
        let path = directory.appendingPathComponent("picker.onnx").path
        try f.serialized().write(to: URL(fileURLWithPath: path))
        return path
    }

    func testInspectJSON() throws {
        let model = try writePixelPicker()
        let result = try run(["inspect", model, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let total = try XCTUnwrap(json["total"] as? [String: Int])
        XCTAssertEqual(total["params"], 16 * 4 + 4)
        XCTAssertEqual(total["macs"], 64)
        XCTAssertEqual(
            (json["layers"] as? [[String: Any]])?.map { $0["op"] as? String }, ["Input", "Flatten", "Dense"])
        let table = try run(["inspect", model])
        XCTAssertTrue(table.stdout.contains("fc"))
        XCTAssertTrue(table.stdout.contains("[N, 4]"))
    }

    func testEvalCountsCorrectPredictions() throws {
        let model = try writePixelPicker()
        // Six images: the brightest of pixels 0...3 is the label for the first four, not for the last two.
        let labels: [UInt8] = [0, 1, 2, 3, 0, 1]
        let brightest = [0, 1, 2, 3, 2, 3]
        var pixels = [UInt8](repeating: 10, count: 6 * 16)
        for (i, b) in brightest.enumerated() { pixels[i * 16 + b] = 200 }
        try IDXArray(shape: [6, 4, 4], bytes: pixels).encoded().write(
            to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try IDXArray(shape: [6], bytes: labels).encoded().write(
            to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))

        let result = try run(["eval", model, "--data", directory.path, "--json", "--batch-size", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["images"] as? Int, 6)
        XCTAssertEqual(json["correct"] as? Int, 4)
        let limited = try run(["eval", model, "--data", directory.path, "--limit", "3"])
        XCTAssertTrue(limited.stdout.contains("(3 images): float top-1 100.00%"), limited.stdout)
    }

    func testBadInputsExitNonZeroWithAMessage() throws {
        let garbage = directory.appendingPathComponent("notes.onnx")
        try Data("this is not a model".utf8).write(to: garbage)
        let result = try run(["inspect", garbage.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("error: file '\(garbage.path)'"), result.stderr)

        let model = try writePixelPicker()
        let missingData = try run(["eval", model, "--data", directory.path])
        XCTAssertEqual(missingData.status, 1)
        XCTAssertTrue(missingData.stderr.contains("t10k-images-idx3-ubyte"), missingData.stderr)
    }

    func testRunWritesNpyAndNeverClobbersWithoutForce() throws {
        let model = try writePixelPicker()
        let input = directory.appendingPathComponent("x.npy")
        var values = [Float](repeating: 0, count: 2 * 16)
        values[3] = 5; values[16 + 1] = 7
        try NpyArray(shape: [2, 1, 4, 4], data: values).encoded().write(to: input)
        let output = directory.appendingPathComponent("y.npy")
        try Data("keep me".utf8).write(to: output)
        let refused = try run(["run", model, "--input", input.path, "-o", output.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("--force"))
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), "keep me")
        let forced = try run(["run", model, "--input", input.path, "-o", output.path, "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try NpyArray.read(path: output.path), NpyArray(shape: [2, 4], data: [0, 0, 0, 5, 0, 7, 0, 0]))
    }

    /// A dataset folder holding the bundled 500-image subset as both the train and the test split.
    func writeTinyFashionMNIST() throws -> String {
        let repository = repositoryRoot()
        let subset = try FashionMNIST.load(
            split: .test, directory: repository.appendingPathComponent("data/fashion-mnist-test500").path)
        let folder = directory.appendingPathComponent("fmnist")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for split in ["train", "t10k"] {
            try IDXArray(shape: [subset.count, subset.rows, subset.cols], bytes: subset.pixels).encoded()
                .write(to: folder.appendingPathComponent("\(split)-images-idx3-ubyte"))
            try IDXArray(shape: [subset.count], bytes: subset.labels.map(UInt8.init)).encoded()
                .write(to: folder.appendingPathComponent("\(split)-labels-idx1-ubyte"))
        }
        return folder.path
    }

    func testTrainWritesAnEvaluableModelWithProvenance() throws {
        let data = try writeTinyFashionMNIST()
        let model = directory.appendingPathComponent("lenet.onnx").path
        let arguments = [
            "train", "--arch", "lenet5", "--data", data, "--epochs", "1", "--seed", "7", "--validation", "100", "-o",
            model,
        ]
        let result = try run(arguments)
        XCTAssertEqual(result.status, 0, result.stderr)
        // Not a terminal: plain lines, one per epoch, then the summary.
        XCTAssertTrue(result.stdout.contains("epoch 1/1: loss"), result.stdout)
        XCTAssertTrue(result.stdout.contains("lenet5: 61706 parameters"), result.stdout)
        XCTAssertFalse(result.stderr.contains("\r"), "progress bar drawn although stderr is not a terminal")

        // The model reads back, runs, and records how it was made.
        let eval = try run(["eval", model, "--data", data, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["images"] as? Int, 500)
        let onnx = try Onnx_ModelProto(serializedBytes: Data(contentsOf: URL(fileURLWithPath: model)))
        let metadata = Dictionary(uniqueKeysWithValues: onnx.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(
            metadata["approxrtl.command"],
            "approxrtl train --arch lenet5 --dataset fashion-mnist --epochs 1 --seed 7 --validation 100")
        // The test top-1 stored at training time is what eval measures on the same images.
        let stored = try XCTUnwrap(Double(metadata["approxrtl.test_top1"] ?? ""))
        XCTAssertEqual(stored, try XCTUnwrap(json["float_top1"] as? Double), accuracy: 5e-5)

        // Same seed, same bytes; an existing file is kept without --force.
        let again = try run(arguments)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        let copy = directory.appendingPathComponent("lenet-again.onnx").path
        XCTAssertEqual(try run(Array(arguments.dropLast()) + [copy]).status, 0)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: model)), try Data(contentsOf: URL(fileURLWithPath: copy)))
    }

    func testTrainRefusesUnknownArchitectureAndBadOptions() throws {
        let out = directory.appendingPathComponent("x.onnx").path
        let unknown = try run(["train", "--arch", "resnet50", "-o", out])
        // A usage error (exit 2) names the value, the option and the choices.
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(
            unknown.stderr.contains("'resnet50'") && unknown.stderr.contains("--arch")
                && unknown.stderr.contains("lenet5"),
            unknown.stderr)
        // A negative number reaches the range check (it used to read as a missing value).
        for epochs in ["0", "-1"] {
            let bad = try run(["train", "--arch", "lenet5", "--epochs", epochs, "-o", out])
            XCTAssertEqual(bad.status, 1)
            XCTAssertTrue(bad.stderr.contains("--epochs") && bad.stderr.contains("must be positive"), bad.stderr)
        }
        for lr in [["--lr", "nan"], ["--lr=-inf"], ["--lr", "inf"]] {
            let bad = try run(["train", "--arch", "lenet5"] + lr + ["-o", out])
            XCTAssertEqual(bad.status, 2)
            XCTAssertTrue(bad.stderr.contains("--lr takes a finite number"), bad.stderr)
        }
        let negative = try run(["train", "--arch", "lenet5", "--lr", "-0.5", "-o", out])
        XCTAssertTrue(negative.stderr.contains("--lr must be positive"), negative.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testQuantizeEvalAndVectorsOnTheBundledLeNet() throws {
        let data = try writeTinyFashionMNIST()
        let repository = repositoryRoot()
        let float = repository.appendingPathComponent("models/lenet5-fmnist.onnx").path
        let quantized = directory.appendingPathComponent("lenet.q.json").path
        let q = try run(["quantize", float, "--data", data, "--calib-count", "200", "-o", quantized])
        XCTAssertEqual(q.status, 0, q.stderr)
        XCTAssertTrue(q.stdout.contains("accumulator bits: conv1 "), q.stdout)

        let eval = try run(["eval", quantized, "--data", data, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])
        let integer = try XCTUnwrap(json["integer_top1"] as? Double),
            float32 = try XCTUnwrap(json["float_top1"] as? Double)
        // 8/8 bits on LeNet-5: the integer model stays within a point of the float one on these 500 images.
        XCTAssertEqual(integer, float32, accuracy: 0.01)
        XCTAssertGreaterThan(integer, 0.85)

        let vectors = directory.appendingPathComponent("vectors").path
        let v = try run(["vectors", quantized, "--count", "3", "--data", data, "-o", vectors])
        XCTAssertEqual(v.status, 0, v.stderr)
        let manifest = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: vectors + "/manifest.json")))
                as? [String: Any])
        XCTAssertEqual(manifest["count"] as? Int, 3)
        let input = try String(contentsOfFile: vectors + "/input.hex", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(input.count, 3 * 784)
        let subset = try FashionMNIST.load(split: .test, directory: data)
        XCTAssertEqual(input.prefix(784).map { UInt8($0, radix: 16)! }, Array(subset.pixels.prefix(784)))
        let logits = try String(contentsOfFile: vectors + "/logits.hex", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(logits.count, 30)
        // Writing again into the same folder needs --force.
        let again = try run(["vectors", quantized, "--count", "3", "--data", data, "-o", vectors])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
    }

    func testQuantizedFilesAreValidatedOnLoad() throws {
        let path = directory.appendingPathComponent("bad.q.json").path
        try Data(#"{"format": "approxrtl-quantized", "version": 7}"#.utf8).write(to: URL(fileURLWithPath: path))
        let result = try run(["eval", path, "--data", directory.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("version 7"), result.stderr)
    }

    /// The tiny dataset folder and the bundled LeNet-5 quantized with calibration on 200 of its images.
    func quantizeBundledLeNet() throws -> (data: String, quantized: String) {
        let data = try writeTinyFashionMNIST()
        let repository = repositoryRoot()
        let quantized = directory.appendingPathComponent("lenet.q.json").path
        let q = try run([
            "quantize", repository.appendingPathComponent("models/lenet5-fmnist.onnx").path, "--data", data,
            "--calib-count", "200", "-o", quantized,
        ])
        XCTAssertEqual(q.status, 0, q.stderr)
        return (data, quantized)
    }

    func testCompressReportAndSweepOnTheBundledLeNet() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let compressed = directory.appendingPathComponent("lenet.c.json").path
        let arguments = ["compress", quantized, "--method", "linear", "--segments", "32", "-o", compressed]
        let c = try run(arguments)
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("fc1    linear"), c.stdout)
        let again = try run(arguments)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        let bad = try run([
            "compress", quantized, "--method", "cubic", "-o", directory.appendingPathComponent("x.c.json").path,
        ])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(
            bad.stderr.contains(
                "--method must be constant, linear, quadratic, swc, kernel, feature or slim, not 'cubic'"),
            bad.stderr)

        let report = try run(["report", compressed, "--eval", "--data", data, "--limit", "200", "--json"])
        XCTAssertEqual(report.status, 0, report.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(json["param_reduction"] as? Double), 50)
        XCTAssertLessThan(
            try XCTUnwrap(json["storage_reduction"] as? Double), 1, "the permutation costs more bits than it saves")
        let top1 = try XCTUnwrap(json["integer_top1"] as? Double)
        XCTAssertNotNil(json["uncompressed_integer_top1"] as? Double)
        // eval reads the compressed file like any quantized model and measures the same.
        let eval = try run(["eval", compressed, "--data", data, "--limit", "200", "--json"])
        XCTAssertEqual(
            try XCTUnwrap(
                (JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])?["integer_top1"]
                    as? Double), top1)

        let sweep = directory.appendingPathComponent("sweep").path
        let s = try run([
            "sweep", quantized, "--methods", "linear,swc", "--segments", "4,16", "--groups", "channel", "--boundaries",
            "equal",
            "--codebooks", "pow2", "--code-bits", "3,5", "--data", data, "--limit", "200", "-o", sweep,
        ])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(
            s.stdout.contains("on 200 test images") && s.stdout.contains("M2, most multiplications eliminated:"),
            s.stdout)
        let result = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sweep + "/sweep.json")))
                as? [String: Any])
        let rows = try XCTUnwrap(result["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 4)
        // 5-bit power-of-two codes need scales of 2^14 and an accumulator over 32 bits: listed as refused.
        XCTAssertTrue((rows[3]["refused"] as? String ?? "").contains("more than --max-acc-bits 32"), "\(rows[3])")
        for plot in ["pareto-params.svg", "pareto-multiplies.svg"] {
            let parser = XMLParser(contentsOf: URL(fileURLWithPath: sweep + "/" + plot))!
            XCTAssertTrue(parser.parse(), plot)
        }
        XCTAssertEqual(
            try run(["sweep", quantized, "--methods", "swc", "--data", data, "-o", sweep]).status, 1,
            "existing sweep kept without --force")
    }

    /// generate -> sim -> synth on a LeNet-5 layer, as a user runs them; the folder is never replaced without
    /// --force, and a bad request names the layer.
    func testGenerateSimAndSynthOnTheBundledLeNet() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let compressed = directory.appendingPathComponent("lenet.c.json").path
        XCTAssertEqual(
            try run([
                "compress", quantized, "--method", "quadratic", "--segments", "2", "--group", "channel", "-o",
                compressed,
            ]).status, 0)
        let design = directory.appendingPathComponent("fc3").path
        let arguments = [
            "generate", compressed, "--layer", "fc3", "--arch", "reuse", "--vectors", "8", "--images", "4", "--data",
            data, "-o", design,
        ]
        let g = try run(arguments)
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stdout.contains("fc3_reuse (quadratic"), g.stdout)
        let again = try run(arguments)
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)

        let sim = try run(["sim", design, "--simulator", "iverilog", "--json"])
        XCTAssertEqual(sim.status, 0, sim.stdout + sim.stderr)
        let runs = try XCTUnwrap(
            (JSONSerialization.jsonObject(with: Data(sim.stdout.utf8)) as? [String: Any])?["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.first?["passed"] as? Int, 8 * 10)
        XCTAssertEqual(runs.first?["failed"] as? Int, 0)

        let synth = try run(["synth", design, "--target", "generic"])
        XCTAssertEqual(synth.status, 0, synth.stderr)
        XCTAssertTrue(synth.stdout.contains("fc3    reuse  quadratic"), synth.stdout)

        // A corrupted expectation makes `sim` exit non-zero and show the mismatch.
        try flipLowBit(of: URL(fileURLWithPath: design + "/vectors/expected.hex"), line: 0)
        let bad = try run(["sim", design, "--simulator", "iverilog"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("1 failed") && bad.stdout.contains("FAIL vector 0 channel 0"), bad.stdout)

        let pool = try run([
            "generate", compressed, "--layer", "pool1", "-o", directory.appendingPathComponent("p").path, "--data",
            data,
        ])
        XCTAssertEqual(pool.status, 1)
        XCTAssertTrue(pool.stderr.contains("layer 'pool1'") && pool.stderr.contains("has no weights"), pool.stderr)
        let plain = try run([
            "generate", quantized, "--layer", "fc3", "--arch", "reuse", "-o",
            directory.appendingPathComponent("q").path, "--data", data,
        ])
        XCTAssertEqual(plain.status, 1)
        XCTAssertTrue(plain.stderr.contains("not compressed"), plain.stderr)
    }

    /// The whole network on the accelerator, as a user runs it: generate (byte-identical twice, never clobbering
    /// without --force), sim (bit-exact, report.json updated), a corrupted logit caught, compare, and refusals.
    func testAcceleratorGenerateSimAndCompareOnTheBundledLeNet() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let folder = directory.appendingPathComponent("acc").path, twin = directory.appendingPathComponent("acc2").path
        let arguments = ["generate", quantized, "--arch", "diannao", "--images", "3", "--data", data, "-o", folder]
        let g = try run(arguments)
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stdout.contains("Tn = 16, vanilla, 256 multipliers"), g.stdout)
        XCTAssertEqual(try run(arguments).status, 1, "never replaced without --force")
        XCTAssertEqual(
            try run(["generate", quantized, "--arch", "diannao", "--images", "3", "--data", data, "-o", twin]).status, 0
        )
        for file in [
            "rtl/lenet_diannao.v", "mem/weights.hex", "mem/program.hex", "mem/params.hex", "mem/tiles.hex",
            "design.json",
            "lenet_diannao.core", "vectors/logits.hex",
        ] {
            XCTAssertEqual(
                try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)),
                try Data(contentsOf: URL(fileURLWithPath: twin + "/" + file)), file)
        }
        let sim = try run(["sim", folder, "--simulator", "verilator"])
        XCTAssertEqual(sim.status, 0, sim.stdout + sim.stderr)
        XCTAssertTrue(sim.stdout.contains("3 passed, 0 failed"), sim.stdout)
        // Three images are about 8,000 cycles: the C++ unoptimized, which builds fastest.
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/build/verilator/O0/Vtb_diannao"))
        let report = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json")))
                as? [String: Any])
        let simulations = try XCTUnwrap(report["simulations"] as? [[String: Any]])
        XCTAssertEqual(simulations.first?["passed"] as? Int, 3)
        XCTAssertTrue(try String(contentsOfFile: folder + "/report.html", encoding: .utf8).contains("<svg"))
        let compare = try run(["compare", folder, twin])
        XCTAssertEqual(compare.status, 0, compare.stderr)
        XCTAssertTrue(compare.stdout.contains("vanilla") && compare.stdout.contains("not run"), compare.stdout)

        // A corrupted logit makes `sim` exit non-zero and name the image.
        try flipLowBit(of: URL(fileURLWithPath: twin + "/vectors/logits.hex"), line: 12)
        let bad = try run(["sim", twin, "--simulator", "verilator"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(
            bad.stdout.contains("2 passed, 1 failed") && bad.stdout.contains("FAIL image 1 logit 2"), bad.stdout)

        let unknown = try run([
            "generate", quantized, "--arch", "diannao", "--extensions", "turbo", "--data", data, "-o",
            directory.appendingPathComponent("x").path,
        ])
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.stderr.contains("unknown extension 'turbo'"), unknown.stderr)
        let features = directory.appendingPathComponent("f.c.json").path
        XCTAssertEqual(
            try run([
                "compress", quantized, "--method", "feature", "--features", "1", "--calib-count", "20", "--data", data,
                "-o", features,
            ]).status, 0)
        let refused = try run([
            "generate", features, "--arch", "diannao", "--data", data, "-o", directory.appendingPathComponent("y").path,
        ])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(
            refused.stderr.contains("layer 'conv1'") && refused.stderr.contains("--extensions feature"), refused.stderr)
    }

    func testKernelSizeReductionWritesAnEvaluableModel() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let reduced = directory.appendingPathComponent("k.c.json").path
        let k = try run([
            "compress", quantized, "--method", "kernel", "--kernel-size", "3", "--layers", "conv1", "--calib-count",
            "50",
            "--data", data, "-o", reduced,
        ])
        XCTAssertEqual(k.status, 0, k.stderr)
        XCTAssertTrue(
            k.stdout.contains("conv1  kernel") && k.stdout.contains("416520 -> 341256 (18.1% saved)"), k.stdout)
        let eval = try run(["eval", reduced, "--data", data, "--limit", "100"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let bad = try run([
            "compress", quantized, "--method", "kernel", "--kernel-size", "4", "--layers", "conv1", "--data", data,
            "-o", directory.appendingPathComponent("b.c.json").path,
        ])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("conv1") && bad.stderr.contains("not a centred reduction"), bad.stderr)
    }

    /// `rank` lists every channel of each convolution once, in a QR order that is a permutation with
    /// non-increasing pivots, with sensitivities in 0...1; `compress --method feature` approximates the least
    /// sensitive one.
    func testRankListsEveryChannelAndFeatureApproximationTakesTheLeastSensitive() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let r = try run(["rank", quantized, "--calib-count", "20", "--data", data, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.compactMap { $0["layer"] as? String }, ["conv1", "conv2"])
        var leastSensitive: [String: Int] = [:]
        for layer in layers {
            let channels = try XCTUnwrap(layer["channels"] as? [[String: Any]])
            XCTAssertEqual(channels.compactMap { $0["channel"] as? Int }, Array(0..<channels.count))
            let byPosition = channels.sorted { ($0["position"] as! Int) < ($1["position"] as! Int) }
            XCTAssertEqual(byPosition.map { $0["position"] as! Int }, Array(0..<channels.count))
            let pivots = byPosition.map { $0["pivot"] as! Double }
            XCTAssertTrue(zip(pivots, pivots.dropFirst()).allSatisfy { $0 >= $1 - 1e-9 }, "\(pivots)")
            let sensitivities = channels.map { $0["sensitivity"] as! Double }
            XCTAssertTrue(sensitivities.allSatisfy { (0...1.000001).contains($0) }, "\(sensitivities)")
            leastSensitive[layer["layer"] as! String] = sensitivities.indices.min {
                sensitivities[$0] < sensitivities[$1]
            }
        }
        let output = directory.appendingPathComponent("f.c.json").path
        let c = try run([
            "compress", quantized, "--method", "feature", "--features", "1", "--sources", "4", "--calib-count", "20",
            "--data", data,
            "-o", output,
        ])
        XCTAssertEqual(c.status, 0, c.stderr)
        let model = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        for layer in try XCTUnwrap(model["layers"] as? [[String: Any]]) where layer["kind"] as? String == "conv2d" {
            let name = layer["name"] as! String
            let features = try XCTUnwrap(
                (layer["approximated_features"] as? [String: Any])?["features"] as? [[String: Any]], name)
            XCTAssertEqual(features.compactMap { $0["channel"] as? Int }, [leastSensitive[name]!], name)
        }
        XCTAssertTrue(c.stdout.contains("feature"), c.stdout)
    }

    func testBudgetSearchStaysWithinItsBudget() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let output = directory.appendingPathComponent("s.c.json").path
        let s = try run([
            "compress", quantized, "--method", "slim", "--budget", "0.5", "--layers", "conv1", "--calib-count", "50",
            "--val-count", "100", "--val-held-out", "200",
            "--data", data, "-o", output, "--json",
        ])
        XCTAssertEqual(s.status, 0, s.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])
        let before = try XCTUnwrap(json["validation_top1_before"] as? Double),
            after = try XCTUnwrap(json["validation_top1_after"] as? Double)
        XCTAssertGreaterThanOrEqual(after, before - 0.5)
        let steps = try XCTUnwrap(json["steps"] as? [[String: Any]])
        let saved = steps.reduce(0) { $0 + ($1["macs_saved"] as? Int ?? 0) }
        XCTAssertEqual(try XCTUnwrap(json["macs"] as? Int) - (try XCTUnwrap(json["macs_after"] as? Int)), saved)
        XCTAssertEqual(try run(["eval", output, "--data", data, "--limit", "50"]).status, 0)
        let short = try run([
            "compress", quantized, "--method", "slim", "--val-count", "6000", "--data", data, "-o", output, "--force",
        ])
        XCTAssertEqual(short.status, 1)
        XCTAssertTrue(short.stderr.contains("--val-count must lie in 1...--val-held-out (5000)"), short.stderr)
    }

    /// `--cost cycles`: steps of Tn channels that save accelerator cycles, each fine-tuned before the budget judges
    /// it; the cycles the search reports are what the compiler (checked against the RTL) gives the result. A model
    /// with no convolution to reduce is refused with the reason.
    func testBudgetSearchOnAcceleratorCyclesFineTunesEachStep() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let output = directory.appendingPathComponent("cycles.c.json").path
        let s = try run([
            "compress", quantized, "--method", "slim", "--budget", "100", "--cost", "cycles", "--tn", "16",
            "--finetune", "1", "--limit", "200", "--calib-count", "50", "--val-count", "100", "--val-held-out", "200",
            "--data", data, "-o", output, "--json",
        ])
        XCTAssertEqual(s.status, 0, s.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["cost"] as? String, "accelerator cycles at Tn 16")
        let before = try XCTUnwrap(json["cost_before"] as? Int), after = try XCTUnwrap(json["cost_after"] as? Int)
        XCTAssertLessThan(after, before)
        let steps = try XCTUnwrap(json["steps"] as? [[String: Any]])
        XCTAssertFalse(steps.isEmpty)
        for step in steps {
            XCTAssertGreaterThan(step["cost_saved"] as? Int ?? 0, 0, "\(step)")
            XCTAssertEqual(step["kind"] as? String, "kernel", "the feature unit costs cycles at Tn = 16: \(step)")
            // A whole layer's channels (conv1's 6, conv2's 16: one tile each).
            let channels = step["channels"] as? [Int] ?? [step["channel"] as! Int]
            XCTAssertEqual(channels.count, step["layer"] as? String == "conv1" ? 6 : 16, "\(step)")
        }
        XCTAssertEqual(steps.reduce(before) { $0 - ($1["cost_saved"] as! Int) }, after)
        for suffix in [".finetuned.onnx", ".finetuned.q.json"] {
            let path = directory.appendingPathComponent("cycles" + suffix).path
            XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
        }
        let design = directory.appendingPathComponent("cycles-acc").path
        let g = try run([
            "generate", output, "--arch", "diannao", "--tn", "16", "--extensions", "kernel,feature", "--images", "1",
            "--data", data, "-o", design,
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stdout.contains(" \(after) compute cycles per image"), g.stdout)

        let mlp = directory.appendingPathComponent("mlp.q.json").path
        let q = try run([
            "quantize", repositoryRoot().appendingPathComponent("models/pytorch/mlp.onnx").path, "--data", data,
            "--calib-count", "50", "-o", mlp,
        ])
        XCTAssertEqual(q.status, 0, q.stderr)
        let none = try run([
            "compress", mlp, "--method", "slim", "--val-count", "100", "--val-held-out", "200", "--data", data, "-o",
            directory.appendingPathComponent("mlp.c.json").path,
        ])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("nothing to slim"), none.stderr)
    }

    func testCompressWithFineTuningWritesTheTunedModelsBeside() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let output = directory.appendingPathComponent("tuned.c.json").path
        let c = try run([
            "compress", quantized, "--method", "swc", "--code-bits", "3", "--finetune", "1", "--data", data, "--limit",
            "300", "-o", output,
        ])
        XCTAssertEqual(c.status, 0, c.stderr)
        for file in ["tuned.finetuned.onnx", "tuned.finetuned.q.json", "tuned.c.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(file).path), file)
        }
        let model = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        let record = try XCTUnwrap(model["fine_tuning"] as? [String: Any])
        XCTAssertEqual(record["epochs"] as? Int, 1)
        XCTAssertEqual(record["mode"] as? String, "straight-through")
        // The files it names, relative to its own folder (they all sit in one folder here).
        XCTAssertEqual(record["from"] as? String, URL(fileURLWithPath: quantized).lastPathComponent)
        XCTAssertEqual(model["compressed_from"] as? String, "tuned.finetuned.q.json")
        XCTAssertEqual(model["source"] as? String, "tuned.finetuned.onnx")
        let report = try run(["report", output, "--eval", "--data", data, "--limit", "100"])
        XCTAssertEqual(report.status, 0, report.stderr)
        XCTAssertTrue(report.stdout.contains("top-1 on 100 test images"), report.stdout)
        // The tuned files are kept without --force.
        let again = try run([
            "compress", quantized, "--method", "swc", "--finetune", "1", "--data", data, "--limit", "300",
            "-o", directory.appendingPathComponent("tuned.c.json").path,
        ])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
    }
}

/// Flips the lowest bit of one hex word of a vector file (a corrupted expectation the bench must catch).
func flipLowBit(of file: URL, line: Int) throws {
    var lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
    let flipped = String(Int(lines[line], radix: 16)! ^ 1, radix: 16)
    lines[line] = String(repeating: "0", count: lines[line].count - flipped.count) + flipped
    try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
}
