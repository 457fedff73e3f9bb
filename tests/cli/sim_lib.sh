# Shared set-up of the ami-sim shell tests: paths, a temp dir, cleanup of
# started simulators, and the Python helper module they drive ami-sim with.
# Sourced by tests/cli/test_sim_*.sh.
set -euo pipefail
SIM="$AMI_BIN_DIR/ami-sim"
FIX="$AMI_FIXTURES"
[ -x "$SIM" ] || { echo "ami-sim not built at $SIM"; exit 1; }
TMP=$(mktemp -d)
SIMPIDS=()
cleanup() {
    for p in "${SIMPIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${SIMPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# ami-sim drops a client whose socket accepts nothing for 100 ms, as
# Asterisk does; on a loaded machine a client that reads as it should may
# not be scheduled for that long. Tests not about that timeout get a
# generous one (a --write-timeout in ARGS comes later and wins).
SIM_WRITE_TIMEOUT=30000

# start_sim ARGS...: run the simulator on a free port; sets PORT, SIMPID
# and SIMERR (its stderr).
start_sim() {
    local out="$TMP/sim.$RANDOM.out"
    "$SIM" --listen 127.0.0.1:0 --write-timeout "$SIM_WRITE_TIMEOUT" "$@" >"$out" 2>"$out.err" &
    SIMPID=$!
    SIMPIDS+=("$SIMPID")
    SIMERR="$out.err"
    PORT=
    for _ in $(seq 800); do
        PORT=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$out" 2>/dev/null || true)
        [ -n "$PORT" ] && break
        sleep 0.025
    done
    [ -n "$PORT" ] || { echo "ami-sim did not start:"; cat "$out.err"; exit 1; }
}

# Client helpers in Python: raw sockets, bounded waits, AMI packet splitting.
cat >"$TMP/simlib.py" <<'PY'
import os, re, socket, sys, time
FIX = os.environ["AMI_FIXTURES"]

def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()

def connect(port, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=30)
    return s

def recv_until(s, pred, timeout=30.0):
    """Read until pred(buf) is true, EOF or timeout; returns (buf, eof)."""
    buf, end = b"", time.time() + timeout
    while not pred(buf):
        left = end - time.time()
        if left <= 0:
            return buf, False
        s.settimeout(left)
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            return buf, False
        except ConnectionResetError:
            return buf, True
        if not d:
            return buf, True
        buf += d
    return buf, False

def recv_all(s, timeout=30.0):
    """Everything until the server closes; fails if it does not in time."""
    buf, eof = recv_until(s, lambda b: False, timeout)
    if not eof:
        fail("server did not close within %.1fs; got %r" % (timeout, buf[-300:]))
    return buf

def packets(data):
    """Split a server stream (banner first) into lists of (key, value)."""
    nl = data.index(b"\r\n")
    out = []
    for chunk in data[nl + 2:].split(b"\r\n\r\n"):
        if not chunk:
            continue
        hdrs = []
        for line in chunk.decode().split("\r\n"):
            k, _, v = line.partition(": ")
            hdrs.append((k, v))
        out.append(hdrs)
    return out

def get(pkt, key):
    for k, v in pkt:
        if k == key:
            return v
    return None

def keys(pkt):
    return [k for k, _ in pkt]

def action(name, *hdrs, **kw):
    lines = ["Action: " + name]
    for k, v in kw.items():
        lines.append("%s: %s" % (k, v))
    for k, v in hdrs:
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode()

def login(s, user="admin", secret="amp111", events="on", aid="login"):
    s.sendall(action("Login", ActionID=aid, Username=user, Secret=secret, Events=events))
    buf, _ = recv_until(s, lambda b: b"Authentication accepted\r\n\r\n" in b)
    check(b"Authentication accepted" in buf, "login failed: %r" % buf)
    return buf

FAILED = []
def check(cond, msg):
    if not cond:
        FAILED.append(msg)
        print("FAIL:", msg)

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)

def done(name):
    if FAILED:
        print("%s: %d failure(s)" % (name, len(FAILED)))
        sys.exit(1)
    print("%s: ok" % name)
PY
export PYTHONPATH="$TMP"
