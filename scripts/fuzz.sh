#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and fuzzes each for SECONDS
# (default 60), starting from the checked-in corpus plus the fixtures. New
# corpus entries stay in build/fuzz-work; any crash input is left in
# build/fuzz-work/crashes and the script fails: copy it into
# fuzz/corpus/<target>/ as a regression test once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DAMI_FUZZ=ON -DAMI_BUILD_TESTS=OFF \
  -DAMI_BUILD_TOOLS=OFF -DAMI_BUILD_EXAMPLES=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/fuzz -j"$(nproc)" >/dev/null
mkdir -p build/fuzz-work/crashes
status=0
for bin in build/fuzz/fuzz/fuzz_*; do
  [[ -x $bin && $bin != *_replay ]] || continue
  name=$(basename "$bin"); short=${name#fuzz_}
  work=build/fuzz-work/$short
  mkdir -p "$work" "fuzz/corpus/$short"
  echo "== fuzzing $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix=build/fuzz-work/crashes/"$short"- -print_final_stats=1 \
      "$work" "fuzz/corpus/$short" tests/fixtures/ami 2>"$work.log"; then
    echo "!! $name found a crash:"; tail -n 40 "$work.log"; status=1
  fi
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work.log" || true
done
exit $status
