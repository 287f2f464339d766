#!/usr/bin/env bash
# The reuse-vs-baseline hardware table of docs/results.md (`make results-rtl`): every conv and dense layer of a
# quantized model as (1) the plain-MAC array of the uncompressed 8-bit layer, (2) the plain-MAC array of the
# compressed layer (same integer results as the reuse array), (3) the reuse array, for M1 linear (channel groups,
# contiguous: adders only) and M2 SWC; Yosys + nextpnr-ice40 (seed 1) on each; scripts/rtl_results.py writes the page.
#   scripts/rtl_results.sh APPROXRTL QUANTIZED.q.json WORKDIR OUTPUT_DIR TITLE
set -euo pipefail
approxrtl=$(realpath "$1"); quantized=$2; work=$3; out=$4; title=$5
# The work folder is this script's own: start it afresh (generate refuses folders holding files it did not write).
rm -rf "$work"
mkdir -p "$work" "$out"
"$approxrtl" compress "$quantized" --method linear --segments 3 --group channel -o "$work/linear.c.json" --force >/dev/null
"$approxrtl" compress "$quantized" --method swc --code-bits 5 -o "$work/swc.c.json" --force >/dev/null
layers=$(python3 -c "import json,sys; print(' '.join(l['name'] for l in json.load(open(sys.argv[1]))['layers'] if l['kind'] in ('conv2d','dense')))" "$quantized")
designs=()
for layer in $layers; do
  "$approxrtl" generate "$quantized" --layer "$layer" --arch baseline --vectors 16 -o "$work/$layer-original-baseline" --force >/dev/null
  designs+=("$work/$layer-original-baseline")
  for method in linear swc; do
    for arch in baseline reuse; do
      "$approxrtl" generate "$work/$method.c.json" --layer "$layer" --arch "$arch" --vectors 16 -o "$work/$layer-$method-$arch" --force >/dev/null
      designs+=("$work/$layer-$method-$arch")
    done
  done
done
# How the comparison moves with parallelism: the second layer at 8 and 16 lanes (the pool grows only as needed).
sweep_layer=$(echo $layers | cut -d' ' -f2)
for lanes in 8 16; do
  "$approxrtl" generate "$quantized" --layer "$sweep_layer" --arch baseline --lanes $lanes --vectors 16 -o "$work/$sweep_layer-original-baseline-l$lanes" --force >/dev/null
  designs+=("$work/$sweep_layer-original-baseline-l$lanes")
  for arch in baseline reuse; do
    "$approxrtl" generate "$work/linear.c.json" --layer "$sweep_layer" --arch "$arch" --lanes $lanes --vectors 16 -o "$work/$sweep_layer-linear-$arch-l$lanes" --force >/dev/null
    designs+=("$work/$sweep_layer-linear-$arch-l$lanes")
  done
done
# Every design's bench must pass before its numbers count.
for d in "${designs[@]}"; do "$approxrtl" sim "$d" --simulator verilator >/dev/null || { echo "bench failed: $d"; exit 1; }; done
printf '%s\n' "${designs[@]}" | xargs -P 2 -I{} sh -c '"$0" synth "$1" --target ice40 --json > "$1/synth.json"' "$approxrtl" {}
# Logic against logic: the sweep layer's three arrays at 4, 8 and 16 lanes placed and routed on an ECP5 with the
# multipliers in LUTs (synth_ecp5 -nodsp; YoWASP's Yosys and nextpnr-ecp5 from the venv).
ecp5=()
for d in "${designs[@]}"; do
  case "$(basename "$d")" in "$sweep_layer"-original-baseline*|"$sweep_layer"-linear-*) ecp5+=("$d");; esac
done
printf '%s\n' "${ecp5[@]}" | xargs -P 2 -I{} sh -c '"$0" synth "$1" --target ecp5 --no-dsp --json > "$1/ecp5-lut.json"' "$approxrtl" {}
# Every layer's five arrays at 4 lanes on the ECP5 as a user would map them: multipliers in MULT18X18D blocks.
layer_designs=()
for d in "${designs[@]}"; do case "$(basename "$d")" in *-l8|*-l16) ;; *) layer_designs+=("$d");; esac; done
printf '%s\n' "${layer_designs[@]}" | xargs -P 2 -I{} sh -c '"$0" synth "$1" --target ecp5 --json > "$1/ecp5-dsp.json"' "$approxrtl" {}
python3 "$(dirname "$0")/rtl_results.py" --title "$title" --model "$quantized" --output "$out/rtl.md" "${designs[@]}"
echo "wrote $out/rtl.md"
