#!/usr/bin/env bash
# ami-sim --firehose-rate: the paced firehose sends exactly N events, each
# with the pre-rendered event's headers plus SimSeq 1..N in order and a
# SimSentUs wall-clock stamp, then SimDone; bad rates are refused. No
# timing is asserted (pacing is a benchmark's business, bench/amid_bench.py).
source "$(dirname "$0")/sim_lib.sh"

grep -q -- "--firehose-rate" <<<"$("$SIM" --help)" || { echo "FAIL: --help lacks --firehose-rate"; exit 1; }
for bad in 0 -5 x 10000001; do
    rc=0; timeout -k 30 60 "$SIM" --firehose 10 --firehose-rate "$bad" >/dev/null 2>&1 || rc=$?
    [ "$rc" = 2 ] || { echo "FAIL: --firehose-rate $bad exited $rc, want 2"; exit 1; }
done
rc=0; timeout -k 30 60 "$SIM" --firehose-rate 10 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || { echo "FAIL: --firehose-rate without --firehose exited $rc, want 2"; exit 1; }

# 100,000/s: 300 events take a few milliseconds, nothing waits on a clock.
start_sim --firehose 300 --firehose-rate 100000; P=$PORT
python3 - "$P" <<'PY'
import sys, time
from simlib import *
s = connect(int(sys.argv[1]))
# One read loop from the banner on: a helper's login would keep what
# arrived with its response (the first events).
s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111"))
want = b"Event: SimDone\r\nPrivilege: system,all\r\nCount: 300\r\n\r\n"
buf, eof = recv_until(s, lambda b: b.endswith(want), 60)
check(buf.endswith(want), "no SimDone after the paced events: %r" % buf[-200:])
before = int(time.time() * 1e6)
events = [p for p in buf.split(b"\r\n\r\n") if b"SimSeq: " in p]
check(len(events) == 300, "%d stamped events, want 300" % len(events))
seqs, stamps = [], []
for p in events:
    h = dict(l.split(b": ", 1) for l in p.split(b"\r\n") if b": " in l)
    check(h.get(b"Event") in (b"Newchannel", b"Newstate", b"VarSet"), "event %r" % h.get(b"Event"))
    check(b"Uniqueid" in h and b"Channel" in h, "stamped event lost its headers: %r" % p[:80])
    seqs.append(int(h[b"SimSeq"]))
    stamps.append(int(h[b"SimSentUs"]))
check(seqs == list(range(1, 301)), "SimSeq not 1..300 in order")
check(stamps == sorted(stamps), "SimSentUs goes backwards")
check(all(before - 600e6 < t <= before for t in stamps), "SimSentUs is not this machine's wall clock")
# The session keeps answering actions after the paced firehose.
s.sendall(action("Ping", ActionID="p"))
buf, _ = recv_until(s, lambda b: b"\r\n\r\n" in b)
check(buf.startswith(b"Response: Success\r\nActionID: p\r\n"), "Ping after the firehose: %r" % buf)
done("test_sim_firehose_rate")
PY
