import Quantization

/// A unit of the core that an extension adds, or that a model's layers call for (docs/architecture.md): it refuses
/// what it cannot run, takes its part in the lowering of each weighted layer, and contributes its widths and sizes
/// to the compiled network, from which the core's parameters follow. The compiler calls the hooks of every active
/// unit in registration order (`AcceleratorUnits.registered`); each has a default that does nothing.
protocol AcceleratorUnit: AnyObject {
    /// The unit's name: the one `--extensions` takes.
    static var name: String { get }
    /// Switched on by name (false: built whenever a layer needs it).
    static var isExtension: Bool { get }
    /// design.json's flag for the extension (`config` object).
    static var configKey: String { get }
    /// The unit for `config`, or nil when it is not part of the design.
    static func make(_ config: AcceleratorConfig) -> Self?
    /// The core's parameters this unit sets (diannao_core.v), from the compiled network, also when the design
    /// lacks the unit.
    static func parameters(_ network: CompiledNetwork) -> [(String, Int)]

    /// Before any layer: refusals of the configuration.
    func check(_ config: AcceleratorConfig, model: QuantizedModel) throws
    /// A weighted layer before its instruction exists: refusals, what the SB holds, the output channel order, and
    /// whether the layer runs on this unit instead of the MAC array.
    func prepare(_ layer: inout WeightedLowering) throws
    /// The layer's instruction exists: a unit that runs the layer sets its tile descriptors and SB words (the MAC
    /// array lowers the layer when none did); others may set instruction fields.
    func lower(_ layer: inout WeightedLowering) throws
    /// After the whole program: the unit's widths and sizes into the network.
    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws
    /// The finished network: checks that need every unit's widths.
    func verify(_ network: CompiledNetwork, model: QuantizedModel) throws
}

extension AcceleratorUnit {
    static var configKey: String { name }
    static var isExtension: Bool { true }
    static func parameters(_ network: CompiledNetwork) -> [(String, Int)] { [] }
    func check(_ config: AcceleratorConfig, model: QuantizedModel) throws {}
    func prepare(_ layer: inout WeightedLowering) throws {}
    func lower(_ layer: inout WeightedLowering) throws {}
    func finish(_ network: inout CompiledNetwork, model: QuantizedModel) throws {}
    func verify(_ network: CompiledNetwork, model: QuantizedModel) throws {}
}

/// Every unit the compiler knows: a new extension is one file with its unit and one line here. The order is the
/// order of the hooks (reduced-kernel tiles order a layer's channels before the feature unit's tiles follow them).
public enum AcceleratorUnits {
    static var registered: [any AcceleratorUnit.Type] {
        [
            SWCLanes.self, KernelTiles.self, FeatureUnit.self, ReuseLanes.self, ActivationTables.self,
        ]
    }

    /// The units switched on by name.
    static var extensions: [any AcceleratorUnit.Type] { registered.filter { $0.isExtension } }

    /// The names `--extensions` takes, in registration order.
    public static var extensionNames: [String] { extensions.map { $0.name } }

    /// The units of a design with `config`.
    static func active(_ config: AcceleratorConfig) -> [any AcceleratorUnit] {
        registered.compactMap { $0.make(config) }
    }
}
