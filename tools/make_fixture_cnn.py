"""Builds the demo fixture CNN until the trainer lands: a real, deterministic Fashion-MNIST classifier.

conv 5x5 (8 random filters, seed 0) -> ReLU -> MaxPool 2x2 -> Flatten -> Gemm, where the Gemm is a ridge
regression onto one-hot labels fitted in closed form on the 60k training images. No gradient descent: the
point is an honest model with real weights for inspect/eval, not a good one.

usage: make_fixture_cnn.py OUT.onnx [DATA_DIR]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from fmnist import DEFAULT_DIR, locate, read_idx


def features(x, w, b):
    """conv 5x5 valid -> relu -> maxpool 2, NCHW, in float32 like the exported graph."""
    n = x.shape[0]
    cols = np.lib.stride_tricks.sliding_window_view(x[:, 0], (5, 5), axis=(1, 2))  # n, 24, 24, 5, 5
    y = np.einsum("nhwij,mij->nmhw", cols, w[:, 0], optimize=True) + b[None, :, None, None]
    y = np.maximum(y, 0)
    y = y.reshape(n, w.shape[0], 12, 2, 12, 2).max(axis=(3, 5))
    return y.reshape(n, -1)


def main(out, data_dir):
    images = read_idx(locate(data_dir, "train-images-idx3-ubyte")).astype(np.float32) / 255
    labels = read_idx(locate(data_dir, "train-labels-idx1-ubyte"))
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((8, 1, 5, 5)) / 5).astype(np.float32)
    b = np.zeros(8, dtype=np.float32)
    f = np.concatenate([features(images[i:i + 10000, None], w, b) for i in range(0, len(images), 10000)]).astype(np.float64)
    f1 = np.hstack([f, np.ones((len(f), 1))])
    target = np.eye(10)[labels]
    ridge = 1e-1 * np.eye(f1.shape[1])
    solution = np.linalg.solve(f1.T @ f1 + ridge, f1.T @ target)
    gemm_w, gemm_b = solution[:-1].astype(np.float32), solution[-1].astype(np.float32)

    nodes = [
        helper.make_node("Conv", ["image", "conv1_w", "conv1_b"], ["conv1"], name="conv1", kernel_shape=[5, 5]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool1"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc"),
    ]
    initializers = [numpy_helper.from_array(a, n) for a, n in
                    [(w, "conv1_w"), (b, "conv1_b"), (gemm_w, "fc_w"), (gemm_b, "fc_b")]]
    graph = helper.make_graph(nodes, "fixture_cnn",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="approxrtl-fixture")
    model.ir_version = 8
    onnx.checker.check_model(model)
    tmp = out + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else DEFAULT_DIR)
