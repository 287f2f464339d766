import Foundation
import Quantization

/// Stimulus and expected values for the self-checking testbenches: `$readmemh` files (one word per line,
/// two's complement, zero-padded hex, images one after another in C order) and a JSON manifest that says
/// which file holds what, with widths, shapes and exponents. docs/formats.md describes the layout.
public struct TestVectors {
    public struct Entry: Codable, Equatable {
        public var name: String
        public var file: String
        public var bits: Int
        public var signed: Bool
        public var shape: [Int]
        public var wordsPerImage: Int
        public var exponent: Int?
    }

    public struct Manifest: Codable, Equatable {
        public var format = "approxrtl-vectors"
        public var version = 1
        public var model: String
        public var dataset: String
        public var count: Int
        public var input: Entry
        public var layers: [Entry]
        public var logits: Entry
        public var labels: Entry
        /// Expected class per image (argmax of the logits, lowest index among equals).
        public var predictions: [Int]
    }

    public private(set) var manifest: Manifest
    /// File name -> contents.
    public private(set) var files: [String: Data] = [:]

    /// The pixels as a stream carries them: per image, pixel by pixel in rows, each pixel's channels in order
    /// (HWC); the models' [C, H, W] order for one channel.
    public static func streamOrder(_ pixels: [UInt8], shape: [Int]) -> [Int] {
        let (c, plane) = (shape[0], shape[1] * shape[2])
        guard c > 1 else { return pixels.map(Int.init) }
        return pixels.indices.map { i in
            let (image, within) = (i / (c * plane), i % (c * plane))
            return Int(pixels[image * c * plane + (within % c) * plane + within / c])
        }
    }

    /// Runs the golden model on `pixels` (count images) and records the input, every layer, the logits and labels.
    public init(golden: GoldenModel, modelName: String, dataset: String, pixels: [UInt8], labels: [Int], count: Int) {
        let model = golden.model
        let outcome = golden.run(pixels: pixels, count: count, keepLayers: true)
        func entry(_ name: String, file: String, bits: Int, signed: Bool, shape: [Int], exponent: Int?) -> Entry {
            Entry(
                name: name, file: file, bits: bits, signed: signed, shape: shape, wordsPerImage: shape.reduce(1, *),
                exponent: exponent)
        }
        let input = entry(
            model.input.name, file: "input.hex", bits: 8, signed: false, shape: model.input.shape,
            exponent: model.input.exponent)
        files[input.file] = TestVectors.hex(TestVectors.streamOrder(pixels, shape: model.input.shape), bits: 8)
        var layers: [Entry] = []
        for (layer, values) in zip(model.layers, outcome.layers) {
            // The logits are as wide as their range; a flatten or pool of the image carries pixel codes (9 bits).
            let width = FixedPoint.width(low: layer.outputLow, high: layer.outputHigh)
            let bits = (layer.logits ?? false) ? width : max(model.activationBits, width)
            let e = entry(
                layer.name, file: "layer_\(layers.count)_\(layer.name).hex", bits: bits, signed: true,
                shape: layer.shape,
                exponent: layer.outputExponent)
            files[e.file] = TestVectors.hex(values, bits: bits)
            layers.append(e)
        }
        var logits = layers.last!
        logits.file = "logits.hex"
        files[logits.file] = files[layers.last!.file]
        let labelEntry = entry("labels", file: "labels.hex", bits: 8, signed: false, shape: [1], exponent: nil)
        files[labelEntry.file] = TestVectors.hex(labels, bits: 8)
        let classes = golden.classes
        let predictions = (0..<count).map { s in
            var best = 0
            for c in 1..<classes where outcome.logits[s * classes + c] > outcome.logits[s * classes + best] { best = c }
            return best
        }
        files["predictions.hex"] = TestVectors.hex(predictions, bits: 8)
        manifest = Manifest(
            model: modelName, dataset: dataset, count: count, input: input, layers: layers, logits: logits,
            labels: labelEntry, predictions: predictions)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files["manifest.json"] = (try? encoder.encode(manifest)).map { $0 + Data("\n".utf8) }
    }

    /// One value per line as `bits`-bit two's complement in ceil(bits / 4) lowercase hex digits.
    public static func hex(_ values: [Int], bits: Int) -> Data {
        let digits = (bits + 3) / 4
        let mask = bits >= 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) - 1
        var text = ""
        text.reserveCapacity(values.count * (digits + 1))
        for value in values {
            let word = String(UInt64(bitPattern: Int64(value)) & mask, radix: 16)
            text += String(repeating: "0", count: max(0, digits - word.count)) + word + "\n"
        }
        return Data(text.utf8)
    }
}
