#!/usr/bin/env bash
# ami-sim modes: options, replay, firehose, write timeout, every fault, signals.
source "$(dirname "$0")/sim_lib.sh"

# Options: --help documents every flag; remote addresses need --allow-remote.
help=$("$SIM" --help)
for flag in --listen --allow-remote --users --auth-delay --write-timeout --call-duration \
    --replay --firehose --fault --trickle-delay close-mid-packet stop-reading stall garbage \
    oversize-header no-banner wrong-banner trickle; do
    grep -q -- "$flag" <<<"$help" || { echo "FAIL: --help does not mention $flag"; exit 1; }
done
rc=0; timeout -k 30 60 "$SIM" --listen 0.0.0.0:0 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "FAIL: non-loopback listen exited $rc, want 2"; exit 1; }
rc=0; timeout -k 30 60 "$SIM" --fault nosuch >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "FAIL: unknown fault exited $rc"; exit 1; }

# SIGTERM and SIGINT end the server cleanly (status 0), clients connected.
for sig in TERM INT; do
    start_sim --verbose
    exec 3<>/dev/tcp/127.0.0.1/"$PORT"
    for _ in $(seq 1500); do grep -q ' from ' "$SIMERR" && break; sleep 0.02; done
    grep -q ' from ' "$SIMERR" || { echo "FAIL: the client was not accepted"; exit 1; }
    kill -"$sig" "$SIMPID"
    rc=0
    for _ in $(seq 1500); do kill -0 "$SIMPID" 2>/dev/null || break; sleep 0.02; done
    wait "$SIMPID" || rc=$?
    exec 3<&-
    [ "$rc" = 0 ] || { echo "FAIL: SIG$sig exit status $rc"; exit 1; }
done

# IPv6 loopback, when the machine has it.
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
    out="$TMP/v6.out"
    "$SIM" --listen '[::1]:0' >"$out" 2>&1 &
    SIMPIDS+=($!)
    for _ in $(seq 1500); do grep -q listening "$out" 2>/dev/null && break; sleep 0.02; done
    grep -Eq '^listening on \[::1\]:[0-9]+$' "$out" || { echo "FAIL: v6 listen: $(cat "$out")"; exit 1; }
    V6PORT=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$out")
else
    V6PORT=0
fi

start_sim --replay "$FIX/coreshowchannels.raw"; P_REPLAY=$PORT
start_sim --replay "$FIX/login_ok.raw"; P_REPLAY2=$PORT
# A Python reader is slow; the firehose sim must not drop it for that.
start_sim --firehose 200000 --write-timeout 0; P_FIRE=$PORT
start_sim --firehose 100000000 --write-timeout 100 --verbose; P_WT=$PORT
export WT_ERR=$SIMERR
ports="$P_REPLAY $P_REPLAY2 $P_FIRE $P_WT $V6PORT"
for f in close-mid-packet stop-reading stall garbage oversize-header no-banner wrong-banner; do
    start_sim --fault "$f"; ports="$ports $PORT"
done
start_sim --fault trickle --trickle-delay 5; ports="$ports $PORT"

python3 - $ports <<'PY'
import os, re, socket, sys, time
from simlib import *
(p_replay, p_replay2, p_fire, p_wt, p_v6, p_cut, p_noread, p_stall, p_garbage, p_over,
 p_nobanner, p_wrongbanner, p_trickle) = map(int, sys.argv[1:])
BANNER = b"Asterisk Call Manager/11.0.0\r\n"

if p_v6:
    s = connect(p_v6, "::1")
    buf, _ = recv_until(s, lambda b: b"\r\n" in b)
    check(buf == BANNER, "v6 banner %r" % buf)
    login(s)

# Replay: the recorded responses and list events, with the client's ActionIDs.
s = connect(p_replay)
sent = fixture("coreshowchannels.sent").replace(b"ActionID: 4\r\n", b"ActionID: mine-4\r\n")
sent = sent.replace(b"ActionID: 5\r\n", b"ActionID: x5\r\n")
s.sendall(sent)
got = recv_all(s)
exp = fixture("coreshowchannels.raw").replace(b"ActionID: 4\r\n", b"ActionID: mine-4\r\n")
exp = exp.replace(b"ActionID: 5\r\n", b"ActionID: x5\r\n")
check(got == exp, "replay with rewritten ActionIDs differs")
# Recording without ActionIDs, client with them: inserted after Response:.
s = connect(p_replay2)
s.sendall(action("Login", ActionID="L", Username="x", Secret="y") + action("Logoff", ActionID="B"))
got = recv_all(s)
exp = fixture("login_ok.raw").replace(b"Response: Success\r\n", b"Response: Success\r\nActionID: L\r\n")
exp = exp.replace(b"Response: Goodbye\r\n", b"Response: Goodbye\r\nActionID: B\r\n")
check(got == exp, "replay ActionID insertion: %r" % got[-200:])

# Firehose: exactly N events after login, then SimDone with Count: N.
s = connect(p_fire)
s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111"))
t0 = time.time()
chunks, tail, end = [], b"", time.time() + 30
want = b"Event: SimDone\r\nPrivilege: system,all\r\nCount: 200000\r\n\r\n"
while not tail.endswith(want) and time.time() < end:
    s.settimeout(5)
    d = s.recv(1 << 20)
    if not d:
        break
    chunks.append(d)
    tail = (tail + d)[-200:]
buf = b"".join(chunks)
dt = time.time() - t0
n = buf.count(b"\r\n\r\nEvent: ") - 3  # minus FullyBooted, SuccessfulAuth, SimDone
check(buf.endswith(b"Count: 200000\r\n\r\n"), "no SimDone")
check(n == 200000, "firehose delivered %d events" % n)
sizes = [len(c) for c in buf.split(b"\r\n\r\n")[3:100]]
check(all(300 <= x <= 520 for x in sizes), "firehose event sizes %r" % sizes[:5])
hdrs = buf.split(b"\r\n\r\n")[5].count(b"\r\n") + 1
check(15 <= hdrs <= 20, "firehose event has %d headers" % hdrs)
print("firehose: %d events in %.3fs (%.0f/s)" % (n, dt, n / dt))
s.sendall(action("Ping", ActionID="after"))
buf, _ = recv_until(s, lambda b: b"ActionID: after" in b)
check(b"Ping: Pong" in buf, "actions after the firehose")

# Write timeout: a client that stops reading is dropped; others go on.
s = connect(p_wt)
s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111"))
# Read nothing until the simulator says it dropped us (at most 60 s).
end = time.time() + 60
while time.time() < end and b"write timed out" not in open(os.environ["WT_ERR"], "rb").read():
    time.sleep(0.05)
check(b"write timed out" in open(os.environ["WT_ERR"], "rb").read(), "no write timeout logged")
total, eof = 0, False
end = time.time() + 10
while time.time() < end:
    s.settimeout(2)
    try:
        d = s.recv(1 << 20)
    except (socket.timeout, ConnectionResetError):
        eof = True
        break
    if not d:
        eof = True
        break
    total += len(d)
check(eof and total < 100000000 * 300, "non-reading client was not dropped (read %d bytes)" % total)
s = connect(p_wt)
login(s)

# close-mid-packet: half a response, then EOF.
s = connect(p_cut)
s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111", Events="off"))
got = recv_all(s)
full = BANNER + b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n"
check(got.startswith(BANNER) and full.startswith(got) and len(got) < len(full) and
      len(got) > len(BANNER), "close-mid-packet sent %r" % got)

# stop-reading: the server never reads, so our writes back up.
s = connect(p_noread)
recv_until(s, lambda b: b"\r\n" in b)
s.setblocking(False)
pushed, end = 0, time.time() + 5
chunk = action("Ping") * 1000
while time.time() < end:
    try:
        pushed += s.send(chunk)
    except BlockingIOError:
        break
check(time.time() < end and pushed < 64 << 20, "stop-reading: server kept reading (%d bytes)" % pushed)
buf, eof = recv_until(s, lambda b: False, 0.5)
check(buf == b"" and not eof, "stop-reading answered %r" % buf)

# stall: actions are read and never answered; the connection stays open.
s = connect(p_stall)
recv_until(s, lambda b: b"\r\n" in b)
s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111") + action("Ping"))
buf, eof = recv_until(s, lambda b: False, 1.0)
check(buf == b"" and not eof, "stall answered %r" % buf)

# garbage: junk after the banner, then a working server.
s = connect(p_garbage)
s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111", Events="off"))
buf, _ = recv_until(s, lambda b: b"Authentication accepted" in b)
check(buf.startswith(BANNER) and b"\x00" in buf and b"\xff" in buf and
      b"Authentication accepted" in buf, "garbage stream %r" % buf[:80])

# oversize-header: a header line that never ends.
s = connect(p_over)
buf, eof = recv_until(s, lambda b: len(b) > 4 << 20, 10)
check(not eof and len(buf) > 4 << 20, "oversize stream ended after %d bytes" % len(buf))
head = BANNER + b"Response: Success\r\nX-Oversize: "
check(buf.startswith(head) and b"\n" not in buf[len(head):], "oversize line has a line end")

# no-banner: silence, but actions work.
s = connect(p_nobanner)
buf, eof = recv_until(s, lambda b: False, 0.5)
check(buf == b"" and not eof, "no-banner sent %r" % buf)
s.sendall(action("Ping", ActionID="p"))
buf, _ = recv_until(s, lambda b: b"\r\n\r\n" in b)
check(buf == b"Response: Error\r\nActionID: p\r\nMessage: Permission denied\r\n\r\n", "no-banner reply %r" % buf)

# wrong-banner: first line is not an AMI banner.
s = connect(p_wrongbanner)
buf, _ = recv_until(s, lambda b: b"\r\n" in b)
check(buf.startswith(b"SSH-2.0-") and not buf.startswith(b"Asterisk"), "wrong-banner %r" % buf)

# trickle: one byte per write, spaced out.
s = connect(p_trickle)
reads, buf, t0 = 0, b"", time.time()
while buf != BANNER and time.time() - t0 < 5:
    s.settimeout(5)
    d = s.recv(4096)
    if not d:
        break
    reads += 1
    buf += d
dt = time.time() - t0
check(buf == BANNER, "trickle banner %r" % buf)
check(reads >= len(BANNER) // 2 and dt >= (len(BANNER) - 1) * 0.004, "trickle: %d reads in %.3fs" % (reads, dt))
done("test_sim_modes")
PY
