#!/usr/bin/env python3
"""Formats the budget-search table of docs/results.md from `approxrtl compress --method slim --json` outputs
(one JSON file per model). Standard library only."""
import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("runs", nargs="+", help="TITLE=FILE.json")
    args = parser.parse_args()
    out = ["## Kernel size reduction and the accuracy-budget search (M4)", "",
           "`approxrtl compress --method slim --budget 1.0`: greedy M4 steps (one output channel's kernel K to K - 2, "
           "least-squares refit on 200 training images) while integer top-1 on the validation images (the last 2,000 "
           "training images, seen in training, so optimistic) stays within the budget; the test set (10,000 images) is "
           "measured once at the end. M3 (feature approximation) is not yet among the candidates. The paper reports "
           "lower-kernel savings of 33-95% (median 65%) of computation at about 1% loss, with retraining.", "",
           "| model | budget | steps | multiply-accumulates | saved | validation top-1 | test top-1 | test loss |",
           "|---|---:|---|---:|---:|---:|---:|---:|"]
    for run in args.runs:
        title, path = run.split("=", 1)
        r = json.loads(Path(path).read_text())
        layers = {}
        for step in r["steps"]:
            layers.setdefault(step["layer"], []).append(step)
        steps = ", ".join(f"{name}: {len(s)} channels to {s[0]['kernel_size']}x{s[0]['kernel_size']}" for name, s in layers.items()) or "none"
        saved = 100 * (1 - r["macs_after"] / r["macs"])
        out.append(f"| {title} | {r['budget']:.1f} | {steps} | {r['macs']:,} -> {r['macs_after']:,} | {saved:.1f}% | "
                   f"{r['validation_top1_before']:.2f}% -> {r['validation_top1_after']:.2f}% | "
                   f"{r['test_top1_before']:.2f}% -> {r['test_top1_after']:.2f}% | {r['test_top1_after'] - r['test_top1_before']:+.2f} |")
    out.append("")
    Path(args.output).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
