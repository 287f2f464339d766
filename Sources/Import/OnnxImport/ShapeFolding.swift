import NetworkIR
import OnnxProto

/// One entry of an integer vector computed from shapes: a number, or the batch size when the model leaves it
/// symbolic (PyTorch's `x.view(x.size(0), -1)` reads it with Shape and Gather).
enum ShapeEntry: Equatable, CustomStringConvertible {
    case known(Int64)
    case batch

    var description: String {
        switch self {
        case .known(let value): return String(value)
        case .batch: return "N"
        }
    }
}

/// An integer scalar (rank 0) or vector (rank 1) known at import time up to the symbolic batch size: what shape
/// subgraphs compute. Folded away: Reshape reads it as its target shape.
struct ShapeInts: Equatable {
    var rank: Int
    var entries: [ShapeEntry]

    /// The plain integers, when no entry is the batch.
    var known: [Int64]? {
        var result = [Int64]()
        for entry in entries {
            guard case .known(let value) = entry else { return nil }
            result.append(value)
        }
        return result
    }
}

/// The shape-subgraph ops folded at import, on integer constants and ShapeInts (docs/onnx-support.md).
extension ImportContext {
    static let shapeOps: Set<String> = ["Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Slice", "Cast", "Range"]

    mutating func importShapeOp(_ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes) throws {
        let inputs = node.input
        func operand(_ i: Int, _ role: String) throws -> ShapeInts {
            guard i < inputs.count, !inputs[i].isEmpty else {
                throw ImportError.malformed(node: ref, "\(role) (input \(i)) is missing")
            }
            return try shapeInts(inputs[i], role, ref)
        }
        func optional(_ i: Int, _ role: String) throws -> [Int]? {
            guard i < inputs.count, !inputs[i].isEmpty else { return nil }
            return try plainInts(operand(i, role), role, ref)
        }
        let result: ShapeInts
        switch node.opType {
        case "Shape":
            result = try shapeOf(inputs.first ?? "", ref, attributes)
        case "Gather":
            result = try gather(operand(0, "data"), indices: operand(1, "indices"), ref, attributes)
        case "Unsqueeze":
            let axes = try opset >= 13 ? optional(1, "axes") : attributes.ints("axes")
            result = try unsqueeze(operand(0, "data"), axes: axes ?? [], ref)
        case "Squeeze":
            let axes = try opset >= 13 ? optional(1, "axes") : attributes.ints("axes")
            result = try squeeze(operand(0, "data"), axes: axes, ref)
        case "Concat":
            guard try attributes.int("axis", default: 0) == 0 || attributes.int("axis", default: 0) == -1 else {
                throw ImportError.unsupported(node: ref, "only 1-D integer vectors are concatenated at import")
            }
            let parts = try inputs.indices.map { try operand($0, "input \($0)") }
            guard parts.allSatisfy({ $0.rank == 1 }) else {
                throw ImportError.malformed(node: ref, "concatenates scalars; inputs must be 1-D")
            }
            result = ShapeInts(rank: 1, entries: parts.flatMap(\.entries))
        case "Slice":
            result = try slice(node, ref, attributes, data: operand(0, "data"), optional: optional)
        case "Cast":
            // Between integer types only (the values are small: dimensions and indices).
            let integerTypes: Set<Int> = [2, 3, 4, 5, 6, 7, 12, 13]
            guard integerTypes.contains(try attributes.int("to", default: 0)) else {
                throw ImportError.unsupported(node: ref, "only casts between integer types are folded")
            }
            result = try operand(0, "input")
        default:  // Range
            result = try range(operand(0, "start"), operand(1, "limit"), operand(2, "delta"), ref)
        }
        if let known = result.known {
            try bindOutput(
                node, ref,
                to: .constant(ConstantValue(shape: result.rank == 0 ? [] : [known.count], floats: nil, ints: known)))
        } else {
            try bindOutput(node, ref, to: .shapeInts(result))
        }
    }

    /// An integer operand: a ShapeInts or an integer constant of rank 0 or 1.
    func shapeInts(_ name: String, _ role: String, _ ref: NodeRef) throws -> ShapeInts {
        switch values[name] {
        case .shapeInts(let value)?: return value
        case .constant(let value)?:
            guard let ints = value.ints, value.shape.count <= 1 else {
                throw ImportError.unsupported(
                    node: ref,
                    "\(role) '\(name)' is not an integer scalar or vector; shape ops are folded only on those")
            }
            return ShapeInts(rank: value.shape.count, entries: ints.map { .known($0) })
        case .node?:
            throw ImportError.unsupported(
                node: ref,
                "\(role) '\(name)' is a computed activation; \(ref.opType) is folded only on shapes and constants")
        case nil: throw ImportError.malformed(node: ref, "\(role) is missing")
        }
    }

    private func plainInts(_ value: ShapeInts, _ role: String, _ ref: NodeRef) throws -> [Int] {
        guard let known = value.known else {
            throw ImportError.unsupported(node: ref, "\(role) depends on the batch size")
        }
        return known.map { Int(clamping: $0) }
    }

    private func shapeOf(_ name: String, _ ref: NodeRef, _ attributes: Attributes) throws -> ShapeInts {
        let (_, shape) = try flattenable(name, "data", ref)
        let full: [ShapeEntry] = [staticBatch.map { .known(Int64($0)) } ?? .batch] + shape.map { .known(Int64($0)) }
        let rank = full.count
        func clamp(_ axis: Int) -> Int { min(max(axis < 0 ? axis + rank : axis, 0), rank) }
        let start = clamp(try attributes.int("start", default: 0))
        let end = clamp(try attributes.int("end", default: rank))
        return ShapeInts(rank: 1, entries: start < end ? Array(full[start..<end]) : [])
    }

    private func gather(_ data: ShapeInts, indices: ShapeInts, _ ref: NodeRef, _ attributes: Attributes) throws
        -> ShapeInts
    {
        guard data.rank == 1, try attributes.int("axis", default: 0) == 0 else {
            throw ImportError.unsupported(node: ref, "only gathers from a 1-D integer vector are folded")
        }
        let picks = try plainInts(indices, "indices", ref).map { index -> ShapeEntry in
            let i = index < 0 ? index + data.entries.count : index
            guard data.entries.indices.contains(i) else {
                throw ImportError.malformed(node: ref, "index \(index) is outside a vector of \(data.entries.count)")
            }
            return data.entries[i]
        }
        return ShapeInts(rank: indices.rank, entries: picks)
    }

    private func unsqueeze(_ data: ShapeInts, axes: [Int], _ ref: NodeRef) throws -> ShapeInts {
        guard data.rank + axes.count <= 1 else {
            throw ImportError.unsupported(node: ref, "only a scalar unsqueezed to a 1-D vector is folded")
        }
        return ShapeInts(rank: data.rank + axes.count, entries: data.entries)
    }

    private func squeeze(_ data: ShapeInts, axes: [Int]?, _ ref: NodeRef) throws -> ShapeInts {
        guard data.rank == 1, data.entries.count == 1, (axes ?? [0]).allSatisfy({ $0 == 0 || $0 == -1 }) else {
            throw ImportError.unsupported(node: ref, "only a 1-element vector squeezed to a scalar is folded")
        }
        return ShapeInts(rank: 0, entries: data.entries)
    }

    private func slice(
        _ node: Onnx_NodeProto, _ ref: NodeRef, _ attributes: Attributes, data: ShapeInts,
        optional: (Int, String) throws -> [Int]?
    ) throws -> ShapeInts {
        let starts = try opset >= 10 ? optional(1, "starts") : attributes.ints("starts")
        let ends = try opset >= 10 ? optional(2, "ends") : attributes.ints("ends")
        let axes = try opset >= 10 ? optional(3, "axes") : attributes.ints("axes")
        let steps = try opset >= 10 ? optional(4, "steps") : nil
        guard data.rank == 1, let start = starts?.first, let end = ends?.first, starts?.count == 1, ends?.count == 1,
            (axes ?? [0]).allSatisfy({ $0 == 0 || $0 == -1 }), let step = (steps ?? [1]).first, step != 0
        else {
            throw ImportError.unsupported(node: ref, "only a slice of a 1-D integer vector along axis 0 is folded")
        }
        let count = data.entries.count
        func clamp(_ i: Int, _ low: Int, _ high: Int) -> Int { min(max(i < 0 ? i + count : i, low), high) }
        var picked = [ShapeEntry]()
        if step > 0 {
            var i = clamp(start, 0, count)
            while i < clamp(end, 0, count) { picked.append(data.entries[i]); i += step }
        } else {
            var i = clamp(start, -1, count - 1)
            while i > clamp(end, -1, count - 1) { picked.append(data.entries[i]); i += step }
        }
        return ShapeInts(rank: 1, entries: picked)
    }

    private func range(_ start: ShapeInts, _ limit: ShapeInts, _ delta: ShapeInts, _ ref: NodeRef) throws -> ShapeInts {
        let (s, l, d) = try (
            plainInts(start, "start", ref), plainInts(limit, "limit", ref), plainInts(delta, "delta", ref)
        )
        guard s.count == 1, l.count == 1, d.count == 1, d[0] != 0 else {
            throw ImportError.malformed(node: ref, "start, limit and delta must be scalars, delta not 0")
        }
        // Values beyond 2^40 are no dimension or index; they would only overflow the count.
        let bound = 1 << 40
        guard [s[0], l[0], d[0]].allSatisfy({ $0 > -bound && $0 < bound }) else {
            throw ImportError.unsupported(node: ref, "range bounds beyond 2^40 are not folded")
        }
        let count = max(0, (l[0] - s[0] + d[0] - (d[0] > 0 ? 1 : -1)) / d[0])
        guard count <= 1 << 16 else { throw ImportError.unsupported(node: ref, "a range of \(count) values") }
        return ShapeInts(rank: 1, entries: (0..<count).map { .known(Int64(s[0] + $0 * d[0])) })
    }
}
