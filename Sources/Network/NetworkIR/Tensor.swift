/// A dense float32 tensor in row-major (C) order.
public struct Tensor: Equatable, Sendable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "tensor data count \(data.count) does not match shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
}

/// Number of elements of a shape.
@inlinable
public func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// What sizes from outside (files, options) may reach: each dimension at most 2^24, a window, stride or pad at
/// most 2^16, a whole shape at most 2^31 elements. Far beyond any model the tool handles, and small enough that
/// size arithmetic cannot overflow.
public enum SizeLimits {
    public static let dimension = 1 << 24
    public static let window = 1 << 16
    public static let elements = 1 << 31
}

/// The element count of a shape whose dimensions are all in 0...2^24, if it is at most 2^31; nil otherwise.
public func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dim in shape {
        guard (0...SizeLimits.dimension).contains(dim) else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: dim)
        guard !overflow, product <= SizeLimits.elements else { return nil }
        count = product
    }
    return count
}
