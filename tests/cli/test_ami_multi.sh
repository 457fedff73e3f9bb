#!/usr/bin/env bash
# `ami events` watching two ami-sim instances at once: every packet tagged
# with its server (JSON "Server" key first, text "Server:" line first),
# --count across servers, --tag with one server, `action` going to the first
# -H or to the one --server names, and a dead server ending the run.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
: "${AMI_FIXTURES:?set AMI_FIXTURES}"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

unset AMI_HOST AMI_PORT
export AMI_USER=admin AMI_SECRET=amp111

logins() { grep -c ': logged in$' "$TMP/$1.err" || true; }
# events_bg ARGS...: start `ami ARGS` in the background; return once both
# sims have logged in one more client (from then on their events reach it).
# --foreground: timeout forwards a SIGINT without a SIGCONT (ami_lib.sh).
events_bg() {
    local a0 b0
    a0=$(logins a)
    b0=$(logins b)
    timeout --foreground -k 30 60 "$AMI" "$@" </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
    EVPID=$!
    for _ in $(seq 1200); do
        [ "$(logins a)" -gt "$a0" ] && [ "$(logins b)" -gt "$b0" ] && return
        sleep 0.05
    done
    fail "events did not log in to both servers: $(cat "$TMP/ev.err")"
}
events_wait() {
    local want=${1:-0} rc
    set +e
    wait "$EVPID"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "events: exit $rc, want $want: $(cat "$TMP/ev.err")"
}
# send PORT TAG: a UserEvent carrying Tag: TAG, raised on that sim.
send() { run 0 -H "127.0.0.1:$1" action UserEvent UserEvent=Multi "Tag=$2"; }

sim a
A=$PORT
sim b
B=$PORT
[ "$A" != "$B" ] || fail "two sims on one port"

# Both servers in one loop; --count counts events from either.
events_bg -H "127.0.0.1:$A" -H "127.0.0.1:$B" -f ndjson events --filter Event=UserEvent --count 4
send "$A" a1
send "$B" b1
send "$A" a2
send "$B" b2
events_wait
[ "$(wc -l <"$TMP/ev")" -eq 4 ] || fail "--count 4 across servers: $(cat "$TMP/ev")"
jq -e -s --arg a "127.0.0.1:$A" --arg b "127.0.0.1:$B" '
    length == 4 and
    all(.[]; keys_unsorted[0] == "Server" and (.Server | type) == "string") and
    ([.[] | select(.Tag | startswith("a")) | .Server] | unique) == [$a] and
    ([.[] | select(.Tag | startswith("b")) | .Server] | unique) == [$b] and
    ([.[] | .Tag] | sort) == ["a1", "a2", "b1", "b2"]' "$TMP/ev" >/dev/null ||
    fail "ndjson tags: $(cat "$TMP/ev")"
# Per server, the order of the stream is kept.
jq -e -s '[.[] | select(.Tag | startswith("a")) | .Tag] == ["a1", "a2"]' "$TMP/ev" >/dev/null ||
    fail "order of one server's events: $(cat "$TMP/ev")"

# json: one array of tagged objects.
events_bg -H "127.0.0.1:$A" -H "127.0.0.1:$B" -f json events --filter Event=UserEvent --count 2
send "$B" jb
send "$A" ja
events_wait
jq -e --arg a "127.0.0.1:$A" --arg b "127.0.0.1:$B" '
    length == 2 and all(.[]; keys_unsorted[0] == "Server") and
    (map({(.Tag): .Server}) | add) == {"ja": $a, "jb": $b}' "$TMP/ev" >/dev/null ||
    fail "json tags: $(cat "$TMP/ev")"

# text: a Server: line first in every packet; --until stops on a match.
events_bg -H "127.0.0.1:$A" -H "127.0.0.1:$B" events --filter Event=UserEvent --until Tag=stop
send "$A" t1
send "$B" stop
events_wait
[ "$(grep -c '^Event: UserEvent$' "$TMP/ev")" -eq 2 ] || fail "text: $(cat "$TMP/ev")"
awk -v a="Server: 127.0.0.1:$A" -v b="Server: 127.0.0.1:$B" '
    BEGIN { first = 1; ok = 1; n = 0 }
    first { if ($0 != a && $0 != b) ok = 0; n++; first = 0; next }
    /^$/ { first = 1; next }
    /^Server: / { ok = 0 }
    END { exit !(ok && n == 2) }' "$TMP/ev" || fail "text: Server line not first: $(cat "$TMP/ev")"
awk -v a="Server: 127.0.0.1:$A" '$0 == a { s = 1 } /^Tag: t1$/ { exit !s } /^$/ { s = 0 }' "$TMP/ev" ||
    fail "text: t1 not tagged with server a: $(cat "$TMP/ev")"

# One server: untagged unless --tag.
run 0 -H "127.0.0.1:$A" -f ndjson events --until Event=FullyBooted
jq -e -s 'length == 1 and (.[0] | has("Server") | not)' "$TMP/out" >/dev/null || fail "untagged: $(cat "$TMP/out")"
run 0 -H "127.0.0.1:$A" --tag -f ndjson events --until Event=FullyBooted
jq -e -s --arg a "127.0.0.1:$A" '.[0].Server == $a and (.[0] | keys_unsorted[0]) == "Server"' "$TMP/out" >/dev/null ||
    fail "--tag: $(cat "$TMP/out")"
run 0 -H "127.0.0.1:$A" --tag events --until Event=FullyBooted
[ "$(head -n 2 "$TMP/out")" = "Server: 127.0.0.1:$A
Event: FullyBooted" ] || fail "--tag text: $(cat "$TMP/out")"
# -p is the default port of every -H without its own.
run 0 -H 127.0.0.1 -H "127.0.0.1:$B" -p "$A" -f ndjson events --count 2 --filter Event=FullyBooted
jq -e -s --arg a "127.0.0.1:$A" --arg b "127.0.0.1:$B" '[.[].Server] | sort == ([$a, $b] | sort)' "$TMP/out" \
    >/dev/null || fail "-p as the default port: $(cat "$TMP/out")"

# action with several -H: the first, or the one --server names.
events_bg -H "127.0.0.1:$A" -H "127.0.0.1:$B" -f ndjson events --filter Event=UserEvent --count 3
run 0 -H "127.0.0.1:$A" -H "127.0.0.1:$B" action UserEvent UserEvent=Multi Tag=first
run 0 -H "127.0.0.1:$A" -H "127.0.0.1:$B" --server "127.0.0.1:$B" action UserEvent UserEvent=Multi Tag=named
run 0 -H "127.0.0.1:$B" -H "127.0.0.1:$A" --server "127.0.0.1:$A" action UserEvent UserEvent=Multi Tag=named-a
events_wait
jq -e -s --arg a "127.0.0.1:$A" --arg b "127.0.0.1:$B" \
    '(map({(.Tag): .Server}) | add) == {"first": $a, "named": $b, "named-a": $a}' "$TMP/ev" >/dev/null ||
    fail "action routing: $(cat "$TMP/ev")"
run 0 -H "127.0.0.1:$A" -H "127.0.0.1:$B" --server "127.0.0.1:$B" cli core show version
grep -q '^Asterisk' "$TMP/out" || fail "cli --server: $(cat "$TMP/out")"
run 2 -H "127.0.0.1:$A" -H "127.0.0.1:$B" --server 127.0.0.1:1 action Ping
grep -q -- "--server '127.0.0.1:1' is none of the servers" "$TMP/err" || fail "--server unknown: $(cat "$TMP/err")"
run 2 -H "127.0.0.1:$A" --reconnect action Ping
run 2 -H "127.0.0.1:$A" --tag action Ping

# A server that is not there ends the run with 3 (no --reconnect), naming it.
FREE=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run 3 -H "127.0.0.1:$A" -H "127.0.0.1:$FREE" events
grep -q "cannot connect to 127.0.0.1:$FREE: connection refused" "$TMP/err" || fail "dead server: $(cat "$TMP/err")"

# SIGINT with two servers: status 0, a complete JSON array, Logoff to both.
events_bg -H "127.0.0.1:$A" -H "127.0.0.1:$B" -f json events
kill -INT "$EVPID"
events_wait
jq -e --arg a "127.0.0.1:$A" --arg b "127.0.0.1:$B" \
    '[.[] | select(.Event == "FullyBooted") | .Server] | sort == ([$a, $b] | sort)' "$TMP/ev" >/dev/null ||
    fail "SIGINT: $(cat "$TMP/ev")"

# SIGINT at any moment of the run (starting, connecting, logging in to
# one server but not yet the other, streaming): ami ends promptly, with 0
# and a complete JSON array, or with 130 when the signal came before its
# handler was installed. The delay only picks the moment: every outcome
# above is right whatever it is, and an ami that misses the signal runs
# into timeout's bound (status 124 or 137) and fails the test. The signal
# goes to ami itself, found as timeout's child without a sleep (the
# kernel's children list), so that the first moments are reached too.
child_of() {
    local c=
    if [ -r "/proc/$1/task/$1/children" ]; then
        read -r c _ <"/proc/$1/task/$1/children" || true
    else
        c=$(pgrep -P "$1" || true)
    fi
    echo "$c"
}
for i in $(seq 0 11); do
    timeout --foreground -k 10 30 "$AMI" -H "127.0.0.1:$A" -H "127.0.0.1:$B" -f json events \
        </dev/null >"$TMP/ev" 2>"$TMP/ev.err" &
    EVPID=$!
    kid=
    for _ in $(seq 20000); do
        kid=$(child_of "$EVPID")
        [ -n "$kid" ] && break
    done
    [ -n "$kid" ] || fail "SIGINT $i: timeout did not start ami"
    ms=$((i * i * 2)) # 0 to 242 ms, denser at the start
    [ "$ms" -eq 0 ] || sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
    kill -INT "$kid" 2>/dev/null || true
    set +e
    wait "$EVPID"
    rc=$?
    set -e
    case $rc in
    0) jq -e 'type == "array"' "$TMP/ev" >/dev/null || fail "SIGINT after $ms ms: incomplete JSON: $(cat "$TMP/ev")" ;;
    130) ;;
    *) fail "SIGINT after $ms ms: exit $rc: $(cat "$TMP/ev.err")" ;;
    esac
done

echo ok
