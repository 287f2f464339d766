import Approximation
import ArgumentParser
import Datasets
import EDAFlows
import Foundation
import NetworkIR
import OnnxExport
import OnnxImport
import Quantization

/// Runs a command body, turning the library's errors into one clear line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ImportError {
        fail("\(error)")
    } catch let error as DatasetError {
        fail("\(error)")
    } catch let error as GraphError {
        fail("\(error)")
    } catch let error as ExportError {
        fail("\(error)")
    } catch let error as QuantizationError {
        fail("\(error)")
    } catch let error as TransformError {
        fail("\(error)")
    } catch let error as DesignFolderError {
        fail("\(error)")
    } catch let error as CLIError {
        fail(error.message)
    }
}

/// Every option's value within its range; the first outside is named with the range.
func checkOptionRanges(_ options: [(name: String, value: Int, range: ClosedRange<Int>)]) throws {
    if let bad = options.first(where: { !$0.range.contains($0.value) }) {
        throw CLIError("\(bad.name) must lie in \(bad.range.lowerBound)...\(bad.range.upperBound), not \(bad.value)")
    }
}

struct CLIError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    Foundation.exit(1)
}

/// Prints one JSON object, keys sorted so that output is stable.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Renders a per-sample shape with the batch dimension in front.
func shapeText(_ shape: [Int]) -> String { "[N" + shape.map { ", \($0)" }.joined() + "]" }

/// Plain left/right aligned text table.
func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int>) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            let pad = String(repeating: " ", count: widths[column] - cell.count)
            return rightAligned.contains(column) ? pad + cell : cell + pad
        }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
}

/// Long work shows progress on a terminal and stays quiet in CI or when stderr is not a TTY.
struct Progress {
    let label: String
    let total: Int
    let enabled: Bool

    init(_ label: String, total: Int) {
        self.label = label
        self.total = total
        enabled = isatty(2) == 1 && ProcessInfo.processInfo.environment["CI"] == nil
    }

    func update(_ done: Int, _ detail: String = "") {
        guard enabled else { return }
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total) \(detail)".utf8))
    }

    /// A line about the step under way (a terminal only), above the bar.
    func note(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K\(text)\n".utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
    }
}
