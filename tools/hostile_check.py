#!/usr/bin/env python3
"""Hostile-input check: structurally valid files carrying extreme numbers, broken files and bad options, each run
through the approxrtl commands that read them. Every run must end with exit status 1 or 2 and a message on stderr
that names the file, field or option (or succeed where the case says the input is legal); a trap, an abort, a
signal, a hang or a memory blow-up fails the check.

    hostile_check.py --approxrtl BIN --quantized LENET.q.json --onnx LENET.onnx --work DIR [--full]

Without --full it runs one extreme value per field (the make test subset); --full runs every value.
"""
import argparse
import copy
import gzip
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

EXTREMES = [2**62, -(2**63), 2**63 - 1, 2**31, -1, 0, 1e300]
QUICK = [2**62, -(2**63)]
MEMORY_LIMIT = 4 << 30  # bytes of address space for each run
TIMEOUT = 120


class Case:
    def __init__(self, name, args, names, may_succeed=False):
        self.name, self.args, self.names, self.may_succeed = name, args, names, may_succeed


def numeric_paths(value, path=()):
    """Every number's path in a JSON value; in a list of numbers only the first and the last element."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numeric_paths(item, path + (key,))
    elif isinstance(value, list):
        indices = range(len(value))
        if value and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            indices = sorted({0, len(value) - 1})
        for index in indices:
            yield from numeric_paths(value[index], path + (index,))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield path


def general(path):
    """A path with layer indices replaced by the layer's kind, so that each field of each kind is tried once."""
    return tuple("#" if isinstance(p, int) else p for p in path)


def set_path(value, path, new):
    for key in path[:-1]:
        value = value[key]
    value[path[-1]] = new


COMPRESSED_FIELDS = ("compression", "kernel_sizes", "approximated_features")


def model_cases(model, stem, work, values, commands, fields=None):
    """One file per (field, value): the field of the first layer that has it set to the value; with `fields`, only
    paths through one of those keys."""
    seen = set()
    cases = []
    for path in numeric_paths(model):
        if fields and not any(key in path for key in fields):
            continue
        kind = model["layers"][path[1]]["kind"] if path[0] == "layers" else ""
        key = (kind, general(path))
        if key in seen:
            continue
        seen.add(key)
        for value in values:
            mutated = copy.deepcopy(model)
            set_path(mutated, path, value)
            label = ".".join(str(p) for p in path)
            file = os.path.join(work, f"{stem}-{len(seen):03d}-{values.index(value)}.json")
            with open(file, "w") as handle:
                json.dump(mutated, handle)
            for command in commands:
                args = command(file)
                cases.append(Case(f"{stem} {label}={value} {args[1]}", args, [os.path.basename(file)],
                                  may_succeed=True))
    return cases


def string_cases(binary, model, work):
    """Ten-megabyte strings where names and the format go: refused with a short message."""
    cases = []
    huge = "x" * 10_000_000
    for label, edit in (("name", lambda m: m["layers"][0].update(name=huge)),
                        ("input", lambda m: m["input"].update(name=huge)),
                        ("format", lambda m: m.update(format=huge))):
        mutated = copy.deepcopy(model)
        edit(mutated)
        file = os.path.join(work, f"string-{label}.json")
        with open(file, "w") as handle:
            json.dump(mutated, handle)
        cases.append(Case(f"huge string in {label}", [binary, "report", file], [os.path.basename(file)]))
    return cases


def idx_header(dims):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)


def npy(shape_text, descr="<f4", body=b""):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def dataset_cases(binary, quantized, work):
    cases = []

    def folder(name, images, labels):
        path = os.path.join(work, name)
        os.makedirs(path, exist_ok=True)
        for file, data in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
            with open(os.path.join(path, file), "wb") as handle:
                handle.write(data)
        return path

    good_labels = idx_header([2]) + bytes([1, 2])
    good_images = idx_header([2, 28, 28]) + bytes(2 * 784)
    variants = {
        "idx-overflow": (idx_header([0xFFFFFFFF] * 4) + bytes(16), good_labels),
        "idx-huge": (idx_header([0x7FFFFFFF, 28, 28]) + bytes(64), good_labels),
        "idx-zero": (idx_header([0, 28, 28]), idx_header([0])),
        "idx-labels-range": (good_images, idx_header([2]) + bytes([200, 255])),
        "idx-shape": (idx_header([2, 27, 29]) + bytes(2 * 27 * 29), good_labels),
        "idx-count": (good_images, idx_header([3]) + bytes([1, 2, 3])),
        "idx-gzip-bomb": (gzip.compress(idx_header([2, 28, 28]) + bytes(2 * 784) + bytes(1 << 28), 1), good_labels),
        "idx-truncated": (idx_header([2, 28, 28]) + bytes(100), good_labels),
    }
    for name, (images, labels) in variants.items():
        path = folder(name, images, labels)
        cases.append(Case(f"{name} eval", [binary, "eval", quantized, "--data", path, "--split", "test"], [name]))
    npys = {
        "npy-overflow": npy("(4294967296, 4294967296, 4294967296)"),
        "npy-negative": npy("(-1, 28, 28)"),
        "npy-huge": npy("(1000000000, 1, 28, 28)", body=bytes(64)),
        "npy-nan": npy("(1, 1, 28, 28)", body=struct.pack("<f", float("nan")) * 784),
        "npy-inf": npy("(1, 1, 28, 28)", body=struct.pack("<f", float("inf")) * 784),
        "npy-header": b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}",
    }
    return cases, npys


def onnx_cases(binary, onnx_path, work):
    """The bundled ONNX model with extreme dims, NaN and infinite weights, absurd attributes."""
    try:
        import numpy as np
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return []
    cases = []
    base = onnx.load(onnx_path)

    def save(name, model):
        path = os.path.join(work, name + ".onnx")
        onnx.save(model, path)
        for command in (["inspect"], ["eval", "--limit", "2"], ["quantize", "-o", path + ".q.json", "--force"]):
            cases.append(Case(f"{name} {command[0]}", [binary, command[0], path] + command[1:], [name]))

    first = base.graph.initializer[0]
    for label, fill in (("nan", np.nan), ("inf", np.inf)):
        model = copy.deepcopy(base)
        array = numpy_helper.to_array(first).copy()
        array.flat[0] = fill
        model.graph.initializer[0].CopyFrom(numpy_helper.from_array(array, first.name))
        save(f"onnx-weight-{label}", model)
    for label, dims in (("overflow", [2**40, 2**40, 2**40]), ("huge", [2**30, 2**30]), ("negative", [-5, 2])):
        model = copy.deepcopy(base)
        tensor = model.graph.initializer[0]
        del tensor.dims[:]
        tensor.dims.extend(dims)
        save(f"onnx-dims-{label}", model)
    for label, ints in (("pads", [2**62] * 4), ("kernel", [2**62, 2**62]), ("strides", [0, 0]),
                        ("dilations", [2**62, 2**62])):
        attribute = {"pads": "pads", "kernel": "kernel_shape", "strides": "strides", "dilations": "dilations"}[label]
        model = copy.deepcopy(base)
        for node in model.graph.node:
            if node.op_type in ("Conv", "MaxPool", "AveragePool"):
                kept = [a for a in node.attribute if a.name != attribute]
                del node.attribute[:]
                node.attribute.extend(kept + [onnx.helper.make_attribute(attribute, ints)])
                break
        save(f"onnx-attr-{label}", model)
    model = copy.deepcopy(base)
    dim = model.graph.input[0].type.tensor_type.shape.dim
    dim[-1].dim_value = 2**62
    save("onnx-input-huge", model)
    return cases


def option_cases(binary, quantized, work):
    out = os.path.join(work, "out")
    bad = [
        ["compress", quantized, "--method", "linear", "--segments", "1000000000", "-o", out + ".c.json"],
        ["compress", quantized, "--method", "linear", "--segments", "-3", "-o", out + ".c.json"],
        ["compress", quantized, "--method", "linear", "--coef-bits", "4000", "-o", out + ".c.json"],
        ["compress", quantized, "--method", "swc", "--code-bits", "-1", "-o", out + ".c.json"],
        ["compress", quantized, "--method", "slim", "--budget", "nan", "-o", out + ".c.json"],
        ["generate", quantized, "--arch", "diannao", "--tn", "0", "-o", out + "-d"],
        ["generate", quantized, "--arch", "diannao", "--tn", "100000", "-o", out + "-d"],
        ["eval", quantized, "--limit", "-1"],
        ["eval", quantized, "--batch-size", "0"],
        ["vectors", quantized, "--count", "-2", "-o", out + "-v"],
        ["sim", work, "--images", "-5"],
        ["synth", work, "--freq", "nan"],
        ["synth", work, "--timeout", "-1"],
        ["eval", quantized, "--input-mean", "nan"],
        ["compress", quantized, "--method", "slim", "--val-split", "-4", "-o", out + ".c.json"],
        ["report", quantized, "--limit", "-3", "--eval"],
        ["train", "--arch", "lenet5", "--epochs", "-1", "-o", out + ".onnx"],
        ["train", "--arch", "lenet5", "--lr", "nan", "--epochs", "1", "--limit", "10", "-o", out + ".onnx"],
        ["train", "--arch", "lenet5", "--lr=-inf", "--epochs", "1", "--limit", "10", "-o", out + ".onnx"],
        ["train", "--arch", "lenet5", "--lr", "-0.5", "--epochs", "1", "--limit", "10", "-o", out + ".onnx"],
    ]
    return [Case(" ".join(args[:1] + args[2:5]), [binary] + args, [a.split("=")[0] for a in args if a.startswith("-")])
            for args in bad]


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run(case):
    env = dict(os.environ, CI="1")
    try:
        result = subprocess.run(case.args, capture_output=True, timeout=TIMEOUT, preexec_fn=limit_memory, env=env)
    except subprocess.TimeoutExpired:
        return f"hangs (over {TIMEOUT} s)"
    err = result.stderr.decode(errors="replace")
    if result.returncode == 0:
        return None if case.may_succeed else "accepted (exit 0)"
    if result.returncode not in (1, 2):
        return f"exit {result.returncode}: {err.strip()[:300]}"
    if len(err) > 4000:
        return f"message of {len(err)} characters"
    for raw in ("NSCocoaErrorDomain", "DecodingError", "Fatal error", "dataCorrupted"):
        if raw in err:
            return f"raw error text ({raw}): {err.strip()[:300]}"
    if not any(name in err for name in case.names):
        return f"message names none of {case.names}: {err.strip()[:300]}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--approxrtl", required=True)
    parser.add_argument("--quantized", required=True)
    parser.add_argument("--onnx", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", help="run only cases whose name contains this text")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    binary = args.approxrtl
    with open(args.quantized) as handle:
        model = json.load(handle)
    values = EXTREMES if args.full else QUICK
    data_cases, npys = dataset_cases(binary, args.quantized, args.work)
    commands = [
        lambda f: [binary, "report", f],
        lambda f: [binary, "generate", f, "--arch", "diannao", "--tn", "4", "-o", f + ".d"],
    ]
    cases = model_cases(model, "q", args.work, values, commands)
    # Compressed models of each method: their own fields (segments, coefficients, codes, kernel sizes, features).
    methods = {
        "linear": ["--segments", "4", "--group", "channel"],
        "swc": [],
        "quadratic": ["--segments", "4"],
        "kernel": ["--calib-count", "20"],
        "feature": ["--calib-count", "20"],
    }
    if not args.full:
        methods = {m: methods[m] for m in ("linear", "swc")}
    for method, options in methods.items():
        path = os.path.join(args.work, f"{method}.c.json")
        made = subprocess.run([binary, "compress", args.quantized, "--method", method, *options, "-o", path],
                              capture_output=True)
        if made.returncode != 0:
            sys.exit(f"compress --method {method} failed: {made.stderr.decode()}")
        with open(path) as handle:
            cases += model_cases(json.load(handle), method, args.work, values, commands, COMPRESSED_FIELDS)
    cases += string_cases(binary, model, args.work)
    cases += data_cases + onnx_cases(binary, args.onnx, args.work) + option_cases(binary, args.quantized, args.work)
    onnx_model = args.onnx
    for name, data in npys.items():
        path = os.path.join(args.work, name + ".npy")
        with open(path, "wb") as handle:
            handle.write(data)
        cases.append(Case(f"{name} run", [binary, "run", onnx_model, "--input", path, "-o", path + ".out.npy"],
                          [name]))
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    with ThreadPoolExecutor(args.jobs) as pool:
        outcomes = list(pool.map(run, cases))
    failures = [(c, o) for c, o in zip(cases, outcomes) if o]
    for case, outcome in failures:
        print(f"FAIL {case.name}: {' '.join(outcome.split())}\n     {' '.join(case.args)}")
    print(f"hostile inputs: {len(cases) - len(failures)} of {len(cases)} runs handled")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
