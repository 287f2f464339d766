import Quantization

/// The settings every registered method is made from (`compress`'s options as typed values; a sweep's grid is a
/// list of them). Each method reads its own fields.
public struct TransformSettings: Sendable, Equatable {
    public var method: String
    /// The layers to change (nil: the method's default set).
    public var layers: [String]? = nil
    /// Largest accumulator width allowed (nil: the model's).
    public var maxAccumulatorBits: Int? = nil
    // M1: segments per group, grouping, boundary rule, coefficient width.
    public var segments = 16
    public var grouping: Grouping = .layer
    public var boundaries: Boundaries = .optimal
    public var coefficientBits = 16
    // M2: code book, code width, scale width, pruning threshold.
    public var codebook: Codebook = .uniform
    public var codeBits = 4
    public var scaleBits = 12
    public var threshold = 0.0
    // M4: the centred window kept, and cropping instead of the least-squares refit.
    public var kernelSize = 3
    public var crop = false
    // M3: channels approximated per convolution, sources each, coefficient width.
    public var features = 1
    public var sources = 4
    public var featureBits = 8
    /// M3, M4, the search: training images whose windows calibrate the fits.
    public var calibrationCount = 200
    // The budget search: the budget in points, the validation split, the margin, the reductions.
    public var budget = 1.0
    public var validation = ValidationSplit()
    public var margin = 1.0
    public var reductions: [BudgetSearch.Kind] = BudgetSearch.Kind.allCases
    /// What a step saves (nil: the multiply-accumulates) and how many channels a step reduces together
    /// (BudgetSearch.Options).
    public var cost: BudgetSearch.Cost? = nil
    public var group = 1

    public init(method: String) { self.method = method }
}
