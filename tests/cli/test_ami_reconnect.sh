#!/usr/bin/env bash
# `ami events --reconnect`: ami-sim killed and restarted on the same port;
# the AmiGap notice appears in the output between the events before and
# after (tagged with its server when several are watched), and events after
# the restart arrive. Without --reconnect a lost server ends with 3; a
# refused login still ends with 4.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
: "${AMI_FIXTURES:?set AMI_FIXTURES}"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
unset AMI_HOST AMI_PORT
export AMI_USER=admin AMI_SECRET=amp111

# hold_port: set $HELD to a loopback port that this script owns for its
# whole run (a socket bound with SO_REUSEADDR that never listens): while no
# ami-sim listens on it, connecting is refused at once, and no other
# process can be handed it, so a restart on it cannot find it taken.
# ami-sim binds with SO_REUSEADDR too, so it can listen there meanwhile.
hold_port() {
    local f="$TMP/hold.$RANDOM"
    python3 -c '
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)  # a lifetime bound; cleanup kills it first
' "$f" &
    PIDS+=($!)
    for _ in $(seq 600); do [ -s "$f" ] && break; sleep 0.05; done
    [ -s "$f" ] || fail "could not hold a port"
    HELD=$(cat "$f")
}

# sim NAME [PORT]: start ami-sim (at most 120 s) on PORT (default: a port
# held with hold_port), set $PORT and $SIMPID (the sim itself, not the
# timeout(1) around it: killing that would leave the sim running); its log
# goes to $TMP/NAME.err.
sim() {
    local name=$1 port=${2:-}
    if [ -z "$port" ]; then
        hold_port
        port=$HELD
    fi
    : >"$TMP/$name.out"
    timeout -k 30 120 "$SIM" --listen "127.0.0.1:$port" --verbose --write-timeout "$SIM_WRITE_TIMEOUT" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SIMPID=$!
    SIMJOB=$SIMPID
    PIDS+=($SIMPID)
    PORT=
    for _ in $(seq 600); do
        PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/$name.out" 2>/dev/null || true)
        if [ -n "$PORT" ]; then
            SIMPID=$(pgrep -P "$SIMPID")
            [ -n "$SIMPID" ] || fail "ami-sim $name: no process"
            PIDS+=($SIMPID)
            return
        fi
        kill -0 "$SIMPID" 2>/dev/null || break
        sleep 0.05
    done
    fail "ami-sim $name did not start on $port: $(cat "$TMP/$name.err")"
}
logins() { grep -c ': logged in$' "$TMP/$1.err" 2>/dev/null || true; }
# wait_conn NAME N: until sim NAME has logged in N clients (at most 60 s):
# from then on the events it sends reach the stream.
wait_conn() {
    for _ in $(seq 1200); do
        [ "$(logins "$1")" -ge "$2" ] && return
        sleep 0.05
    done
    fail "no login $2 to $1: $(cat "$TMP/ev.err")"
}
events_wait() {
    local want=${1:-0} rc
    set +e
    wait "$EVPID"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "events: exit $rc, want $want: $(cat "$TMP/ev.err")"
}
send() { run 0 -H "127.0.0.1:$1" action UserEvent UserEvent=Follow "Tag=$2"; }
# restart NAME PID JOB PORT: kill the sim (PID, run by the background job
# JOB) and start it again on PORT.
restart() {
    kill -9 "$2"
    wait "$3" 2>/dev/null || true
    sim "$1" "$4"
    [ "$PORT" = "$4" ] || fail "restart on $4 got $PORT"
}

# ---- one server, ndjson: before, AmiGap, after, in that order.
sim one
P=$PORT
ONE=$SIMPID
ONEJOB=$SIMJOB
timeout -k 30 60 "$AMI" -H "127.0.0.1:$P" -f ndjson events --reconnect --filter Event=UserEvent \
    --until Tag=after </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
EVPID=$!
wait_conn one 1
send "$P" before
for _ in $(seq 1200); do grep -q '"before"' "$TMP/ev" && break; sleep 0.05; done
grep -q '"before"' "$TMP/ev" || fail "no event before the restart: $(cat "$TMP/ev")"
start=$(date +%s%N)
restart one "$ONE" "$ONEJOB" "$P"
wait_conn one 1
send "$P" after
events_wait 0
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 15000 ] || fail "reconnect took ${elapsed} ms"
jq -e -s --arg s "127.0.0.1:$P" '
    length == 3 and .[0].Tag == "before" and .[2].Tag == "after" and
    .[1].Event == "AmiGap" and .[1].Server == $s and (.[1].GapMs | tonumber) >= 0 and
    (.[1].Reason | type) == "string" and (.[1] | has("DisconnectedAt") and has("ReconnectedAt"))' \
    "$TMP/ev" >/dev/null || fail "one server: $(cat "$TMP/ev")"
grep -q "127.0.0.1:$P.*reconnecting (--reconnect)" "$TMP/ev.err" || fail "no loss notice: $(cat "$TMP/ev.err")"
grep -q "127.0.0.1:$P: connected again" "$TMP/ev.err" || fail "no reconnect notice: $(cat "$TMP/ev.err")"

# ---- two servers, text: the gap is tagged with the server that went away
# (its Server line once, first), the other server is untouched.
sim a
A=$PORT
APID=$SIMPID
AJOB=$SIMJOB
sim b
B=$PORT
timeout -k 30 60 "$AMI" -H "127.0.0.1:$A" -H "127.0.0.1:$B" events --reconnect --filter Event=UserEvent \
    --until Tag=done </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
EVPID=$!
wait_conn a 1
wait_conn b 1
restart a "$APID" "$AJOB" "$A"
wait_conn a 1
send "$B" b-after
send "$A" a-after
send "$A" done
events_wait 0
awk -v a="Server: 127.0.0.1:$A" '
    BEGIN { RS = ""; FS = "\n" }
    /\nEvent: AmiGap\n/ {
        gaps++
        if ($1 != a) bad = 1
        n = 0
        for (i = 1; i <= NF; i++) if ($i ~ /^Server: /) n++
        if (n != 1) bad = 1
    }
    END { exit !(gaps == 1 && !bad) }' "$TMP/ev" || fail "two servers, gap: $(cat "$TMP/ev")"
grep -qx 'Tag: b-after' "$TMP/ev" && grep -qx 'Tag: a-after' "$TMP/ev" || fail "events after: $(cat "$TMP/ev")"
[ "$(grep -n '^Event: AmiGap$' "$TMP/ev" | cut -d: -f1)" -lt "$(grep -n '^Tag: a-after$' "$TMP/ev" | cut -d: -f1)" ] ||
    fail "the gap must come before the new connection's events: $(cat "$TMP/ev")"

# ---- the gap is printed whatever --filter says, and --count does not count it.
sim c
C=$PORT
CPID=$SIMPID
CJOB=$SIMJOB
timeout -k 30 60 "$AMI" -H "127.0.0.1:$C" --tag -f json events --reconnect --filter Tag=x --count 1 \
    </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
EVPID=$!
wait_conn c 1
restart c "$CPID" "$CJOB" "$C"
wait_conn c 1
send "$C" x
events_wait 0
jq -e --arg s "127.0.0.1:$C" '
    length == 2 and .[0].Event == "AmiGap" and .[0].Server == $s and .[1].Tag == "x" and
    (.[0] | keys_unsorted[0]) == "Server"' "$TMP/ev" >/dev/null || fail "gap with --filter/--count: $(cat "$TMP/ev")"

# ---- without --reconnect: the loss ends the stream with 3.
sim d
D=$PORT
DPID=$SIMPID
DJOB=$SIMJOB
timeout -k 30 60 "$AMI" -H "127.0.0.1:$D" -f ndjson events </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
EVPID=$!
wait_conn d 1
kill -9 "$DPID"
wait "$DJOB" 2>/dev/null || true
events_wait 3
grep -q "127.0.0.1:$D closed the connection" "$TMP/ev.err" || fail "no --reconnect: $(cat "$TMP/ev.err")"
grep -q AmiGap "$TMP/ev" && fail "a gap without --reconnect"

# ---- a refused login ends with 4 even with --reconnect (no retry loop).
start=$(date +%s%N)
AMI_SECRET=wrong run 4 -H "127.0.0.1:$C" events --reconnect
grep -q 'check -u/AMI_USER and the secret' "$TMP/err" || fail "auth with --reconnect: $(cat "$TMP/err")"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 10000 ] || fail "auth failure took ${elapsed} ms"

# ---- --reconnect waits for a server that is not up yet.
hold_port
FREE=$HELD
timeout -k 30 60 "$AMI" -H "127.0.0.1:$FREE" -f ndjson events --reconnect --until Event=FullyBooted \
    </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
EVPID=$!
# Start the server once the stream has been refused and said so.
for _ in $(seq 1200); do grep -q reconnecting "$TMP/ev.err" && break; sleep 0.05; done
grep -q reconnecting "$TMP/ev.err" || fail "no refused attempt: $(cat "$TMP/ev.err")"
sim late "$FREE"
events_wait 0
jq -e -s 'length == 1 and .[0].Event == "FullyBooted"' "$TMP/ev" >/dev/null || fail "late server: $(cat "$TMP/ev")"
[ "$(grep -c 'reconnecting' "$TMP/ev.err")" -eq 1 ] || fail "one notice per outage: $(cat "$TMP/ev.err")"

echo ok
