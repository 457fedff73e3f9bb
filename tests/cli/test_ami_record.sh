#!/usr/bin/env bash
# --record BASE on action, events and originate: BASE.raw/.sent/.timeline
# in the fixtures' form with the login secret (and MD5 key) masked, and a
# recording replayed byte for byte by `ami-sim --replay BASE.raw
# --replay-timing`, and served again by the plain --replay.
source "$(dirname "$0")/ami_lib.sh"
export AMI_SECRET=amp111
sim live
LIVE=$PORT

# check_recording BASE: the timeline accounts for every byte, in order.
check_recording() {
    python3 - "$1" <<'PY' || fail "recording $1 is inconsistent"
import sys
base = sys.argv[1]
raw = open(base + ".raw", "rb").read()
sent = open(base + ".sent", "rb").read()
r = s = t0 = 0
for n, line in enumerate(open(base + ".timeline")):
    f = line.rstrip("\n").split("\t")
    assert len(f) == 5, "line %d: %r" % (n, line)
    t, d, nb, ro, so = int(f[0]), f[1], int(f[2]), int(f[3]), int(f[4])
    assert t >= t0 and (ro, so) == (r, s), "line %d: %r (at %d %d)" % (n, line, r, s)
    t0 = t
    if d == "recv":
        r += nb
    elif d == "send":
        s += nb
    else:
        assert d == "eof" and nb == 0, line
assert (r, s) == (len(raw), len(sent)), "totals %d %d vs %d %d" % (r, s, len(raw), len(sent))
assert raw.startswith(b"Asterisk Call Manager/"), raw[:40]
PY
}

run 0 -p "$LIVE" -u admin action Ping --record "$TMP/ping"
check_recording "$TMP/ping"
for f in raw sent timeline; do
    [ "$(stat -c %a "$TMP/ping.$f")" = 600 ] || fail "ping.$f is not mode 600"
    grep -q amp111 "$TMP/ping.$f" && fail "the secret is in ping.$f"
done
grep -q $'^Secret: \*\*\*\*\*\*\*\*\r$' "$TMP/ping.sent" || fail "no masked Secret: $(cat -A "$TMP/ping.sent")"
grep -q $'^Action: Ping\r$' "$TMP/ping.sent" || fail "Ping not recorded"
grep -q $'^Ping: Pong\r$' "$TMP/ping.raw" || fail "Pong not recorded"
# Besides the secret, .sent is what was sent: the sim saw the same bytes.
head -c 30 "$TMP/ping.raw" | grep -q "^Asterisk Call Manager/11.0.0" || fail "banner"

# MD5: the Key (md5 of challenge and secret, next to the challenge in
# .raw) would let anyone test guesses of the secret offline: masked too.
if run_md5=$("$AMI" -p "$LIVE" -u admin --md5 action Ping --record "$TMP/md5" 2>&1); then
    check_recording "$TMP/md5"
    grep -q $'^Key: \*\*\*\*\*\*\*\*\r$' "$TMP/md5.sent" || fail "no masked Key: $(cat -A "$TMP/md5.sent")"
    grep -qE '^Key: [0-9a-f]{32}' "$TMP/md5.sent" && fail "the MD5 key is in md5.sent"
    grep -q '^Challenge: ' "$TMP/md5.raw" || fail "no challenge recorded"
else
    echo "$run_md5" | grep -q "built without OpenSSL" || fail "md5 record: $run_md5"
fi

# events --record and originate --record.
run 0 -p "$LIVE" -u admin events --count 1 --filter Event=FullyBooted --record "$TMP/ev"
check_recording "$TMP/ev"
grep -q $'^Event: FullyBooted\r$' "$TMP/ev.raw" || fail "events recording lacks FullyBooted"
run 0 -p "$LIVE" -u admin originate Channel=Local/100@test Context=test Exten=100 Priority=1 \
    --record "$TMP/orig"
check_recording "$TMP/orig"
grep -q $'^Message: Originate successfully queued\r$' "$TMP/orig.raw" || fail "originate recording"
run 2 -p "$LIVE" -H a -H b -u admin events --record "$TMP/two"
err_has "one connection"
run 2 -p "$LIVE" -u admin cli 'core show version' --record "$TMP/x"
err_has "applies to the action, events, shell and originate"
run 2 -p "$LIVE" -u admin action Ping --record "$TMP/no/such/dir/x"
err_has "cannot create"

# Replay with the recording's chunking and timing: a client that sends
# the .sent bytes gets exactly the .raw bytes.
for base in "$TMP/ping" "$AMI_FIXTURES/docs_manager_show"; do
    sim replay --replay "$base.raw" --replay-timing
    python3 - "$PORT" "$base" <<'PY' || fail "replay of $base is not byte-exact"
import socket, sys, time
port, base = int(sys.argv[1]), sys.argv[2]
raw = open(base + ".raw", "rb").read()
sent = open(base + ".sent", "rb").read()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
got, end = b"", time.time() + 20
# The client side as recorded: each of its writes after the server bytes
# that preceded it.
steps = [l.split("\t") for l in open(base + ".timeline").read().splitlines()]
for f in steps:
    if f[1] != "send":
        continue
    while len(got) < int(f[3]) and time.time() < end:
        s.settimeout(max(0.01, end - time.time()))
        d = s.recv(65536)
        if not d:
            break
        got += d
    off, n = int(f[4]), int(f[2])
    s.sendall(sent[off:off + n])
while time.time() < end and len(got) < len(raw):
    s.settimeout(max(0.01, end - time.time()))
    d = s.recv(65536)
    if not d:
        break
    got += d
if got != raw:
    print("got %d bytes, want %d; first difference at %d" % (len(got), len(raw),
          next((i for i in range(min(len(got), len(raw))) if got[i] != raw[i]), min(len(got), len(raw)))))
    sys.exit(1)
PY
done
# The docs capture ends with the server's EOF: the replay closes too.
python3 - "$PORT" <<'PY' || fail "replay did not close at the recorded eof"
import socket, sys, os, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(open(os.environ["AMI_FIXTURES"] + "/docs_manager_show.sent", "rb").read())
got = b""
end = time.time() + 20
while time.time() < end:
    d = s.recv(65536)
    if not d:
        sys.exit(0)
    got += d
sys.exit(1)
PY

# The plain replay (one unit per action, ActionIDs swapped) serves a
# recording to a new `ami` run.
sim unit --replay "$TMP/ping.raw"
run 0 -p "$PORT" -u admin action Ping
grep -q "^Ping: Pong$" "$TMP/out" || fail "unit replay: $(cat "$TMP/out")"

# A timeline that does not fit its .raw is refused at start-up.
printf '0\trecv\t999999\t0\t0\n' >"$TMP/bad.timeline"
cp "$TMP/ping.raw" "$TMP/bad.raw"
set +e
timeout 10 "$SIM" --listen 127.0.0.1:0 --replay "$TMP/bad.raw" --replay-timing >/dev/null 2>"$TMP/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "bad timeline: exit $rc"
err_has "not a timeline line"
echo "record: ok"
