@testable import Accelerator
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
    }
}
