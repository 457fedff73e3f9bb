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
jqok '.channels == [] and .bridges == [] and .parked == []'
# The sim's queues.conf: support (Alice, Bob) and sales (Carol, paused).
jqok '[.queues[].Queue] == ["support", "sales"] and ([.queues[].callers[]] == [])'
jqok '[.queues[] | select(.Queue == "sales")][0].members[0] | .MemberName == "Agent Carol" and .Paused == "1"'
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

# --until Event=Hangup --until Channel=X: the state right after X's Hangup.
# Hanging up ;1 of a Local pair ends ;2 first, then ;1: stopping at ;2's
# Hangup shows ;1 still there (nothing after the match is applied), and
# the other call untouched. The follower is started, then the hangup is sent once
# it has logged in.
logins() { grep -c ': logged in$' "$TMP/main.err" 2>/dev/null || true; }
run 0 state -f json
victim=$(jq -r '[.channels[] | select(.Channel | test("^Local/101@test-[0-9a-f]+;1$"))][0].Channel' "$TMP/out")
before=$(logins)
timeout 30 "$AMI" state --until Event=Hangup --until Channel="${victim%;1};2" -f json </dev/null \
    >"$TMP/until.out" 2>"$TMP/until.err" &
UPID=$!
PIDS+=($UPID)
for _ in $(seq 200); do [ "$(logins)" -gt "$before" ] && break; sleep 0.05; done
[ "$(logins)" -gt "$before" ] || fail "state --until never logged in: $(cat "$TMP/main.err")"
# Wait until the sim has answered the follower's whole snapshot (its five
# lists and a BridgeInfo per bridge): events after that reach it after
# every list result, so the match comes once the store is synced.
conn=$(sed -n 's/^ami-sim: conn \([0-9]*\): logged in$/\1/p' "$TMP/main.err" | tail -1)
done_count() { grep -c "^ami-sim: conn $conn: $1 done\$" "$TMP/main.err" 2>/dev/null || true; }
for _ in $(seq 200); do
    [ "$(done_count CoreShowChannels)" = 1 ] && [ "$(done_count QueueStatus)" = 1 ] &&
        [ "$(done_count ParkedCalls)" = 1 ] && [ "$(done_count DeviceStateList)" = 1 ] &&
        [ "$(done_count BridgeInfo)" = 2 ] && break
    sleep 0.05
done
[ "$(done_count BridgeInfo)" = 2 ] && [ "$(done_count DeviceStateList)" = 1 ] ||
    fail "the follower's snapshot never completed: $(grep "conn $conn:" "$TMP/main.err")"
run 0 action Hangup Channel="$victim"
wait $UPID || fail "state --until exited $?: $(cat "$TMP/until.err")"
jq -e --arg v "${victim%;1};2" '[.channels[].Channel] | index($v) == null' "$TMP/until.out" >/dev/null ||
    fail "hung-up channel still in the state: $(cat "$TMP/until.out")"
jq -e --arg v "$victim" '[.channels[].Channel] | index($v) != null' "$TMP/until.out" >/dev/null ||
    fail "the state is not the one right after the first matching Hangup: $(cat "$TMP/until.out")"
jq -e '[.channels[] | select(.CallerIDNum == "1001")] | length == 2' "$TMP/until.out" >/dev/null ||
    fail "the other call vanished: $(cat "$TMP/until.out")"

# --- Seeded random scenarios: plain, bridged and queue calls, parks, blind
# transfers, hangups and pauses. At a quiet point (the sim's lists stay the
# same, then a UserEvent marks it) the state a follower built from events
# equals the sim's own lists: channels with their bridge, bridges, queue
# callers and members' pause, parked calls.
SEED=${AMI_TEST_SEED:-$RANDOM}
echo "random scenarios: seed $SEED (AMI_TEST_SEED=$SEED to repeat)"
RANDOM=$SEED
# hangup CHANNEL: hang it up if it is still there (one half of a Local
# pair takes the other with it).
hangup() { timeout 30 "$AMI" action Hangup Channel="$1" </dev/null >/dev/null 2>&1 || true; }
# act ARGS: an action whose failure is part of the scenario (a channel
# that a random earlier step already moved or hung up).
act() { timeout 30 "$AMI" action "$@" </dev/null >/dev/null 2>&1 || true; }
run 0 -f json action CoreShowChannels
for ch in $(jq -r '.[] | select(.Event == "CoreShowChannel") | .Channel' "$TMP/out"); do
    hangup "$ch"
done
# sim_lists: the sim's own view, normalised for comparison.
sim_lists() {
    timeout 30 "$AMI" -f json action CoreShowChannels </dev/null >"$TMP/l.csc" 2>/dev/null || return 1
    timeout 30 "$AMI" -f json action BridgeList </dev/null >"$TMP/l.br" 2>/dev/null || return 1
    timeout 30 "$AMI" -f json action QueueStatus </dev/null >"$TMP/l.qs" 2>/dev/null || return 1
    timeout 30 "$AMI" -f json action ParkedCalls </dev/null >"$TMP/l.pk" 2>/dev/null || return 1
    jq -c -n --slurpfile c "$TMP/l.csc" --slurpfile b "$TMP/l.br" --slurpfile q "$TMP/l.qs" \
        --slurpfile p "$TMP/l.pk" '{
        channels: [$c[0][] | select(.Event == "CoreShowChannel") | [.Uniqueid, .BridgeId]] | sort,
        bridges: [$b[0][] | select(.Event == "BridgeListItem") | .BridgeUniqueid] | sort,
        callers: [$q[0][] | select(.Event == "QueueEntry") | [.Queue, .Uniqueid]] | sort,
        members: [$q[0][] | select(.Event == "QueueMember") | [.Queue, .Location, .Paused]] | sort,
        parked: [$p[0][] | select(.Event == "ParkedCall") | [.ParkingSpace, .ParkeeUniqueid]] | sort}'
}
state_lists() {
    jq -c '{
        channels: [.channels[] | [.Uniqueid, (.BridgeId // "")]] | sort,
        bridges: [.bridges[] | .BridgeUniqueid] | sort,
        callers: [.queues[] | .callers[] | [.Queue, .Uniqueid]] | sort,
        members: [.queues[] | .members[] | [.Queue, .Interface, .Paused]] | sort,
        parked: [.parked[] | [.ParkingSpace, .ParkeeUniqueid]] | sort}' "$1"
}
bridged_channel() { # a random channel that is in a bridge, or nothing
    timeout 30 "$AMI" -f json action CoreShowChannels </dev/null 2>/dev/null |
        jq -r '[.[] | select(.Event == "CoreShowChannel" and (.BridgeId // "") != "") | .Channel] | .[]' |
        awk -v r=$RANDOM 'BEGIN { srand(r) } { a[NR] = $0 } END { if (NR) print a[int(rand() * NR) + 1] }'
}
carol=1
for round in 1 2 3 4; do
    before=$(logins)
    timeout 60 "$AMI" state --until Event=UserEvent --until UserEvent="Quiet$round" -f json </dev/null \
        >"$TMP/follow.out" 2>"$TMP/follow.err" &
    FPID=$!
    PIDS+=($FPID)
    for _ in $(seq 200); do [ "$(logins)" -gt "$before" ] && break; sleep 0.05; done
    [ "$(logins)" -gt "$before" ] || fail "follower $round never logged in"
    ops=""
    for i in $(seq $((RANDOM % 6 + 3))); do
        op=$((RANDOM % 8))
        ops="$ops $op"
        num=$((2000 + RANDOM % 100))
        case $op in
        0) originate 100 "$num" "P$round-$i" ;;
        1) run 0 action Originate Channel=Local/bridged@test Application=Wait Data=600 \
               CallerID="\"B$round-$i\" <$num>" Async=true ;;
        2) run 0 action Originate Channel=Local/300@test Application=Wait Data=600 \
               CallerID="\"Q$round-$i\" <$num>" Async=true ;;
        3) run 0 action Originate Channel=Local/301@test Application=Wait Data=600 \
               CallerID="\"S$round-$i\" <$num>" Async=true ;;
        4) ch=$(bridged_channel); [ -n "$ch" ] && act Park Channel="$ch" Timeout=600000 ;;
        5) ch=$(bridged_channel); [ -n "$ch" ] && act BlindTransfer Channel="$ch" Context=test Exten=100 ;;
        6) run 0 -f json action CoreShowChannels
           ch=$(jq -r '[.[] | select(.Event == "CoreShowChannel") | .Channel | select(endswith(";1"))] | .[]' \
               "$TMP/out" | awk -v r=$RANDOM 'BEGIN { srand(r) } { a[NR] = $0 } END { if (NR) print a[int(rand() * NR) + 1] }')
           [ -n "$ch" ] && hangup "$ch" ;;
        7) carol=$((1 - carol))
           act QueuePause Queue=sales Interface=Local/202@test Paused=$([ $carol = 1 ] && echo true || echo false) ;;
        esac
    done
    # Quiet: two looks at the sim's lists in a row agree.
    prev= quiet=
    for _ in $(seq 100); do
        cur=$(sim_lists) || fail "round $round: the sim's lists failed"
        [ -n "$prev" ] && [ "$cur" = "$prev" ] && { quiet=1; break; }
        prev=$cur
        sleep 0.05
    done
    [ -n "$quiet" ] || fail "round $round (seed $SEED, ops$ops): the sim never became quiet"
    run 0 action UserEvent UserEvent="Quiet$round"
    wait $FPID || fail "follower $round exited $?: $(cat "$TMP/follow.err")"
    want=$(sim_lists)
    [ "$want" = "$cur" ] || fail "round $round (seed $SEED, ops$ops): the sim moved after the quiet point"
    got=$(state_lists "$TMP/follow.out")
    [ -n "${AMI_TEST_VERBOSE:-}" ] && echo "round $round ops$ops: $got"
    [ "$want" = "$got" ] || fail "round $round (seed $SEED, ops$ops):
state $got
sim   $want"
    # A fresh snapshot agrees too.
    run 0 state -f json
    [ "$(state_lists "$TMP/out")" = "$want" ] || fail "round $round: snapshot $(state_lists "$TMP/out") sim $want"
done

# A server that is not there: status 3 and the usual advice.
run 3 -H 127.0.0.1:1 state
err_has 'connection refused'
# --until and --from belong to state (and events); --once to top.
run 2 action Ping --once
err_has 'only applies to the top command'
echo "test_ami_state: ok"
