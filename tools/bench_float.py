"""Inference throughput against onnxruntime: same model, images and machine, one run.

onnxruntime runs the float model (the baseline); approxrtl runs it too (its float reference) and, with
--quantized, runs the integer golden model of the quantized model, and with --compressed the golden model of
compressed versions of it (reuse form), against the uncompressed golden model in the same run. All evaluate the Fashion-MNIST test set in
batches of 500; each figure is the best of --repeats runs, inference time only (approxrtl eval reports its own
inference seconds; onnxruntime is timed around session.run). Prints images/s and ratios to onnxruntime.
"""
import argparse
import json
import os
import subprocess
import time

import numpy as np
import onnxruntime as ort

from fmnist import DEFAULT_DIR, locate, read_idx


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--approxrtl", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", default=DEFAULT_DIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quantized", help="quantized model (.q.json) of the same network, for the golden model")
    parser.add_argument("--compressed", nargs="*", default=[], help="compressed models (.c.json) of the quantized one")
    args = parser.parse_args()
    images = (read_idx(locate(args.data, "t10k-images-idx3-ubyte")).astype(np.float32) / 255)[:, None]
    count = len(images)

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    ort_best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        for i in range(0, count, 500):
            session.run(None, {input_name: images[i:i + 500]})
        ort_best = min(ort_best, time.perf_counter() - start)

    ours_best = float("inf")
    for _ in range(args.repeats):
        out = subprocess.run([args.approxrtl, "eval", args.model, "--data", args.data, "--json", "--batch-size", "500"],
                             capture_output=True, text=True, check=True)
        ours_best = min(ours_best, json.loads(out.stdout)["seconds"])

    print(f"float inference, {os.path.basename(args.model)}, {count} images, batch 500, best of {args.repeats}:")
    print(f"  onnxruntime (baseline): {count / ort_best:10.0f} images/s")
    print(f"  approxrtl reference:    {count / ours_best:10.0f} images/s")
    print(f"  ratio approxrtl / onnxruntime: {ort_best / ours_best:.3f}")
    def golden_seconds(path):
        best = float("inf")
        for _ in range(args.repeats):
            out = subprocess.run([args.approxrtl, "eval", path, "--data", args.data, "--json", "--batch-size", "500"],
                                 capture_output=True, text=True, check=True)
            best = min(best, json.loads(out.stdout)["integer_seconds"])
        return best

    if args.quantized:
        golden_best = golden_seconds(args.quantized)
        print(f"  approxrtl integer golden model: {count / golden_best:10.0f} images/s  "
              f"(ratio to onnxruntime float: {ort_best / golden_best:.3f})")
        for path in args.compressed:
            seconds = golden_seconds(path)
            print(f"  golden model, {os.path.basename(path)}: {count / seconds:10.0f} images/s  "
                  f"(ratio to the uncompressed golden model: {golden_best / seconds:.3f})")


if __name__ == "__main__":
    main()
