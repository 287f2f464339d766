#!/usr/bin/env python3
"""Seeds for the fuzz targets (Fuzz/, make fuzz): small valid files of each format, and structurally valid files
carrying extreme numbers, so that the fuzzer starts past the parsers' first checks.

    fuzz_seeds.py --approxrtl BIN --data DIR --out DIR

writes DIR/{onnx,model,npy,idx}/*. The model seeds come from a tiny CNN made here, quantized and compressed by
approxrtl itself (calibrated on 20 images of --data).
"""
import argparse
import copy
import gzip
import json
import os
import struct
import subprocess

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from hostile_check import idx_header, npy, numeric_paths, set_path

EXTREMES = [2**62, -(2**63), -1, 0]


def tiny_cnn():
    """conv 3x3 (1 -> 2, pad 1), ReLU, 2x2 max pool, flatten, dense 392 -> 10: about 16 KB."""
    rng = np.random.default_rng(1)
    weights = {
        "conv.weight": rng.normal(0, 0.3, (2, 1, 3, 3)).astype(np.float32),
        "conv.bias": np.zeros(2, np.float32),
        "fc.weight": rng.normal(0, 0.05, (10, 392)).astype(np.float32),
        "fc.bias": np.zeros(10, np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="conv", pads=[1, 1, 1, 1],
                         kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def onnx_seeds(model):
    seeds = {"valid": model}
    for label, fill in (("nan", np.nan), ("inf", np.inf)):
        m = copy.deepcopy(model)
        array = numpy_helper.to_array(m.graph.initializer[0]).copy()
        array.flat[0] = fill
        m.graph.initializer[0].CopyFrom(numpy_helper.from_array(array, "conv.weight"))
        seeds[f"weight-{label}"] = m
    for label, dims in (("overflow", [2**40, 2**40, 2**40]), ("negative", [-5, 2])):
        m = copy.deepcopy(model)
        del m.graph.initializer[0].dims[:]
        m.graph.initializer[0].dims.extend(dims)
        seeds[f"dims-{label}"] = m
    for attribute, ints in (("pads", [2**62] * 4), ("kernel_shape", [2**62, 2**62]), ("strides", [0, 0])):
        m = copy.deepcopy(model)
        node = m.graph.node[0]
        kept = [a for a in node.attribute if a.name != attribute]
        del node.attribute[:]
        node.attribute.extend(kept + [helper.make_attribute(attribute, ints)])
        seeds[f"attr-{attribute}"] = m
    m = copy.deepcopy(model)
    m.graph.input[0].type.tensor_type.shape.dim[-1].dim_value = 2**62
    seeds["input-huge"] = m
    return {name: m.SerializeToString() for name, m in seeds.items()}


def model_seeds(files):
    """Each valid model file, and for its first 100 numbers one extreme value each (EXTREMES in turn, so that
    every value appears)."""
    seeds = {}
    for stem, text in files.items():
        seeds[stem] = text.encode()
        model = json.loads(text)
        for index, path in enumerate(list(numeric_paths(model))[:100]):
            mutated = copy.deepcopy(model)
            set_path(mutated, path, EXTREMES[index % len(EXTREMES)])
            seeds[f"{stem}-{index:03d}"] = json.dumps(mutated).encode()
    return seeds


def npy_seeds():
    image = np.arange(784, dtype=np.float32).reshape(1, 1, 28, 28) / 784
    body = image.tobytes()
    return {
        "valid": npy("(1, 1, 28, 28)", body=body),
        "valid-u1": npy("(4,)", descr="|u1", body=bytes([1, 2, 3, 4])),
        "overflow": npy("(4294967296, 4294967296, 4294967296)"),
        "negative": npy("(-1, 28, 28)"),
        "huge": npy("(1000000000, 1, 28, 28)", body=bytes(64)),
        "nan": npy("(1, 1, 28, 28)", body=struct.pack("<f", float("nan")) * 784),
        "header": b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}",
    }


def idx_seeds():
    images = idx_header([2, 28, 28]) + bytes(range(256)) * 6 + bytes(32)
    return {
        "valid": images,
        "valid-gz": gzip.compress(images),
        "labels": idx_header([2]) + bytes([1, 2]),
        "overflow": idx_header([0xFFFFFFFF] * 4) + bytes(16),
        "huge": idx_header([0x7FFFFFFF, 28, 28]) + bytes(64),
        "truncated": idx_header([2, 28, 28]) + bytes(100),
        "gz-truncated": gzip.compress(images)[:40],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approxrtl", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    work = os.path.join(args.out, "work")
    os.makedirs(work, exist_ok=True)
    model = tiny_cnn()
    tiny = os.path.join(work, "tiny.onnx")
    onnx.save(model, tiny)
    quantized = os.path.join(work, "tiny.q.json")
    commands = [["quantize", tiny, "--calib-count", "20", "--data", args.data, "-o", quantized, "--force"]]
    for method, options in (("linear", ["--segments", "4", "--group", "channel"]), ("swc", []),
                            ("kernel", ["--kernel-size", "1", "--calib-count", "20"])):
        commands.append(["compress", quantized, "--method", method, *options, "--data", args.data, "--force", "-o",
                         os.path.join(work, f"tiny-{method}.c.json")])
    for command in commands:
        subprocess.run([args.approxrtl, *command], check=True, capture_output=True)
    models = {}
    for name in sorted(os.listdir(work)):
        if name.endswith(".json"):
            with open(os.path.join(work, name)) as handle:
                models[name.removesuffix(".json").replace(".", "-")] = handle.read()
    targets = {"onnx": onnx_seeds(model), "model": model_seeds(models), "npy": npy_seeds(), "idx": idx_seeds()}
    for target, seeds in targets.items():
        folder = os.path.join(args.out, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(folder, name), "wb") as handle:
                handle.write(data)
    print(", ".join(f"{target}: {len(seeds)} seeds" for target, seeds in targets.items()))


if __name__ == "__main__":
    main()
