import Approximation
import Datasets
import Quantization
import TestSupport
import Training
import XCTest

/// The transform protocol: every method of the catalog is a transform named as `--method` names it, a transform
/// gives what its library call gives, flows compose in order, and the input model is never changed.
final class TransformTests: XCTestCase {
    private func model() throws -> QuantizedModel {
        let graph = try Architecture.lenet5.build(input: [1, 12, 12], classes: 4, seed: 3)
        return try Quantizer.quantize(
            graph, calibration: RandomNetworks.images(10, shape: [1, 12, 12], seed: 2), source: "lenet.onnx")
    }

    private func context(_ images: ImageDataset) -> TransformContext { TransformContext(training: { images }) }

    func testCatalogMakesEveryMethodUnderItsName() throws {
        XCTAssertEqual(Transforms.names, ["constant", "linear", "quadratic", "swc", "kernel", "feature", "slim"])
        for name in Transforms.names {
            XCTAssertEqual(try Transforms.make(TransformSettings(method: name)).name, name)
        }
        XCTAssertThrowsError(try Transforms.make(TransformSettings(method: "cubic"))) { error in
            XCTAssertEqual(
                "\(error)", "--method must be constant, linear, quadratic, swc, kernel, feature or slim, not 'cubic'")
        }
        var bad = TransformSettings(method: "linear")
        bad.segments = 0
        XCTAssertThrowsError(try Transforms.make(bad))
    }

    func testWeightApproximationsGiveWhatTheCompressorGives() throws {
        let base = try model(), images = RandomNetworks.images(8, shape: [1, 12, 12], seed: 4)
        var m1 = TransformSettings(method: "quadratic")
        (m1.segments, m1.grouping, m1.layers) = (3, .channel, ["conv2", "fc3"])
        var options = SortedWeightOptions()
        (options.degree, options.segments, options.grouping) = (.quadratic, 3, .channel)
        XCTAssertEqual(
            try Transforms.make(m1).apply(base, context: context(images)),
            try ModelCompressor.compress(base, method: .sortedWeights(options), layers: ["conv2", "fc3"]))
        var m2 = TransformSettings(method: "swc")
        (m2.codebook, m2.codeBits) = (.pow2, 4)
        var swc = ScalingWeightOptions()
        (swc.codebook, swc.codeBits) = (.pow2, 4)
        XCTAssertEqual(
            try Transforms.make(m2).apply(base, context: context(images)),
            try ModelCompressor.compress(base, method: .scalingWeights(swc)))
    }

    func testFlowsApplyInOrderAndLeaveTheInputAlone() throws {
        let base = try model(), images = RandomNetworks.images(30, shape: [1, 12, 12], seed: 5)
        var kernel = TransformSettings(method: "kernel")
        (kernel.kernelSize, kernel.calibrationCount) = (3, 30)
        let reduce = try Transforms.make(kernel), approximate = try Transforms.make(TransformSettings(method: "swc"))
        let flow = Flow([reduce, approximate])
        XCTAssertEqual(flow.name, "kernel+swc")
        let copy = base
        let result = try flow.apply(base, context: context(images))
        XCTAssertEqual(base, copy)
        let stepwise = try approximate.apply(reduce.apply(base, context: context(images)), context: context(images))
        XCTAssertEqual(result, stepwise)
        XCTAssertTrue(result.layers.contains { $0.kernelSizes != nil })
        XCTAssertTrue(result.layers.contains { $0.compression?.method == .swc })
    }

    /// The search validates on images the model never trained on: a prefix of the held-out set, none of them
    /// among the calibration images.
    func testValidationSplitKeepsCalibrationAndValidationApart() throws {
        let train = RandomNetworks.images(100, shape: [1, 4, 4], seed: 6)
        var split = ValidationSplit()
        (split.count, split.heldOut, split.seed) = (10, 20, 3)
        let (calibration, validation) = try split.split(train, calibrationCount: 50)
        XCTAssertEqual(calibration.count, 50)
        XCTAssertEqual(validation.count, 10)
        let held = Trainer.heldOut(count: 100, validation: 20, seed: 3)
        XCTAssertEqual(validation.pixels, train.select(Array(held.prefix(10))).pixels)
        let heldSet = Set(held)
        XCTAssertEqual(
            calibration.pixels, train.select(Array((0..<100).filter { !heldSet.contains($0) }.prefix(50))).pixels)
        split.count = 30
        XCTAssertThrowsError(try split.split(train, calibrationCount: 50)) {
            XCTAssertTrue("\($0)".contains("--val-count"), "\($0)")
        }
        // --val-split 15: the first 10 of the last 15 images validate; calibration and fine-tuning take none of them.
        var last = ValidationSplit()
        (last.count, last.lastImages) = (10, 15)
        let (lastCalibration, lastValidation) = try last.split(train, calibrationCount: 90)
        XCTAssertEqual(lastValidation.pixels, train.select(Array(85..<95)).pixels)
        XCTAssertEqual(lastCalibration.pixels, train.select(Array(0..<85)).pixels)
        XCTAssertEqual(try last.kept(train).count, 85)
        last.lastImages = 100
        XCTAssertThrowsError(try last.split(train, calibrationCount: 50)) {
            XCTAssertTrue("\($0)".contains("--val-split"), "\($0)")
        }
        // --val-data: images of one's own; the training set keeps every image.
        var own = ValidationSplit()
        own.count = 4
        own.images = RandomNetworks.images(6, shape: [1, 4, 4], seed: 9)
        let (ownCalibration, ownValidation) = try own.split(train, calibrationCount: 100)
        XCTAssertEqual(ownValidation.pixels, own.images!.prefix(4).pixels)
        XCTAssertEqual(ownCalibration.count, 100)
    }

    /// The warning when validation images may have been trained on, from what `approxrtl train` records.
    func testValidationProvenanceWarnsUnlessTheModelHeldTheImagesOut() {
        var split = ValidationSplit()
        (split.heldOut, split.seed) = (5000, 1)
        let recorded = ["approxrtl.seed": "1", "approxrtl.validation": "5000"]
        XCTAssertNil(split.provenanceWarning(metadata: recorded, model: "m.onnx"))
        // A model trained before the count was recorded: train's default, unless its command set another.
        let older = ["approxrtl.seed": "1", "approxrtl.validation_top1": "0.9", "approxrtl.command": "approxrtl train"]
        XCTAssertNil(split.provenanceWarning(metadata: older, model: "m.onnx"))
        var otherCount = older
        otherCount["approxrtl.command"] = "approxrtl train --validation 1000"
        XCTAssertNotNil(split.provenanceWarning(metadata: otherCount, model: "m.onnx"))
        split.seed = 2
        XCTAssertEqual(
            split.provenanceWarning(metadata: recorded, model: "m.onnx").map {
                $0.contains("seed 1, not 5000 with seed 2")
            },
            true)
        // An export from elsewhere records nothing.
        XCTAssertTrue(
            split.provenanceWarning(metadata: [:], model: "m.onnx")?.contains("m.onnx does not record") ?? false)
        XCTAssertNotNil(split.provenanceWarning(metadata: nil, model: "m.onnx"))
        split.lastImages = 3000
        XCTAssertTrue(split.provenanceWarning(metadata: recorded, model: "m.onnx")?.contains("last 3000") ?? false)
        split.lastImages = nil
        split.images = RandomNetworks.images(2, shape: [1, 4, 4], seed: 1)
        XCTAssertNil(split.provenanceWarning(metadata: nil, model: "m.onnx"))
    }
}
