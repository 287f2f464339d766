#!/usr/bin/env bash
# The whole network on the DianNao-style accelerator (`make accelerator-check`, part of `make test`): each design is
# generated, lint-checked (Verilator -Wall, Icarus -Wall, no waivers) and simulated whole-network, every logit of
# every image compared with the golden model, under Verilator (many images) and Icarus (a few; it is slow).
#   tools/accelerator_check.sh APPROXRTL WORKDIR VERILATOR_IMAGES ICARUS_IMAGES NAME:MODEL[:GENERATE OPTIONS]...
set -euo pipefail
approxrtl=$(realpath "$1"); work=$2; images=$3; icarus_images=$4; shift 4
mkdir -p "$work"

lint() {
  local dir=$1 top
  top=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['top'])" "$dir/design.json")
  (cd "$dir" && verilator --lint-only -Wall --top-module "$top" $(cat files.f)) &&
  (cd "$dir" && out=$(iverilog -g2005 -Wall -o /dev/null $(cat files.f) 2>&1) && [ -z "$out" ] || { echo "$out"; false; })
}

failed=0
for design in "$@"; do
  name=${design%%:*}; rest=${design#*:}; model=${rest%%:*}; options=""
  [ "$rest" != "$model" ] && options=${rest#*:}
  for sim in verilator iverilog; do
    count=$images; [ $sim = iverilog ] && count=$icarus_images
    [ "$count" -gt 0 ] || continue
    dir="$work/$name-$sim"; log="$dir.log"
    start=$(date +%s)
    if { "$approxrtl" generate "$model" --arch diannao $options --images "$count" -o "$dir" --force && lint "$dir" &&
         "$approxrtl" sim "$dir" --simulator $sim; } >"$log" 2>&1; then
      printf '%-28s %-9s ok   %s, %s s\n' "$name" $sim "$(grep -E '^(iverilog|verilator):' "$log" | sed 's/ - ok//; s/^[a-z]*: //')" $(( $(date +%s) - start ))
      grep -E '^(accuracy|compute cycles|cycles per inference)' "$dir/build/$sim.log" | sed 's/^/    /'
    else
      printf '%-28s %-9s FAILED\n' "$name" $sim; tail -30 "$log"; failed=$((failed + 1))
    fi
  done
done
[ $failed -eq 0 ] || { echo "accelerator-check: $failed runs failed"; exit 1; }
echo "accelerator-check: every design lint-clean and bit-exact on every image"
