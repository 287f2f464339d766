import Foundation
import NetworkIR

/// How the image's pixels become codes (docs/arithmetic.md section 2). Channel c's pixel p enters as
/// `p - zeroPoint[c]` with exponent -8. The float model sees `x' = scale[c] * p / 255 + shift[c]`: scale 1 and shift 0
/// without a normalization; torchvision's `Normalize(mean, std)` is scale 1 / std and shift -mean / std. The zero
/// point is the pixel nearest to x' = 0, so padding (code 0) stays the float model's zero to within half a pixel.
/// The first layer's weights take each channel's gain `scale * 256 / 255` and its bias the remaining offset
/// `shift + scale * zeroPoint / 255`, exactly for every tap inside the image.
struct InputEncoding {
    var zeroPoints: [Int]?
    var codes: LayerQuantizer.ImageCodes
    var low: Int { -(zeroPoints?.max() ?? 0) }
    var high: Int { 255 - (zeroPoints?.min() ?? 0) }

    init(_ graph: Graph, plan: Plan) throws {
        let channels = graph.nodes[plan.input].shape[0]
        guard let index = plan.normalization, case .scaleShift(let affine) = graph.nodes[index].op else {
            zeroPoints = nil
            codes = .init(
                gain: Array(repeating: 256.0 / 255.0, count: channels), offset: Array(repeating: 0, count: channels))
            return
        }
        guard affine.scale.allSatisfy({ $0 > 0 }) else {
            throw QuantizationError(
                layer: graph.nodes[index].name, "the input normalization's scale must be positive in every channel")
        }
        var zero = [Int](), gain = [Double](), offset = [Double]()
        for (scale, shift) in zip(affine.scale.map(Double.init), affine.shift.map(Double.init)) {
            let z = Int(min(255, max(0, (-255 * shift / scale).rounded())))
            zero.append(z)
            gain.append(scale * 256 / 255)
            offset.append(shift + scale * Double(z) / 255)
        }
        zeroPoints = zero
        codes = .init(gain: gain, offset: offset)
    }
}
