#!/usr/bin/env bash
# `ami` argument handling: usage errors exit 2 with a message that says what
# to do, --help documents the exit statuses, secrets never come from the
# command line and a secret file readable by others is refused before any
# connection is made.
set -euo pipefail

: "${AMI_BIN_DIR:?set AMI_BIN_DIR}"
AMI="$AMI_BIN_DIR/ami"
[ -x "$AMI" ] || { echo "ami binary not found under $AMI_BIN_DIR" >&2; exit 1; }

TMP=$(mktemp -d)
LPID=
cleanup() {
    if [ -n "$LPID" ]; then kill "$LPID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset AMI_HOST AMI_PORT AMI_USER AMI_SECRET

# expect STATUS PATTERN ARGS...: run ami (never waiting on a terminal), check
# the exit status and that stderr matches PATTERN.
expect() {
    local want=$1 pat=$2 rc
    shift 2
    set +e
    timeout -k 30 60 "$AMI" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "ami $*: exit $rc, want $want; stderr: $(cat "$TMP/err")"
    grep -qE -- "$pat" "$TMP/err" || fail "ami $*: stderr does not match '$pat': $(cat "$TMP/err")"
}

# A listener that records every connection: a usage error must not connect.
python3 - "$TMP/port" "$TMP/conns" <<'PY' &
import socket, sys, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0)); s.listen(16)
open(sys.argv[1] + '.t', 'w').write(str(s.getsockname()[1])); os.rename(sys.argv[1] + '.t', sys.argv[1])
while True:
    c, _ = s.accept()
    open(sys.argv[2], 'a').write('connection\n')
    c.close()
PY
LPID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/port")
export AMI_PORT=$PORT AMI_HOST=127.0.0.1

expect 2 'missing COMMAND'
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "unknown option '--bogus'" --bogus action Ping
expect 2 "unknown option '-Z'" -Z action Ping
expect 2 'no --secret option.*AMI_SECRET' --secret amp111 action Ping
expect 2 'no --secret option' --secret=amp111 action Ping
expect 2 "needs a value" action Ping --timeout
expect 2 "invalid --timeout 'abc'" --timeout abc action Ping
expect 2 "invalid --timeout '-1'" --timeout -1 action Ping
expect 2 "invalid --format 'xml'" --format xml decode /dev/null
expect 2 "invalid --count '0'" events --count 0
expect 2 "invalid --count 'x'" events --count x
expect 2 "invalid filter 'Event'" events --filter Event
expect 2 "invalid filter '=x'" events --until =x
expect 2 "only applies to the events command" action Ping --count 3
expect 2 "only applies to the decode command" action Ping --chunk 3
expect 2 "takes no value" --md5=yes action Ping
expect 2 "missing the action name" action
expect 2 "not Key=Value" -u admin action Getvar Variable
expect 2 "sets Action" -u admin action Ping Action=Command
expect 2 "missing the CLI command" -u admin cli
expect 2 "unexpected argument" -u admin events Event=Hangup
expect 2 "no AMI user.*-u USER or set AMI_USER" action Ping
expect 2 "invalid port '0'" -u admin -p 0 action Ping
expect 2 "invalid port '70000'" -u admin -H 127.0.0.1:70000 action Ping
expect 2 "invalid host" -u admin -H '[::1' action Ping
# CR/LF in any value: refused locally, nothing sent (exit 2).
expect 2 "refused.*nothing was sent" -u admin action Originate $'Channel=Local/1@test\r\nAction: Command'
expect 2 "refused.*nothing was sent" -u admin action $'Ping\r\nAction: Command'
expect 2 "refused.*nothing was sent" -u admin cli $'core show version\nAction: Logoff'
expect 2 "refused.*nothing was sent" -u admin action Setvar "Bad:Key=1"
# No secret and no terminal (setsid drops the controlling tty).
if command -v setsid >/dev/null; then
    set +e
    timeout -k 30 60 setsid "$AMI" -u admin action Ping </dev/null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ $rc -eq 2 ] || fail "no secret: exit $rc"
    grep -q "AMI_SECRET.*--secret-file" "$TMP/err" || fail "no secret: message"
fi

# Secret files readable by group or others are refused with the exact advice.
printf 'amp111\n' >"$TMP/secret"
for mode in 644 640 604 604; do
    chmod "$mode" "$TMP/secret"
    expect 2 "^ami: refusing --secret-file $TMP/secret: it is readable by others \(chmod 600 $TMP/secret\)$" \
        -u admin --secret-file "$TMP/secret" action Ping
done
expect 2 "cannot open --secret-file" -u admin --secret-file "$TMP/nope" action Ping
[ ! -s "$TMP/conns" ] || fail "a usage error opened a connection: $(cat "$TMP/conns")"

# With a private file ami does connect (the listener closes at once: 3).
chmod 600 "$TMP/secret"
expect 3 "127.0.0.1:$PORT" -u admin --secret-file "$TMP/secret" action Ping
[ -s "$TMP/conns" ] || fail "a 600 secret file did not lead to a connection"

# --help lists the commands and every exit status.
timeout -k 30 60 "$AMI" --help >"$TMP/help" || fail "--help exit $?"
for s in action cli events decode 'Exit status' '0  success' '1  the server answered Response: Error' \
    '2  usage error' '3  connection failed' '4  authentication failed' '5  timeout' \
    --secret-file AMI_SECRET AMI_HOST --md5 --timeout --filter --until --count --chunk ndjson; do
    grep -qF -- "$s" "$TMP/help" || fail "--help does not mention '$s'"
done
timeout -k 30 60 "$AMI" --version | grep -qE '^ami [0-9]+\.[0-9]+\.[0-9]+' || fail "--version"

# The man page and docs/ami.md document the same statuses (when the source
# tree is next to this script, as in a checkout).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -f "$ROOT/tools/ami/ami.1" ]; then
    for s in 'Response: Error' 'Usage error' 'Authentication failed' 'Timeout' 'readable by others' \
        AMI_SECRET AMI_HOST AMI_PORT AMI_USER; do
        grep -qF -- "$s" "$ROOT/tools/ami/ami.1" || fail "ami.1 does not mention '$s'"
    done
    for n in 0 1 2 3 4 5; do
        grep -qE "^\| $n \| " "$ROOT/docs/ami.md" || fail "docs/ami.md lacks exit status $n"
    done
fi
echo "ok"
