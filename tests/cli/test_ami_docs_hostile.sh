#!/usr/bin/env bash
# Hostile answers to the documentation commands, from a scripted server:
# garbage, control bytes, a huge answer, missing sections, another
# action's syntax, an endless line. `ami describe` says what is wrong;
# `ami action --check` and `ami shell` warn and fall back to plain input
# (the action is sent unchecked); nothing crashes.
source "$(dirname "$0")/ami_lib.sh"
# libedit's own leak (see the file), for the ASan build.
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan_libedit.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export AMI_SECRET=secret

cat >"$TMP/server.py" <<'PY'
import socket, sys, threading
mode, logpath = sys.argv[1], sys.argv[2]

def output(lines):
    return b"".join(b"Output: " + l + b"\r\n" for l in lines)

TITLE = b"  -= Info about Manager Command 'Originate' =- "
def docs():
    if mode == "garbage":
        return output([b"\x00\xff\x1b[2J\x07 not docs", b"", b"]]][[[", b"Key: <value>"])
    if mode == "huge":
        return output([b"", TITLE, b"", b"[Syntax]", b"Action: Originate"] +
                      [b"X%d: <value>" % i for i in range(200000)])
    if mode == "nosyntax":
        return output([b"", TITLE, b"", b"[Synopsis]", b"Originate a call.", b"",
                       b"[Privilege]", b"originate,all"])
    if mode == "othername":
        return output([b"", TITLE, b"", b"[Syntax]", b"Action: Hangup", b"Channel: <value>"])
    if mode == "longline":
        return output([b"", TITLE, b"", b"[Syntax]", b"Action: Originate",
                       b"Channel: <value>" + b"A" * 100000])
    if mode == "badkey":
        return output([b"", TITLE, b"", b"[Syntax]", b"Action: Originate",
                       b"Chan\x1bnel: <value>"])
    raise SystemExit("unknown mode " + mode)

def handle(c):
    f = c.makefile("rb")
    c.sendall(b"Asterisk Call Manager/11.0.0\r\n")
    log = open(logpath, "ab")
    while True:
        pkt = {}
        while True:
            line = f.readline()
            if not line:
                return
            line = line.rstrip(b"\r\n")
            if not line:
                break
            k, _, v = line.partition(b": ")
            pkt.setdefault(k.lower(), v)
        if not pkt:
            continue
        act, aid = pkt.get(b"action", b""), pkt.get(b"actionid", b"")
        log.write(act + b"\n")
        log.flush()
        head = b"Response: Success\r\nActionID: " + aid + b"\r\n"
        if act.lower() == b"command" and pkt.get(b"command", b"").startswith(b"manager show"):
            c.sendall(head + b"Message: Command output follows\r\n" + docs() + b"\r\n")
        elif act.lower() == b"listcommands":
            c.sendall(head + b"Originate: Originate a call.  (Priv: originate,all)\r\n"
                      b"Ping: Keepalive command.  (Priv: <none>)\r\n\r\n")
        elif act.lower() == b"coresettings":
            c.sendall(head + b"AMIversion: 11.0.0\r\nAsteriskVersion: ../../etc\r\n\r\n")
        elif act.lower() == b"logoff":
            c.sendall(b"Response: Goodbye\r\nActionID: " + aid + b"\r\n\r\n")
            c.close()
            return
        else:
            c.sendall(head + b"Message: ok\r\n\r\n")

s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print("listening on 127.0.0.1:%d" % s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY

start_server() {
    timeout 120 python3 "$TMP/server.py" "$1" "$TMP/$1.log" >"$TMP/$1.out" 2>"$TMP/$1.err" &
    PIDS+=($!)
    PORT=
    for _ in $(seq 200); do
        PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/$1.out" 2>/dev/null || true)
        [ -n "$PORT" ] && break
        sleep 0.05
    done
    [ -n "$PORT" ] || fail "server $1 did not start: $(cat "$TMP/$1.err")"
}

for mode in garbage huge nosyntax othername longline badkey; do
    start_server "$mode"
    A=(-p "$PORT" -u admin)
    run 3 "${A[@]}" describe Originate
    err_has "is not documentation"
    # The check cannot be made: a warning, and the action is sent as typed.
    run 0 "${A[@]}" action --check Originate Context=x
    err_has "warning: --check: cannot read the server's documentation"
    grep -qx Originate "$TMP/$mode.log" || fail "$mode: --check did not send the Originate"
    : >"$TMP/$mode.log"
    # The shell: a warning, plain input, and it goes on (a later Ping).
    mkdir -p "$TMP/home"
    set +e
    printf 'Originate Context=x\nPing\n' |
        HOME="$TMP/home" XDG_CACHE_HOME= timeout 30 "$AMI" "${A[@]}" shell >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || fail "$mode: shell exit $rc: $(cat "$TMP/err")"
    grep -q "warning: the server's answer to 'manager show command Originate' is not documentation" \
        "$TMP/out" || fail "$mode: no warning: $(cat "$TMP/out")"
    grep -qx Originate "$TMP/$mode.log" || fail "$mode: the shell did not send the Originate"
    grep -qx Ping "$TMP/$mode.log" || fail "$mode: the shell stopped after the hostile answer"
    # Nothing from the hostile server reaches the cache.
    find "$TMP/home/.cache" -name 'command.*' 2>/dev/null | grep -q . &&
        fail "$mode: a hostile answer was cached"
    # The server's version string cannot climb out of the cache directory.
    find "$TMP/home/.cache/ami" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | grep -q '/\.\./' &&
        fail "$mode: cache path escapes"
done
echo "hostile docs: ok"
