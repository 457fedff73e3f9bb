#!/usr/bin/env bash
# Security of the `ami` tool: injection attempts (CR, LF, CRLFCRLF, an
# Action: line, over-long values) through every argument that reaches the
# wire — Key=Value, the action name, the cli command, -u, --events, the
# secret — must exit 2 with nothing sent; the secret never appears in
# stdout, stderr or the process's argv, whatever the outcome; a secret file
# readable by group or others is refused with a clear message.
set -euo pipefail

source "$(dirname "$0")/ami_lib.sh"
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }

unset AMI_HOST AMI_PORT AMI_USER AMI_SECRET

# Recording server: banner, then answers each action with Success (echoing
# ActionID; Goodbye for Logoff). Every received byte is appended to LOG.
cat >"$TMP/rec.py" <<'PY'
import socket, sys, threading, time
portfile, logfile = sys.argv[1:3]
lock = threading.Lock()
def handle(c):
    c.settimeout(30)
    c.sendall(b"Asterisk Call Manager/11.0.0\r\n")
    buf = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return
            with lock, open(logfile, "ab") as f:
                f.write(d)
            buf += d
            while b"\r\n\r\n" in buf:
                pkt, buf = buf.split(b"\r\n\r\n", 1)
                aid = b""
                name = b""
                for line in pkt.split(b"\r\n"):
                    if line.lower().startswith(b"actionid:"):
                        aid = line.split(b":", 1)[1].strip()
                    if line.lower().startswith(b"action:"):
                        name = line.split(b":", 1)[1].strip().lower()
                resp = b"Goodbye" if name == b"logoff" else b"Success"
                c.sendall(b"Response: " + resp + b"\r\nActionID: " + aid + b"\r\n\r\n")
                if name == b"logoff":
                    return
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(portfile, "w").write(str(s.getsockname()[1]))
end = time.time() + 120
s.settimeout(1)
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY
: >"$TMP/rec.log"
python3 "$TMP/rec.py" "$TMP/port" "$TMP/rec.log" &
PIDS+=($!)
for _ in $(seq 1200); do [ -s "$TMP/port" ] && break; sleep 0.05; done
[ -s "$TMP/port" ] || fail "recording server did not start"
REC=$(cat "$TMP/port")

SECRET='Zq7-very-secret-42'
export AMI_HOST=127.0.0.1 AMI_PORT=$REC AMI_USER=admin AMI_SECRET=$SECRET

run() {
    local want=$1 rc
    shift
    set +e
    timeout -k 30 60 "$AMI" "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq "$want" ] || fail "ami $(printf '%q ' "$@"): exit $rc, want $want; stderr: $(cat "$TMP/err")"
    no_secret_in_output
}
no_secret_in_output() {
    ! grep -qF -- "$SECRET" "$TMP/out" "$TMP/err" || fail "the secret appears in the output"
}
nothing_sent() {
    [ ! -s "$TMP/rec.log" ] || fail "$1 reached the server: $(cat -A "$TMP/rec.log")"
}

# ---------------------------------------------------------------- injection
CR=$'\r' LF=$'\n'
ATTEMPTS=(
    "x${CR}${LF}Action: Command${CR}${LF}Command: core stop now"
    "x${LF}Action: Command"
    "x${CR}Action: Command"
    "x${CR}${LF}${CR}${LF}Action: Command${CR}${LF}Command: core stop now${CR}${LF}${CR}${LF}"
)
LONG=$(head -c 2000 /dev/zero | tr '\0' A)
for bad in "${ATTEMPTS[@]}" "$LONG"; do
    run 2 action Ping "Key=$bad"
    run 2 action Ping "$bad=value"
    run 2 action Originate Channel=Local/100@test "Variable=A=$bad"
    run 2 action "Ping$bad"
    run 2 cli "core show version$bad"
    run 2 -u "admin$bad" action Ping
    run 2 --events "on$bad" action Ping
    AMI_SECRET="pw$bad" run 2 action Ping
    nothing_sent "injection attempt $(printf '%q' "$bad")"
done
run 2 action Ping "Key: v=x"   # a colon in the key would start another header
nothing_sent "a key with a colon"
# NUL cannot reach argv. A secret file holding a NUL is refused (usage, 2)
# before anything is sent: the secret would otherwise be cut short.
printf 'pw\0Action: Command\n' >"$TMP/nulsecret"
chmod 600 "$TMP/nulsecret"
run 2 --secret-file "$TMP/nulsecret" action Ping
grep -q 'NUL byte' "$TMP/err" || fail "NUL in the secret file: $(cat "$TMP/err")"
nothing_sent "a secret file with a NUL byte"

# The legitimate control: exactly one Login and one Ping arrive.
run 0 action Ping Key=value
[ "$(grep -c '^Action: ' "$TMP/rec.log")" -ge 2 ] || fail "control: $(cat -A "$TMP/rec.log")"
! grep -q 'Command' "$TMP/rec.log" || fail "Command reached the server"
grep -q "^Key: value" "$TMP/rec.log" || fail "control: Key missing"
: >"$TMP/rec.log"

# ---------------------------------------------------------------- secret file mode
printf '%s\n' "$SECRET" >"$TMP/secret"
for mode in 644 640 604 666; do
    chmod "$mode" "$TMP/secret"
    run 2 --secret-file "$TMP/secret" action Ping
    grep -qF "refusing --secret-file $TMP/secret: it is readable by others (chmod 600 $TMP/secret)" \
        "$TMP/err" || grep -qE "refusing --secret-file .*readable" "$TMP/err" ||
        fail "mode $mode: unclear message: $(cat "$TMP/err")"
    nothing_sent "a login with a world-readable secret file (mode $mode)"
done
chmod 600 "$TMP/secret"
run 0 --secret-file "$TMP/secret" action Ping
grep -q "^Secret: $SECRET" "$TMP/rec.log" || fail "secret file not used"
: >"$TMP/rec.log"

# ---------------------------------------------------------------- secrets stay secret
# Against ami-sim: refused login (plain and MD5), then a server that stalls.
sim sim --auth-delay 50
SIMPORT=$PORT
run 4 -p "$SIMPORT" action Ping
run 4 -p "$SIMPORT" --md5 action Ping
run 4 -p "$SIMPORT" cli core show version
run 4 -p "$SIMPORT" --events on events --count 1
chmod 600 "$TMP/secret"
run 4 -p "$SIMPORT" --secret-file "$TMP/secret" action Ping
sim stall --fault stall
STALL=$PORT
run 5 -p "$STALL" --timeout 0.3 action Ping
AMI_SECRET=amp111 run 0 -p "$SIMPORT" action Ping # control: the same path works

# The secret never reaches argv: look at a running `ami events` (against
# the stalling sim, so it is still running), once it has exec'd ami.
"$AMI" -p "$STALL" --timeout 60 --secret-file "$TMP/secret" events >/dev/null 2>&1 &
EV=$!
PIDS+=($EV)
if [ -r "/proc/$EV/cmdline" ]; then
    want=$(readlink -f "$AMI")
    for _ in $(seq 600); do [ "$(readlink -f "/proc/$EV/exe" 2>/dev/null)" = "$want" ] && break; sleep 0.05; done
    [ "$(readlink -f "/proc/$EV/exe" 2>/dev/null)" = "$want" ] || fail "ami events did not start"
    tr '\0' ' ' <"/proc/$EV/cmdline" | grep -qF -- "--secret-file" || fail "not ami's argv"
    ! tr '\0' ' ' <"/proc/$EV/cmdline" | grep -qF -- "$SECRET" || fail "the secret is in argv"
fi
kill "$EV" 2>/dev/null || true
wait "$EV" 2>/dev/null || true
# There is no option that takes the secret itself.
run 2 --secret "$SECRET" action Ping

# ---------------------------------------------------------------- TLS
# Turning verification off is never silent: --insecure warns on stderr.
if "$AMI" --help 2>&1 | grep -q -- '--insecure'; then
    set +e
    timeout -k 30 60 "$AMI" -p "$REC" --tls --insecure action Ping </dev/null >"$TMP/out" 2>"$TMP/err"
    set -e
    no_secret_in_output
    grep -qi "insecure" "$TMP/err" && grep -qi "not verified" "$TMP/err" ||
        fail "--insecure without a warning: $(cat "$TMP/err")"
fi
# No environment variable of libami changes behaviour (verification
# included): the library reads none.
SRC=$(cd "$(dirname "$0")/../.." && pwd)/src
if [ -d "$SRC" ]; then
    ! grep -n 'getenv' "$SRC"/*.c || fail "libami reads the environment"
fi
echo "security: all checks passed"
