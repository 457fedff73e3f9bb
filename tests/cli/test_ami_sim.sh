#!/usr/bin/env bash
# `ami` against ami-sim: Ping, cli, list actions, events after an Originate
# (--count, --filter, --until), Response: Error, MD5 and failed logins,
# permissions, replayed captures, fault modes mapped to exit statuses, and a
# CR injection that must never reach the server.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
: "${AMI_FIXTURES:?set AMI_FIXTURES}"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

unset AMI_HOST AMI_PORT AMI_USER AMI_SECRET

printf '[admin]\nsecret = amp111\nread = all\nwrite = all\n\n[limited]\nsecret = limited123\nread = call,system\nwrite = originate\n' >"$TMP/users.conf"
sim main --auth-delay 100 --call-duration 1500 --users "$TMP/users.conf"
MAIN=$PORT
export AMI_HOST=127.0.0.1 AMI_PORT=$MAIN AMI_USER=admin AMI_SECRET=amp111

run 0 action Ping
grep -qx 'Response: Success' "$TMP/out" && grep -qx 'Ping: Pong' "$TMP/out" || fail "Ping: $(cat "$TMP/out")"
run 0 --md5 -f json action Ping
jq -e '.[0].Ping == "Pong"' "$TMP/out" >/dev/null || fail "MD5 Ping"
run 0 cli 'core show version'
grep -q '^Asterisk 22' "$TMP/out" || fail "cli core show version: $(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "cli core show version: one line expected"
run 1 action Getvar
err_has '^ami: Getvar failed: '
run 1 action NoSuchAction
err_has 'Invalid/unknown command'

# Failed logins: 4, for a wrong secret and for an unknown user; MD5 too.
AMI_SECRET=wrong run 4 action Ping
err_has 'check -u/AMI_USER and the secret'
AMI_SECRET=wrong run 4 --md5 action Ping
run 4 -u ghost action Ping
# A user without the command class gets Response: Error (1).
AMI_USER=limited AMI_SECRET=limited123 run 1 cli 'core show version'
err_has 'Permission denied'

# Wait until the calls of an earlier Originate are gone, so their last
# events cannot be mistaken for the next call's.
wait_idle() {
    for _ in $(seq 100); do
        run 0 -f json action CoreShowChannels
        jq -e '.[-1].ListItems == "0"' "$TMP/out" >/dev/null && return
        sleep 0.1
    done
    fail "channels never went away"
}
# Events after an Originate: start `ami events` in the background once
# earlier calls are gone, and return when ami-sim has logged it in (from
# then on the events of the next call reach it; a filtered stream prints
# nothing to tell us).
events_bg() {
    wait_idle
    local before
    before=$(grep -c ': logged in$' "$TMP/main.err" || true)
    # --foreground: the SIGINT is forwarded without a SIGCONT (ami_lib.sh).
    timeout --foreground -k 30 60 "$AMI" "$@" </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
    EVPID=$!
    for _ in $(seq 1200); do
        [ "$(grep -c ': logged in$' "$TMP/main.err" || true)" -gt "$before" ] && return
        sleep 0.05
    done
    fail "events stream did not log in: $(cat "$TMP/ev.err")"
}
events_wait() {
    local rc
    set +e
    wait "$EVPID"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || fail "events: exit $rc: $(cat "$TMP/ev.err")"
}
originate() {
    run 0 action Originate Channel=Local/100@test Context=test Exten=500 Priority=1 Async=true \
        Variable=a=1 Variable=b=2
    grep -qx 'Message: Originate successfully queued' "$TMP/out" || fail "Originate: $(cat "$TMP/out")"
}

# The login's own FullyBooted event satisfies --until at once.
run 0 -f ndjson events --until Event=FullyBooted
jq -e -s 'length == 1 and .[0].Event == "FullyBooted"' "$TMP/out" >/dev/null || fail "--until FullyBooted"

events_bg -f ndjson events --count 6
originate
events_wait
[ "$(wc -l <"$TMP/ev")" -eq 6 ] || fail "--count 6: $(wc -l <"$TMP/ev") lines"
jq -e -s 'length == 6 and all(.[]; .Event | type == "string")' "$TMP/ev" >/dev/null || fail "--count: not events"

events_bg -f ndjson events --count 5 --filter 'privilege=call,*' --filter Channel='Local/100@test-*'
originate
events_wait
jq -e -s 'length == 5 and all(.[]; (.Privilege | startswith("call,")) and (.Channel | startswith("Local/100@test-")))' \
    "$TMP/ev" >/dev/null || fail "--count 5 with filters: $(cat "$TMP/ev")"
grep -q '"Event":"Newchannel"' "$TMP/ev" || fail "no Newchannel after Originate: $(cat "$TMP/ev")"

events_bg events --filter Event=Hangup --filter Channel='*;1' --until Event=Hangup --until Channel='*;1'
originate
events_wait
[ "$(grep -c '^Event: ' "$TMP/ev")" -eq 1 ] && grep -qx 'Event: Hangup' "$TMP/ev" ||
    fail "--until Event=Hangup: $(cat "$TMP/ev")"
[ "$(tail -c 2 "$TMP/ev" | od -An -c | tr -d ' ')" = '\n\n' ] || fail "text event must end with a blank line"

# The Originate's Variable= arguments become two headers in order: the
# channel's VarSet events show both.
events_bg -f ndjson events --filter Event=VarSet --until Event=Hangup
originate
events_wait
jq -e -s 'any(.[]; .Variable == "a" and .Value == "1") and any(.[]; .Variable == "b" and .Value == "2")' \
    "$TMP/ev" >/dev/null || fail "Variable=a=1 Variable=b=2 did not reach the channel: $(cat "$TMP/ev")"

# A list action: response plus every event of the list.
events_bg events --until Event=Newchannel
originate
events_wait
run 0 -f json action CoreShowChannels
jq -e '.[0].EventList == "start" and .[-1].EventList == "Complete" and
    (.[-1].ListItems | tonumber) == (length - 2) and (length - 2) >= 1' "$TMP/out" >/dev/null ||
    fail "CoreShowChannels list: $(cat "$TMP/out")"

# CR/LF injection: 2, and the simulator sees no connection at all.
before=$(grep -c ' from ' "$TMP/main.err" || true)
run 2 action Foo $'a=b\r\nAction: Command'
run 2 action Originate Channel=Local/100@test $'Application=Wait\r\n\r\nAction: Command\r\nCommand: core stop now'
run 2 cli $'core show version\nAction: Logoff'
after=$(grep -c ' from ' "$TMP/main.err" || true)
[ "$before" -eq "$after" ] || fail "an injection attempt connected to ami-sim"

# SIGINT ends the stream: 0 and a closed JSON array.
events_bg -f json events
for _ in $(seq 1200); do grep -q '"Event"' "$TMP/ev" && break; sleep 0.05; done
kill -INT "$EVPID"
events_wait
jq -e 'type == "array" and length >= 1' "$TMP/ev" >/dev/null || fail "SIGINT json: $(cat "$TMP/ev")"

# A replayed capture: cli prints exactly the capture's Output lines.
sim replay --replay "$AMI_FIXTURES/command_dialplan_show_test.raw"
run 0 -p "$PORT" cli dialplan show test
"$AMI" decode -f json "$AMI_FIXTURES/command_dialplan_show_test.raw" |
    jq -r '.[] | select(.Output?) | .Output[]' >"$TMP/want"
cmp "$TMP/out" "$TMP/want" || fail "replayed dialplan output differs"

# A fast stream: every event arrives, in order, as valid ndjson.
sim firehose --firehose 20000
run 0 -p "$PORT" -f ndjson events --until Event=SimDone
jq -e -s '.[-1].Event == "SimDone" and .[-1].Count == "20000" and length >= 20001' "$TMP/out" >/dev/null ||
    fail "firehose"

# Logoff as the action: Goodbye is success.
run 0 action Logoff
grep -qx 'Response: Goodbye' "$TMP/out" || fail "Logoff: $(cat "$TMP/out")"

# IPv6 in brackets, when the machine has ::1.
timeout --foreground -k 30 120 "$SIM" --listen '[::1]:0' >"$TMP/v6.out" 2>"$TMP/v6.err" &
V6PID=$!
PIDS+=($V6PID)
V6=
for _ in $(seq 600); do
    kill -0 "$V6PID" 2>/dev/null || break # no ::1: it says so and exits
    V6=$(sed -n 's/^listening on \[::1\]:\([0-9][0-9]*\)$/\1/p' "$TMP/v6.out" 2>/dev/null || true)
    [ -n "$V6" ] && break
    sleep 0.05
done
if [ -n "$V6" ]; then
    run 0 -H "[::1]:$V6" action Ping
    run 0 -H ::1 -p "$V6" action Ping
    AMI_HOST="[::1]" AMI_PORT=$V6 run 0 action Ping
else
    echo "note: no IPv6 loopback, [::1] not tested"
fi

# Faults map to exit statuses.
sim stall --fault stall
run 5 -p "$PORT" --timeout 0.5 action Ping
err_has 'raise --timeout'
sim nobanner --fault no-banner
run 5 -p "$PORT" --timeout 0.5 action Ping
sim wrongbanner --fault wrong-banner
run 3 -p "$PORT" action Ping
err_has 'not an AMI server'
sim garbage --fault garbage
run 3 -p "$PORT" action Ping
sim cut --fault close-mid-packet
run 3 -p "$PORT" action Ping
sim big --fault oversize-header
run 3 -p "$PORT" action Ping
err_has 'limit'

echo ok
