#!/usr/bin/env bash
# ami-sim --timestamp-events (manager.conf timestampevents = yes): every
# broadcast event carries "Timestamp: SEC.USEC" right after Privilege and
# every session gets the very same bytes (amid's HA message id depends on
# it); per-session output (FullyBooted, list events) has none; firehose
# events are stamped when written (the paced ones with their SimSentUs);
# without the option nothing changes.
source "$(dirname "$0")/sim_lib.sh"

grep -q -- "--timestamp-events" <<<"$("$SIM" --help)" || { echo "FAIL: --help lacks --timestamp-events"; exit 1; }

start_sim --timestamp-events; P=$PORT
start_sim --timestamp-events --firehose 300; PF=$PORT
start_sim --timestamp-events --firehose 300 --firehose-rate 100000; PR=$PORT
start_sim --firehose 10; PN=$PORT
python3 - "$P" "$PF" "$PR" "$PN" <<'PY'
import re, sys, time
from simlib import *
P, PF, PR, PN = (int(a) for a in sys.argv[1:])
STAMP = re.compile(r"^\d+\.\d{6}$")

def stamp_of(pkt):
    return get(pkt, "Timestamp")

# Two sessions on one sim: the same event, byte for byte, on both.
a, b = connect(P), connect(P)
ba = login(a, aid="la")
bb = login(b, aid="lb")
for buf in (ba, bb):
    fb = [p for p in packets(buf) if get(p, "Event") == "FullyBooted"]
    check(fb and stamp_of(fb[0]) is None, "FullyBooted (per session) has a Timestamp: %r" % fb)
a.sendall(action("UserEvent", UserEvent="HaProbe", ActionID="u1", Probe="1"))
want = lambda buf: b"UserEvent: HaProbe" in buf and buf.endswith(b"\r\n\r\n")
ra, _ = recv_until(a, lambda x: want(x[x.find(b"Event: UserEvent"):]) if b"Event: UserEvent" in x else False, 60)
rb, _ = recv_until(b, lambda x: want(x[x.find(b"Event: UserEvent"):]) if b"Event: UserEvent" in x else False, 60)

def raw_event(buf, name):
    i = buf.find(b"Event: " + name + b"\r\n")
    check(i >= 0, "no %r in %r" % (name, buf[-300:]))
    return buf[i:buf.index(b"\r\n\r\n", i) + 4]

ua, ub = raw_event(ra, b"UserEvent"), raw_event(rb, b"UserEvent")
check(ua == ub, "the sessions got different bytes:\n%r\n%r" % (ua, ub))
lines = ua.split(b"\r\n")
check(lines[0] == b"Event: UserEvent" and lines[1] == b"Privilege: user,all", "head %r" % lines[:2])
check(lines[2].startswith(b"Timestamp: ") and STAMP.match(lines[2][11:].decode()),
      "Timestamp is not the line after Privilege: %r" % lines[:4])
ts = float(lines[2][11:])
check(abs(ts - time.time()) < 600, "Timestamp %s is not the wall clock" % ts)
# b's SuccessfulAuth (a security event) reached a too, stamped the same.
sa = raw_event(ra, b"SuccessfulAuth")
sb = raw_event(bb + rb, b"SuccessfulAuth")
check(sa == sb and b"\r\nTimestamp: " in sa, "SuccessfulAuth differs or lacks a stamp:\n%r\n%r" % (sa, sb))
# List events answer one session: no Timestamp, like astman_append().
a.sendall(action("CoreShowChannels", ActionID="l1"))
rl, _ = recv_until(a, lambda x: b"CoreShowChannelsComplete" in x and x.endswith(b"\r\n\r\n"), 60)
done_ev = [p for p in packets(b"banner\r\n" + rl[rl.find(b"Event: CoreShowChannelsComplete"):])
           if get(p, "Event") == "CoreShowChannelsComplete"]
check(done_ev and stamp_of(done_ev[0]) is None, "a list event has a Timestamp: %r" % done_ev)

# The firehose: each event stamped after Privilege, never the same stamp twice.
def firehose(port, n):
    s = connect(port)
    s.sendall(action("Login", ActionID="1", Username="admin", Secret="amp111"))
    buf, _ = recv_until(s, lambda x: b"Event: SimDone\r\n" in x and x.endswith(b"\r\n\r\n"), 60)
    evs = [p for p in packets(buf) if get(p, "Event") in ("Newchannel", "Newstate", "VarSet", "SimDone")]
    check(len(evs) == n + 1, "%d firehose events, want %d" % (len(evs), n + 1))
    return evs

evs = firehose(PF, 300)
stamps = [stamp_of(p) for p in evs]
check(all(s and STAMP.match(s) for s in stamps), "a firehose event lacks a Timestamp")
check(all(p[2][0] == "Timestamp" for p in evs), "Timestamp is not after Privilege in the firehose")
us = [int(s.replace(".", "")) for s in stamps]
check(us == sorted(us) and len(set(us)) == len(us), "firehose stamps repeat or run backwards")
check(get(evs[-1], "Count") == "300", "SimDone lost its Count: %r" % evs[-1])

evs = firehose(PR, 300)
for p in evs[:-1]:
    check(p[2][0] == "Timestamp", "paced event without Timestamp after Privilege: %r" % p[:3])
    check(stamp_of(p).replace(".", "") == get(p, "SimSentUs"),
          "paced Timestamp %s differs from SimSentUs %s" % (stamp_of(p), get(p, "SimSentUs")))
check([int(get(p, "SimSeq")) for p in evs[:-1]] == list(range(1, 301)), "SimSeq not 1..300")

# Without the option: no Timestamp anywhere.
evs = firehose(PN, 10)
check(all(stamp_of(p) is None for p in evs), "a Timestamp without --timestamp-events")
done("test_sim_timestamp_events")
PY
