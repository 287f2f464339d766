@testable import Accelerator
import Approximation
import Quantization
import TestSupport
import XCTest

final class NetworkCompilerTests: XCTestCase {
    func testInstructionFieldsLandWhereTheDocumentSays() {
        let instruction = Instruction(layer: "x", op: .averagePool, relu: true, logits: false, source: 1, destination: 0,
                                      inputHeight: 28, inputWidth: 27, inputTiles: 2, outputHeight: 14, outputWidth: 13, outputTiles: 3,
                                      kernelHeight: 5, kernelWidth: 3, strideHeight: 2, strideWidth: 1, padTop: 2, padLeft: 1,
                                      poolShift: 2, weightBase: 0x123456, paramBase: 0xabcd)
        // By hand from docs/accelerator.md: op 2 | relu << 2 | source << 4 = 0x16; then the byte fields, the nibbles
        // (kernel 5, 3 -> 0x35 as [63:56]; strides 2, 1 -> 0x12; pads 2, 1 -> 0x12; pool shift 2), the bases.
        XCTAssertEqual(instruction.hex, "abcd" + "123456" + "0" + "2" + "12" + "12" + "35" + "03" + "0d" + "0e" + "02" + "1b" + "1c" + "16")
        XCTAssertNil(instruction.overflowingField)
        var big = instruction
        big.kernelHeight = 16
        XCTAssertEqual(big.overflowingField?.name, "kernel_height")
    }

    func testCycleModelCountsStepsFetchAndDrain() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 2)
        let network = try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4))
        XCTAssertEqual(network.drain, 2 + 3)
        for (instruction, cycles) in zip(network.program, network.layerCycles) {
            XCTAssertEqual(cycles, instruction.steps + 2 + network.drain)
            if instruction.op == .multiplyAccumulate {
                XCTAssertEqual(instruction.steps, instruction.outputHeight * instruction.outputWidth * instruction.outputTiles
                               * instruction.kernelHeight * instruction.kernelWidth * instruction.inputTiles, "no reductions: full tiles")
            }
        }
        // Every multiply-accumulate of the model is one of the steps' Tn x Tn products.
        for (instruction, macs) in zip(network.program, network.macs) where instruction.op == .multiplyAccumulate {
            XCTAssertLessThanOrEqual(macs, instruction.steps * 16)
            XCTAssertGreaterThan(macs, 0)
        }
    }

    /// The reuse lanes' scan words hold each channel's parts from the highest rank down, and summing the members'
    /// inputs the way diannao_reuse.v does reproduces the layer's dense product with its approximated weights.
    func testReuseMembersReproduceTheApproximatedWeights() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 2)
        var options = SortedWeightOptions()
        options.segments = 3
        let compressed = try ModelCompressor.compress(model, method: .sortedWeights(options), maxAccumulatorBits: 40)
        let network = try NetworkCompiler.compile(compressed, config: AcceleratorConfig(tn: 4, reuse: true))
        XCTAssertFalse(network.macArray)
        let first = network.program[0], layer = compressed.layers[0]
        XCTAssertEqual(layer.kind, .conv2d)
        XCTAssertTrue(first.reuse)
        // Window word and lane -> input position: the gather tile walks ky, kx, then input tiles (one here or strips).
        let (kh, kw) = (layer.kernel![0], layer.kernel![1])
        let strips = network.stripWidth > 1
        let weights = layer.effectiveWeights!, channels = layer.weightShape![0], fan = weights.count / channels
        let scanSteps = Array(first.tileSteps.dropFirst())
        var word = first.weightBase, checked = 0
        for (t, steps) in scanSteps.enumerated() {
            // Each lane: a unit input at every position in turn gives the weight there (linearity of the reuse form).
            for o in 0..<4 where t * 4 + o < channels {
                let m = t * 4 + o
                var recovered = [Int](repeating: 0, count: fan)
                for k in 0..<fan {
                    var (s, j, acc) = (0, 0, 0)
                    for step in 0..<steps {
                        guard case .members(let lanes) = network.weightWords[word + step], let member = lanes[o] else { continue }
                        // One input channel: strips hold a kernel row per word; otherwise word = tap, lane 0.
                        let position = strips ? member.address * kw + member.lane : member.lane * kh * kw + member.address
                        let x = position == k ? 1 : 0
                        s = (member.first ? 0 : s) + x
                        j = (member.first ? 0 : j) + member.d * s
                        if member.last { acc += member.coefficients[0] * s + member.coefficients[1] * j }
                    }
                    recovered[k] = acc
                }
                XCTAssertEqual(recovered, Array(weights[(m * fan)..<((m + 1) * fan)]), "channel \(m)")
                checked += 1
            }
            word += steps
        }
        XCTAssertEqual(checked, channels)
    }

    func testRefusesWhatTheAcceleratorCannotRun() throws {
        let (model, _) = try AcceleratorSimulationTests.randomModel(seed: 1)
        // (M3 without the feature unit: AcceleratorSimulationTests, on a real M3 model.)
        // Three-channel images.
        var colour = model
        colour.input.shape = [3] + model.input.shape.dropFirst()
        XCTAssertThrowsError(try NetworkCompiler.compile(colour)) { error in
            XCTAssertTrue("\(error)".contains("one-channel"), "\(error)")
        }
        // A lane count outside the supported range.
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 1)))
        // Reuse lanes on a model without M1, with too few lanes, or beside SWC lanes.
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4, reuse: true))) { error in
            XCTAssertTrue("\(error)".contains("no layer is compressed with sorted-weight approximation"), "\(error)")
        }
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 2, reuse: true))) { error in
            XCTAssertTrue("\(error)".contains("Tn >= 4"), "\(error)")
        }
        XCTAssertThrowsError(try NetworkCompiler.compile(model, config: AcceleratorConfig(tn: 4, swc: true, reuse: true))) { error in
            XCTAssertTrue("\(error)".contains("not combined"), "\(error)")
        }
    }
}
