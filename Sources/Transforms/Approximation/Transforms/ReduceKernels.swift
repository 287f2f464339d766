import Quantization

/// M4, kernel size reduction: the chosen convolutions (default: every one whose kernel is larger) keep the
/// centred window, refitted by least squares on calibration windows or cropped (KernelReducer).
public struct ReduceKernels: ModelTransform {
    public var size: Int
    public var refit: Bool
    public var layers: [String]?
    public var calibrationCount: Int

    public init(_ settings: TransformSettings) {
        (size, refit, layers, calibrationCount) = (
            settings.kernelSize, !settings.crop, settings.layers, settings.calibrationCount
        )
    }

    public var name: String { "kernel" }
    public var summary: String {
        "kernel size reduction to \(size)x\(size), \(refit ? "least-squares refit on \(calibrationCount) training images" : "cropped")"
    }

    public func apply(_ model: QuantizedModel, context: TransformContext) throws -> QuantizedModel {
        let names = layers ?? model.layers.filter { $0.kind == .conv2d && ($0.kernel?.first ?? 0) > size }.map(\.name)
        guard !names.isEmpty else { throw TransformError("no convolution has a kernel larger than \(size)x\(size)") }
        let calibration = try context.trainingImages().prefix(calibrationCount)
        var result = model
        for name in names {
            result = try KernelReducer.reduce(
                result, layer: name, size: size, pixels: calibration.pixels, images: calibration.count, refit: refit)
        }
        return result
    }
}
