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
have_amid=0
if cmake --build build/gcc -j"$(nproc)" --target amid >/dev/null 2>&1; then have_amid=1; fi

bin=build/gcc/tools
work=$(mktemp -d)
sim_pid=
amid_pid=
cleanup() {
  [[ -n $amid_pid ]] && kill "$amid_pid" 2>/dev/null && wait "$amid_pid" 2>/dev/null || true
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

[[ $have_amid == 1 ]] || { echo "### amid not built (needs libwebsockets, libuv, inih): skipped"; exit 0; }

echo
echo "### amid in front of the sim, with a throw-away token"
umask 077
printf 'amp111\n' >"$work/pbx1.secret"
"$bin/amid" token new demo >"$work/token" 2>/dev/null
token=$(sed -n 1p "$work/token")
static=
[[ -d tools/amid/www ]] && static="static = $PWD/tools/amid/www"
cat >"$work/amid.conf" <<EOF
[amid]
listen = 127.0.0.1:0
$static
[server pbx1]
host = 127.0.0.1
port = $port
username = admin
secret_file = pbx1.secret
[token demo]
$(sed -n 2p "$work/token")
servers = *
actions = *
events = *
EOF
"$bin/amid" -c "$work/amid.conf" >"$work/amid.out" 2>"$work/amid.err" &
amid_pid=$!
for _ in $(seq 100); do
  grep -q 'listening on' "$work/amid.out" 2>/dev/null && break
  sleep 0.05
done
aport=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/amid.out" | head -n1)
[[ -n $aport ]] || { echo "demo: amid did not start" >&2; cat "$work/amid.err" >&2; exit 3; }
for _ in $(seq 100); do
  curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$aport/v1/servers" | grep -q '"up"' && break
  sleep 0.05
done
echo "### GET /v1/servers"
curl -s -H "Authorization: Bearer $token" "http://127.0.0.1:$aport/v1/servers"
echo
echo "### ListCommands through amid (examples/amid/listcommands.py)"
# sed reads the whole list (head would close the pipe early, and the
# example's next write would die of EPIPE, failing the demo by chance).
AMID_URL=http://127.0.0.1:$aport AMID_TOKEN=$token /usr/bin/python3 examples/amid/listcommands.py pbx1 |
  sed -n 1,8p
echo "..."
echo "### a few WebSocket events (an Originate through amid while subscribed)"
AMID_PORT=$aport AMID_TOKEN=$token /usr/bin/python3 - <<'PY'
import asyncio, json, os, urllib.request
import websockets
port, token = os.environ["AMID_PORT"], os.environ["AMID_TOKEN"]
async def main():
    async with websockets.connect("ws://127.0.0.1:%s/v1/events?server=pbx1" % port,
                                  extra_headers={"Authorization": "Bearer " + token}) as ws:
        body = json.dumps({"Action": "Originate", "Channel": "Local/100@test", "Context": "test",
                           "Exten": "100", "Priority": "1", "Async": "true"}).encode()
        req = urllib.request.Request("http://127.0.0.1:%s/v1/servers/pbx1/actions" % port, body,
                                     {"Authorization": "Bearer " + token})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: urllib.request.urlopen(req, timeout=10).read())
        for _ in range(6):
            print(await asyncio.wait_for(ws.recv(), 10))
asyncio.run(main())
PY
echo
if [[ -n $static ]]; then
  echo "### the panel: http://127.0.0.1:$aport/  (token: $token)"
else
  echo "### amid: http://127.0.0.1:$aport/  (token: $token)"
fi
if [[ -t 0 && -z ${DEMO_NO_WAIT:-} ]]; then
  read -r -p "press Enter to stop amid and the sim " _
fi
