#!/usr/bin/env bash
# `ami state` against ami-sim: the snapshot after originating calls
# (CallerIDNum, BridgeId once bridged), --until with a Hangup, several -H
# (one object per server), and the state a follower builds from events
# compared with the sim's own CoreShowChannels after seeded random call
# scenarios.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
unset AMI_HOST AMI_PORT AMI_USER AMI_SECRET

sim main --call-duration 600000
MAIN=$PORT
export AMI_HOST=127.0.0.1 AMI_PORT=$MAIN AMI_USER=admin AMI_SECRET=amp111

jqok() { jq -e "$1" "$TMP/out" >/dev/null || fail "jq '$1' on $(head -c 3000 "$TMP/out")"; }

# Empty server: an empty state, in both formats.
run 0 state -f json
jqok '.channels == [] and .bridges == [] and .queues == [] and .parked == []'
run 0 state
grep -qx 'Calls: 0 (0 channels)' "$TMP/out" || fail "empty text: $(cat "$TMP/out")"

originate() { # EXTEN NUM NAME
    run 0 action Originate Channel="Local/$1@test" Context=test Exten=100 Priority=1 \
        CallerID="\"$3\" <$2>" Async=true
}
originate 100 1001 Alice
originate 101 1002 Bob

# wait_state JQ: `ami state -f json` satisfies JQ within 10 s.
wait_state() {
    for _ in $(seq 100); do
        run 0 state -f json
        jq -e "$1" "$TMP/out" >/dev/null && return 0
        sleep 0.1
    done
    fail "state never satisfied '$1': $(cat "$TMP/out")"
}
wait_state '[.channels[] | select(.BridgeId != null and .BridgeId != "")] | length == 4'
jqok '.channels | length == 4'
jqok '[.channels[] | select(.Channel | test("^Local/100@test-[0-9a-f]+;1$"))][0].CallerIDNum == "1001"'
jqok '[.channels[] | select(.Channel | test("^Local/101@test-[0-9a-f]+;1$"))][0].CallerIDNum == "1002"'
jqok '.bridges | length == 2 and all(.[]; .Channels | length == 2)'
# A channel's BridgeId is the bridge that lists it.
jqok '[.bridges[] as $b | .channels[] | select(.BridgeId == $b.BridgeUniqueid) | .Channel] | length == 4'
run 0 state
grep -qE '^Calls: 2 \(4 channels\)$' "$TMP/out" || fail "text calls: $(cat "$TMP/out")"
grep -qE '^  call [0-9.]+: 1001 "Alice" -> ' "$TMP/out" || fail "text call line: $(cat "$TMP/out")"

# Several -H: one object per server, under its -H name.
sim second --call-duration 600000
SECOND=$PORT
run 0 -H "127.0.0.1:$MAIN" -H "127.0.0.1:$SECOND" state -f json
jq -e --arg a "127.0.0.1:$MAIN" --arg b "127.0.0.1:$SECOND" \
    '(keys | sort) == ([$a, $b] | sort) and (.[$a].channels | length) == 4 and .[$b].channels == []' \
    "$TMP/out" >/dev/null || fail "two servers: $(cat "$TMP/out")"

# --until Event=Hangup: the state right after the first Hangup. The
# follower is started, then the hangup is sent once it has logged in.
logins() { grep -c ': logged in$' "$TMP/main.err" 2>/dev/null || true; }
before=$(logins)
timeout 30 "$AMI" state --until Event=Hangup -f json </dev/null >"$TMP/until.out" 2>"$TMP/until.err" &
UPID=$!
PIDS+=($UPID)
for _ in $(seq 200); do [ "$(logins)" -gt "$before" ] && break; sleep 0.05; done
[ "$(logins)" -gt "$before" ] || fail "state --until never logged in: $(cat "$TMP/main.err")"
run 0 state -f json
victim=$(jq -r '[.channels[] | select(.Channel | test("^Local/101@test-[0-9a-f]+;1$"))][0].Channel' "$TMP/out")
# The follower may still be taking its snapshot; a match then is printed
# once the snapshot is in, so sending now is never lost.
run 0 action Hangup Channel="$victim"
wait $UPID || fail "state --until exited $?: $(cat "$TMP/until.err")"
jq -e --arg v "$victim" '[.channels[].Channel] | index($v) == null' "$TMP/until.out" >/dev/null ||
    fail "hung-up channel still in the state: $(cat "$TMP/until.out")"
jq -e '[.channels[] | select(.CallerIDNum == "1001")] | length >= 1' "$TMP/until.out" >/dev/null ||
    fail "the other call vanished: $(cat "$TMP/until.out")"

# --- Seeded random scenarios: a follower built from events equals the
# sim's CoreShowChannels at a quiet point (marked by a UserEvent).
SEED=${AMI_TEST_SEED:-$RANDOM}
echo "random scenarios: seed $SEED (AMI_TEST_SEED=$SEED to repeat)"
RANDOM=$SEED
run 0 -f json action CoreShowChannels
for ch in $(jq -r '.[] | select(.Event == "CoreShowChannel") | .Channel' "$TMP/out"); do
    run 0 action Hangup Channel="$ch"
done
for round in 1 2 3; do
    before=$(logins)
    timeout 30 "$AMI" state --until Event=UserEvent --until UserEvent="Quiet$round" -f json </dev/null \
        >"$TMP/follow.out" 2>"$TMP/follow.err" &
    FPID=$!
    PIDS+=($FPID)
    for _ in $(seq 200); do [ "$(logins)" -gt "$before" ] && break; sleep 0.05; done
    n=$((RANDOM % 5 + 2))
    for i in $(seq "$n"); do
        originate $((100 + RANDOM % 3)) "$((2000 + RANDOM % 100))" "R$round-$i"
    done
    # Hang up a random subset (by name, as a script would).
    run 0 -f json action CoreShowChannels
    for ch in $(jq -r '.[] | select(.Event == "CoreShowChannel") | .Channel | select(endswith(";1"))' "$TMP/out"); do
        [ $((RANDOM % 2)) -eq 0 ] && run 0 action Hangup Channel="$ch"
    done
    run 0 action UserEvent UserEvent="Quiet$round"
    wait $FPID || fail "follower $round exited $?: $(cat "$TMP/follow.err")"
    run 0 -f json action CoreShowChannels
    want=$(jq -c '[.[] | select(.Event == "CoreShowChannel") | .Uniqueid] | sort' "$TMP/out")
    got=$(jq -c '[.channels[].Uniqueid] | sort' "$TMP/follow.out")
    [ "$want" = "$got" ] || fail "round $round (seed $SEED): state $got, sim $want"
    # Bridged channels name their bridge as the sim does.
    wantb=$(jq -c '[.[] | select(.Event == "CoreShowChannel") | [.Uniqueid, .BridgeId]] | sort' "$TMP/out")
    gotb=$(jq -c '[.channels[] | [.Uniqueid, (.BridgeId // "")]] | sort' "$TMP/follow.out")
    [ "$wantb" = "$gotb" ] || fail "round $round (seed $SEED) bridges: state $gotb, sim $wantb"
done

# A server that is not there: status 3 and the usual advice.
run 3 -H 127.0.0.1:1 state
err_has 'connection refused'
# --until and --from belong to state (and events); --once to top.
run 2 action Ping --once
err_has 'only applies to the top command'
echo "test_ami_state: ok"
