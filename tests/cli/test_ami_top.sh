#!/usr/bin/env bash
# `ami top`: --once against ami-sim (plain text, the call's row, the
# server mark), then the full-screen view driven in tmux: view switches,
# filter, sort, the DOWN and RESYNCED marks when the sim is killed and
# restarted mid-call (the vanished call is gone, a new one appears), q.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
command -v tmux >/dev/null || { echo "tmux is required" >&2; exit 1; }
unset AMI_HOST AMI_PORT AMI_USER AMI_SECRET

SOCK="$TMP/tmux.sock"
cleanup() {
    tmux -S "$SOCK" kill-server 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}

sim main --call-duration 600000
MAIN=$PORT
export AMI_HOST=127.0.0.1 AMI_PORT=$MAIN AMI_USER=admin AMI_SECRET=amp111

originate() { # EXTEN NUM NAME
    run 0 action Originate Channel="Local/$1@test" Context=test Exten=100 Priority=1 \
        CallerID="\"$3\" <$2>" Async=true
}
originate 100 3001 Carol
# wait_once PATTERN: `ami top --once` shows PATTERN within 10 s.
wait_once() {
    for _ in $(seq 100); do
        run 0 top --once "$@"
        grep -qE -- "$PAT" "$TMP/out" && return 0
        sleep 0.1
    done
    fail "top --once $* never showed '$PAT': $(cat "$TMP/out")"
}
PAT='^3001 "Carol" +100 .* Up +[0-9]+:[0-9]{2} +[0-9a-f]{8} ' wait_once
grep -qF "[127.0.0.1: up]" "$TMP/out" || fail "server mark: $(cat "$TMP/out")"
grep -q "$(printf '\033')" "$TMP/out" && fail "top --once wrote a terminal escape"
grep -qE '^CALLER +CALLEE +STATE +DURATION +BRIDGE +APPLICATION$' "$TMP/out" || fail "heading"
run 0 top --once --view queues
grep -qx '(no queues)' "$TMP/out" || grep -qE 'waiting' "$TMP/out" || fail "queues view: $(cat "$TMP/out")"
run 0 top --once --view parked
grep -qE '^LOT/SPACE' "$TMP/out" || fail "parked view: $(cat "$TMP/out")"
# A server that is down: status 3 and its mark.
run 3 -H "127.0.0.1:$MAIN" -H 127.0.0.1:1 top --once
grep -qF '[127.0.0.1:1: FAILED]' "$TMP/out" || fail "down mark: $(cat "$TMP/out")"
grep -qE '^127\.0\.0\.1:[0-9]+ +3001' "$TMP/out" || fail "two servers: the call row names its server"
run 2 top </dev/null
err_has 'needs a terminal'

# --- The full-screen view in tmux.
cat >"$TMP/top.sh" <<SH
#!/bin/sh
AMI_HOST=127.0.0.1 AMI_PORT=$MAIN AMI_USER=admin AMI_SECRET=amp111 "$AMI" top 2>"$TMP/top.err"
echo \$? >"$TMP/top.rc"
SH
chmod +x "$TMP/top.sh"
tmux -S "$SOCK" new-session -d -s top -x 180 -y 40 "$TMP/top.sh"
pane() { tmux -S "$SOCK" capture-pane -p -t top 2>/dev/null || true; }
# wait_pane PATTERN: the screen shows PATTERN within 15 s.
wait_pane() {
    for _ in $(seq 150); do
        pane | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    fail "top never showed '$1'; screen: $(pane); stderr: $(cat "$TMP/top.err" 2>/dev/null)"
}
wait_lacks() {
    for _ in $(seq 150); do
        pane | grep -qE -- "$1" || return 0
        sleep 0.1
    done
    fail "top still shows '$1': $(pane)"
}
keys() { tmux -S "$SOCK" send-keys -t top "$@"; }

wait_pane '3001 "Carol"'
wait_pane "\[127\.0\.0\.1: up\]"
keys 2
wait_pane '\[2 Queues'
keys 3
wait_pane '\[3 Parked'
wait_pane '\(no parked calls\)'
keys Tab
wait_pane '\[1 Calls \(1\)\]'
keys / 9 9 9
wait_pane 'filter: 999'
keys Enter
wait_pane '\(no call matches the filter\)'
keys / Escape
wait_pane '3001 "Carol"'
keys s
wait_pane 'sort: caller'
# A call that appears while the view runs.
originate 101 3005 Dan
wait_pane '3005 "Dan"'

# Kill the sim mid-call: the mark says DOWN; a new sim on the same port
# knows no call: after the gap the view converges (the old calls are
# gone), marks the resync, and shows the new sim's call.
kill "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
wait_pane "\[127\.0\.0\.1: DOWN"
started=
for _ in $(seq 50); do
    timeout --foreground 120 "$SIM" --listen "127.0.0.1:$MAIN" --call-duration 600000 >"$TMP/re.out" 2>"$TMP/re.err" &
    PIDS+=($!)
    for _ in $(seq 100); do
        grep -q '^listening on' "$TMP/re.out" 2>/dev/null && { started=1; break; }
        kill -0 "${PIDS[-1]}" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$started" ] && break
    sleep 0.1 # the old socket may still hold the port: try again
done
[ -n "$started" ] || fail "could not restart ami-sim on port $MAIN: $(cat "$TMP/re.err")"
wait_pane 'RESYNCED after a gap'
wait_lacks '3001 "Carol"'
wait_lacks '3005 "Dan"'
originate 100 3009 Eve
wait_pane '3009 "Eve"'

keys q
for _ in $(seq 100); do [ -s "$TMP/top.rc" ] && break; sleep 0.1; done
[ -s "$TMP/top.rc" ] || fail "top did not quit on q: $(pane)"
[ "$(cat "$TMP/top.rc")" = 0 ] || fail "top exited $(cat "$TMP/top.rc"): $(cat "$TMP/top.err")"
echo "test_ami_top: ok"
