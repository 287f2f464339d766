import Datasets
import FloatInference
import Foundation
import MatrixKernels
import NetworkIR
import Training

// `make bench`, the Swift half: training throughput of the bundled architectures and the SGEMM under it,
// each printed as a ratio against a baseline measured in the same run on the same machine:
// - training images/s against float-inference images/s of the same network (a training step costs about
//   three forward passes, so about 0.33 is the ceiling of the ratio);
// - blocked SGEMM GFLOP/s against a plain triple loop on the same shapes.

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func line(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

let usage =
    "usage: approxrtl-bench [DATA_DIR [LENET5_Q_JSON VGG_SMALL_Q_JSON]] (with the quantized models, the golden model too)"

/// `body`'s value, or the error's message on stderr and exit status 1 (a bad path or file is not a crash).
func orExit<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch {
        FileHandle.standardError.write(Data("approxrtl-bench: \(error)\n\(usage)\n".utf8))
        exit(1)
    }
}

let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1].hasPrefix("-") || arguments.count == 3 || arguments.count > 4 {
    let help = arguments[1] == "-h" || arguments[1] == "--help"
    (help ? FileHandle.standardOutput : FileHandle.standardError).write(Data((usage + "\n").utf8))
    exit(help ? 0 : 2)
}
let directory = arguments.count > 1 ? arguments[1] : FashionMNIST.defaultDirectory
let train = orExit { try FashionMNIST.load(split: .train, directory: directory) }

line(
    "training throughput, Fashion-MNIST train images, batch 64, Adam, \(ProcessInfo.processInfo.activeProcessorCount) cores:"
)
for (architecture, images) in [(Architecture.lenet5, 8192), (Architecture.vggSmall, 2048)] {
    let subset = train.prefix(images)
    let graph = orExit { try architecture.build(seed: 1) }
    var options = TrainingOptions()
    options.epochs = 1
    options.validationCount = 0
    let trainer = orExit { try Trainer(graph: graph, options: options) }
    let trainSeconds = orExit { try seconds { _ = try trainer.fit(subset) } }
    let executor = FloatExecutor(graph: graph)
    let inputs = subset.floatImages(0..<subset.count)
    let inferSeconds = seconds {
        for start in stride(from: 0, to: subset.count, by: 512) {
            let end = min(subset.count, start + 512)
            _ = executor.run(inputs: [Array(inputs[(start * 784)..<(end * 784)])], batch: end - start)
        }
    }
    let trainRate = Double(images) / trainSeconds, inferRate = Double(images) / inferSeconds
    line(
        "  " + architecture.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
            + String(
                format: " train %8.0f images/s   float inference (baseline) %8.0f images/s   ratio %.3f",
                trainRate, inferRate, trainRate / inferRate))
}

line("SGEMM, one core, shapes from the bundled networks (M x N x K):")
let shapes: [(String, Int, Int, Int)] = [
    ("lenet5 conv2 forward", 16, 100, 150),
    ("vgg conv2 forward", 16, 784, 144),
    ("vgg conv4 weight grad", 32, 288, 196),
    ("vgg conv4 input grad", 288, 196, 32),
    ("square", 256, 256, 256),
]
let scratch = GemmScratch()
for (name, m, n, k) in shapes {
    var random = SeededGenerator(seed: 1)
    let a = (0..<(m * k)).map { _ in random.nextUnit() }, b = (0..<(k * n)).map { _ in random.nextUnit() }
    var c = [Float](repeating: 0, count: m * n)
    let flops = 2.0 * Double(m * n * k)
    let reps = max(1, Int(1e9 / flops))
    let blocked = a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                seconds {
                    for _ in 0..<reps {
                        Gemm.multiply(
                            m: m, n: n, k: k, a: .rowMajor(pa.baseAddress!, columns: k),
                            b: .rowMajor(pb.baseAddress!, columns: n),
                            c: pc.baseAddress!, ldc: n, accumulate: false, scratch: scratch)
                    }
                }
            }
        }
    }
    let naive = a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            c.withUnsafeMutableBufferPointer { pc in
                seconds {
                    for _ in 0..<max(1, reps / 8) {
                        for i in 0..<m {
                            for j in 0..<n {
                                var sum: Float = 0
                                for p in 0..<k { sum += pa[i * k + p] * pb[p * n + j] }
                                pc[i * n + j] = sum
                            }
                        }
                    }
                }
            }
        }
    }
    let fast = flops * Double(reps) / blocked / 1e9, slow = flops * Double(max(1, reps / 8)) / naive / 1e9
    line(
        "  " + name.padding(toLength: 24, withPad: " ", startingAt: 0)
            + String(
                format: " %3dx%3dx%3d  blocked %6.2f GFLOP/s   triple loop (baseline) %6.2f GFLOP/s   ratio %.1f",
                m, n, k, fast, slow, fast / slow))
}

if arguments.count > 3 {
    let test = orExit { try FashionMNIST.load(split: .test, directory: directory) }
    line("integer golden model, first 2,000 test images, \(ProcessInfo.processInfo.activeProcessorCount) cores:")
    for path in arguments[2...3] { orExit { try goldenEngines(path, test: test, count: 2000) } }
    line("budget search (compress --method slim --budget 1, M3 and M4, multiply-accumulates):")
    orExit { try searchBench(lenet: arguments[2], vgg: arguments[3], training: train) }
}
