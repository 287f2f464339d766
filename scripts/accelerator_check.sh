#!/usr/bin/env bash
# The whole network on the DianNao-style accelerator (`make accelerator-check`, part of `make test`): each design is
# generated, lint-checked (Verilator -Wall, Icarus -Wall, no waivers) and simulated whole-network, every logit of
# every image compared with the golden model, under Verilator (many images) and Icarus (a few; it is slow). Two
# runs at a time.
#   scripts/accelerator_check.sh APPROXRTL WORKDIR VERILATOR_IMAGES ICARUS_IMAGES NAME:MODEL[:GENERATE OPTIONS]...
# (options joined by commas: --extensions=swc,--tn=8)
set -euo pipefail
approxrtl=$(realpath "$1"); work=$2; images=$3; icarus_images=$4; shift 4
mkdir -p "$work"

run() {
  local name=$1 model=$2 options=$3 sim=$4 count=$5
  local dir="$work/$name-$sim" log="$work/$name-$sim.log" top start
  start=$(date +%s)
  if { "$approxrtl" generate "$model" --arch diannao ${options//,/ } --images "$count" -o "$dir" --force &&
       top=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['top'])" "$dir/design.json") &&
       (cd "$dir" && verilator --lint-only -Wall --top-module "$top" $(cat files.f)) &&
       (cd "$dir" && out=$(iverilog -g2005 -Wall -o /dev/null $(cat files.f) 2>&1) && [ -z "$out" ] || { echo "$out"; false; }) &&
       "$approxrtl" sim "$dir" --simulator "$sim"; } >"$log" 2>&1; then
    printf '%-26s %-9s ok      %s (%s s in all)\n' "$name" "$sim" "$(grep -E "^$sim:" "$log" | sed 's/ - ok//; s/^[a-z]*: //')" \
      $(( $(date +%s) - start ))
  else
    printf '%-26s %-9s FAILED\n' "$name" "$sim"; tail -30 "$log"; return 1
  fi
}
export -f run
export approxrtl work

jobs=()
for design in "$@"; do
  name=${design%%:*}; rest=${design#*:}; model=${rest%%:*}; options=none
  [ "$rest" != "$model" ] && options=${rest#*:}
  [ "$images" -gt 0 ] && jobs+=("$name $model $options verilator $images")
  [ "$icarus_images" -gt 0 ] && jobs+=("$name $model $options iverilog $icarus_images")
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 bash -c 'o=$2; [ "$o" = none ] && o=; run "$0" "$1" "$o" "$3" "$4"' | tee "$work/summary.txt" || true
failed=$(grep -c ' FAILED' "$work/summary.txt" || true)
count=$(grep -cE ' (ok|FAILED) ' "$work/summary.txt" || true)
if [ "$count" -ne "${#jobs[@]}" ] || [ "$failed" -ne 0 ]; then
  echo "accelerator-check: $failed of ${#jobs[@]} runs failed ($count ran)"; exit 1
fi
echo "accelerator-check: ${#jobs[@]} runs lint-clean and bit-exact on every image"
