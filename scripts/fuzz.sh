#!/usr/bin/env bash
# libFuzzer on each reader of outside input (`make fuzz`, and `make fuzz-check` in make test), two targets at a time
# (one per core; each libFuzzer run is single-threaded), every target for the same number of seconds.
#   scripts/fuzz.sh FUZZ_BINARY SECONDS TARGET...
# A crash stops with its input in build/fuzz/crash-<target>-* and the log's tail; the script then fails.
set -euo pipefail
binary=$1; seconds=$2; shift 2
mkdir -p build/fuzz

fuzz_one() {
  local target=$1
  mkdir -p "build/fuzz/corpus/$target"
  if APPROXRTL_FUZZ_TARGET=$target "$binary" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
       -max_len=65536 -print_final_stats=1 -artifact_prefix="build/fuzz/crash-$target-" \
       "build/fuzz/corpus/$target" "build/fuzz/seeds/$target" "Fuzz/crashes/$target" > "build/fuzz/$target.log" 2>&1; then
    echo "fuzz $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "build/fuzz/$target.log"), no crash"
  else
    tail -40 "build/fuzz/$target.log"
    echo "fuzz $target: crashed (log: build/fuzz/$target.log)"
    return 1
  fi
}
export -f fuzz_one
export binary seconds

# xargs exits non-zero when any run does; every run finishes and reports first.
printf '%s\n' "$@" | xargs -P 2 -I{} bash -c 'fuzz_one "$1"' _ {}
