import Foundation

/// The integer helpers of docs/arithmetic.md, shared by the quantizer, the golden model and the generators.
public enum FixedPoint {
    /// Two's complement range of `bits` bits.
    public static func range(bits: Int) -> ClosedRange<Int> { -(1 << (bits - 1))...((1 << (bits - 1)) - 1) }

    /// The smallest two's complement width that holds every value of `low ... high`.
    public static func width(low: Int, high: Int) -> Int {
        var bits = 1
        while !(range(bits: bits).contains(low) && range(bits: bits).contains(high)) { bits += 1 }
        return bits
    }

    /// Requantization: round half up by an arithmetic right shift of `shift` (or a left shift when negative),
    /// optional ReLU, then saturation to `bits` bits.
    @inline(__always)
    public static func requantize(_ acc: Int, shift: Int, relu: Bool, bits: Int) -> Int {
        var y = shift > 0 ? (acc + (1 << (shift - 1))) >> shift : acc << (-shift)
        if relu && y < 0 { y = 0 }
        let top = (1 << (bits - 1)) - 1
        return min(max(y, -top - 1), top)
    }

    /// The residual add (docs/arithmetic.md section 4): both codes aligned to the finer exponent by left shifts,
    /// summed exactly, then requantized to `outputExponent` as a layer's accumulator is.
    public static func add(
        _ a: Int, exponent ea: Int, _ b: Int, exponent eb: Int, outputExponent eo: Int, relu: Bool, bits: Int
    ) -> Int {
        let e = min(ea, eb)
        return requantize((a << (ea - e)) + (b << (eb - e)), shift: eo - e, relu: relu, bits: bits)
    }

    /// The smallest exponent e with `magnitude / 2^e <= limit` (0 for a zero magnitude).
    public static func exponent(forMagnitude magnitude: Double, limit: Int) -> Int {
        guard magnitude > 0, magnitude.isFinite else { return 0 }
        var e = Int((log2(magnitude / Double(limit))).rounded(.down)) - 1
        while magnitude / pow(2, Double(e)) > Double(limit) { e += 1 }
        return e
    }

    /// `a + b`, clamped to Int's range (interval bounds of values read from files: too large means refused, never a trap).
    public static func saturatingAdd(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? Int.max : Int.min) : sum
    }

    /// `a * b`, clamped to Int's range.
    public static func saturatingMultiply(_ a: Int, _ b: Int) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? ((a < 0) == (b < 0) ? Int.max : Int.min) : product
    }

    /// `value / 2^exponent` rounded to nearest, half away from zero (quantization time only).
    public static func code(_ value: Double, exponent: Int) -> Int {
        Int((value / pow(2, Double(exponent))).rounded(.toNearestOrAwayFromZero))
    }
}
