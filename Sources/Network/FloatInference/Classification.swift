/// Index of the largest of `classes` values starting at `logits[offset]`; ties go to the lowest index.
public func argmax(_ logits: [Float], offset: Int = 0, classes: Int) -> Int {
    var best = 0
    for c in 1..<classes where logits[offset + c] > logits[offset + best] { best = c }
    return best
}

/// Predicted class of every sample in a batch-major logits array.
public func predictions(_ logits: [Float], classes: Int) -> [Int] {
    (0..<(logits.count / classes)).map { argmax(logits, offset: $0 * classes, classes: classes) }
}
