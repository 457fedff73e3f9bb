#!/usr/bin/env bash
# The test command: install what the tests need, build with gcc and with
# clang (warnings are errors), run the whole suite, then run it again under
# AddressSanitizer + UndefinedBehaviorSanitizer, and check formatting.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

scripts/install-deps.sh

echo "== browser test dependencies (npm ci: playwright-core and ws, pinned by package-lock.json)"
# Never a downloaded browser: the tests drive Debian's /usr/bin/chromium.
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)

echo "== formatting (clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src include tools tests examples fuzz bench -name '*.[ch]')
clang-format --dry-run --Werror $files

echo "== gcc build + tests"
cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build build/gcc -j"$jobs"
(cd build/gcc && ctest --output-on-failure -j"$jobs") | tee -a "$log"
scripts/check-readme.sh build/gcc

echo "== clang build (warnings as errors)"
cmake -S . -B build/clang -DCMAKE_C_COMPILER=clang -DAMI_BUILD_TESTS=ON >/dev/null
cmake --build build/clang -j"$jobs"

echo "== build without OpenSSL (the core needs libc alone)"
cmake -S . -B build/nossl -DAMI_WITH_OPENSSL=OFF -DAMI_BUILD_TESTS=OFF >/dev/null
cmake --build build/nossl -j"$jobs"

echo "== ASan + UBSan build + tests"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DAMI_SANITIZE=ON >/dev/null
cmake --build build/asan -j"$jobs"
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs") | tee -a "$log"

echo "== valgrind memcheck: e2e and client tests, ami decode (no errors, no definite leaks)"
scripts/valgrind.sh build/gcc

echo "== fuzzing each target briefly (libFuzzer)"
scripts/fuzz.sh "${AMI_FUZZ_SECONDS:-20}"

echo "== install + find_package + pkg-config"
rm -rf build/stage
cmake --install build/gcc --prefix "$root/build/stage" >/dev/null
scripts/check-install.sh "$root/build/stage"
# One closing line over both ctest runs (gcc and ASan+UBSan).
total=$(sed -n 's/.*tests passed, 0 tests failed out of \([0-9]*\).*/\1/p' "$log" |
  awk '{ n += $1 } END { print n + 0 }')
echo "all test stages passed"
echo "$total passed, 0 failed"
