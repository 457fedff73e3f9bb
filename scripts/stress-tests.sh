#!/usr/bin/env bash
# scripts/stress-tests.sh N: the suite must pass every time on a loaded
# machine. Builds (if needed) the ASan+UBSan build (build/asan) and the
# plain build (build/gcc), starts two CPU hogs (`yes > /dev/null`, killed on
# exit), then runs `ctest -j4` of the ASan build N times in a row and
# `ctest -j8` of the plain build N times in a row. Stops at the first
# failure and says which run and which test failed; ends with one summary
# line of pass counts and durations. Sanitizer options as in scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-}
case $n in
'' | *[!0-9]* | 0)
    echo "usage: scripts/stress-tests.sh N   (N >= 1 runs of each build)" >&2
    exit 2
    ;;
esac

hogs=()
log=$(mktemp)
cleanup() {
    for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${hogs[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

jobs=$(nproc)
# The browser test drives Debian's chromium through playwright-core: the
# same pinned install as scripts/test.sh (never a downloaded browser).
if [ ! -d tests/browser/node_modules ]; then
    echo "== browser test dependencies (npm ci)"
    (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
echo "== building build/asan (ASan + UBSan) and build/gcc"
[ -f build/asan/CMakeCache.txt ] ||
    cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DAMI_SANITIZE=ON >/dev/null
cmake --build build/asan -j"$jobs" >/dev/null
[ -f build/gcc/CMakeCache.txt ] ||
    cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build/gcc -j"$jobs" >/dev/null

yes >/dev/null &
hogs+=($!)
yes >/dev/null &
hogs+=($!)
echo "== two CPU hogs running (pids ${hogs[*]})"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

summary=()
# stress NAME DIR JOBS: N runs of ctest; stop at the first failure.
stress() {
    local name=$1 dir=$2 j=$3 i start end secs total=0 min= max=0
    for i in $(seq "$n"); do
        start=$(date +%s)
        if ! ctest --test-dir "$dir" -j"$j" --output-on-failure >"$log" 2>&1; then
            end=$(date +%s)
            cat "$log"
            echo "FAILED: $name run $i of $n (ctest -j$j, $((end - start)) s); failed tests:"
            sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ' || true
            echo "stress: $name failed at run $i after $((i - 1)) passing run(s)"
            exit 1
        fi
        end=$(date +%s)
        secs=$((end - start))
        total=$((total + secs))
        [ -n "$min" ] && [ "$min" -le "$secs" ] || min=$secs
        [ "$max" -ge "$secs" ] || max=$secs
        echo "$name run $i/$n: $(grep -E 'tests passed' "$log") (${secs} s)"
    done
    summary+=("$name $n/$n passed (ctest -j$j, ${min}-${max} s per run, ${total} s in all)")
}

stress asan build/asan 4
stress plain build/gcc 8
echo "stress: ${summary[0]}; ${summary[1]}; two CPU hogs throughout"
