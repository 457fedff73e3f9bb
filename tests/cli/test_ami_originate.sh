#!/usr/bin/env bash
# `ami originate --wait`: an answered call followed to its hangup, a busy
# one, a failed one, no answer, our own timeout, a refused Originate, and
# the ChannelId/OtherChannelId chosen up front (libami's ami/originate.h).
source "$(dirname "$0")/ami_lib.sh"
export AMI_SECRET=amp111
sim calls --call-duration 200 --record "$TMP/actions.log"
A=(-p "$PORT" -u admin)
DEST=(Context=test Exten=100 Priority=1)

run 0 "${A[@]}" originate --wait Channel=Local/100@test "${DEST[@]}"
for step in "^channel: Local/100@test-[0-9a-f]*;1$" "^up: Local/100@test-[0-9a-f]*;1$" \
    "^response: Success, Reason 4 \(answered\)" \
    "^hangup: Local/100@test-[0-9a-f]*;1, Cause 16 \(Normal Clearing\)$" \
    "^end: answered, hung up with Cause 16"; do
    grep -qE "$step" "$TMP/out" || fail "answered call lacks '$step': $(cat "$TMP/out")"
done
# The Originate went out Async, with both channel ids set, and the call
# was followed by that id: the sim's channels carry it as Uniqueid.
tr -d '\r' <"$TMP/actions.log" >"$TMP/log"
grep -q "^Async: true$" "$TMP/log" || fail "not Async: $(cat "$TMP/log")"
CID=$(sed -n 's/^ChannelId: //p' "$TMP/log" | tail -1)
OID=$(sed -n 's/^OtherChannelId: //p' "$TMP/log" | tail -1)
[ -n "$CID" ] && [ "$OID" = "$CID;2" ] || fail "channel ids: '$CID' '$OID'"

# JSON: one array of steps, the exit status in the last.
run 0 "${A[@]}" -f json originate --wait Channel=Local/100@test "${DEST[@]}"
jq -e '(map(.step) == ["channel","up","response","hangup","end"])
       and .[2].reason == 4 and .[3].cause == 16 and .[4].result == "answered" and .[4].exit == 0' \
    "$TMP/out" >/dev/null || fail "json steps: $(cat "$TMP/out")"

run 6 "${A[@]}" originate --wait Channel=Sim/busy "${DEST[@]}"
grep -q "^response: Failure, Reason 5 (busy)" "$TMP/out" || fail "busy: $(cat "$TMP/out")"
grep -q "^end: busy (Reason 5)" "$TMP/out" || fail "busy end: $(cat "$TMP/out")"

run 7 "${A[@]}" -f ndjson originate --wait Channel=Local/nosuchexten@test "${DEST[@]}"
jq -se '.[-1] == {"step":"end","result":"failed","reason":0,"exit":7}' "$TMP/out" >/dev/null ||
    fail "failed: $(cat "$TMP/out")"

run 5 "${A[@]}" originate --wait Channel=Sim/noanswer Timeout=150 "${DEST[@]}"
grep -q "^response: Failure, Reason 3 (no answer)" "$TMP/out" || fail "no answer: $(cat "$TMP/out")"

run 7 "${A[@]}" originate --wait Channel=Sim/congestion "${DEST[@]}"
grep -q "Reason 8 (congestion)" "$TMP/out" || fail "congestion: $(cat "$TMP/out")"

# Refused by the server: status 1 and its message.
run 1 "${A[@]}" originate --wait Channel=Local/100@test Context=test Exten=100 Priority=x
err_has "Originate failed: Invalid priority"

# Without --wait: the ids, and nothing followed.
run 0 "${A[@]}" originate Channel=Local/100@test "${DEST[@]}"
grep -qE "^queued: ActionID .*, ChannelId ami-[^,]*, OtherChannelId ami-.*;2$" "$TMP/out" ||
    fail "queued: $(cat "$TMP/out")"

run 2 "${A[@]}" originate "${DEST[@]}"
err_has "missing Channel="
run 2 "${A[@]}" --wait action Ping
err_has "only applies to the originate command"

# Our own wait is bounded: with no call events (an --events mask without
# the call class) the OriginateResponse never comes, and the wait ends
# with status 5 after the Originate's Timeout plus --timeout.
run 5 "${A[@]}" --events system --timeout 0.3 originate --wait Channel=Local/100@test Timeout=100 \
    "${DEST[@]}"
err_has "no OriginateResponse within 400 ms"
echo "originate: ok"
