import ArgumentParser
import Foundation
import NetworkIR
import OnnxImport

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the layers of a model: op, output shape, parameters and MACs.")

    @Argument(help: "The model (.onnx).") var model: String
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func run() throws {
        try reportingErrors {
            let imported = try OnnxImporter.load(path: model)
            let graph = imported.graph
            let total = graph.totalCost
            if json {
                let layers: [[String: Any]] = graph.nodes.indices.map { index in
                    let node = graph.nodes[index]
                    let cost = graph.cost(of: index)
                    return [
                        "name": node.name, "op": node.op.name, "inputs": node.inputs.map { graph.nodes[$0].name },
                        "shape": node.shape, "params": cost.parameters, "macs": cost.macs,
                    ]
                }
                try printJSON([
                    "model": model, "opset": imported.opset, "producer": imported.producer,
                    "batch": imported.staticBatch.map { $0 as Any } ?? NSNull(),
                    "inputs": zip(imported.inputNames, graph.inputs).map {
                        ["name": $0, "shape": graph.nodes[$1].shape]
                    },
                    "outputs": zip(imported.outputNames, graph.outputs).map {
                        ["name": $0, "shape": graph.nodes[$1].shape]
                    },
                    "layers": layers,
                    "total": ["params": total.parameters, "macs": total.macs],
                ])
                return
            }
            print("\(model)  (opset \(imported.opset)\(imported.producer.isEmpty ? "" : ", \(imported.producer)"))")
            let rows = graph.nodes.indices.map { index -> [String] in
                let node = graph.nodes[index]
                let cost = graph.cost(of: index)
                return [node.name, node.op.name, shapeText(node.shape), String(cost.parameters), String(cost.macs)]
            }
            print(
                table(
                    ["layer", "op", "output shape", "params", "MACs"],
                    rows + [["total", "", "", String(total.parameters), String(total.macs)]], rightAligned: [3, 4]))
        }
    }
}
