import OnnxProto

/// Typed access to a node's attributes, with messages that name the node.
struct Attributes {
    let node: NodeRef
    private let byName: [String: Onnx_AttributeProto]

    init(_ proto: Onnx_NodeProto, ref: NodeRef) throws {
        node = ref
        var map = [String: Onnx_AttributeProto]()
        for attribute in proto.attribute {
            if attribute.hasRefAttrName {
                throw ImportError.unsupported(node: ref, "attribute '\(attribute.name)' refers to a function attribute")
            }
            map[attribute.name] = attribute
        }
        byName = map
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func int(_ name: String, default value: Int) throws -> Int {
        guard let attribute = byName[name] else { return value }
        guard attribute.type == .int || (!attribute.hasType && attribute.hasI) else {
            throw ImportError.malformed(node: node, "attribute '\(name)' must be an integer")
        }
        return Int(attribute.i)
    }

    func float(_ name: String, default value: Float) throws -> Float {
        guard let attribute = byName[name] else { return value }
        guard attribute.type == .float || (!attribute.hasType && attribute.hasF) else {
            throw ImportError.malformed(node: node, "attribute '\(name)' must be a float")
        }
        return attribute.f
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let attribute = byName[name] else { return nil }
        guard attribute.type == .ints || (!attribute.hasType) else {
            throw ImportError.malformed(node: node, "attribute '\(name)' must be a list of integers")
        }
        return attribute.ints.map(Int.init)
    }

    func string(_ name: String, default value: String) throws -> String {
        guard let attribute = byName[name] else { return value }
        guard attribute.type == .string || (!attribute.hasType && attribute.hasS) else {
            throw ImportError.malformed(node: node, "attribute '\(name)' must be a string")
        }
        return String(decoding: attribute.s, as: UTF8.self)
    }

    func attribute(_ name: String) -> Onnx_AttributeProto? { byName[name] }
}
