#!/usr/bin/env bash
# `ami action`, `ami cli` and `ami events` against scripted AMI servers on
# 127.0.0.1 (a small Python server written below), checking output and every
# exit status: 0 success, 1 Response: Error, 2 refused value with nothing
# sent, 3 refused/closed/not AMI, 4 bad secret, 5 timeout.
set -euo pipefail

: "${AMI_BIN_DIR:?set AMI_BIN_DIR}"
AMI="$AMI_BIN_DIR/ami"
[ -x "$AMI" ] || { echo "ami binary not found under $AMI_BIN_DIR" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is required" >&2; exit 1; }

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
unset AMI_HOST AMI_PORT AMI_USER AMI_SECRET

cat >"$TMP/server.py" <<'PY'
# Scripted AMI server: MODE is normal, silent (no banner), stall (banner,
# then never answers), notami (an HTTP reply) or dropcall (closes soon
# after a successful login). Every received byte is appended to LOG.
import os, signal, socket, socketserver, sys, threading, time
mode, portfile, logfile = sys.argv[1:4]
lock = threading.Lock()
signal.alarm(280)  # never outlive the test, even if its cleanup is skipped

if mode == 'hold':
    # A port nobody listens on, held (bound, never listening) on 127.0.0.1
    # and ::1 so that no other process is handed it: it refuses for sure.
    for _ in range(100):
        v4 = socket.socket()
        v4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        v4.bind(('127.0.0.1', 0))
        port = v4.getsockname()[1]
        try:
            v6 = socket.socket(socket.AF_INET6)
            v6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            v6.bind(('::1', port))
            break
        except OSError as e:
            if e.errno in (97, 99):  # no IPv6 loopback at all
                break
            v4.close()
    with open(portfile + '.tmp', 'w') as f:
        f.write(str(port))
    os.rename(portfile + '.tmp', portfile)
    time.sleep(300)
    sys.exit(0)

def log(data):
    with lock, open(logfile, 'ab') as f:
        f.write(data)

class Handler(socketserver.BaseRequestHandler):
    def send(self, s):
        self.request.sendall(s.encode('utf-8', 'surrogateescape'))

    def packet(self, *hdrs):
        self.send(''.join('%s: %s\r\n' % kv for kv in hdrs) + '\r\n')

    def handle(self):
        log(b'<connect>\n')
        if mode == 'silent':
            time.sleep(30)
            return
        if mode == 'notami':
            self.send('HTTP/1.1 400 Bad Request\r\n\r\n')
            time.sleep(1)
            return
        self.send('Asterisk Call Manager/11.0.0\r\n')
        buf, authed = b'', False
        while True:
            while b'\r\n\r\n' not in buf:
                d = self.request.recv(4096)
                if not d:
                    return
                log(d)
                buf += d
            raw, buf = buf.split(b'\r\n\r\n', 1)
            hdrs = [l.decode('utf-8', 'surrogateescape').split(': ', 1) for l in raw.split(b'\r\n')]
            act = {k.lower(): v for k, v in hdrs}
            name = act.get('action', '').lower()
            aid = ('ActionID', act['actionid']) if 'actionid' in act else None

            def reply(*h):
                h = list(h)
                if aid:
                    h.insert(1, aid)
                self.packet(*h)

            if mode == 'stall':
                continue
            if name == 'login':
                if act.get('username') == 'admin' and act.get('secret') == 'amp111':
                    reply(('Response', 'Success'), ('Message', 'Authentication accepted'))
                    authed = True
                    if mode == 'dropcall':
                        time.sleep(0.2)
                        return
                    if act.get('events', 'on').lower() != 'off':
                        self.packet(('Event', 'FullyBooted'), ('Privilege', 'system,all'), ('Status', 'Fully Booted'))
                        for i in range(10):
                            self.packet(('Event', 'Newchannel' if i % 2 == 0 else 'Hangup'),
                                        ('Privilege', 'call,all'), ('Channel', 'PJSIP/%d-0001' % (100 + i)),
                                        ('Uniqueid', '17000.%d' % i))
                        self.packet(('Event', 'UserEvent'), ('UserEvent', 'Done'), ('Channel', 'none'))
                else:
                    time.sleep(0.1)
                    reply(('Response', 'Error'), ('Message', 'Authentication failed'))
                    return
            elif not authed:
                reply(('Response', 'Error'), ('Message', 'Permission denied'))
            elif name == 'ping':
                reply(('Response', 'Success'), ('Ping', 'Pong'), ('Timestamp', '1700000000.000000'))
            elif name == 'logoff':
                reply(('Response', 'Goodbye'), ('Message', 'Thanks for all the fish.'))
                return
            elif name == 'getvar':
                if 'variable' not in act:
                    reply(('Response', 'Error'), ('Message', 'No variable specified'))
                else:
                    reply(('Response', 'Success'), ('Variable', act['variable']), ('Value', ''))
            elif name == 'echo':
                reply(('Response', 'Success'), *[(k, v) for k, v in hdrs[1:] if k.lower() != 'actionid'])
            elif name == 'coreshowchannels':
                reply(('Response', 'Success'), ('EventList', 'start'), ('Message', 'Channels will follow'))
                for i in range(2):
                    self.packet(('Event', 'CoreShowChannel'), aid, ('Channel', 'Local/%d@test' % i))
                self.packet(('Event', 'CoreShowChannelsComplete'), aid, ('EventList', 'Complete'), ('ListItems', '2'))
            elif name == 'command':
                cmd = act.get('command', '')
                body = ["[ Context 'test' created by 'pbx_config' ]", "  '100' =>   1. Answer()", '', '-= 1 extension =-']
                if cmd == 'core show version':
                    reply(('Response', 'Success'), ('Message', 'Command output follows'), ('Output', 'Asterisk 22.10.1 built by root'))
                elif cmd == 'dialplan show test':
                    reply(('Response', 'Success'), ('Message', 'Command output follows'), *[('Output', l) for l in body])
                elif cmd == 'legacy dialplan show test':
                    self.send('Response: Follows\r\nPrivilege: Command\r\n' +
                              ('ActionID: %s\r\n' % act['actionid'] if aid else '') +
                              ''.join(l + '\n' for l in body) + '--END COMMAND--\r\n\r\n')
                else:
                    reply(('Response', 'Error'), ('Message', 'Command output follows'),
                          ('Output', "No such command '%s' (type 'core show help %s' for other possible commands)" % (cmd, cmd.split(' ')[0])))
            else:
                reply(('Response', 'Error'), ('Message', 'Invalid/unknown command: %s' % act.get('action', '')))

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

srv = Server(('127.0.0.1', 0), Handler)
with open(portfile + '.tmp', 'w') as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + '.tmp', portfile)
srv.serve_forever()
PY

# start MODE: run a server, print its port.
start() {
    python3 "$TMP/server.py" "$1" "$TMP/$1.port" "$TMP/$1.log" &
    PIDS+=($!)
    for _ in $(seq 1200); do [ -s "$TMP/$1.port" ] && break; sleep 0.05; done
    [ -s "$TMP/$1.port" ] || fail "server $1 did not start"
    : >"$TMP/$1.log"
}
for m in normal silent stall notami dropcall hold; do start $m; done
port() { cat "$TMP/$1.port"; }
P=$(port normal)
export AMI_USER=admin AMI_SECRET=amp111

# run STATUS ARGS...: run ami with a bound, check the exit status.
run() {
    local want=$1 rc
    shift
    set +e
    timeout -k 30 60 "$AMI" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "ami $*: exit $rc, want $want; stderr: $(cat "$TMP/err")"
}
err_has() { grep -qE -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"; }

# ---- action
run 0 -p "$P" action Ping
grep -qx 'Response: Success' "$TMP/out" || fail "Ping: $(cat "$TMP/out")"
grep -qx 'Ping: Pong' "$TMP/out" || fail "Ping: no Pong"
[ "$(tail -c 2 "$TMP/out" | od -An -c | tr -d ' ')" = '\n\n' ] || fail "text packet must end with a blank line"
AMI_HOST=127.0.0.1:$P AMI_PORT=1 run 0 action Ping
AMI_HOST="[127.0.0.1]:$P" run 0 action Ping
AMI_PORT=$P run 0 -H 127.0.0.1 action Ping

# Key=Value splits at the first '='; repeated keys stay, in order.
: >"$TMP/normal.log"
run 0 -p "$P" --format json action Echo Variable=a=1 Variable=b=2 'Data=x: y' Empty=
jq -e '.[0].Variable == ["a=1", "b=2"] and .[0]["Data"] == "x: y" and .[0].Empty == ""' "$TMP/out" >/dev/null ||
    fail "Key=Value: $(cat "$TMP/out")"
grep -qa $'Variable: a=1\r\nVariable: b=2\r\nData: x: y\r\nEmpty: \r\n' "$TMP/normal.log" ||
    fail "wire bytes of Key=Value headers"
run 0 -p "$P" --format ndjson action Echo A=1
[ "$(wc -l <"$TMP/out")" -eq 1 ] && jq -e '.Response == "Success" and .A == "1"' "$TMP/out" >/dev/null ||
    fail "ndjson action"

# A list action prints the response and every event of the list.
run 0 -p "$P" -f json action CoreShowChannels
jq -e 'length == 4 and .[0].EventList == "start" and .[1].Event == "CoreShowChannel" and
    .[3].Event == "CoreShowChannelsComplete"' "$TMP/out" >/dev/null || fail "list action: $(cat "$TMP/out")"
run 0 -p "$P" action CoreShowChannels
[ "$(grep -c '^Event: CoreShowChannel' "$TMP/out")" -eq 3 ] || fail "list action text"

# Response: Error is status 1 with the server's Message on stderr.
run 1 -p "$P" action Getvar
err_has '^ami: Getvar failed: No variable specified$'
grep -qx 'Response: Error' "$TMP/out" || fail "error response not printed"
run 1 -p "$P" action NoSuchAction
err_has 'Invalid/unknown command: NoSuchAction'

# CR/LF injection: status 2, and the server never even sees a connection.
: >"$TMP/normal.log"
run 2 -p "$P" action Foo $'a=b\r\nAction: Command'
run 2 -p "$P" action Originate Channel=Local/1@test $'Variable=x=1\nAction: Command' 'Command=core stop now'
run 2 -p "$P" cli $'core show version\r\nAction: Logoff'
[ ! -s "$TMP/normal.log" ] || fail "injection attempt reached the server: $(cat -A "$TMP/normal.log")"

# ---- cli: exactly the console's lines, the same for both framings.
run 0 -p "$P" cli core show version
[ "$(cat "$TMP/out")" = "Asterisk 22.10.1 built by root" ] || fail "cli version: $(cat "$TMP/out")"
printf "[ Context 'test' created by 'pbx_config' ]\n  '100' =>   1. Answer()\n\n-= 1 extension =-\n" >"$TMP/want"
run 0 -p "$P" cli 'dialplan show test'
cmp "$TMP/out" "$TMP/want" || fail "cli modern framing output"
run 0 -p "$P" cli 'legacy dialplan show test'
cmp "$TMP/out" "$TMP/want" || fail "cli legacy framing output differs from the modern one"
run 0 -p "$P" -f json cli 'legacy dialplan show test'
jq -e '.[0].Output == ["[ Context '"'"'test'"'"' created by '"'"'pbx_config'"'"' ]", "  '"'"'100'"'"' =>   1. Answer()", "", "-= 1 extension =-"]' \
    "$TMP/out" >/dev/null || fail "cli json legacy: $(cat "$TMP/out")"
run 0 -p "$P" -f json cli core show version
jq -e '.[0].Output == ["Asterisk 22.10.1 built by root"]' "$TMP/out" >/dev/null || fail "cli json Output must be an array"
run 1 -p "$P" cli 'frob nicate'
grep -q "No such command 'frob nicate'" "$TMP/out" || fail "cli error output not printed"
err_has "frob nicate"

# ---- secrets
AMI_SECRET=wrong run 4 -p "$P" action Ping
err_has "Authentication failed.*check -u/AMI_USER and the secret"
run 4 -p "$P" -u nobody action Ping
printf 'amp111\n' >"$TMP/secret"
chmod 600 "$TMP/secret"
AMI_SECRET=wrong run 0 -p "$P" --secret-file "$TMP/secret" action Ping # the file wins
printf 'amp111' >"$TMP/secret"
env -u AMI_SECRET timeout -k 30 60 "$AMI" -p "$P" --secret-file "$TMP/secret" action Ping >/dev/null ||
    fail "secret file without newline"
printf 'amp111\n\n' >"$TMP/secret"
set +e
env -u AMI_SECRET timeout -k 30 60 "$AMI" -p "$P" --secret-file "$TMP/secret" action Ping >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || [ $rc -eq 4 ] || fail "only one trailing newline may be stripped (exit $rc)"

# Without AMI_SECRET or a file, the secret is read from the terminal with
# echo off (a pseudo-terminal stands in for the user).
cat >"$TMP/askpass_tty.py" <<'PY'
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out, sent, deadline = b'', False, time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        out += d
    if not sent and b'secret for admin@127.0.0.1: ' in out:
        os.write(fd, b'amp111\n')
        sent = True
# Bounded: a child still running at the deadline is killed, not awaited.
for _ in range(200):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    if time.time() >= deadline:
        os.kill(pid, 9)
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf-8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
PY
env -u AMI_SECRET timeout -k 30 90 python3 "$TMP/askpass_tty.py" "$AMI" -H 127.0.0.1 -p "$P" action Ping >"$TMP/pty.out" ||
    fail "prompted login failed: $(cat "$TMP/pty.out")"
grep -q 'AMI secret for admin@127.0.0.1: ' "$TMP/pty.out" || fail "no prompt: $(cat "$TMP/pty.out")"
grep -q 'Ping: Pong' "$TMP/pty.out" || fail "prompted login: no Pong"
grep -q amp111 "$TMP/pty.out" && fail "the typed secret was echoed"

# ---- connection failures
FREE=$(port hold)
run 3 -H 127.0.0.1 -p "$FREE" action Ping
err_has "^ami: cannot connect to 127.0.0.1:$FREE: connection refused — is Asterisk \(or ami-sim\) running\? check -H/-p$"
run 3 -p "$(port notami)" action Ping
err_has "not an AMI server"
run 3 -p "$(port dropcall)" action Ping
err_has "closed"
run 3 -p "$(port dropcall)" cli core show version
run 3 -H '[::1]' -p "$FREE" action Ping

# ---- timeouts (status 5), bounded by --timeout
start=$(date +%s%N)
run 5 -p "$(port silent)" --timeout 0.5 action Ping
err_has "raise --timeout"
run 5 -p "$(port stall)" --timeout 0.5 action Ping
run 5 -p "$(port stall)" --timeout 0.5 events
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 25000 ] || fail "three 0.5 s timeouts took ${elapsed} ms" # each would wait 30 s or more without --timeout

# ---- events
run 0 -p "$P" events --count 3
[ "$(grep -c '^Event: ' "$TMP/out")" -eq 3 ] || fail "--count 3: $(cat "$TMP/out")"
run 0 -p "$P" -f ndjson events --count 4 --filter Event='Hang*'
[ "$(wc -l <"$TMP/out")" -eq 4 ] && jq -e -s 'all(.[]; .Event == "Hangup")' "$TMP/out" >/dev/null ||
    fail "--filter Event=Hang*: $(cat "$TMP/out")"
run 0 -p "$P" -f ndjson events --count 1 --filter event=Hangup --filter CHANNEL='*105*'
jq -e -s 'length == 1 and .[0].Channel == "PJSIP/105-0001"' "$TMP/out" >/dev/null || fail "two filters (AND)"
run 0 -p "$P" -f ndjson events --until UserEvent=Done --filter Event='New*'
jq -e -s 'length == 5 and all(.[]; .Event == "Newchannel")' "$TMP/out" >/dev/null || fail "--until: $(cat "$TMP/out")"
run 0 -p "$P" -f json events --until UserEvent=Done
jq -e 'length == 12 and .[0].Event == "FullyBooted" and .[11].UserEvent == "Done"' "$TMP/out" >/dev/null ||
    fail "--until, json"
: >"$TMP/normal.log"
run 0 -p "$P" events --events call,system --count 1
grep -qa $'Events: call,system\r\n' "$TMP/normal.log" || fail "--events mask not sent at login"

# SIGINT ends the stream cleanly: status 0, output flushed and complete.
# (timeout forwards the SIGINT and starts its -k timer then: 30 s of grace,
# as a sanitized ami logging off on a loaded machine took over 5 s.
# --foreground: no SIGCONT after the SIGINT; one that reaches a sanitized
# ami inside LeakSanitizer's exit-time leak check hangs it for good, see
# ami_lib.sh.)
timeout --foreground -k 30 60 "$AMI" -p "$P" -f json events >"$TMP/sig" 2>"$TMP/err" &
apid=$!
for _ in $(seq 1200); do [ "$(grep -c . "$TMP/sig" || true)" -ge 12 ] && break; sleep 0.05; done
kill -INT "$apid"
set +e
wait "$apid"
rc=$?
set -e
[ $rc -eq 0 ] || fail "SIGINT: exit $rc ($(cat "$TMP/err"))"
jq -e 'length == 12' "$TMP/sig" >/dev/null || fail "SIGINT: output not a complete JSON array: $(cat "$TMP/sig")"
grep -qa $'Action: Logoff' "$TMP/normal.log" || fail "no Logoff after SIGINT"

# A dropped server connection ends the stream with status 3.
run 3 -p "$(port dropcall)" events --filter Event=Nothing
err_has "closed"

echo ok
