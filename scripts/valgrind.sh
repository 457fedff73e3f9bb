#!/usr/bin/env bash
# Runs the end-to-end tests, the blocking-client tests, `ami decode` and
# `ami state --from` over every fixture under valgrind memcheck: any error or definite leak fails.
# Usage: scripts/valgrind.sh [BUILD_DIR]   (default build/gcc; configured
# and built if missing). Tests see AMI_UNDER_VALGRIND=1 and stretch their
# deadlines and shrink their load counts; correctness checks stay.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build/gcc}
jobs=$(nproc)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$jobs" >/dev/null

export AMI_FIXTURES=$root/tests/fixtures/ami AMI_BIN_DIR=$root/$build/tools AMI_UNDER_VALGRIND=1
log=$build/valgrind
rm -rf "$log"
mkdir -p "$log"
vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no
    --child-silent-after-fork=yes --trace-children=no)

list=$log/list
: >"$list"
for t in "$build"/tests/e2e_test_* "$build"/tests/unit_test_client; do
  [ -x "$t" ] && echo "test $t" >>"$list"
done
# amid: the REST end-to-end test with the daemon under valgrind (its
# clean exit after SIGTERM is checked by the test).
if [ -x "$build/tools/amid" ]; then
  echo "amid tests/amid/test_amid_rest.py" >>"$list"
fi
ami=$build/tools/ami
if [ -x "$ami" ]; then
  for f in tests/fixtures/ami/*.raw; do echo "decode $f" >>"$list"; done
  # The live-state store and `ami state --from`'s capture replay.
  for f in tests/fixtures/ami/*.raw; do echo "state $f" >>"$list"; done
fi

run_one() {
  local kind=$1 what=$2 name rc
  name=$(basename "$what")
  start=$(date +%s)
  set +e
  if [ "$kind" = test ]; then
    timeout 900 "${vg[@]}" "$what" >"$log/$name.log" 2>&1
  elif [ "$kind" = amid ]; then
    AMID_WRAPPER="${vg[*]}" AMID_BIN=$AMI_BIN_DIR/amid AMI_SIM_BIN=$AMI_BIN_DIR/ami-sim \
      timeout 900 /usr/bin/python3 "$what" >"$log/amid-$name.log" 2>&1
  elif [ "$kind" = state ]; then
    timeout 300 "${vg[@]}" "$ami" state --format json --from "$what" >/dev/null 2>"$log/state-$name.log"
  else
    timeout 300 "${vg[@]}" "$ami" decode --format json "$what" >/dev/null 2>"$log/decode-$name.log"
  fi
  rc=$?
  set -e
  echo "$kind $name rc=$rc $(($(date +%s) - start))s"
  [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]
}
export -f run_one
export log ami
export VG="${vg[*]}"
status=0
# Each job re-reads the valgrind command from VG (arrays do not export).
while read -r kind what; do
  printf '%s\0%s\0' "$kind" "$what"
done <"$list" | xargs -0 -n2 -P"$jobs" bash -c 'vg=($VG); run_one "$1" "$2"' _ || status=1
if [ $status -ne 0 ]; then
  echo "!! valgrind found errors or leaks (or a test failed); logs in $log:"
  grep -l -E "ERROR SUMMARY: [1-9]|definitely lost: [1-9]|FAILED" "$log"/*.log || true
  exit 1
fi
echo "valgrind: no errors, no definite leaks"
