"""Second oracle for the integer golden model: onnxruntime running the quantized network as integer ONNX ops.

The quantized model (JSON, docs/formats.md) is rebuilt as an ONNX graph whose semantics equal
docs/arithmetic.md exactly:
- activation codes travel as uint8 in offset binary (code + 128), the image as its raw pixels (zero point 0);
- convolution and dense layers are ConvInteger / MatMulInteger with zero points 128 (weights: code + 128), whose
  int32 sums are exact;
- bias, round-half-up shift, ReLU and saturation run in float64 (Cast, Add, Mul by 2^-s, Floor, Max, Clip), where
  every intermediate is an integer below 2^53 or an exact binary fraction, so they are exact too;
- max pooling runs on the offset codes (order preserving); average pooling as float64 sum / 2^k + 1/2, floored;
- an activation table (docs/arithmetic.md section 10) in float64 too: the segment is the count of breakpoints at or
  below the code (GreaterOrEqual against all of them, summed), its slope and intercept are gathered, and
  (slope * x + intercept) * 2^-F is floored and clipped; every value is an integer below 2^53.
Every layer's output codes and the logits are compared with `approxrtl vectors` (the Swift golden model) for exact
equality on the images of --data. ONNX's integer ops take 8-bit operands only, so models with wider weights or
activations are refused here rather than compared approximately.

Prints 'golden-ort-check: N passed, N failed' (one check per layer and model) and exits non-zero on any mismatch.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from fmnist import locate, read_idx


class Writer:
    def __init__(self):
        self.nodes, self.inits, self.outputs, self.count = [], [], [], 0

    def const(self, value, dtype):
        self.count += 1
        name = f"k{self.count}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op, inputs, **attrs):
        self.count += 1
        out = f"v{self.count}_{op}"
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out


def build(model):
    if model["weight_bits"] > 8 or model["activation_bits"] > 8:
        sys.exit(f"golden-ort-check: ONNX integer ops take 8-bit operands; this model has "
                 f"{model['weight_bits']}-bit weights and {model['activation_bits']}-bit activations")
    w = Writer()
    top = (1 << (model["activation_bits"] - 1)) - 1
    inp = model["input"]
    # value name -> (onnx tensor, zero point) for uint8 codes; the pixels' zero point is the input normalization's
    zero_points = inp.get("zero_points") or [0]
    if len(set(zero_points)) > 1:
        sys.exit("golden-ort-check: one zero point per image only (ONNX's integer ops take a scalar)")
    values = {inp["name"]: ("pixels", zero_points[0])}
    exponents = {inp["name"]: inp["exponent"]}
    checked = []

    def table(x, pwl):
        # x: float64 codes; returns float64 codes through the table, saturated.
        slopes = w.const(np.array(pwl["slopes"], dtype=np.float64), np.float64)
        intercepts = w.const(np.array(pwl["intercepts"], dtype=np.float64), np.float64)
        if pwl["breakpoints"]:
            above = w.node("GreaterOrEqual", [w.node("Unsqueeze", [x, w.const([-1], np.int64)]),
                                              w.const(np.array(pwl["breakpoints"], dtype=np.float64), np.float64)])
            segment = w.node("ReduceSum", [w.node("Cast", [above], to=TensorProto.INT64), w.const([-1], np.int64)], keepdims=0)
        else:
            segment = w.node("Cast", [w.node("Mul", [x, w.const(0.0, np.float64)])], to=TensorProto.INT64)
        y = w.node("Add", [w.node("Mul", [x, w.node("Gather", [slopes, segment])]), w.node("Gather", [intercepts, segment])])
        y = w.node("Floor", [w.node("Mul", [y, w.const(2.0 ** -pwl["shift"], np.float64)])])
        return w.node("Clip", [y, w.const(-top - 1.0, np.float64), w.const(float(top), np.float64)])

    def requantize(acc, layer, channels, spatial):
        shape = [channels] + [1] * spatial
        x = w.node("Cast", [acc], to=TensorProto.DOUBLE)
        x = w.node("Add", [x, w.const(np.array(layer["bias"], dtype=np.float64).reshape(shape), np.float64)])
        shifts = np.array(layer["shifts"], dtype=np.int64)
        if layer.get("logits"):
            return w.node("Mul", [x, w.const((2.0 ** -shifts).reshape(shape), np.float64)]), True
        half = np.where(shifts > 0, 2.0 ** (shifts - 1).clip(min=0), 0.0)
        x = w.node("Add", [x, w.const(half.reshape(shape), np.float64)])
        x = w.node("Mul", [x, w.const((2.0 ** -shifts).reshape(shape), np.float64)])
        x = w.node("Floor", [x])
        low = 0.0 if layer.get("relu") else -top - 1.0
        x = w.node("Clip", [x, w.const(low, np.float64), w.const(float(top), np.float64)])
        if layer.get("activation"):
            x = table(x, layer["activation"])
        x = w.node("Add", [x, w.const(128.0, np.float64)])
        return w.node("Cast", [x], to=TensorProto.UINT8), False

    for layer in model["layers"]:
        src, zp = values[layer["input"]]
        kind = layer["kind"]
        if kind in ("conv2d", "dense"):
            weights = np.array(layer["weights"], dtype=np.int64).reshape(layer["weight_shape"])
            if kind == "conv2d":
                acc = w.node("ConvInteger", [src, w.const(weights + 128, np.uint8), w.const(zp, np.uint8), w.const(128, np.uint8)],
                             kernel_shape=layer["kernel"], strides=layer["stride"], pads=layer["pads"])
                out, is_logits = requantize(acc, layer, weights.shape[0], 2)
            else:
                acc = w.node("MatMulInteger", [src, w.const((weights + 128).T, np.uint8), w.const(zp, np.uint8), w.const(128, np.uint8)])
                out, is_logits = requantize(acc, layer, weights.shape[0], 0)
            if is_logits:
                values[layer["name"]] = (out, None)
                checked.append((layer["name"], out, "double"))
                continue
            values[layer["name"]] = (out, 128)
        elif kind == "max_pool":
            out = w.node("MaxPool", [src], kernel_shape=layer["kernel"], strides=layer["stride"], pads=layer["pads"])
            values[layer["name"]] = (out, zp)
        elif kind == "average_pool":
            x = w.node("Sub", [w.node("Cast", [src], to=TensorProto.DOUBLE), w.const(float(zp), np.float64)])
            area = layer["kernel"][0] * layer["kernel"][1]
            x = w.node("AveragePool", [x], kernel_shape=layer["kernel"], strides=layer["stride"], pads=layer["pads"], count_include_pad=1)
            x = w.node("Floor", [w.node("Add", [x, w.const(0.5 if area > 1 else 0.0, np.float64)])])
            out = w.node("Cast", [w.node("Add", [x, w.const(float(zp), np.float64)])], to=TensorProto.UINT8)
            values[layer["name"]] = (out, zp)
        elif kind == "relu":
            out = w.node("Max", [src, w.const(zp, np.uint8)])
            values[layer["name"]] = (out, zp)
        elif kind == "activation":
            x = w.node("Sub", [w.node("Cast", [src], to=TensorProto.DOUBLE), w.const(float(zp), np.float64)])
            x = w.node("Add", [table(x, layer["activation"]), w.const(128.0, np.float64)])
            values[layer["name"]] = (w.node("Cast", [x], to=TensorProto.UINT8), 128)
        elif kind == "flatten":
            values[layer["name"]] = (w.node("Flatten", [src], axis=1), zp)
        elif kind == "reshape":
            values[layer["name"]] = (w.node("Reshape", [src, w.const([0] + layer["shape"], np.int64)]), zp)
        elif kind == "add":
            # Both codes aligned to the finer exponent, summed, rounded half up to the output exponent, saturated.
            other, other_zp = values[layer["addend"]]
            ea, eb, eo = layer["input_exponent"], layer["addend_exponent"], layer["output_exponent"]
            e = min(ea, eb)
            a = w.node("Sub", [w.node("Cast", [src], to=TensorProto.DOUBLE), w.const(float(zp), np.float64)])
            b = w.node("Sub", [w.node("Cast", [other], to=TensorProto.DOUBLE), w.const(float(other_zp), np.float64)])
            x = w.node("Add", [w.node("Mul", [a, w.const(2.0 ** (ea - e), np.float64)]),
                               w.node("Mul", [b, w.const(2.0 ** (eb - e), np.float64)])])
            shift = eo - e
            if shift > 0:
                x = w.node("Add", [x, w.const(2.0 ** (shift - 1), np.float64)])
            x = w.node("Floor", [w.node("Mul", [x, w.const(2.0 ** -shift, np.float64)])])
            low = 0.0 if layer.get("relu") else -top - 1.0
            x = w.node("Clip", [x, w.const(low, np.float64), w.const(float(top), np.float64)])
            out = w.node("Cast", [w.node("Add", [x, w.const(128.0, np.float64)])], to=TensorProto.UINT8)
            values[layer["name"]] = (out, 128)
        else:
            sys.exit(f"golden-ort-check: layer {layer['name']}: kind {kind} unknown")
        out, zp = values[layer["name"]]
        codes = w.node("Sub", [w.node("Cast", [out], to=TensorProto.INT32), w.const(zp, np.int32)])
        checked.append((layer["name"], codes, "int32"))

    outputs = [helper.make_tensor_value_info(t, TensorProto.DOUBLE if kind == "double" else TensorProto.INT32, None)
               for _, t, kind in checked]
    graph = helper.make_graph(w.nodes, "golden", [helper.make_tensor_value_info("pixels", TensorProto.UINT8, ["N"] + inp["shape"])],
                              outputs, w.inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="golden_ort_check")
    onnx_model.ir_version = 8
    return onnx_model, [name for name, _, _ in checked]


def read_hex(path, bits):
    values = np.array([int(line, 16) for line in open(path).read().split()], dtype=np.int64)
    return np.where(values >= 1 << (bits - 1), values - (1 << bits), values)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--approxrtl", required=True)
    parser.add_argument("--models", nargs="+", required=True, help="quantized models (.q.json)")
    parser.add_argument("--data", default="data/fashion-mnist-test500")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--work", default="build/golden-ort-check")
    args = parser.parse_args()
    pixels = read_idx(locate(args.data, "t10k-images-idx3-ubyte"))[:args.count]
    passed = failed = 0
    for path in args.models:
        model = json.load(open(path))
        stem = os.path.basename(path).split(".")[0]
        vectors = os.path.join(args.work, stem)
        subprocess.run([args.approxrtl, "vectors", path, "--count", str(len(pixels)), "--data", args.data, "-o", vectors, "--force"],
                       check=True, capture_output=True)
        manifest = json.load(open(os.path.join(vectors, "manifest.json")))
        onnx_model, names = build(model)
        onnx.save(onnx_model, os.path.join(args.work, stem + ".integer.onnx"))
        session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
        results = session.run(None, {"pixels": pixels[:, None].astype(np.uint8)})
        entries = {e["name"]: e for e in manifest["layers"]}
        for name, result in zip(names, results):
            entry = entries[name]
            expected = read_hex(os.path.join(vectors, entry["file"]), entry["bits"]).reshape(result.shape)
            got = result.astype(np.int64) if result.dtype != np.float64 else result
            if result.dtype == np.float64 and not np.all(got == np.round(got)):
                print(f"FAIL {stem}/{name}: onnxruntime logits are not integers")
                failed += 1
                continue
            got = got.astype(np.int64)
            if np.array_equal(got, expected):
                print(f"PASS {stem}/{name}: {got.size} codes equal")
                passed += 1
            else:
                where = np.argwhere(got != expected)[0]
                print(f"FAIL {stem}/{name}: {int((got != expected).sum())} codes differ, first at {tuple(where)}: "
                      f"onnxruntime {got[tuple(where)]}, golden {expected[tuple(where)]}")
                failed += 1
    print(f"golden-ort-check: {passed} passed, {failed} failed")
    sys.exit(1 if failed or not passed else 0)


if __name__ == "__main__":
    main()
