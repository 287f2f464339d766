"""Whole-network simulation speed for `make bench`: LeNet-5 on the accelerator (Tn = 16), every one of the 10,000
Fashion-MNIST test images under Verilator, every logit checked by the bench against the golden model.

Timed: `approxrtl sim` (Verilator build and run, as users run it) against a baseline built in the same run with the
Verilator options used before issue 24 (-O1, the C++ at Verilator's default -Os) from the same design folder.
Both compile every file: approxrtl sim goes through ccache when it is installed, so the run gets a cache of its
own, empty (a warm cache would rebuild nothing and flatter the figure).
The baseline is built from the same (current) RTL, so the ratio is the build options' alone. The RTL's own changes
for simulation speed are measured where they were made (issue 24's closing notes): the NFU's product registers
in one wide vector (152 s for this run), then one per lane (64.6 and 72.3 s in the last two
`make bench` runs), now one register per product.
"""
import argparse
import json
import os
import shutil
import subprocess
import time


def run(command, cwd=None):
    start = time.perf_counter()
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return time.perf_counter() - start, out.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--approxrtl", required=True)
    parser.add_argument("--quantized", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--images", type=int, default=10000)
    args = parser.parse_args()
    design = os.path.join(args.work, "lenet5-tn16")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    os.environ["CCACHE_DIR"] = os.path.abspath(os.path.join(args.work, "ccache"))
    run([args.approxrtl, "generate", args.quantized, "--arch", "diannao", "--tn", "16", "--images", str(args.images),
         "-o", design])
    seconds, out = run([args.approxrtl, "sim", design, "--simulator", "verilator"])
    if f"{args.images} passed, 0 failed" not in out:
        raise SystemExit(f"approxrtl sim did not pass every image:\n{out[-2000:]}")
    with open(os.path.join(design, "design.json")) as f:
        folder = json.load(f)
    bench = folder["bench"]
    sources = folder["rtl"] + [f"tb/{bench}.sv"]
    obj = os.path.abspath(os.path.join(args.work, "baseline-obj"))
    build, _ = run(["verilator", "--binary", "-Itb", "--top-module", bench, "-Mdir", obj, "-O1", "-j", "2"] + sources,
                   cwd=design)
    simulate, out = run([os.path.join(obj, f"V{bench}")], cwd=design)
    if f"{args.images} passed, 0 failed" not in out:
        raise SystemExit(f"baseline bench did not pass every image:\n{out[-2000:]}")
    baseline = build + simulate
    print(f"whole-network simulation, LeNet-5 on the accelerator (Tn = 16), {args.images} images, Verilator:")
    print(f"  approxrtl sim (-O3, C++ -O2), build and run: {seconds:7.1f} s")
    print(f"  baseline (-O1, C++ -Os), same design:        {baseline:7.1f} s (build {build:.1f} s)")
    print(f"  ratio baseline / approxrtl sim: {baseline / seconds:.2f}")


if __name__ == "__main__":
    main()
