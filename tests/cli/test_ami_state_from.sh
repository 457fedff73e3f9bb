#!/usr/bin/env bash
# `ami state --from` and `ami top --once --from` on the recorded captures:
# the state a server stream builds (its list responses answering the
# store's lists, its events applied in order), checked value by value.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
: "${AMI_FIXTURES:?set AMI_FIXTURES}"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }
F=$AMI_FIXTURES

# jqok FILTER: the JSON in $TMP/out satisfies FILTER.
jqok() { jq -e "$1" "$TMP/out" >/dev/null || fail "jq '$1' on $(head -c 3000 "$TMP/out")"; }

# cut NAME EVENT OUT: the capture up to and including the first packet
# that starts with "Event: EVENT" (a packet boundary: no truncation).
cut() {
    python3 - "$F/$1.raw" "$2" "$3" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
i = d.index(b"\r\nEvent: " + sys.argv[2].encode() + b"\r\n")
j = d.index(b"\r\n\r\n", i + 2) + 4
open(sys.argv[3], "wb").write(d[:j])
PY
}

# --- busy_snapshot: Events: off, every list once (the start-up snapshot),
# up to its last BridgeInfo; the whole capture ends with an empty
# CoreShowChannels, which the state follows.
cut busy_snapshot BridgeInfoComplete "$TMP/busy.raw"
run 0 state --from "$TMP/busy.raw" -f json
jqok '.channels | length == 24'
jqok '[.channels[] | select(.Channel == "Local/bridged@test-00000025;2")][0].BridgeId
      == "1979b382-8c34-4f1b-9fcf-d08ef8ef958d"'
jqok '[.channels[] | select(.Channel == "Local/bridged@test-00000025;1")][0] | (.BridgeId // "") == ""'
jqok '[.channels[] | select(.Channel == "Local/moh@test-0000002c;1")][0].CallerIDNum == "5554102"'
jqok '.bridges | length == 6'
jqok '[.bridges[] | select(.BridgeUniqueid == "1979b382-8c34-4f1b-9fcf-d08ef8ef958d")][0].Channels
      | sort == ["Local/bridged@test-00000025;2", "Local/wait@test-00000027;1"]'
jqok '[.queues[].Queue] | sort == ["sales", "support"]'
jqok '[.queues[] | select(.Queue == "support")][0].members | map(.MemberName) | sort
      == ["Agent Alice", "Agent Bob"]'
# QueueStatus says Location/Name; the store says Interface/MemberName.
jqok '[.queues[] | select(.Queue == "sales")][0].members[0] | has("Interface") and (has("Location") | not)'
jqok '[.queues[] | select(.Queue == "sales")][0].callers
      | length == 1 and .[0].Channel == "Local/301@test-0000002d;2" and .[0].CallerIDNum == "5554101"
        and .[0].Position == "1"'
jqok '.parked == []'
run 0 state --from "$TMP/busy.raw"
grep -q '^Calls: 7 (24 channels)$' "$TMP/out" || fail "busy_snapshot text: $(head -5 "$TMP/out")"
grep -q '^Bridges: 6$' "$TMP/out" || fail "busy_snapshot text bridges"
grep -qE '^    caller 1  Local/301@test-0000002d;2  5554101' "$TMP/out" || fail "text caller: $(grep caller "$TMP/out")"
grep -qE '^    member Agent Alice \(' "$TMP/out" || fail "text member"
run 0 state --from "$F/busy_snapshot.raw" -f json
jqok '.channels == [] and (.bridges | length) == 6'

# --- queue_callcenter: ends idle; the queues and their members stay.
run 0 state --from "$F/queue_callcenter.raw" -f json
jqok '.channels == []'
jqok '[.queues[].Queue] | sort == ["sales", "support"]'
jqok '[.queues[].callers[]] == []'
# Dave was added and removed again; Carol is paused at the end.
jqok '[.queues[].members[].MemberName] | index("Agent Dave") == null'
jqok '[.queues[] | select(.Queue == "sales")][0].members[] | select(.MemberName == "Agent Carol") | .Paused == "1"'
# Mid-flight, with Caller Two waiting in sales (Carol paused).
cut queue_callcenter QueueCallerJoin "$TMP/qc2.raw"
run 0 state --from "$TMP/qc2.raw" -f json
jqok '[.queues[] | select(.Queue == "support")][0].callers | length == 1'
jqok '.channels | length > 0'

# --- bridge_transfer: ends with no channel, but the parking lot's holding
# bridge stays listed, empty, as the server keeps it.
run 0 state --from "$F/bridge_transfer.raw" -f json
jqok '.channels == []'
jqok '.bridges | length == 1 and .[0].BridgeType == "parking" and .[0].Channels == []'
# After the first BridgeInfo: the Dial() bridge with its two channels.
cut bridge_transfer BridgeInfoComplete "$TMP/bt1.raw"
run 0 state --from "$TMP/bt1.raw" -f json
jqok '[.bridges[] | select(.BridgeUniqueid == "3ec8a31f-770e-4b64-99bc-1fdb7a1c5951")][0].Channels | length == 2'
jqok '[.channels[] | select(.BridgeId == "3ec8a31f-770e-4b64-99bc-1fdb7a1c5951")] | length == 2'

# --- park_hold: parked at ParkedCalls, gone after ParkedCallTimeOut.
cut park_hold ParkedCallsComplete "$TMP/ph1.raw"
run 0 state --from "$TMP/ph1.raw" -f json
jqok '.parked | length == 1 and .[0].ParkingSpace == "701" and .[0].ParkeeCallerIDNum == "5553001"
      and .[0].ParkeeChannel == "Local/bridged@test-0000001f;2"'
run 0 top --once --from "$TMP/ph1.raw" --view parked
grep -qE '^default/701 +Local/bridged@test-0000001f;2 +5553001' "$TMP/out" || fail "top parked: $(cat "$TMP/out")"
run 0 state --from "$F/park_hold.raw" -f json
jqok '.parked == [] and .channels == []'

# --- the older captures: a channel listed by CoreShowChannels.
cut coreshowchannels CoreShowChannelsComplete "$TMP/csc.raw"
run 0 state --from "$TMP/csc.raw" -f json
jqok '.channels | length == 6'
jqok '[.channels[] | select(.Channel == "Local/wait@test-00000003;1")][0].CallerIDNum == "5550100"'
jqok '[.channels[] | select(.BridgeId == "92fcc28c-ddc8-4620-89a1-126faa829995") | .Channel] | sort
      == ["Local/bridged@test-00000002;2", "Local/wait@test-00000004;1"]'
run 0 state --from "$F/coreshowchannels.raw" -f json
jqok '.channels == []'
run 0 state --from "$F/originate_events.raw" -f json
jqok '.channels == []'

# --- top --once over a capture: the three views, no terminal codes.
run 0 top --once --from "$TMP/busy.raw"
grep -q '^ami top  \[1 Calls (7)\]' "$TMP/out" || fail "top title: $(head -2 "$TMP/out")"
grep -qE '^CALLER +CALLEE +STATE' "$TMP/out" || fail "top calls heading"
grep -q "$(printf '\033')" "$TMP/out" && fail "top --once wrote a terminal escape"
run 0 top --once --from "$TMP/busy.raw" --view queues
grep -qE '^sales  1 waiting  1 members' "$TMP/out" || fail "top queues: $(cat "$TMP/out")"
grep -qE '^  caller 1 +Local/301@test-0000002d;2 +5554101' "$TMP/out" || fail "top queue caller"
grep -qE '^  member Agent Alice' "$TMP/out" || fail "top queue member"

# --- hostile values: terminal escapes from the server never reach the
# terminal (text and top), and stay intact, escaped, in JSON.
printf 'Asterisk Call Manager/11.0.0\r\nEvent: Newchannel\r\nChannel: SIP/x-1\r\nChannelState: 4\r\nChannelStateDesc: Ring\r\nCallerIDNum: 1\033[2J\r\nCallerIDName: \033]0;pwn\007\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n' >"$TMP/esc.raw"
run 0 state --from "$TMP/esc.raw"
grep -q "$(printf '\033')" "$TMP/out" && fail "state text passed an escape through: $(od -c "$TMP/out" | head)"
grep -qF '1?[2J "?]0;pwn?"' "$TMP/out" || fail "state text: $(cat "$TMP/out")"
run 0 top --once --from "$TMP/esc.raw"
grep -q "$(printf '\033')" "$TMP/out" && fail "top passed an escape through"
run 0 state --from "$TMP/esc.raw" -f json
jqok '.channels[0].CallerIDName == "\u001b]0;pwn\u0007"'
# Not a server stream (a client's .sent), garbage: status 3, a clear message.
run 3 state --from "$F/login_ok.sent"
err_has 'is not a recorded server stream'

# --- errors: a missing file, --from outside state/top --once, ndjson.
run 2 state --from "$TMP/none.raw"
err_has 'cannot read'
run 2 events --from "$F/park_hold.raw"
err_has 'only applies to the state command'
run 2 state --from "$F/park_hold.raw" -f ndjson
run 2 state --from "$F/park_hold.raw" --until Event=Hangup
run 2 top --once --view nope
err_has "invalid --view 'nope'"
run 2 action Ping --view queues
err_has 'only applies to the top command'
run 2 top --from "$F/park_hold.raw"
err_has 'only applies to the state command and to top --once'
run 2 action Ping --until Event=Hangup
err_has 'only applies to the events and state commands'
# --help names the commands and their options.
run 0 --help
for s in '  state ' '  top ' --from --once --view 'state:' 'top:'; do
    grep -qF -- "$s" "$TMP/out" || fail "--help does not mention '$s'"
done
echo "test_ami_state_from: ok"
