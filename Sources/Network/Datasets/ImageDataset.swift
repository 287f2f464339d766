import Foundation

/// Labelled images: the pixels as stored (0...255), each image [channels, rows, cols] (one channel: grayscale), and
/// one label per image.
public struct ImageDataset: Sendable {
    public var name: String
    public var count: Int
    public var channels: Int
    public var rows: Int, cols: Int
    public var pixels: [UInt8]
    public var labels: [Int]
    /// The files the images and labels were read from, when they were (for messages).
    public var imageFile: String? = nil
    public var labelFile: String? = nil

    public init(name: String, channels: Int = 1, rows: Int, cols: Int, pixels: [UInt8], labels: [Int]) {
        precondition(pixels.count == labels.count * channels * rows * cols)
        self.name = name; self.channels = channels; self.rows = rows; self.cols = cols
        self.pixels = pixels; self.labels = labels
        self.count = labels.count
    }

    /// Pixels per image.
    public var imageSize: Int { channels * rows * cols }

    /// The float model's input encoding: x = pixel / 255, as [count, channels, rows, cols] (docs/formats.md).
    public func floatImages(_ range: Range<Int>) -> [Float] {
        let size = imageSize
        return pixels[(range.lowerBound * size)..<(range.upperBound * size)].map { Float($0) / 255 }
    }

    /// The first `limit` images.
    public func prefix(_ limit: Int) -> ImageDataset {
        let n = min(limit, count)
        var subset = ImageDataset(
            name: name, channels: channels, rows: rows, cols: cols, pixels: Array(pixels[0..<(n * imageSize)]),
            labels: Array(labels[0..<n]))
        (subset.imageFile, subset.labelFile) = (imageFile, labelFile)
        return subset
    }

    /// The images at `indices`, in that order.
    public func select(_ indices: [Int]) -> ImageDataset {
        let size = imageSize
        var pixels = [UInt8]()
        pixels.reserveCapacity(indices.count * size)
        for i in indices { pixels += self.pixels[(i * size)..<((i + 1) * size)] }
        var subset = ImageDataset(
            name: name, channels: channels, rows: rows, cols: cols, pixels: pixels, labels: indices.map { labels[$0] })
        (subset.imageFile, subset.labelFile) = (imageFile, labelFile)
        return subset
    }

    /// Reads the one image IDX file (`*-images-idx3-ubyte[.gz]`) and the one label IDX file
    /// (`*-labels-idx1-ubyte[.gz]`) of `folder`; refuses a folder with none or several of either.
    public static func readIDX(folder: String) throws -> ImageDataset {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted() } catch {
            throw DatasetError(folder, "not a readable folder")
        }
        func one(_ suffix: String) throws -> String {
            let found = names.filter { $0.hasSuffix(suffix) || $0.hasSuffix(suffix + ".gz") }
            guard found.count == 1 else {
                throw DatasetError(
                    folder,
                    found.isEmpty
                        ? "no *\(suffix)[.gz] file here"
                        : "\(found.count) *\(suffix) files here (\(found.joined(separator: ", "))); keep one")
            }
            return folder + "/" + found[0]
        }
        return try readIDX(images: one("-images-idx3-ubyte"), labels: one("-labels-idx1-ubyte"), name: folder)
    }

    /// Reads an image IDX file and its label IDX file (each gzipped or not).
    public static func readIDX(images: String, labels: String, name: String) throws -> ImageDataset {
        let imageArray = try IDXArray.read(path: images)
        let labelArray = try IDXArray.read(path: labels)
        guard imageArray.shape.count == 3 else {
            throw DatasetError(images, "expected [count, rows, cols] images, got shape \(imageArray.shape)")
        }
        guard imageArray.shape[0] > 0 else { throw DatasetError(images, "holds no images") }
        guard labelArray.shape.count == 1, labelArray.shape[0] == imageArray.shape[0] else {
            throw DatasetError(labels, "expected \(imageArray.shape[0]) labels, got shape \(labelArray.shape)")
        }
        var dataset = ImageDataset(
            name: name, rows: imageArray.shape[1], cols: imageArray.shape[2],
            pixels: imageArray.bytes, labels: labelArray.bytes.map(Int.init))
        (dataset.imageFile, dataset.labelFile) = (images, labels)
        return dataset
    }
}

/// Fashion-MNIST in its IDX files, by default where Debian's dataset-fashion-mnist puts them.
public enum FashionMNIST {
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    public static let classNames = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]

    public enum Split: String, CaseIterable, Sendable {
        case train, test
        var prefix: String { self == .train ? "train" : "t10k" }
    }

    /// Loads a split from `directory`, accepting `name` or `name.gz` for each file.
    public static func load(split: Split, directory: String = defaultDirectory) throws -> ImageDataset {
        func locate(_ base: String) throws -> String {
            for candidate in ["\(directory)/\(base)", "\(directory)/\(base).gz"]
            where FileManager.default.fileExists(atPath: candidate) {
                return candidate
            }
            throw DatasetError(
                directory,
                "no \(base)[.gz] here; install Debian's dataset-fashion-mnist or point --data at the IDX files")
        }
        return try ImageDataset.readIDX(
            images: locate("\(split.prefix)-images-idx3-ubyte"),
            labels: locate("\(split.prefix)-labels-idx1-ubyte"),
            name: "fashion-mnist/\(split.rawValue)")
    }
}
