import Approximation
import Datasets
import Foundation
import GoldenModel
import Quantization

// `make bench`, the golden model's half: its batched engine (integer GEMMs) against the reference engine (one sample
// at a time, the implementation before it, kept as the oracle), and the budget search run on each. onnxruntime's
// ratios come from tools/bench_float.py in the same `make bench`.

/// Images/s of both engines on the first `count` test images, best of three.
func goldenEngines(_ path: String, test: ImageDataset, count: Int) throws {
    let golden = try GoldenModel(try QuantizedModel.load(path: path))
    let pixels = Array(test.prefix(count).pixels)
    func rate(_ engine: GoldenModel.Engine) -> Double {
        let best = (0..<3).map { _ in seconds { _ = golden.predictions(pixels: pixels, count: count, engine: engine) } }
            .min()!
        return Double(count) / best
    }
    let (batched, reference) = (rate(.batched), rate(.reference))
    line(
        "  " + URL(fileURLWithPath: path).lastPathComponent.padding(toLength: 28, withPad: " ", startingAt: 0)
            + String(
                format: " batched %9.0f images/s   reference (baseline) %8.0f images/s   ratio %.2f", batched,
                reference, batched / reference))
}

/// Seconds of the budget search (budget 1 point, M3 and M4, MACs) on `engine`, and its step count.
func searchSeconds(_ path: String, training: ImageDataset, engine: GoldenModel.Engine) throws -> (Double, Int) {
    let model = try QuantizedModel.load(path: path)
    var transform = try BudgetSearchTransform(TransformSettings(method: "slim"))
    transform.options.engine = engine
    let context = TransformContext(training: { training })
    let time = try seconds { _ = try transform.apply(model, context: context) }
    return (time, context.search?.steps.count ?? 0)
}

func searchBench(lenet: String, vgg: String, training: ImageDataset) throws {
    let (batched, steps) = try searchSeconds(lenet, training: training, engine: .batched)
    let (reference, _) = try searchSeconds(lenet, training: training, engine: .reference)
    line(
        String(
            format:
                "  lenet5 budget 1:  batched %6.1f s (%d steps)   reference engine (baseline) %6.1f s   ratio %.2f",
            batched, steps, reference, reference / batched))
    // VGG-small on the reference engine takes tens of minutes: its figure is against the target.
    let (vggSeconds, vggSteps) = try searchSeconds(vgg, training: training, engine: .batched)
    line(
        String(
            format: "  vgg-small budget 1: batched %6.1f s (%d steps)   target 120 s   ratio to target %.2f",
            vggSeconds,
            vggSteps, vggSeconds / 120))
}
