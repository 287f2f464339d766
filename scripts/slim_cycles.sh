#!/usr/bin/env bash
# The budget search scored by the accelerator's cycles, each result run on the accelerator: for each
# MODEL:BUDGET:TN:EPOCHS, `compress --method slim --cost cycles --tn TN --finetune EPOCHS` (the search's predicted
# cycles), then `generate --arch diannao --tn TN --extensions kernel,feature` and `sim --simulator verilator` on
# IMAGES test images and under Icarus on the first (the cycles measured, every logit compared with the golden
# model).
# Usage: slim_cycles.sh APPROXRTL WORK IMAGES OUTPUT.md MODEL:BUDGET:TN:EPOCHS...
set -euo pipefail
approxrtl=$(realpath "$1"); work=$2; images=$3; output=$4; shift 4
mkdir -p "$work"
runs=()
for run in "$@"; do
  IFS=: read -r model budget tn epochs <<< "$run"
  tag="$model-$budget-tn$tn-ft$epochs"
  echo "budget search by cycles: $model within $budget at Tn = $tn, fine-tuned $epochs epochs"
  "$approxrtl" compress "build/quantized/$model-fmnist.q.json" --method slim --budget "$budget" --cost cycles \
    --tn "$tn" --finetune "$epochs" -o "$work/$tag.c.json" --force --json > "$work/$tag.json"
  "$approxrtl" generate "$work/$tag.c.json" --arch diannao --tn "$tn" --extensions kernel,feature \
    --images "$images" -o "$work/$tag" --force > /dev/null
  "$approxrtl" sim "$work/$tag" --simulator verilator | sed "s/^/$tag: /"
  # Icarus on the first image (2-16 s per image), so that both simulators run every slimmed design.
  "$approxrtl" generate "$work/$tag.c.json" --arch diannao --tn "$tn" --extensions kernel,feature \
    --images 1 -o "$work/$tag-iverilog" --force > /dev/null
  "$approxrtl" sim "$work/$tag-iverilog" --simulator iverilog | sed "s/^/$tag: /"
  runs+=("$work/$tag.json:$work/$tag/report.json:$tn:$epochs")
done
python3 scripts/slim_results.py --cycles --output "$output" "${runs[@]}"
