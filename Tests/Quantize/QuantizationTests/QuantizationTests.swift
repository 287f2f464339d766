import Datasets
import Foundation
import NetworkIR
import Quantization
import Training
import XCTest

final class FixedPointTests: XCTestCase {
    func testRequantizeRoundsHalfUpThenReluThenSaturates() {
        // Worked by hand from docs/arithmetic.md section 3.
        XCTAssertEqual(FixedPoint.requantize(5, shift: 1, relu: false, bits: 8), 3)  // 2.5 -> 3
        XCTAssertEqual(FixedPoint.requantize(-5, shift: 1, relu: false, bits: 8), -2)  // -2.5 -> -2 (half up)
        XCTAssertEqual(FixedPoint.requantize(-6, shift: 1, relu: false, bits: 8), -3)  // exact
        XCTAssertEqual(FixedPoint.requantize(-7, shift: 2, relu: false, bits: 8), -2)  // -1.75 -> -2
        XCTAssertEqual(FixedPoint.requantize(-5, shift: 1, relu: true, bits: 8), 0)
        XCTAssertEqual(FixedPoint.requantize(1000, shift: 2, relu: false, bits: 8), 127)  // 250 saturates
        XCTAssertEqual(FixedPoint.requantize(-1000, shift: 2, relu: false, bits: 8), -128)
        XCTAssertEqual(FixedPoint.requantize(3, shift: -2, relu: false, bits: 8), 12)  // left shift
        XCTAssertEqual(FixedPoint.requantize(40, shift: -2, relu: false, bits: 8), 127)
    }

    func testWidthsAndExponents() {
        XCTAssertEqual(FixedPoint.width(low: -128, high: 127), 8)
        XCTAssertEqual(FixedPoint.width(low: 0, high: 128), 9)
        XCTAssertEqual(FixedPoint.width(low: -129, high: 0), 9)
        XCTAssertEqual(FixedPoint.width(low: 0, high: 0), 1)
        // 1.0 with limit 127: 1 / 2^-7 = 128 > 127, so e = -6 (1.0 -> code 64).
        XCTAssertEqual(FixedPoint.exponent(forMagnitude: 1.0, limit: 127), -6)
        XCTAssertEqual(FixedPoint.exponent(forMagnitude: 0.99, limit: 127), -7)
        XCTAssertEqual(FixedPoint.exponent(forMagnitude: 0, limit: 127), 0)
        XCTAssertEqual(FixedPoint.code(-2.5, exponent: 0), -3)  // half away from zero
    }
}

final class QuantizedModelFileTests: XCTestCase {
    private func smallModel(perChannel: Bool = true) throws -> QuantizedModel {
        let graph = try Architecture.lenet5.build(input: [1, 12, 12], classes: 4, seed: 3)
        var random = SeededGenerator(seed: 1)
        let pixels = (0..<(10 * 144)).map { _ in UInt8(random.next() % 256) }
        var options = QuantizationOptions()
        options.perChannel = perChannel
        return try Quantizer.quantize(
            graph,
            calibration: ImageDataset(
                name: "noise", rows: 12, cols: 12, pixels: pixels,
                labels: [Int](repeating: 0, count: 10)),
            source: "lenet.onnx", options: options)
    }

    private func assertRefused(
        _ model: QuantizedModel, _ fragment: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let data = try model.encoded()
        XCTAssertThrowsError(try QuantizedModel.decode(data, file: "m.q.json"), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\(error)", file: file, line: line)
        }
    }

    func testNonFiniteParametersAreRefusedByLayer() throws {
        for bad in [Float.nan, .infinity, -.infinity] {
            var b = GraphBuilder()
            let x = try b.add("image", .input, inputShape: [1, 4, 4])
            let f = try b.add("flat", .flatten, inputs: [x])
            var weight = [Float](repeating: 0.1, count: 48)
            weight[17] = bad
            let d = try b.add(
                "fc", .dense(Dense(weight: Tensor(shape: [3, 16], data: weight), bias: [0, 0, 0])), inputs: [f])
            let calibration = ImageDataset(
                name: "flat", rows: 4, cols: 4, pixels: [UInt8](repeating: 9, count: 32), labels: [0, 1])
            XCTAssertThrowsError(try Quantizer.quantize(b.build(outputs: [d]), calibration: calibration, source: "m")) {
                error in
                XCTAssertTrue("\(error)".contains("'fc': weight 17 is \(bad)"), "\(error)")
            }
        }
    }

    func testRoundTripIsExactAndStable() throws {
        for perChannel in [true, false] {
            let model = try smallModel(perChannel: perChannel)
            let data = try model.encoded()
            XCTAssertEqual(try QuantizedModel.decode(data, file: "m"), model)
            XCTAssertEqual(try QuantizedModel.decode(data, file: "m").encoded(), data)
            XCTAssertEqual(try smallModel(perChannel: perChannel).encoded(), data, "same input, same bytes")
        }
    }

    func testStructureFollowsTheContract() throws {
        let model = try smallModel()
        XCTAssertEqual(model.layers.map(\.name), ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "fc3"])
        XCTAssertEqual(model.layers.map { $0.relu ?? false }, [true, false, true, false, false, true, true, false])
        XCTAssertEqual(model.layers.last?.logits, true)
        XCTAssertEqual(model.layers[0].inputExponent, -8)
        for layer in model.layers where layer.weights != nil {
            XCTAssertTrue(layer.weights!.allSatisfy { abs($0) <= 127 })
            XCTAssertLessThanOrEqual(layer.accumulatorBits!, 32)
        }
    }

    /// The typed views give every kind's fields without optionals, and an error naming the layer (not a trap) on
    /// an unvalidated value that lacks one.
    func testTypedViewsOfLayersAndCompressions() throws {
        let model = try smallModel()
        let conv = try XCTUnwrap(model.layers.first { $0.kind == .conv2d })
        guard case .conv2d(let window, let numbers) = try conv.op() else { return XCTFail("conv2d expected") }
        XCTAssertEqual([window.kernelHeight, window.kernelWidth], conv.kernel)
        XCTAssertEqual([window.padTop, window.padLeft, window.padBottom, window.padRight], conv.pads)
        XCTAssertEqual(numbers.shape, conv.weightShape)
        XCTAssertEqual(numbers.channels * numbers.fan, conv.weights?.count)
        XCTAssertEqual(numbers.accumulatorBits, conv.accumulatorBits)
        var broken = conv
        broken.stride = nil
        XCTAssertThrowsError(try broken.window()) { XCTAssertTrue("\($0)".contains(conv.name), "\($0)") }
        broken = conv
        broken.bias = nil
        XCTAssertThrowsError(try broken.op()) { XCTAssertTrue("\($0)".contains("bias"), "\($0)") }
        var swc = Compression(method: .swc)
        XCTAssertThrowsError(try swc.form()) { XCTAssertTrue("\($0)".contains("codebook"), "\($0)") }
        (swc.codebook, swc.codeBits, swc.scaleBits, swc.scales, swc.codes) = (.pow2, 4, 12, [3], [1, -2])
        guard case .scaled(let m2) = try swc.form() else { return XCTFail("scaled expected") }
        XCTAssertEqual(m2.codes, [1, -2])
    }

    func testInvalidFilesAreRefusedWithAClearMessage() throws {
        var model = try smallModel()
        model.version = 2
        try assertRefused(model, "version 2")

        model = try smallModel()
        model.layers[2].weights![5] = 200
        try assertRefused(model, "weight code 200")

        model = try smallModel()
        model.layers[0].shape = [6, 12, 13]
        try assertRefused(model, "shape [6, 12, 13] should be [6, 12, 12]")

        model = try smallModel()
        model.layers[5].input = "nowhere"
        try assertRefused(model, "reads 'nowhere'")

        model = try smallModel()
        model.layers[5].accumulatorBits = 8
        try assertRefused(model, "does not fit accumulator_bits 8")

        model = try smallModel()
        model.layers[2].shifts![0] += 1
        try assertRefused(model, "shifts must equal")

        // A field removed from the JSON text.
        var object = try JSONSerialization.jsonObject(with: smallModel().encoded()) as! [String: Any]
        object.removeValue(forKey: "activation_bits")
        let data = try JSONSerialization.data(withJSONObject: object)
        XCTAssertThrowsError(try QuantizedModel.decode(data, file: "m.q.json")) { error in
            XCTAssertTrue("\(error)".contains("missing field 'activation_bits'"), "\(error)")
        }
    }

    /// Every number of the file (the first and last of each list) set to extremes: decoding refuses it with the
    /// file's name or accepts it, and never traps (a trap would end this test process).
    func testExtremeNumbersInEveryFieldAreRefusedWithoutATrap() throws {
        let object = try JSONSerialization.jsonObject(with: smallModel().encoded())
        var paths = [[Any]]()
        collectIntegerPaths(object, [], into: &paths)
        XCTAssertGreaterThan(paths.count, 60)
        var refused = 0
        // The file is serialized once per field with a marker there, which each value then replaces (serializing
        // the object once per value took most of this test's time).
        let marker = 987_654_321_987_654_321
        for path in paths {
            let text = String(
                decoding: try JSONSerialization.data(withJSONObject: setting(object, path, to: marker)), as: UTF8.self)
            XCTAssertEqual(text.components(separatedBy: "\(marker)").count, 2, "\(path)")
            for value in [Int.min, Int.max, 1 << 62, -(1 << 40), -1] {
                let data = Data(text.replacingOccurrences(of: "\(marker)", with: "\(value)").utf8)
                do {
                    _ = try QuantizedModel.decode(data, file: "m.q.json")
                } catch let error as QuantizationError {
                    XCTAssertTrue("\(error)".contains("m.q.json"), "\(path) = \(value): \(error)")
                    refused += 1
                }
            }
        }
        XCTAssertGreaterThan(refused, paths.count * 4)
        var model = try smallModel()
        model.layers[0].bias![0] = Int.min
        try assertRefused(model, "bias: -9223372036854775808 lies outside")
        model = try smallModel()
        model.layers[0].kernel = [3, 3]
        try assertRefused(model, "kernel [3, 3] differs from weight_shape's")
    }

    private func collectIntegerPaths(_ value: Any, _ path: [Any], into paths: inout [[Any]]) {
        if let object = value as? [String: Any] {
            for (key, item) in object { collectIntegerPaths(item, path + [key], into: &paths) }
        } else if let list = value as? [Any] {
            let indices = list.allSatisfy({ $0 is NSNumber }) ? Array(Set([0, list.count - 1])) : Array(list.indices)
            for index in indices where index >= 0 { collectIntegerPaths(list[index], path + [index], into: &paths) }
        } else if value is NSNumber {
            paths.append(path)  // booleans too: an integer there is a type error, which must name the file as well
        }
    }

    private func setting(_ value: Any, _ path: [Any], to new: Int) -> Any {
        guard let key = path.first else { return new }
        let rest = Array(path.dropFirst())
        if var object = value as? [String: Any], let key = key as? String {
            object[key] = setting(object[key]!, rest, to: new)
            return object
        }
        var list = value as! [Any]
        let index = key as! Int
        list[index] = setting(list[index], rest, to: new)
        return list
    }

    func testAccumulatorOverTheLimitIsRefusedAtQuantization() throws {
        let graph = try Architecture.lenet5.build(input: [1, 12, 12], classes: 4, seed: 3)
        var options = QuantizationOptions()
        options.maxAccumulatorBits = 16
        let pixels = [UInt8](repeating: 200, count: 144)
        XCTAssertThrowsError(
            try Quantizer.quantize(
                graph, calibration: ImageDataset(name: "x", rows: 12, cols: 12, pixels: pixels, labels: [0]),
                source: "x", options: options)
        ) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("layer 'conv1'") && message.contains("--max-acc-bits 16"), message)
        }
        options = QuantizationOptions()
        options.weightBits = 3
        XCTAssertThrowsError(
            try Quantizer.quantize(
                graph, calibration: ImageDataset(name: "x", rows: 12, cols: 12, pixels: pixels, labels: [0]),
                source: "x", options: options)
        ) { error in
            XCTAssertTrue("\(error)".contains("--wbits 3"), "\(error)")
        }
    }
}
