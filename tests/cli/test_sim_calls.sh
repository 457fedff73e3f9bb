#!/usr/bin/env bash
# ami-sim call simulation: Originate event sequence and its consistency, live
# channel lists, Hangup, event masks, filters, read permissions, WaitEvent.
source "$(dirname "$0")/sim_lib.sh"

cat >"$TMP/users.conf" <<'USERS'
[admin]
secret = amp111
read = all
write = all
[callonly]
secret = c
read = call
write = all
USERS
start_sim --users "$TMP/users.conf" --call-duration 600

python3 - "$PORT" <<'PY'
import re, sys, time
from simlib import *
port = int(sys.argv[1])

def events_until(s, pred_pkts, timeout=30.0):
    buf, _ = recv_until(s, lambda b: pred_pkts(packets(b"x\r\n" + b)), timeout)
    return packets(b"x\r\n" + buf)

# Header layout of each event kind in the real capture (any occurrence).
real = {}
for p in packets(fixture("originate_events.raw")) + packets(fixture("status_with_channel.raw")) + \
        packets(fixture("coreshowchannels.raw")):
    if p[0][0] == "Event":
        real.setdefault(p[0][1], []).append(keys(p))

def hungup_both(ps):
    return len([p for p in ps if get(p, "Event") == "Cdr"]) >= 2

# --- Originate, following originate_events.sent, watched by a second session.
s = connect(port)
login(s)
w = connect(port)
login(w, aid="watch")
orig = fixture("originate_events.sent")
orig = orig[orig.index(b"Action: Originate"):orig.index(b"Action: Logoff")]
t0 = time.time()
s.sendall(orig)
ps = events_until(s, hungup_both, 5)
dt = time.time() - t0
wps = events_until(w, hungup_both, 5)
resp = [p for p in ps if p[0] == ("Response", "Success")]
check(resp and resp[0] == [("Response", "Success"), ("ActionID", "orig-1"),
                           ("Message", "Originate successfully queued")], "originate response %r" % resp)
evs = [p for p in ps if p[0][0] == "Event"]
names = [get(p, "Event") for p in evs]
for n in ["Newchannel", "Newstate", "VarSet", "Newexten", "DialBegin", "DialEnd", "LocalBridge",
          "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy", "OriginateResponse",
          "HangupRequest", "SoftHangupRequest", "Hangup", "Cdr", "NewCallerid", "DeviceStateChange"]:
    check(n in names, "no %s event in %r" % (n, names))
check(0.5 <= dt < 3, "call lasted %.2fs with --call-duration 600" % dt)
check(names.index("Newchannel") < names.index("OriginateResponse") < names.index("Hangup"), "order")
check(names.index("BridgeCreate") < names.index("BridgeEnter") < names.index("BridgeLeave")
      < names.index("BridgeDestroy"), "bridge order")
for p in evs:
    n = get(p, "Event")
    check(n not in real or keys(p) in real[n], "%s layout %r not as captured" % (n, keys(p)))
    check(p[1][0] == "Privilege" and p[1][1].endswith(",all"), "%s privilege %r" % (n, p[1]))
# Consistency: one Uniqueid per channel name, ;2 linked to ;1.
uid = {}
for p in evs:
    c, u = get(p, "Channel"), get(p, "Uniqueid")
    if c and u:
        check(uid.setdefault(c, u) == u, "channel %s changed Uniqueid" % c)
newch = [get(p, "Channel") for p in evs if get(p, "Event") == "Newchannel"]
check(len(newch) == 2 and newch[0].endswith(";1") and newch[1].endswith(";2") and
      newch[0][:-2] == newch[1][:-2] and newch[0].startswith("Local/100@test-"), "channels %r" % newch)
links = {get(p, "Linkedid") for p in evs if get(p, "Linkedid")}
check(links == {uid[newch[0]]}, "Linkedid %r, want the ;1 Uniqueid" % links)
hung = [get(p, "Channel") for p in evs if get(p, "Event") == "Hangup"]
check(sorted(hung) == sorted(newch), "hangups %r" % hung)
bids = {get(p, "BridgeUniqueid") for p in evs if get(p, "Event", ).startswith("Bridge")}
check(len(bids) == 1 and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", bids.pop()),
      "bridge ids")
orr = [p for p in evs if get(p, "Event") == "OriginateResponse"][0]
check(get(orr, "ActionID") == "orig-1" and get(orr, "Response") == "Success" and
      get(orr, "Uniqueid") == uid[newch[0]] and get(orr, "CallerIDNum") == "5551234" and
      get(orr, "CallerIDName") == "AMI Test", "OriginateResponse %r" % orr)
vs = {(get(p, "Channel"), get(p, "Variable"), get(p, "Value")) for p in evs if get(p, "Event") == "VarSet"}
check((newch[0], "ORIGVAR1", "one") in vs and (newch[0], "ORIGVAR2", "two") in vs, "ORIGVARs %r" % vs)
check([get(p, "Event") for p in wps if p[0][0] == "Event" and get(p, "Event") != "SuccessfulAuth"] ==
      [n for n in names if n != "SuccessfulAuth"], "second session saw other events")

# --- Live lists during a call: CoreShowChannels, Status, core show channels.
s.sendall(action("Originate", ActionID="o2", Channel="Local/wait@test", Context="test", Exten="echo",
                 Priority="1", Async="true"))
events_until(s, lambda ps: any(get(p, "Event") == "BridgeEnter" for p in ps))
s.sendall(action("CoreShowChannels", ActionID="csc") + action("Status", ActionID="st") +
          action("Status", ("Variables", "CHANNEL,BRIDGEPEER,NOPE"), ActionID="st1",
                 Channel="Local/wait@test-00000001;1") +
          action("Command", ActionID="cmd", Command="core show channels"))
ps = events_until(s, lambda ps: any(get(p, "ActionID") == "cmd" for p in ps))
csc = [p for p in ps if get(p, "ActionID") == "csc"]
check(csc[0] == [("Response", "Success"), ("ActionID", "csc"), ("EventList", "start"),
                 ("Message", "Channels will follow")], "CoreShowChannels start %r" % csc[0])
check(len(csc) == 4 and all(keys(p) == real["CoreShowChannel"][0] for p in csc[1:3]), "CoreShowChannel layout")
check(csc[3] == [("Event", "CoreShowChannelsComplete"), ("ActionID", "csc"), ("EventList", "Complete"),
                 ("ListItems", "2")], "CoreShowChannelsComplete %r" % csc[3])
st = [p for p in ps if get(p, "ActionID") == "st"]
check(len(st) == 4 and all(keys(p) == real["Status"][0] for p in st[1:3]), "Status layout")
check(st[3] == [("Event", "StatusComplete"), ("ActionID", "st"), ("EventList", "Complete"),
                ("ListItems", "2"), ("Items", "2")], "StatusComplete %r" % st[3])
st1 = [p for p in ps if get(p, "ActionID") == "st1"]
vars_ = [v for k, v in st1[1] if k == "Variable"]
check(len(st1) == 3 and vars_ == ["CHANNEL=Local/wait@test-00000001;1",
      "BRIDGEPEER=Local/wait@test-00000001;2", "NOPE=(null)"], "Status Variables %r" % vars_)
cmd = [p for p in ps if get(p, "ActionID") == "cmd"][0]
out = [v for k, v in cmd if k == "Output"]
realhdr = [v for k, v in packets(fixture("command_core_show_channels.raw"))[1] if k == "Output"][0]
check(out[0] == realhdr, "core show channels header")
check(len(out) == 6 and all(len(l) == len(realhdr) for l in out[1:3]), "core show channels rows %r" % out)
check(out[3:] == ["2 active channels", "1 active call", "2 calls processed"], "footer %r" % out[3:])

# --- Hangup by regex: an EventList, then the channels are gone.
s.sendall(action("Hangup", ActionID="h", Channel="/^Local\\//"))
ps = events_until(s, lambda ps: any(get(p, "Event") == "ChannelsHungupListComplete" for p in ps))
hl = [p for p in ps if get(p, "ActionID") == "h"]
check(hl[0] == [("Response", "Success"), ("ActionID", "h"), ("EventList", "start"),
                ("Message", "Channels hung up will follow")], "hangup list start")
check([keys(p) for p in hl[1:3]] == [["Event", "Channel", "ActionID"]] * 2, "ChannelHungup layout")
check(hl[-1] == [("Event", "ChannelsHungupListComplete"), ("ActionID", "h"),
                 ("EventList", "Complete"), ("ListItems", "2")], "hangup complete %r" % hl[-1])
s.sendall(action("CoreShowChannels", ActionID="6") + action("Hangup", ActionID="e5",
          Channel="Local/nosuch@test-00000000;1"))
ps = events_until(s, lambda ps: any(get(p, "ActionID") == "e5" for p in ps))
cap = packets(fixture("coreshowchannels.raw"))
check([p for p in ps if get(p, "ActionID") == "6"] == [p for p in cap if get(p, "ActionID") == "6"],
      "empty CoreShowChannels differs from capture")
check([p for p in ps if get(p, "ActionID") == "e5"] == [p for p in packets(fixture("errors.raw"))
      if get(p, "ActionID") == "e5"], "Hangup of unknown channel")

# --- Events masks, filters, read permissions (events_mask scenario).
# A session that only asks whether calls are still up.
mon = connect(port)
login(mon, events="off", aid="mon-login")

def calls_active():
    mon.sendall(action("Command", ActionID="cs", Command="core show channels"))
    buf, _ = recv_until(mon, lambda b: b" processed\n" in b or b" processed\r\n" in b, 30)
    m = re.search(rb"(\d+) active calls?", buf)
    if not m:
        fail("core show channels: %r" % buf[-300:])
    return int(m.group(1))

def call_events(sess, extra=b""):
    """The events one call (600 ms) sends to sess: once the Originate is
    acknowledged the call exists; once no call is active it is over, and a
    Ping answered after that comes after every event of the call."""
    sess.sendall(extra + action("Originate", ActionID="o", Channel="Local/100@test", Context="test",
                                Exten="101", Priority="1", Async="true"))
    buf, _ = recv_until(sess, lambda b: b"ActionID: o\r\n" in b, 30)
    check(b"ActionID: o\r\n" in buf, "no Originate response")
    end = time.time() + 30
    while calls_active() and time.time() < end:
        time.sleep(0.05)
    sess.sendall(action("Ping", ActionID="after-call"))
    more, _ = recv_until(sess, lambda b: b"ActionID: after-call\r\n" in b and b.endswith(b"\r\n\r\n"), 30)
    buf += more
    check(b"ActionID: after-call\r\n" in buf, "no Ping answer after the call")
    return [get(p, "Event") for p in packets(b"x\r\n" + buf) if p[0][0] == "Event"]

m = connect(port)
login(m, events="off")
check(call_events(m) == [], "events off still delivered events")
evs = call_events(m, action("Events", ActionID="ev", EventMask="call"))
check(evs and not {"VarSet", "Newexten", "Cdr"} & set(evs) and "Hangup" in evs, "mask call: %r" % evs)
evs = call_events(m, action("Events", ActionID="ev", EventMask="cdr"))
check(set(evs) == {"Cdr"}, "mask cdr: %r" % evs)
evs = call_events(m, action("Events", ActionID="ev", EventMask="on") +
                  action("Filter", ActionID="f1", Operation="Add", Filter="Event: Hangup"))
check(set(evs) == {"Hangup", "HangupRequest"}, "include filter: %r" % evs)
f = connect(port)
login(f)
evs = call_events(f, action("Filter", ActionID="f", Operation="Add", Filter="!Event: (VarSet|Newexten)"))
check(evs and not {"VarSet", "Newexten"} & set(evs) and "Cdr" in evs, "exclude filter: %r" % evs)
r = connect(port)
login(r, user="callonly", secret="c")
evs = call_events(r)
check(evs and not {"VarSet", "Newexten", "Cdr"} & set(evs), "read=call got %r" % evs)
r.sendall(action("Filter", ActionID="bad", Operation="Add", Filter="(") + action("Events", ActionID="bm", EventMask="bogus"))
ps = events_until(r, lambda ps: any(get(p, "ActionID") == "bm" for p in ps))
check(get([p for p in ps if get(p, "ActionID") == "bad"][0], "Response") == "Error", "bad regex accepted")
check([p for p in ps if get(p, "ActionID") == "bm"][0] == [("Response", "Success"), ("ActionID", "bm"),
      ("Events", "Off")], "bogus mask")

# --- UserEvent reaches other sessions with the sender's ActionID; WaitEvent.
wt = connect(port)
login(wt, events="off")
t0 = time.time()
wt.sendall(action("WaitEvent", ActionID="w1", Timeout="1"))
ps = events_until(wt, lambda ps: any(get(p, "Event") == "WaitEventComplete" for p in ps))
dt = time.time() - t0
check(0.9 <= dt < 2.5, "WaitEvent Timeout: 1 took %.2fs" % dt)
cap = packets(fixture("waitevent.raw"))
check([p for p in ps if get(p, "ActionID") == "w1"] == [p for p in cap if get(p, "ActionID") == "w1"],
      "WaitEvent framing differs from capture")
# The sender logs in first: its SuccessfulAuth would end the wait early
# (any event does, as waitevent.raw step 3 shows).
h = connect(port)
login(h, events="off")
wt.sendall(action("Events", ActionID="ev", EventMask="user") + action("WaitEvent", ActionID="w2", Timeout="10"))
# Both actions came in one segment and are handled in order before any
# answer goes out: once Events is answered, the WaitEvent is waiting.
buf, _ = recv_until(wt, lambda b: b"ActionID: ev\r\n" in b, 30)
check(b"ActionID: ev\r\n" in buf, "no answer to Events")
t0 = time.time()
h.sendall(action("UserEvent", ActionID="h-ue", UserEvent="WakeUp", Reason="test"))
ps = packets(b"x\r\n" + buf) + events_until(wt, lambda ps: any(get(p, "Event") == "WaitEventComplete" and get(p, "ActionID") == "w2" for p in ps))
check(time.time() - t0 < 8, "WaitEvent not woken by an event (its Timeout is 10 s)")
w2 = [p for p in ps if get(p, "ActionID") in ("w2", "h-ue")]
check(w2 == [p for p in cap if get(p, "ActionID") in ("w2", "h-ue")], "WaitEvent with UserEvent: %r" % w2)
done("test_sim_calls")
PY
