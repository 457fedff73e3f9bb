#!/usr/bin/env bash
# `ami describe` (text and JSON) of every action and event the capture
# docs_manager_show documents, as ami-sim serves it; `ami action --check`.
source "$(dirname "$0")/ami_lib.sh"
export AMI_SECRET=amp111
sim docs --record "$TMP/actions.log"
A=(-p "$PORT" -u admin)

run 0 "${A[@]}" describe -f json Originate
jq -e '.action == "Originate" and .synopsis == "Originate a call."
       and .required == ["Channel"]
       and .optional == ["ActionID","Exten","Context","Priority","Application","Data","Timeout",
                         "CallerID","Variable","Account","EarlyMedia","Async","Codecs","ChannelId",
                         "OtherChannelId","PreDialGoSub"]
       and .arguments.Channel == "Channel name to call."
       and .arguments.PreDialGoSub == "PreDialGoSub Context,Extension,Priority to set options/headers needed before start the outgoing extension"
       and .privilege == ["originate","all"] and .list_events == [] and .final_event == null
       and .provided_by == "builtin" and .since == "0.2.0"' "$TMP/out" >/dev/null ||
    fail "describe Originate: $(cat "$TMP/out")"

run 0 "${A[@]}" describe -f json QueueAdd
jq -e '.action == "QueueAdd" and .synopsis == "Add interface to queue."
       and .required == ["Queue","Interface"]
       and .optional == ["ActionID","Penalty","Paused","Reason","MemberName","StateInterface"]
       and (.arguments.Penalty | startswith("A penalty (number) to apply to this member. Asterisk will distribute calls to members"))
       and .arguments.MemberName == "Text alias for the interface."
       and .privilege == ["agent","all"] and .provided_by == "app_queue"' "$TMP/out" >/dev/null ||
    fail "describe QueueAdd: $(cat "$TMP/out")"

# Case does not matter (manager.c compares with strcasecmp).
run 0 "${A[@]}" describe -f ndjson queueadd
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "ndjson is one line: $(cat "$TMP/out")"
jq -e '.action == "QueueAdd"' "$TMP/out" >/dev/null || fail "queueadd: $(cat "$TMP/out")"

run 0 "${A[@]}" describe --event -f json Hangup
jq -e '.event == "Hangup" and .synopsis == "Raised when a channel is hung up."
       and (.required | index("Cause") != null) and (.required | index("Cause-txt") != null)
       and (.required | length) == 17 and .optional == []
       and .arguments.Cause == "A numeric cause code for why the channel was hung up."
       and .see_also == ["Newchannel","SoftHangupRequest","HangupRequest","Newstate"]' \
    "$TMP/out" >/dev/null || fail "describe --event Hangup: $(cat "$TMP/out")"

run 0 "${A[@]}" describe --event -f json QueueCallerJoin
jq -e '.event == "QueueCallerJoin" and .required[-3:] == ["Queue","Position","Count"]
       and .arguments.Position == "This channel'"'"'s current position in the queue."
       and .see_also == ["QueueCallerLeave","Queue()"]' "$TMP/out" >/dev/null ||
    fail "describe --event QueueCallerJoin: $(cat "$TMP/out")"

# Text form.
run 0 "${A[@]}" describe Originate
grep -qx "Action Originate — Originate a call." "$TMP/out" || fail "text title: $(cat "$TMP/out")"
grep -qx "Required: Channel" "$TMP/out" || fail "text required: $(cat "$TMP/out")"
grep -qx "Privilege: originate, all" "$TMP/out" || fail "text privilege: $(cat "$TMP/out")"

# An action the server does not document; a name that is not one.
run 1 "${A[@]}" describe NoSuchAction
err_has "does not document an action named 'NoSuchAction'"
run 1 "${A[@]}" describe --event NoSuchEvent
run 2 "${A[@]}" describe 'Ping Originate'
err_has "not an action name"
run 2 "${A[@]}" describe
run 2 "${A[@]}" --event action Ping
err_has "only applies to the describe command"

# action --check: a missing required header is refused before sending.
: >"$TMP/actions.log"
run 2 "${A[@]}" action --check Originate Context=test Exten=100 Priority=1
err_has "Originate needs Channel .*nothing was sent"
grep -q "Action: Originate" "$TMP/actions.log" && fail "--check sent the Originate anyway"
grep -q "Command: manager show command Originate" "$TMP/actions.log" ||
    fail "--check did not ask the server: $(cat "$TMP/actions.log")"
run 2 "${A[@]}" action --check QueueAdd Queue=support
err_has "QueueAdd needs Interface"
# Header names in any case, and the action goes out when complete.
run 0 "${A[@]}" action --check Originate channel=Local/100@test Context=test Exten=100 Priority=1 Async=true
grep -q "Action: Originate" "$TMP/actions.log" || fail "--check with Channel did not send"
run 2 "${A[@]}" action --check NoSuchAction
err_has "documents no action 'NoSuchAction'"
run 2 "${A[@]}" --check cli 'core show version'
err_has "only applies to the action command"
echo "describe: ok"
