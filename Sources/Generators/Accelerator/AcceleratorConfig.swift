/// The accelerator's configuration (docs/accelerator.md, "Parameters"): the lanes, the extensions switched on (by
/// the names of their units, `AcceleratorUnits.registered`) and the first layer's mapping.
public struct AcceleratorConfig: Equatable, Sendable {
    /// Lanes: input and output channels per step (Tn x Tn multipliers).
    public var tn: Int
    /// The `--extensions` names switched on.
    public var extensions: Set<String>
    /// How the first convolution of a one-channel image meets the lanes: `patches` (the loader packs a patch of
    /// the kernel's taps into one word, so the input lanes carry ky and kx; ImageLoader) or `channels` (DianNao's
    /// mapping: input channels on the lanes, one of Tn busy for a one-channel image).
    public var firstLayer: FirstLayerMapping
    public enum FirstLayerMapping: String, Sendable, Codable, CaseIterable {
        case patches, channels
        /// `strips`, the name before patches had rows, reads as `patches`.
        public init?(name: String) { self.init(rawValue: name == "strips" ? "patches" : name) }
    }
    /// The FPGA part the design is generated for (`generate --target-device`), and its hard multipliers: NFU-1
    /// products beyond what the part's multipliers leave are built from LUTs, so the design fits the part.
    public var targetDevice: String? = nil
    public var hardMultipliers: Int? = nil
    /// A max pool whose window is its stride, after a convolution whose map nothing else reads, runs in that
    /// convolution's drain (the combiner keeps each window's running max), not as a pass of its own.
    public var fusePooling = true

    public init(tn: Int = 16, extensions: Set<String> = [], firstLayer: FirstLayerMapping = .patches) {
        self.tn = tn; self.extensions = extensions; self.firstLayer = firstLayer
    }

    public init(
        tn: Int = 16, swc: Bool = false, kernelTiles: Bool = false, featureUnit: Bool = false, reuse: Bool = false,
        firstLayer: FirstLayerMapping = .patches
    ) {
        let on = [
            (swc, SWCLanes.name), (kernelTiles, KernelTiles.name), (featureUnit, FeatureUnit.name),
            (reuse, ReuseLanes.name),
        ]
        self.init(tn: tn, extensions: Set(on.filter(\.0).map(\.1)), firstLayer: firstLayer)
    }

    /// SWC lanes: the SB holds M2's scaling-weight codes; NFU-1 multiplies by codes (or shifts, with power-of-two
    /// codes) and NFU-3 applies one MAW multiply per output.
    public var swc: Bool { extensions.contains(SWCLanes.name) }
    /// Reduced-kernel tiles (M4): a layer's output channels are ordered by kernel size, and tiles whose channels
    /// all have a smaller kernel step over its centred window only.
    public var kernelTiles: Bool { extensions.contains(KernelTiles.name) }
    /// The feature-approximation unit (M3): approximated channels form tiles of their own, computed from the
    /// kept accumulators of their sources in one step per source.
    public var featureUnit: Bool { extensions.contains(FeatureUnit.name) }
    /// M1 reuse lanes: a layer compressed with sorted-weight approximation gathers each pixel's window into the
    /// lanes' window memories and scans every output channel's members in its own sorted order.
    public var reuse: Bool { extensions.contains(ReuseLanes.name) }

    /// The extensions switched on, by name in registration order ("vanilla" when none).
    public var name: String {
        let on = AcceleratorUnits.extensionNames.filter(extensions.contains)
        return on.isEmpty ? "vanilla" : on.joined(separator: "+")
    }
}

/// design.json keeps one flag per extension (its unit's `configKey`) beside `tn` and `first_layer`.
extension AcceleratorConfig: Codable {
    struct Key: CodingKey {
        var stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        tn = try container.decode(Int.self, forKey: Key("tn"))
        let mapping = try container.decode(String.self, forKey: Key("firstLayer"))
        guard let firstLayer = FirstLayerMapping(name: mapping) else {
            throw DecodingError.dataCorruptedError(
                forKey: Key("firstLayer"), in: container, debugDescription: "unknown first-layer mapping '\(mapping)'")
        }
        self.firstLayer = firstLayer
        extensions = []
        for unit in AcceleratorUnits.extensions
        where try container.decodeIfPresent(Bool.self, forKey: Key(unit.configKey)) ?? false {
            extensions.insert(unit.name)
        }
        targetDevice = try container.decodeIfPresent(String.self, forKey: Key("targetDevice"))
        hardMultipliers = try container.decodeIfPresent(Int.self, forKey: Key("hardMultipliers"))
        // Designs from before fused pooling ran every pool as a pass of its own.
        fusePooling = try container.decodeIfPresent(Bool.self, forKey: Key("fusePooling")) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(tn, forKey: Key("tn"))
        try container.encode(firstLayer, forKey: Key("firstLayer"))
        for unit in AcceleratorUnits.extensions {
            try container.encode(extensions.contains(unit.name), forKey: Key(unit.configKey))
        }
        try container.encodeIfPresent(targetDevice, forKey: Key("targetDevice"))
        try container.encodeIfPresent(hardMultipliers, forKey: Key("hardMultipliers"))
        try container.encode(fusePooling, forKey: Key("fusePooling"))
    }
}

/// Why a model cannot run on the accelerator: the layer, and the reason.
public struct CompileError: Error, CustomStringConvertible, Equatable {
    public var layer: String
    public var reason: String
    public init(layer: String, _ reason: String) { self.layer = layer; self.reason = reason }
    public var description: String { "layer '\(layer)': \(reason)" }
}
