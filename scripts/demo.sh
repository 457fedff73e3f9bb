#!/usr/bin/env bash
# The main job: on a fresh Debian 12 machine, install what is needed, build,
# start the bundled AMI simulator on loopback, run the classic first AMI
# program (ListCommands) with the `ami` tool, place a call with Originate and
# print the events it caused, then stop the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build/gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/gcc -j"$(nproc)" --target ami_tool ami-sim >/dev/null

bin=build/gcc/tools
work=$(mktemp -d)
sim_pid=
cleanup() {
  [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# ami-sim's development user is admin/amp111 (see docs/ami-sim.md).
"$bin/ami-sim" --listen 127.0.0.1:0 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$work/sim.out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/sim.out" | head -n1)
[[ -n $port ]] || { echo "demo: ami-sim did not start" >&2; cat "$work/sim.err" >&2; exit 3; }

export AMI_HOST=127.0.0.1 AMI_PORT=$port AMI_USER=admin AMI_SECRET=amp111
ami=$bin/ami

echo "### ami-sim listening on 127.0.0.1:$port"
echo
echo "### ami action ListCommands"
"$ami" action ListCommands
echo "### ami cli 'core show version'"
"$ami" cli 'core show version'
echo
echo "### ami action Originate (Local/100@test, async) and the events it caused"
"$ami" events --until Event=Hangup --timeout 20 >"$work/events.txt" &
events_pid=$!
sleep 0.3
"$ami" action Originate Channel=Local/100@test Context=test Exten=100 Priority=1 \
  Async=true CallerID='Demo <100>' Variable=DEMO_VAR=1 Variable=CAMPAIGN=demo
wait "$events_pid"
cat "$work/events.txt"
echo "### done: $(grep -c '^Event:' "$work/events.txt") events"
