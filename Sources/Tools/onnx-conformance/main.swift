// Runs the ONNX backend node test cases (written by tools/gen_node_tests.py) through approxrtl's importer and
// float reference, and compares every output with the expected one.
//
//   onnx-conformance DIR [--min-passed N] [--verbose]
//
// A case is skipped, with its reason printed, when it uses an op the IR does not support or when the importer
// refuses it as unsupported (a 3-D pool, a Flatten that folds the batch, an integer tensor, ...). Anything else
// that goes wrong is a failure. Tolerance: the one the suite states for each case (tolerance.txt, "rtol atol",
// numpy.testing.assert_allclose semantics: |actual - expected| <= atol + rtol * |expected|; by default rtol 1e-3,
// atol 1e-7). Some expected values are rounded by hand in the suite's source, so a tighter bound would test the
// rounding, not the implementation; tools/ort_check.py compares with onnxruntime at a tighter tolerance.
import FloatInference
import Foundation
import NetworkIR
import OnnxImport
import OnnxProto

/// Node test graphs feed weights as graph inputs; the IR needs them as constants. These input positions are
/// parameters of their op and are bound to the test's data as initializers.
let parameterPositions: [String: Set<Int>] = [
    "Conv": [1, 2], "Gemm": [1, 2], "MatMul": [1], "BatchNormalization": [1, 2, 3, 4], "Reshape": [1],
    "Dropout": [1, 2],
    "Clip": [1, 2],
]

enum Outcome {
    case passed
    case failed(String)
    case skipped(String)
}

struct CaseError: Error { var outcome: Outcome }

func loadTensorProto(_ url: URL) throws -> Onnx_TensorProto {
    try Onnx_TensorProto(serializedBytes: Data(contentsOf: url))
}

/// The model with its parameter inputs (weights, biases, broadcast operands) bound as initializers, and the other
/// inputs as the tensors to feed.
func bindParameters(_ model: Onnx_ModelProto, inputData: [Onnx_TensorProto]) throws -> (Onnx_ModelProto, [Tensor]) {
    var bound = model
    var constantNames = Set<String>()
    let shapes = Dictionary(uniqueKeysWithValues: zip(model.graph.input.map(\.name), inputData.map(\.dims)))
    for node in model.graph.node {
        for (position, name) in node.input.enumerated() where shapes[name] != nil {
            let isParameter = parameterPositions[node.opType]?.contains(position) ?? false
            // Add: an operand smaller than the other broadcasts like a bias.
            let isBroadcastOperand =
                node.opType == "Add" && node.input.count == 2
                && {
                    let other = shapes[node.input[1 - position]] ?? []
                    return shapes[name]! != other && shapes[name]!.reduce(1, *) < other.reduce(1, *)
                }()
            if isParameter || isBroadcastOperand { constantNames.insert(name) }
        }
    }
    var feeds = [Tensor]()
    for (index, input) in model.graph.input.enumerated() {
        if constantNames.contains(input.name) {
            var initializer = inputData[index]
            initializer.name = input.name
            bound.graph.initializer.append(initializer)
        } else {
            feeds.append(try OnnxImporter.floatTensor(inputData[index], location: "input '\(input.name)'"))
        }
    }
    bound.graph.input.removeAll { constantNames.contains($0.name) }
    return (bound, feeds)
}

/// The first output value outside the tolerance (`rtol * |want| + atol`), or a wrong shape; nil when all match.
func compare(
    _ outputs: [[Float]], _ expected: [Onnx_TensorProto], graph: Graph, batch: Int,
    tolerance: (relative: Float, absolute: Float)
) throws -> String? {
    let (relativeTolerance, absoluteTolerance) = tolerance
    for (index, proto) in expected.enumerated() {
        let reference = try OnnxImporter.floatTensor(proto, location: "output \(index)")
        let shape = [batch] + graph.nodes[graph.outputs[index]].shape
        guard shape == reference.shape else {
            return "output \(index) has shape \(shape), expected \(reference.shape)"
        }
        for (i, (actual, want)) in zip(outputs[index], reference.data).enumerated() {
            let close =
                abs(actual - want) <= absoluteTolerance + relativeTolerance * abs(want)
                || (actual.isNaN && want.isNaN)
            if !close { return "output \(index)[\(i)] = \(actual), expected \(want)" }
        }
    }
    return nil
}

func runCase(_ directory: URL) -> Outcome {
    do {
        let model = try OnnxImporter.parse(
            data: Data(contentsOf: directory.appendingPathComponent("model.onnx")),
            name: directory.lastPathComponent)
        let toleranceText = try String(contentsOf: directory.appendingPathComponent("tolerance.txt"), encoding: .utf8)
        let tolerance = toleranceText.split(whereSeparator: \.isWhitespace).compactMap { Float($0) }
        guard tolerance.count == 2 else { return .failed("tolerance.txt does not hold 'rtol atol'") }
        let (relativeTolerance, absoluteTolerance) = (tolerance[0], tolerance[1])
        let ops = Set(model.graph.node.map(\.opType))
        let unsupported = ops.subtracting(OnnxImporter.supportedOps).sorted()
        guard unsupported.isEmpty else { return .skipped("op \(unsupported.joined(separator: ", ")) not in the IR") }
        let dataDir = directory.appendingPathComponent("test_data_set_0")
        let files = try FileManager.default.contentsOfDirectory(atPath: dataDir.path)
        if let odd = files.first(where: { $0.hasSuffix(".unsupported") }) {
            return .skipped("\(odd.replacingOccurrences(of: ".unsupported", with: "")) is not a plain tensor")
        }
        let inputData = try (0..<model.graph.input.count).map {
            try loadTensorProto(dataDir.appendingPathComponent("input_\($0).pb"))
        }
        let expectedCount = files.filter { $0.hasPrefix("output_") }.count
        let expected = try (0..<expectedCount).map {
            try loadTensorProto(dataDir.appendingPathComponent("output_\($0).pb"))
        }

        let (bound, feeds) = try bindParameters(model, inputData: inputData)

        let imported: ImportedModel
        do {
            imported = try OnnxImporter.importModel(bound)
        } catch let error as ImportError where error.kind == .unsupported {
            return .skipped("\(error)")
        }
        guard let batch = feeds.first?.shape.first, feeds.allSatisfy({ $0.shape.first == batch }) else {
            return .skipped("inputs have no common batch dimension")
        }
        let outputs = FloatExecutor(graph: imported.graph).run(inputs: feeds.map(\.data), batch: batch)
        guard outputs.count == expected.count else {
            return .failed("\(outputs.count) outputs, expected \(expected.count)")
        }
        if let failure = try compare(
            outputs, expected, graph: imported.graph, batch: batch,
            tolerance: (relativeTolerance, absoluteTolerance))
        {
            return .failed(failure)
        }
        return .passed
    } catch let error as ImportError where error.kind == .unsupported {
        return .skipped("\(error)")
    } catch {
        return .failed("\(error)")
    }
}

var arguments = Array(CommandLine.arguments.dropFirst())
var minPassed = 1
var verbose = false
if let flag = arguments.firstIndex(of: "--min-passed"), flag + 1 < arguments.count, let value = Int(arguments[flag + 1])
{
    minPassed = value
    arguments.removeSubrange(flag...(flag + 1))
}
if let flag = arguments.firstIndex(of: "--verbose") { verbose = true; arguments.remove(at: flag) }
guard arguments.count == 1 else {
    FileHandle.standardError.write(Data("usage: onnx-conformance DIR [--min-passed N] [--verbose]\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: arguments[0])
// Case folders only: make's stamp file and anything else hidden or plain is not a case.
let cases = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { name in
    var isDirectory: ObjCBool = false
    return !name.hasPrefix(".")
        && FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory)
        && isDirectory.boolValue
}.sorted()
guard !cases.isEmpty else {
    FileHandle.standardError.write(Data("error: no test cases in \(root.path); run `make conformance-data`\n".utf8))
    exit(2)
}
var passed = 0, failed = 0, skipped = 0, notInIR = 0
for name in cases {
    switch runCase(root.appendingPathComponent(name)) {
    case .passed:
        passed += 1
        print("PASS \(name)")
    case .failed(let reason):
        failed += 1
        print("FAIL \(name): \(reason)")
    case .skipped(let reason):
        skipped += 1
        if reason.hasPrefix("op ") { notInIR += 1 }
        // Cases of ops outside the IR are counted, not listed one by one, unless asked.
        if verbose || !reason.hasPrefix("op ") { print("SKIP \(name): \(reason)") }
    }
}
print("(\(notInIR) cases use ops outside the IR; --verbose lists them)")
print("onnx-node-conformance: \(passed) passed, \(failed) failed, \(skipped) skipped")
if passed < minPassed {
    print("error: only \(passed) cases passed, at least \(minPassed) expected")
    exit(1)
}
exit(failed == 0 ? 0 : 1)
