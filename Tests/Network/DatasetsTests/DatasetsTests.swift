@testable import Datasets
import Foundation
import TestSupport
import XCTest

final class DatasetsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory("approxrtl-datasets")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func gzip(_ url: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-kf", url.path]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    /// `select` takes whole images and their labels in the order asked (the budget search's held-out split).
    func testSelectTakesImagesAndLabelsInOrder() {
        let data = ImageDataset(name: "t", rows: 2, cols: 1, pixels: [0, 1, 10, 11, 20, 21], labels: [5, 6, 7])
        let picked = data.select([2, 0])
        XCTAssertEqual(picked.count, 2)
        XCTAssertEqual(picked.pixels, [20, 21, 0, 1])
        XCTAssertEqual(picked.labels, [7, 5])
        XCTAssertEqual(data.select([]).count, 0)
    }

    func testIDXRoundTripPlainAndGzipped() throws {
        let images = IDXArray(shape: [3, 2, 2], bytes: (0..<12).map { UInt8($0 * 20) })
        let labels = IDXArray(shape: [3], bytes: [7, 0, 9])
        // The header is magic 0x00000803 then big-endian dimensions.
        XCTAssertEqual(Array(images.encoded().prefix(8)), [0, 0, 8, 3, 0, 0, 0, 3])
        try images.encoded().write(to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try labels.encoded().write(to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        try gzip(directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        XCTAssertEqual(
            try IDXArray.read(path: directory.appendingPathComponent("t10k-images-idx3-ubyte.gz").path), images)

        // Only the gzipped images and plain labels: the loader takes either form.
        try FileManager.default.removeItem(at: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        let dataset = try FashionMNIST.load(split: .test, directory: directory.path)
        XCTAssertEqual(dataset.count, 3)
        XCTAssertEqual(dataset.labels, [7, 0, 9])
        XCTAssertEqual(dataset.floatImages(1..<2), [80, 100, 120, 140].map { Float($0) / 255 })
    }

    func testBadIDXFilesAreNamed() throws {
        let truncated = directory.appendingPathComponent("bad.idx")
        try Data(IDXArray(shape: [4, 2], bytes: Array(repeating: 1, count: 8)).encoded().dropLast(3)).write(
            to: truncated)
        XCTAssertThrowsError(try IDXArray.read(path: truncated.path)) { error in
            XCTAssertTrue("\(error)".contains("bad.idx"))
            XCTAssertTrue("\(error)".contains("needs 8"))
        }
        let gz = directory.appendingPathComponent("cut")
        try IDXArray(shape: [1000], bytes: (0..<1000).map { UInt8($0 % 251) }).encoded().write(to: gz)
        try gzip(gz)
        let compressed = try Data(contentsOf: directory.appendingPathComponent("cut.gz"))
        try compressed.prefix(compressed.count / 2).write(to: directory.appendingPathComponent("half.gz"))
        XCTAssertThrowsError(try IDXArray.read(path: directory.appendingPathComponent("half.gz").path)) { error in
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        XCTAssertThrowsError(try FashionMNIST.load(split: .train, directory: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("train-images-idx3-ubyte"))
        }
    }

    func testNpyRoundTripAndHeader() throws {
        let array = NpyArray(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-3, 7])
        let encoded = array.encoded()
        let headerLength = Int(encoded[8]) | Int(encoded[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "data starts on a 64-byte boundary")
        XCTAssertEqual(try NpyArray.decode(encoded, file: "x"), array)
        XCTAssertTrue(String(decoding: encoded[10..<(10 + headerLength)], as: UTF8.self).contains("'shape': (2, 3)"))

        // A float64 file written the way numpy writes it.
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0]) + Data(header.utf8)
        for value in [0.25, -8.0] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        XCTAssertEqual(try NpyArray.decode(data, file: "f8"), NpyArray(shape: [2], data: [0.25, -8]))
        XCTAssertThrowsError(try NpyArray.decode(data.dropLast(4), file: "short.npy")) { error in
            XCTAssertTrue("\(error)".contains("short.npy"))
        }
    }
}

/// Sizes taken from files: checked before anything is sized from them, and refused with the file's name.
final class HostileDatasetTests: XCTestCase {
    func testIDXShapesThatOverflowOrLieAreRefused() {
        func header(_ dims: [UInt32]) -> [UInt8] {
            [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in (0..<4).reversed().map { UInt8(d >> (8 * $0) & 0xff) } }
        }
        for dims: [UInt32] in [[.max, .max, .max, .max], [0x7fff_ffff, 28, 28]] {
            XCTAssertThrowsError(
                try IDXArray.decode(Data(header(dims) + [UInt8](repeating: 0, count: 16)), file: "x.idx")
            ) {
                XCTAssertTrue("\($0)".hasPrefix("x.idx: IDX"), "\($0)")
            }
        }
    }

    func testNpyShapesThatOverflowOrAreNegativeAndNonFiniteValuesAreRefused() {
        func npy(_ shape: String, _ body: [UInt8] = []) -> Data {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
            header += String(repeating: " ", count: 63 - header.count % 64) + "\n"
            let length = UInt16(header.utf8.count)
            return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xff), UInt8(length >> 8)])
                + Data(header.utf8) + Data(body)
        }
        for shape in ["(4294967296, 4294967296, 4294967296)", "(-1, 28, 28)", "(1000000000, 1)"] {
            XCTAssertThrowsError(try NpyArray.decode(npy(shape, [0, 0, 0, 0]), file: "x.npy")) {
                XCTAssertTrue("\($0)".contains("x.npy: .npy shape"), "\($0)")
            }
        }
        for value in [Float.nan, .infinity] {
            let body = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
            XCTAssertThrowsError(try NpyArray.decode(npy("(1,)", body), file: "x.npy")) {
                XCTAssertTrue("\($0)".contains("x.npy: holds"), "\($0)")
            }
        }
    }

    func testAGzipBombStopsAtTheLimit() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bomb-\(getpid())")
        try Data(count: 8 << 20).write(to: url)
        defer { for suffix in ["", ".gz"] { try? FileManager.default.removeItem(atPath: url.path + suffix) } }
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-kf", url.path]
        try gzip.run()
        gzip.waitUntilExit()
        let packed = try Data(contentsOf: URL(fileURLWithPath: url.path + ".gz"))
        XCTAssertEqual(try gunzip(packed, file: "b.gz", limit: 16 << 20).count, 8 << 20)
        XCTAssertThrowsError(try gunzip(packed, file: "b.gz", limit: 4 << 20)) {
            XCTAssertTrue("\($0)".contains("b.gz: inflates to more than 4 MB"), "\($0)")
        }
    }
}
