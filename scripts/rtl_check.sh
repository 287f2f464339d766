#!/usr/bin/env bash
# Every conv and dense layer of a quantized model, compressed three ways, generated as a reuse array and as the
# plain-MAC baseline, lint-checked (Verilator -Wall, Icarus -Wall, no waivers) and simulated bit-exact against the
# golden model under both simulators (`make rtl-check`, part of `make test`): every vector under Verilator, the
# first ICARUS_VECTORS under Icarus (fc1's 64 take it 40 s; the second simulator is there for its four-state
# semantics, which every vector of a unit exercises alike), and those again under Icarus with the multipliers as
# rows of adders (APPROXRTL_LUT_MULTIPLIERS, what `synth --target ecp5 --no-dsp` maps). Two designs at a time.
#   scripts/rtl_check.sh APPROXRTL QUANTIZED.q.json WORKDIR VECTORS [ICARUS_VECTORS]
set -euo pipefail
approxrtl=$(realpath "$1"); quantized=$2; work=$3; vectors=$4; icarus_vectors=${5:-$4}
mkdir -p "$work"

# The three methods of the issue, one of them with layer-wide groups (rank gaps, step constants) and one with
# channel groups (contiguous ranks, adders only).
"$approxrtl" compress "$quantized" --method linear --segments 12 --group layer -o "$work/linear.c.json" --force >/dev/null
"$approxrtl" compress "$quantized" --method quadratic --segments 3 --group channel -o "$work/quadratic.c.json" --force >/dev/null
"$approxrtl" compress "$quantized" --method swc --code-bits 5 -o "$work/swc.c.json" --force >/dev/null

layers=$(python3 -c "import json,sys; print(' '.join(l['name'] for l in json.load(open(sys.argv[1]))['layers'] if l['kind'] in ('conv2d','dense')))" "$quantized")

check() {
  local method=$1 layer=$2 arch=$3
  local dir="$work/$method-$layer-$arch"
  local log="$dir.log"
  {
    "$approxrtl" generate "$work/$method.c.json" --layer "$layer" --arch "$arch" --vectors "$vectors" -o "$dir" --force &&
    (cd "$dir" && verilator --lint-only -Wall --top-module "${layer}_${arch}" $(cat files.f)) &&
    (cd "$dir" && out=$(iverilog -g2005 -Wall -o /dev/null $(cat files.f) 2>&1) && [ -z "$out" ] || { echo "$out"; false; }) &&
    "$approxrtl" sim "$dir" --simulator iverilog --images "$icarus_vectors" &&
    "$approxrtl" sim "$dir" --simulator verilator &&
    (cd "$dir" && verilator --lint-only -Wall -DAPPROXRTL_LUT_MULTIPLIERS --top-module "${layer}_${arch}" $(cat files.f)) &&
    (cd "$dir" && mkdir -p build && iverilog -g2012 -DAPPROXRTL_LUT_MULTIPLIERS -I tb -s tb_layer -o build/rows.vvp $(cat files.f) tb/tb_layer.sv &&
      rows=$(vvp -n build/rows.vvp "+vectors=$icarus_vectors") && line=$(echo "$rows" | grep -E '^[0-9]+ passed, 0 failed') &&
      echo "rows: $line")
  } >"$log" 2>&1 && status=ok || status=FAILED
  printf '%-10s %-6s %-8s %s  %s\n' "$method" "$layer" "$arch" "$status" "$(grep -E '^(iverilog|verilator|rows):' "$log" | sed 's/ - ok//' | tr '\n' ' ')"
  [ "$status" = ok ] || { tail -30 "$log"; return 1; }
}
export -f check
export approxrtl work vectors icarus_vectors

jobs=()
for method in linear quadratic swc; do
  for layer in $layers; do
    for arch in reuse baseline; do jobs+=("$method $layer $arch"); done
  done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c 'check "$0" "$1" "$2"' | tee "$work/summary.txt" || true
failed=$(grep -c FAILED "$work/summary.txt" || true)
count=$(grep -cE ' (ok|FAILED) ' "$work/summary.txt" || true)
if [ "$count" -ne "${#jobs[@]}" ] || [ "$failed" -ne 0 ]; then
  echo "rtl-check: $failed of ${#jobs[@]} designs failed ($count ran)"; exit 1
fi
echo "rtl-check: ${#jobs[@]} designs lint-clean and bit-exact under Verilator ($vectors vectors each) and Icarus (the first $icarus_vectors, with \`*\` and with rows of adders)"
