import Quantization

/// Every compression method by its `--method` name. A new method is one file with its transform and one line
/// here (docs/architecture.md).
public enum Transforms {
    public static let catalog: [(name: String, make: @Sendable (TransformSettings) throws -> any ModelTransform)] = [
        ("constant", { try SortedWeightApproximation($0, degree: .constant) }),
        ("linear", { try SortedWeightApproximation($0, degree: .linear) }),
        ("quadratic", { try SortedWeightApproximation($0, degree: .quadratic) }),
        ("swc", { try ScalingWeightApproximation($0) }),
        ("kernel", { ReduceKernels($0) }),
        ("feature", { ApproximateFeatures($0) }),
        ("slim", { try BudgetSearchTransform($0) }),
    ]

    public static var names: [String] { catalog.map(\.name) }

    /// The transform `settings` name, made from them; refuses an unknown method or impossible settings.
    public static func make(_ settings: TransformSettings) throws -> any ModelTransform {
        guard let entry = catalog.first(where: { $0.name == settings.method }) else {
            let names = self.names
            throw TransformError(
                "--method must be \(names.dropLast().joined(separator: ", ")) or \(names.last!), not '\(settings.method)'"
            )
        }
        return try entry.make(settings)
    }
}

/// Settings a method cannot run with, or data it lacks: the option and the reason.
public struct TransformError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
