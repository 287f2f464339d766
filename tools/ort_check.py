"""Cross-check of approxrtl's float reference against onnxruntime on CNNs built here with the onnx helper API.

Each fixture covers a mix of what the importer must get right: strides, explicit and automatic padding, 3x3 and
5x5 kernels, max and average pooling (count_include_pad, ceil mode), BatchNormalization folded and standalone,
Gemm with transB/alpha/beta, MatMul + Add, Reshape (also to a shape computed from the dynamic batch), Dropout,
residual Add, GlobalAveragePool and ReduceMean/ReduceMax over H and W, Softmax under the opset 11 and opset 13
semantics, and Sigmoid, Tanh, LeakyRelu, HardSigmoid, Clip (bounds as inputs and, before opset 11, as attributes)
and HardSwish (also as x * HardSigmoid(x)), an input normalization as Sub, Div and Mul by per-channel constants,
depthwise and grouped convolutions;
one is saved again with its weights in an external data file. The same random batch goes through
onnxruntime and `approxrtl run`.

Then the same comparison on each model given with --models (the bundled trained models, exported by approxrtl's
own ONNX writer) over the images of --data (the bundled 500-image test subset), which checks the exporter against
an independent reader as well as the float reference.

Tolerance: |approxrtl - onnxruntime| <= 1e-5 + 1e-4 * |onnxruntime|, elementwise.
Prints 'ort-check: N passed, N failed' and exits non-zero on any failure.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from fmnist import locate, read_idx

ATOL, RTOL = 1e-5, 1e-4


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []

    def param(self, name, shape, scale=0.3, positive=False):
        value = self.rng.standard_normal(shape).astype(np.float32) * scale
        if positive:
            value = np.abs(value) + 0.5
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def ints(self, name, values):
        self.inits.append(numpy_helper.from_array(np.array(values, dtype=np.int64), name))
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def batchnorm(self, x, channels, name):
        return self.node("BatchNormalization", [x, self.param(name + "_s", [channels], positive=True),
                                                self.param(name + "_b", [channels]), self.param(name + "_m", [channels]),
                                                self.param(name + "_v", [channels], positive=True)], name, epsilon=1e-3)

    def model(self, name, input_shape, output_width, opset):
        graph = helper.make_graph(self.nodes, name,
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"] + input_shape)],
                                  [helper.make_tensor_value_info(self.nodes[-1].output[0], TensorProto.FLOAT, ["N", output_width])],
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="ort_check")
        model.ir_version = 7
        onnx.checker.check_model(model, full_check=True)
        return model


def cnn_opset13():
    """LeNet-like: 3x3 pad 1 + BN (folded), max pool, 5x5 stride 2 pad 2, avg pool with count_include_pad."""
    b = Builder(1)
    x = b.node("Conv", ["x", b.param("c1_w", [6, 1, 3, 3]), b.param("c1_b", [6])], "c1", pads=[1, 1, 1, 1])
    x = b.batchnorm(x, 6, "bn1")
    x = b.node("Relu", [x], "r1")
    x = b.node("MaxPool", [x], "p1", kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("Conv", [x, b.param("c2_w", [12, 6, 5, 5], 0.1), b.param("c2_b", [12])], "c2", strides=[2, 2], pads=[2, 2, 2, 2])
    x = b.node("Relu", [x], "r2")
    x = b.node("AveragePool", [x], "p2", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)
    x = b.node("Flatten", [x], "f")
    x = b.node("Gemm", [x, b.param("g1_w", [32, 12 * 7 * 7], 0.05), b.param("g1_b", [32])], "g1", transB=1, alpha=0.9, beta=0.5)
    x = b.node("Relu", [x], "r3")
    x = b.node("Gemm", [x, b.param("g2_w", [32, 10]), b.param("g2_b", [1, 10])], "g2")
    x = b.node("Softmax", [x], "prob", axis=-1)
    return b.model("cnn_opset13", [1, 28, 28], 10, 13)


def cnn_opset11():
    """SAME_UPPER stride-2 5x5, standalone BN (after ReLU), ceil-mode avg pool (8 -> 4 windows, floor would give 3), Reshape, MatMul + Add, Softmax(axis=1)."""
    b = Builder(2)
    x = b.node("Conv", ["x", b.param("c1_w", [8, 3, 5, 5], 0.2)], "c1", strides=[2, 2], auto_pad="SAME_UPPER")
    x = b.node("Relu", [x], "r1")
    x = b.batchnorm(x, 8, "bn1")
    x = b.node("AveragePool", [x], "p1", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    x = b.node("MaxPool", [x], "p2", kernel_shape=[2, 2], strides=[1, 1], pads=[0, 0, 1, 1])
    x = b.node("Reshape", [x, b.ints("shape", [-1, 8 * 4 * 4])], "flat")
    x = b.node("MatMul", [x, b.param("m1_w", [128, 16], 0.1)], "m1")
    x = b.node("Add", [x, b.param("m1_b", [16])], "m1_bias")
    x = b.node("Relu", [x], "r2")
    x = b.node("MatMul", [x, b.param("m2_w", [16, 10])], "m2")
    x = b.node("Add", [b.param("m2_b", [10]), x], "m2_bias")
    x = b.node("Softmax", [x], "prob", axis=1)
    return b.model("cnn_opset11", [3, 16, 16], 10, 11)


def residual_opset9():
    """Two 3x3 branches added (a DAG), SAME_LOWER, Dropout, GlobalAveragePool, Flatten, Gemm."""
    b = Builder(3)
    stem = b.node("Conv", ["x", b.param("c0_w", [4, 2, 3, 3]), b.param("c0_b", [4])], "c0", pads=[1, 1, 1, 1])
    stem = b.node("Relu", [stem], "r0")
    left = b.node("Conv", [stem, b.param("c1_w", [4, 4, 3, 3]), b.param("c1_b", [4])], "c1", auto_pad="SAME_LOWER", strides=[2, 2])
    right = b.node("MaxPool", [stem], "p1", kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")
    x = b.node("Add", [left, right], "sum")
    x = b.node("Dropout", [x], "drop", ratio=0.3)
    x = b.node("GlobalAveragePool", [x], "gap")
    x = b.node("Flatten", [x], "f")
    x = b.node("Gemm", [x, b.param("g_w", [4, 5]), b.param("g_b", [5])], "logits")
    return b.model("residual_opset9", [2, 9, 11], 5, 9)


def dynamic_view_opset13():
    """A dynamic-batch `x.view(x.size(0), -1)` as torch.onnx.export writes it (Shape -> Gather -> Unsqueeze -> Concat
    -> Reshape) and a flatten through Shape -> Slice -> Concat, folded at import."""
    b = Builder(6)
    x = b.node("Conv", ["x", b.param("c1_w", [4, 1, 3, 3]), b.param("c1_b", [4])], "c1", pads=[1, 1, 1, 1])
    x = b.node("Relu", [x], "r1")
    shape = b.node("Shape", [x], "shape")
    n = b.node("Gather", [shape, b.ints("zero", 0)], "n", axis=0)
    n1 = b.node("Unsqueeze", [n, b.ints("axes", [0])], "n1")
    target = b.node("Concat", [n1, b.ints("rest", [-1])], "target", axis=0)
    x = b.node("Reshape", [x, target], "flat")
    x = b.node("Gemm", [x, b.param("g1_w", [12, 4 * 6 * 6], 0.1), b.param("g1_b", [12])], "g1", transB=1)
    batch = b.node("Slice", [b.node("Shape", [x], "shape2"), b.ints("s0", [0]), b.ints("s1", [1])], "batch")
    x = b.node("Reshape", [x, b.node("Concat", [batch, b.ints("twelve", [12])], "target2", axis=0)], "flat2")
    x = b.node("Gemm", [x, b.param("g2_w", [12, 5]), b.param("g2_b", [5])], "logits")
    return b.model("dynamic_view_opset13", [1, 6, 6], 5, 13)


def reduce_opset18():
    """ReduceMean over H, W with the axes as an input and keepdims=0 (PyTorch's dynamo export of
    AdaptiveAvgPool2d(1) + flatten), beside ReduceMax with keepdims: global pooling."""
    b = Builder(7)
    x = b.node("Conv", ["x", b.param("c1_w", [6, 2, 3, 3]), b.param("c1_b", [6])], "c1", pads=[1, 1, 1, 1])
    x = b.node("Relu", [x], "r1")
    mean = b.node("ReduceMean", [x, b.ints("axes", [-2, -1])], "mean", keepdims=0)
    peak = b.node("Flatten", [b.node("ReduceMax", [x, b.ints("axes2", [2, 3])], "peak")], "peak_flat")
    x = b.node("Add", [mean, peak], "both")
    x = b.node("Gemm", [x, b.param("g_w", [6, 4]), b.param("g_b", [4])], "logits")
    return b.model("reduce_opset18", [2, 5, 7], 4, 18)


def activations_opset13():
    """Sigmoid, Tanh, LeakyRelu (alpha 0.2), HardSigmoid (alpha, beta), Clip with both bounds and with min only
    (opset 13 inputs), the activations a model may use besides Relu."""
    b = Builder(4)
    x = b.node("Conv", ["x", b.param("c1_w", [6, 1, 3, 3], 0.8), b.param("c1_b", [6])], "c1", pads=[1, 1, 1, 1])
    x = b.node("Sigmoid", [x], "s1")
    x = b.node("Conv", [x, b.param("c2_w", [6, 6, 3, 3], 0.5), b.param("c2_b", [6])], "c2")
    x = b.node("Tanh", [x], "t2")
    x = b.node("MaxPool", [x], "p2", kernel_shape=[2, 2], strides=[2, 2])
    x = b.node("LeakyRelu", [x], "l2", alpha=0.2)
    x = b.node("Flatten", [x], "f")
    x = b.node("Gemm", [x, b.param("g1_w", [24, 6 * 4 * 4], 0.3), b.param("g1_b", [24])], "g1", transB=1)
    x = b.node("HardSigmoid", [x], "h1", alpha=0.3, beta=0.4)
    x = b.node("Gemm", [x, b.param("g2_w", [16, 24], 0.6), b.param("g2_b", [16])], "g2", transB=1)
    x = b.node("Clip", [x, b.param("clip_lo", [], 0.2), b.param("clip_hi", [], 0.0, positive=True)], "c")
    x = b.node("Gemm", [x, b.param("g3_w", [16, 16], 0.6)], "g3", transB=1)
    x = b.node("Clip", [x, b.param("clip_min", [], 0.2)], "c_min")
    x = b.node("Gemm", [x, b.param("g4_w", [5, 16], 0.6)], "g4", transB=1)
    return b.model("activations_opset13", [1, 10, 10], 5, 13)


def hardswish_opset14():
    """HardSwish as an op (opset 14) and as x * HardSigmoid(x, 1/6, 1/2), the form PyTorch writes before opset 14."""
    b = Builder(8)
    x = b.node("Conv", ["x", b.param("c1_w", [6, 1, 3, 3], 2.0), b.param("c1_b", [6])], "c1", pads=[1, 1, 1, 1])
    x = b.node("HardSwish", [x], "hs1")
    x = b.node("Conv", [x, b.param("c2_w", [6, 6, 3, 3], 0.8), b.param("c2_b", [6])], "c2")
    x = b.node("Mul", [x, b.node("HardSigmoid", [x], "gate", alpha=1.0 / 6, beta=0.5)], "hs2")
    x = b.node("Flatten", [x], "f")
    x = b.node("Gemm", [x, b.param("g_w", [5, 6 * 8 * 8], 0.2)], "g", transB=1)
    return b.model("hardswish_opset14", [1, 10, 10], 5, 14)


def normalized_opset13():
    """Input normalization written into the model, per channel of an RGB input: (x - mean) / std as Sub and Div
    (torchvision's Normalize in forward), then a Mul by a per-channel constant."""
    b = Builder(9)
    b.inits.append(numpy_helper.from_array(np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 3, 1, 1), "mean"))
    b.inits.append(numpy_helper.from_array(np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1), "std"))
    b.inits.append(numpy_helper.from_array(np.array([[[0.5]], [[2.0]], [[1.5]]], np.float32), "gain"))
    x = b.node("Sub", ["x", "mean"], "centred")
    x = b.node("Div", [x, "std"], "scaled")
    x = b.node("Mul", ["gain", x], "gained")
    x = b.node("Conv", [x, b.param("c1_w", [4, 3, 3, 3]), b.param("c1_b", [4])], "c1", pads=[1, 1, 1, 1])
    x = b.node("Relu", [x], "r1")
    x = b.node("Flatten", [x], "f")
    x = b.node("Gemm", [x, b.param("g_w", [5, 4 * 6 * 6], 0.1)], "g", transB=1)
    return b.model("normalized_opset13", [3, 6, 6], 5, 13)


def depthwise_opset13():
    """A depthwise-separable block as MobileNet writes it: a 3x3 depthwise Conv (group = channels), a 1x1 pointwise
    Conv, and a grouped 3x3 Conv of two groups."""
    b = Builder(10)
    x = b.node("Conv", ["x", b.param("c1_w", [8, 1, 3, 3]), b.param("c1_b", [8])], "c1", pads=[1, 1, 1, 1])
    x = b.node("Relu", [x], "r1")
    x = b.node("Conv", [x, b.param("dw_w", [8, 1, 3, 3]), b.param("dw_b", [8])], "dw", pads=[1, 1, 1, 1], group=8)
    x = b.node("Relu", [x], "r2")
    x = b.node("Conv", [x, b.param("pw_w", [12, 8, 1, 1]), b.param("pw_b", [12])], "pw")
    x = b.node("Conv", [x, b.param("g_w", [6, 6, 3, 3], 0.2)], "grouped", strides=[2, 2], pads=[1, 1, 1, 1], group=2)
    x = b.node("Flatten", [x], "f")
    x = b.node("Gemm", [x, b.param("fc_w", [5, 6 * 4 * 4], 0.2)], "fc", transB=1)
    return b.model("depthwise_opset13", [1, 8, 8], 5, 13)


def clip_opset10():
    """Clip with its bounds as attributes (before opset 11)."""
    b = Builder(5)
    x = b.node("Gemm", ["x", b.param("g1_w", [12, 20]), b.param("g1_b", [12])], "g1", transB=1)
    x = b.node("Clip", [x], "c1", min=-0.3, max=0.4)
    x = b.node("Gemm", [x, b.param("g2_w", [4, 12]), b.param("g2_b", [4])], "g2", transB=1)
    return b.model("clip_opset10", [20], 4, 10)


def compare(name, path, x, approxrtl, work):
    """Runs x through onnxruntime and `approxrtl run`; returns True when they agree within the tolerance."""
    x_path, y_path = os.path.join(work, name + "_x.npy"), os.path.join(work, name + "_y.npy")
    np.save(x_path, x)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    result = subprocess.run([approxrtl, "run", path, "--input", x_path, "-o", y_path, "--force"],
                            capture_output=True, text=True)
    if result.returncode != 0:
        print(f"FAIL {name}: approxrtl run exited {result.returncode}: {result.stderr.strip()}")
        return False
    actual = np.load(y_path)
    if actual.shape != expected.shape:
        print(f"FAIL {name}: shape {actual.shape}, onnxruntime {expected.shape}")
        return False
    error = np.abs(actual - expected)
    bound = ATOL + RTOL * np.abs(expected)
    if np.all(error <= bound):
        print(f"PASS {name}: {expected.size} values, max abs error {error.max():.2e}")
        return True
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    print(f"FAIL {name}: at {worst} approxrtl {actual[worst]} vs onnxruntime {expected[worst]}")
    return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--approxrtl", required=True)
    parser.add_argument("--work", default="build/ort-check")
    parser.add_argument("--models", nargs="*", default=[], help="trained .onnx models to check on --data")
    parser.add_argument("--data", default="data/fashion-mnist-test500", help="folder with t10k IDX files")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    passed = failed = 0
    for make in (cnn_opset13, cnn_opset11, residual_opset9, dynamic_view_opset13, reduce_opset18, activations_opset13,
                 hardswish_opset14, normalized_opset13, depthwise_opset13, clip_opset10):
        model = make()
        name = model.graph.name
        path = os.path.join(args.work, name + ".onnx")
        onnx.save(model, path)
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
        x = np.random.default_rng(42).random([7] + shape).astype(np.float32)
        if compare(name, path, x, args.approxrtl, args.work):
            passed += 1
        else:
            failed += 1
    # A fixture with its weights in an external data file beside the model, as PyTorch's dynamo exporter writes
    # them: approxrtl reads them through the model's path.
    model = cnn_opset13()
    folder = os.path.join(args.work, "external")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "cnn_opset13_external.onnx")
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="cnn_opset13_external.onnx.data", size_threshold=0)
    x = np.random.default_rng(42).random([7, 1, 28, 28]).astype(np.float32)
    if compare("cnn_opset13_external", path, x, args.approxrtl, args.work):
        passed += 1
    else:
        failed += 1
    if args.models:
        # The float input encoding of docs/formats.md: pixel / 255, [N, 1, 28, 28].
        images = (read_idx(locate(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255)[:, None]
        for path in args.models:
            onnx.checker.check_model(onnx.load(path), full_check=True)
            if compare(os.path.splitext(os.path.basename(path))[0], path, images, args.approxrtl, args.work):
                passed += 1
            else:
                failed += 1
    print(f"ort-check: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
