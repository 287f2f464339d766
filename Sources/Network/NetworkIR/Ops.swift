/// The operations of the network IR.
///
/// Every activation shape in the IR is *per sample*: the batch dimension is implicit and leading, so a
/// Conv2D input is `[C, H, W]` and a Dense input is `[K]`. That is what the quantizer, the golden model
/// and the hardware generators all want; ONNX graphs whose ops mix the batch with other dimensions are
/// refused at import.
public enum Op: Equatable, Sendable {
    /// A graph input (the image, usually).
    case input
    /// A constant broadcast to every sample (an Add operand, for instance).
    case constant(Tensor)
    case conv2d(Conv2D)
    case maxPool(Pool2D)
    case averagePool(Pool2D)
    case dense(Dense)
    /// Per-channel `y = x * scale[c] + shift[c]` over axis 0: a BatchNormalization with no convolution to fold into.
    case scaleShift(ScaleShift)
    case relu
    /// An elementwise nonlinearity other than ReLU (the integer model runs it as a piecewise-linear table).
    case activation(Activation)
    /// Elementwise sum of two values with numpy broadcasting over the per-sample dimensions.
    case add
    /// Flatten to `[prod(shape)]` (ONNX Flatten with axis 1): a view, data order unchanged.
    case flatten
    /// Reshape to a per-sample shape: a view, data order unchanged.
    case reshape([Int])
    /// Softmax over the contiguous per-sample axes `axes` (evaluation only).
    case softmax(axes: Range<Int>)

    /// Short name shown in reports.
    public var name: String {
        switch self {
        case .input: return "Input"
        case .constant: return "Constant"
        case .conv2d: return "Conv2D"
        case .maxPool: return "MaxPool"
        case .averagePool: return "AveragePool"
        case .dense: return "Dense"
        case .scaleShift: return "ScaleShift"
        case .relu: return "ReLU"
        case .activation(let function): return function.name
        case .add: return "Add"
        case .flatten: return "Flatten"
        case .reshape: return "Reshape"
        case .softmax: return "Softmax"
        }
    }

    /// How many value inputs the op takes.
    public var arity: Int {
        switch self {
        case .input, .constant: return 0
        case .add: return 2
        default: return 1
        }
    }
}

/// Explicit padding of the two spatial dimensions.
public struct Padding2D: Equatable, Sendable {
    public var top: Int, left: Int, bottom: Int, right: Int
    public init(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) {
        self.top = top; self.left = left; self.bottom = bottom; self.right = right
    }
    public static let zero = Padding2D()
}

/// 2-D convolution, NCHW, weights `[outChannels, inChannels, kernelH, kernelW]`, dilation 1, one group.
public struct Conv2D: Equatable, Sendable {
    public var weight: Tensor
    public var bias: [Float]
    public var strideH: Int, strideW: Int
    public var padding: Padding2D

    public init(weight: Tensor, bias: [Float]? = nil, strideH: Int = 1, strideW: Int = 1, padding: Padding2D = .zero) {
        precondition(weight.rank == 4, "Conv2D weight must be [M, C, kH, kW]")
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: weight.shape[0])
        self.strideH = strideH; self.strideW = strideW
        self.padding = padding
    }

    public var outChannels: Int { weight.shape[0] }
    public var inChannels: Int { weight.shape[1] }
    public var kernelH: Int { weight.shape[2] }
    public var kernelW: Int { weight.shape[3] }
}

/// 2-D pooling window. The output size is stored explicitly because ONNX's ceil mode and SAME padding
/// make it more than a function of the other fields.
public struct Pool2D: Equatable, Sendable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padding: Padding2D
    /// Average pooling only: divide by the window size including explicit padding (ONNX count_include_pad=1).
    /// Window cells beyond the explicit padding (ceil mode) are never counted.
    public var countIncludePad: Bool
    /// Output rows and columns; nil means the floor formula.
    public var outputH: Int?, outputW: Int?

    public init(
        kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padding: Padding2D = .zero,
        countIncludePad: Bool = false, outputH: Int? = nil, outputW: Int? = nil
    ) {
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.padding = padding
        self.countIncludePad = countIncludePad
        self.outputH = outputH; self.outputW = outputW
    }
}

/// Fully connected layer: `y[m] = bias[m] + sum_k weight[m, k] * x[k]`, weight `[outFeatures, inFeatures]`.
public struct Dense: Equatable, Sendable {
    public var weight: Tensor
    public var bias: [Float]

    public init(weight: Tensor, bias: [Float]? = nil) {
        precondition(weight.rank == 2, "Dense weight must be [out, in]")
        self.weight = weight
        self.bias = bias ?? [Float](repeating: 0, count: weight.shape[0])
    }

    public var outFeatures: Int { weight.shape[0] }
    public var inFeatures: Int { weight.shape[1] }
}

public struct ScaleShift: Equatable, Sendable {
    public var scale: [Float]
    public var shift: [Float]
    public init(scale: [Float], shift: [Float]) {
        precondition(scale.count == shift.count)
        self.scale = scale; self.shift = shift
    }
}
