import Foundation
import MatrixKernels

/// GEMM throughput on the shapes the bundled networks produce, against a plain triple loop measured in the same run.
func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

let shapes: [(String, Int, Int, Int)] = [
    ("fixture conv W*col", 8, 576, 25),
    ("dense X*W^T", 5000, 10, 1152),
    ("lenet conv1", 6, 784, 25),
    ("lenet conv2", 16, 100, 150),
    ("vgg conv2", 16, 784, 144),
    ("vgg conv4", 32, 196, 288),
    ("square 256", 256, 256, 256),
]
let scratch = GemmScratch()
for (name, m, n, k) in shapes {
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    let flops = 2.0 * Double(m * n * k)
    let reps = max(1, Int(2e9 / flops))
    let t = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
        seconds { for _ in 0..<reps {
            Gemm.multiply(m: m, n: n, k: k, a: .rowMajor(pa.baseAddress!, columns: k),
                          b: name.hasPrefix("dense") ? .transposed(pb.baseAddress!, columns: k) : .rowMajor(pb.baseAddress!, columns: n),
                          c: pc.baseAddress!, ldc: n, accumulate: false, scratch: scratch)
        } }
    } } }
    print(String(format: "%-22@ %6.2f GFLOPS", name as NSString, flops * Double(reps) / t / 1e9))
}
