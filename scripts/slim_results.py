#!/usr/bin/env python3
"""Formats the budget-search table of docs/results.md from `approxrtl compress --method slim --json` outputs
(one JSON file per model and set of reductions). Standard library only."""
import argparse
import json
from pathlib import Path

KINDS = {"feature": "M3", "kernel": "M4"}


def summary(steps: list) -> str:
    """Per layer: how many channels ended at which kernel size, and how many were approximated."""
    final: dict = {}
    for step in steps:
        # A step of a whole tile lists its channels; a channel's later step (3x3 to 1x1) replaces its earlier one.
        for c in step.get("channels") or [step["channel"]]:
            final[(step["layer"], c)] = step["kernel_size"] if step["kind"] == "kernel" else "feature"
    layers: dict = {}
    for (layer, _), size in final.items():
        entry = layers.setdefault(layer, {"sizes": {}, "features": 0})
        if size == "feature":
            entry["features"] += 1
        else:
            entry["sizes"][size] = entry["sizes"].get(size, 0) + 1
    parts = []
    for name, entry in sorted(layers.items()):
        items = [f"{n} to {k}x{k}" for k, n in sorted(entry["sizes"].items(), reverse=True)]
        if entry["features"]:
            items.append(f"{entry['features']} approximated")
        parts.append(f"{name}: {', '.join(items)}")
    return "; ".join(parts) or "none"


def name(r: dict) -> str:
    return "LeNet-5" if "lenet5" in r["model"] else "VGG-small" if "vgg-small" in r["model"] else r["model"]


def margin_sentence(results: list) -> str:
    """How many runs of each budget stayed within one test point."""
    parts = []
    for b in sorted({r["budget"] for r in results}, reverse=True):
        runs = [r for r in results if r["budget"] == b]
        kept = sum(r["test_top1_after"] - r["test_top1_before"] >= -1.0 for r in runs)
        parts.append(f"{kept} of {len(runs)} at budget {b:g}")
    return "Runs that stayed within one test point: " + ", ".join(parts) + "."


def cycles_table(runs: list) -> list:
    """The searches by accelerator cycles (scripts/slim_cycles.sh): each SEARCH.json:REPORT.json:TN:EPOCHS is the
    search's record, the simulation of its result on the accelerator, its Tn and its fine-tuning epochs."""
    out = ["### The budget search by accelerator cycles, fine-tuned, run on the accelerator", "",
           "`make results-slim-cycles`: `approxrtl compress --method slim --budget B --cost cycles --tn Tn --finetune E` "
           "(steps of whole tiles of Tn channels scored by the accelerator compiler's cycle model, each step fine-tuned E "
           "epochs before the budget judges it), then `generate --arch diannao --tn Tn --extensions kernel,feature` and "
           "Verilator on the first test images, every logit compared with the golden model. Cycles are compute cycles "
           "per image: predicted by the search, measured in RTL; the ratio is against the model before the search (the "
           "vanilla accelerator's cycles). Validation as in the table above; test top-1 on all 10,000 test images "
           "(golden model).", "",
           "| model | budget | Tn | epochs | steps | cycles predicted | ratio | cycles in RTL | images bit-exact | "
           "multiply-accumulates saved | validation top-1 | test top-1 | test loss | time |",
           "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for pair in runs:
        search, report, tn, epochs = pair.split(":")
        r = json.loads(Path(search).read_text())
        sim = json.loads(Path(report).read_text())["simulations"][0]
        # The cycle model is the search's score; the RTL must run the result at exactly those cycles, bit-exact.
        if sim["compute_cycles_per_image"] != r["cost_after"] or sim["failed"] or sim["passed"] != sim["images"]:
            raise SystemExit(f"{report}: {sim['compute_cycles_per_image']} cycles in RTL, {r['cost_after']} predicted "
                             f"by {search}; {sim['passed']} of {sim['images']} images bit-exact")
        saved = 100 * (1 - r["macs_after"] / r["macs"])
        exact = f"{sim['passed']} of {sim['images']}"
        out.append(f"| {name(r)} | {r['budget']:g} | {tn} | {epochs} | {summary(r['steps'])} | "
                   f"{r['cost_before']:,} -> {r['cost_after']:,} | {r['cost_after'] / r['cost_before']:.2f}x | "
                   f"{sim['compute_cycles_per_image']:,} | {exact} | {saved:.1f}% | "
                   f"{r['validation_top1_before']:.2f}% -> {r['validation_top1_after']:.2f}% | "
                   f"{r['test_top1_before']:.2f}% -> {r['test_top1_after']:.2f}% | "
                   f"{r['test_top1_after'] - r['test_top1_before']:+.2f} | {r['seconds']:.0f} s |")
    return out + [""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", required=True)
    parser.add_argument("--cycles", action="store_true",
                        help="runs are SEARCH.json:REPORT.json:TN:EPOCHS of scripts/slim_cycles.sh")
    parser.add_argument("runs", nargs="+", help="compress --method slim --json outputs")
    args = parser.parse_args()
    if args.cycles:
        Path(args.output).write_text("\n".join(cycles_table(args.runs)) + "\n")
        return
    out = ["## Feature approximation, kernel size reduction and the accuracy-budget search (M3, M4)", "",
           "`approxrtl compress --method slim --budget B --reductions R`: lazy greedy over steps of every output channel "
           "of every convolution (M4: its kernel K to K - 2, then K - 2 to K - 4, least-squares refit; M3: the channel replaced by a "
           "least-squares combination of 4 computed channels of its layer, 8-bit coefficients), the most "
           "multiply-accumulates saved per unit of validation cross-entropy added first, while the validation top-1 "
           "loss plus one standard error of it stays within the budget B. Fits on 200 training images; validation on the 5,000 training images "
           "the bundled models were trained without (`approxrtl train --seed 1` held them out); the test set (10,000 "
           "images) is measured once, at the end. Retraining-free. Multiply-accumulates are those a circuit must "
           "compute (M4's dead taps and M3's approximated channels excluded, M3's combinations included).", "",
           "| model | reductions | budget | steps | multiply-accumulates | saved | validation top-1 | test top-1 | test loss | runs | time |",
           "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in args.runs:
        r = json.loads(Path(run).read_text())
        model, kinds = name(r), r["reductions"]
        saved = 100 * (1 - r["macs_after"] / r["macs"])
        label = " + ".join(KINDS[k] for k in kinds.split(","))
        seconds = r.get("seconds")
        out.append(f"| {model} | {label} | {r['budget']:g} | {summary(r['steps'])} | {r['macs']:,} -> {r['macs_after']:,} | {saved:.1f}% | "
                   f"{r['validation_top1_before']:.2f}% -> {r['validation_top1_after']:.2f}% | "
                   f"{r['test_top1_before']:.2f}% -> {r['test_top1_after']:.2f}% | {r['test_top1_after'] - r['test_top1_before']:+.2f} | "
                   f"{r['evaluations']} | {'' if seconds is None else f'{seconds:.0f} s'} |")
    # What the rows say, computed from them.
    results = [json.loads(Path(run).read_text()) for run in args.runs]
    gaps = [(r["validation_top1_after"] - r["validation_top1_before"]) - (r["test_top1_after"] - r["test_top1_before"]) for r in results]
    out += ["", f"The test loss exceeded the validation loss by {min(gaps):.2f} to {max(gaps):.2f} points. The held-out training "
            "images are easier than the test set for these models (top-1 before any step: "
            + ", ".join(sorted({f"{name(r)} {r['validation_top1_before']:.2f}% vs {r['test_top1_before']:.2f}%" for r in results}))
            + "), and a search that chooses among hundreds of candidates adapts to the images it measures on, even with "
            "the cross-entropy ranking and the one-standard-error margin. " + margin_sentence(results), "",
            "Largest saving with at most 1.0 point lost on the test set, per model and reductions (chosen among the "
            "rows above by their test loss, so a summary of this table, not a validated procedure):", "",
            "| model | reductions | budget | saved | test loss |", "|---|---|---:|---:|---:|"]
    best: dict = {}
    for r in results:
        loss = r["test_top1_after"] - r["test_top1_before"]
        key = (name(r), r["reductions"])
        saved = 100 * (1 - r["macs_after"] / r["macs"])
        if loss >= -1.0 and (key not in best or saved > best[key][0]):
            best[key] = (saved, r["budget"], loss)
    for r in results:
        key = (name(r), r["reductions"])
        if key in best and best[key] is not None:
            saved, budget, loss = best[key]
            out.append(f"| {key[0]} | {' + '.join(KINDS[k] for k in key[1].split(','))} | {budget:g} | {saved:.1f}% | {loss:+.2f} |")
            best[key] = None
    out += ["", "The paper (\"Slimmer CNNs Through Feature Approximation and Kernel Size Reduction\", IEEE OJCAS 2023) "
            "reports, with retraining, 15-80% of the computation saved by linear feature approximation (median 52%) and "
            "33-95% by lower kernels (median 65%) at about 1% loss, and a median of 18.5% on VGG-16 at 0.5%. These "
            "numbers are retraining-free, on networks that are already small (LeNet-5: 6 and 16 channels; VGG-small: "
            "16 to 32).", ""]
    Path(args.output).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
