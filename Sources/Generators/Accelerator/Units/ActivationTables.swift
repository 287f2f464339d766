import Quantization

/// NFU-3's piecewise-linear activation tables, built whenever a layer has a fused activation (Sigmoid, Tanh, ...):
/// one table per such layer, named by its instruction, all padded to the widest (docs/accelerator.md, "Activation
/// tables").
final class ActivationTables: AcceleratorUnit {
    static let name = "tables"
    static let isExtension = false
    static func make(_ config: AcceleratorConfig) -> ActivationTables? { ActivationTables() }

    var tables: [PiecewiseLinear] = []

    func lower(_ layer: inout WeightedLowering) throws {
        guard let table = layer.layer.activation else { return }
        layer.instruction.table = tables.count
        tables.append(table)
    }

    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws {
        network.tables = tables
        // Tables share one width; at least two segments, so the segment select has a bit.
        network.tableSegments = max(2, tables.map(\.segments).max() ?? 2)
        network.slopeWidth = tables.map(\.slopeBits).max() ?? 2
        network.interceptWidth = tables.map(\.interceptBits).max() ?? 2
        network.tableShiftBits = bitsFor(tables.map(\.shift).max() ?? 0)
    }

    static func parameters(_ n: CompiledNetwork) -> [(String, Int)] {
        [
            ("Pwl", n.tables.isEmpty ? 0 : 1), ("Tables", max(1, n.tables.count)),
            ("TableAddrWidth", bitsFor(n.tables.count - 1)),
            ("Segments", n.tableSegments), ("SlopeWidth", n.slopeWidth), ("InterceptWidth", n.interceptWidth),
            ("TableShiftBits", n.tableShiftBits),
        ]
    }
}
