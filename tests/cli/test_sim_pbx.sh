#!/usr/bin/env bash
# ami-sim's PBX model through the `ami` tool: queues (join, connect,
# abandon, pause/add/remove/penalty), bridges (list, info, Bridge, kick,
# destroy, blind transfer, Redirect), parking (Park with timeout, the bare
# LF of its response, ParkedCalls, Parkinglots, timeout, give-up,
# retrieval), hold music, DeviceStateList, --queues. Every event and list
# item must have a header layout the captures show for its kind, and at
# quiet points the lists must agree with a store built from the events.
source "$(dirname "$0")/sim_lib.sh"
AMI="$AMI_BIN_DIR/ami"
[ -x "$AMI" ] || AMI="$AMI_BIN_DIR/ami/ami"

start_sim --call-duration 6000
export AMI_SECRET=amp111 AMI_USER=admin

python3 - "$PORT" "$AMI" <<'PY'
import subprocess, sys, time
from simlib import *
port, ami = int(sys.argv[1]), sys.argv[2]

real = {}
for name in ("queue_callcenter.raw", "bridge_transfer.raw", "park_hold.raw",
             "busy_snapshot.raw", "originate_events.raw", "coreshowchannels.raw"):
    # The Park response's bare LF ("successful\n\r\n") is not a line end.
    for p in packets(re.sub(rb"(?<!\r)\n\r\n", b"\r\n", fixture(name))):
        if p[0][0] == "Event":
            real.setdefault(p[0][1], set()).add(tuple(keys(p)))
seen = set()

def layout_ok(pkts, where):
    for p in pkts:
        if p[0][0] != "Event":
            continue
        ev = p[0][1]
        seen.add(ev)
        if ev in real:
            check(tuple(keys(p)) in real[ev], "%s: %s layout %r not in captures" % (where, ev, keys(p)))

def ami_action(name, *kv, status=0):
    r = subprocess.run([ami, "-H", "127.0.0.1", "-p", str(port), "--timeout", "10", "action", name] +
                       list(kv), capture_output=True, timeout=30)
    check(r.returncode == status, "ami action %s %r: exit %d, want %d; %r" %
          (name, kv, r.returncode, status, r.stderr[-300:]))
    out = r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    pk = packets(b"x\r\n" + out)
    layout_ok(pk, "action " + name)
    return pk, r.stderr.decode()

# The watcher: every event, kept in order, with a bounded wait on a condition.
w = connect(port)
login(w, aid="watch")
stream = []
pending = b""
def pump(timeout):
    global pending
    w.settimeout(timeout)
    try:
        d = w.recv(1 << 16)
    except socket.timeout:
        return
    pending += d
    while b"\r\n\r\n" in pending:
        chunk, pending = pending.split(b"\r\n\r\n", 1)
        p = packets(b"x\r\n" + chunk + b"\r\n\r\n")
        layout_ok(p, "event")
        stream.extend(p)

def wait_for(pred, what, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        for i, p in enumerate(stream):
            if pred(p):
                return p
        pump(0.1)
    check(False, "timed out waiting for " + what)
    return None

def ev(name, **kv):
    return lambda p: get(p, "Event") == name and all(get(p, k) == v for k, v in kv.items())

def quiet(ms=300):
    """Drain until no event for ms."""
    end = time.time() + 10
    n = -1
    while len(stream) != n and time.time() < end:
        n = len(stream)
        pump(ms / 1000.0)

# A store built from the events (the minimum to compare with the lists).
def store():
    chans, bridges, members, parked, dev = {}, {}, {}, {}, {}
    for p in stream:
        e = get(p, "Event")
        if e == "Newchannel":
            chans[get(p, "Uniqueid")] = ""
        elif e == "Hangup":
            chans.pop(get(p, "Uniqueid"), None)
        elif e == "BridgeCreate":
            bridges[get(p, "BridgeUniqueid")] = set()
        elif e == "BridgeEnter":
            bridges.setdefault(get(p, "BridgeUniqueid"), set()).add(get(p, "Uniqueid"))
            chans[get(p, "Uniqueid")] = get(p, "BridgeUniqueid")
        elif e == "BridgeLeave":
            bridges.get(get(p, "BridgeUniqueid"), set()).discard(get(p, "Uniqueid"))
            if get(p, "Uniqueid") in chans:
                chans[get(p, "Uniqueid")] = ""
        elif e == "BridgeDestroy":
            bridges.pop(get(p, "BridgeUniqueid"), None)
        elif e and e.startswith("QueueMember") and e != "QueueMemberRemoved":
            members[(get(p, "Queue"), get(p, "Interface"))] = (
                get(p, "Paused"), get(p, "InCall"), get(p, "Status"), get(p, "Penalty"),
                get(p, "CallsTaken"))
        elif e == "QueueMemberRemoved":
            members[(get(p, "Queue"), get(p, "Interface"))] = None
        elif e == "ParkedCall":
            parked[get(p, "ParkingSpace")] = get(p, "ParkeeUniqueid")
        elif e in ("ParkedCallTimeOut", "ParkedCallGiveUp", "UnParkedCall"):
            parked.pop(get(p, "ParkingSpace"), None)
        elif e == "DeviceStateChange" and not get(p, "Device").startswith("Local/"):
            dev[get(p, "Device")] = get(p, "State")
    return chans, bridges, members, parked, dev

def agree(where):
    """Lists equal the events' store; retried while events still arrive,
    since the lists are read on another connection than the events."""
    for attempt in range(6):
        quiet()
        n = len(stream)
        problems = agree_once(where)
        pump(0.2)
        if len(stream) == n:
            break
    for msg in problems:
        check(False, msg)

def agree_once(where):
    problems = []
    def check(cond, msg):
        if not cond:
            problems.append(msg)
    chans, bridges, members, parked, dev = store()
    pk, _ = ami_action("CoreShowChannels")
    got = {get(p, "Uniqueid"): get(p, "BridgeId") for p in pk if get(p, "Event") == "CoreShowChannel"}
    check(got == chans, "%s: CoreShowChannels %r != events %r" % (where, got, chans))
    pk, _ = ami_action("BridgeList")
    ids = [get(p, "BridgeUniqueid") for p in pk if get(p, "Event") == "BridgeListItem"]
    check(set(ids) == set(bridges), "%s: BridgeList %r != events %r" % (where, ids, bridges))
    for bid in ids:
        pk, _ = ami_action("BridgeInfo", "BridgeUniqueid=" + bid)
        mem = {get(p, "Uniqueid") for p in pk if get(p, "Event") == "BridgeInfoChannel"}
        check(mem == bridges.get(bid), "%s: BridgeInfo %s %r != %r" % (where, bid, mem, bridges.get(bid)))
    pk, _ = ami_action("QueueStatus")
    for p in pk:
        if get(p, "Event") != "QueueMember":
            continue
        k = (get(p, "Queue"), get(p, "Location"))
        if k in members:
            want = members[k]
            have = (get(p, "Paused"), get(p, "InCall"), get(p, "Status"), get(p, "Penalty"),
                    get(p, "CallsTaken"))
            check(want == have, "%s: QueueMember %r %r != events %r" % (where, k, have, want))
    listed = {(get(p, "Queue"), get(p, "Location")) for p in pk if get(p, "Event") == "QueueMember"}
    for k, v in members.items():
        check((v is None) == (k not in listed), "%s: member %r listed=%s" % (where, k, k in listed))
    pk, _ = ami_action("ParkedCalls")
    got = {get(p, "ParkingSpace"): get(p, "ParkeeUniqueid") for p in pk if get(p, "Event") == "ParkedCall"}
    check(got == parked, "%s: ParkedCalls %r != events %r" % (where, got, parked))
    pk, _ = ami_action("DeviceStateList")
    got = {get(p, "Device"): get(p, "State") for p in pk if get(p, "Event") == "DeviceStateChange"}
    for d, st in dev.items():
        check(got.get(d) == st, "%s: DeviceStateList %s=%r, events say %r" % (where, d, got.get(d), st))
    check(not any(d.startswith("Local/") for d in got), "%s: Local/ device cached" % where)
    return problems

agree("idle")
import atexit
def dump():
    with open(os.environ.get("PBX_DUMP", "/dev/null"), "w") as f:
        for p in stream:
            f.write(repr(p) + "\n")
atexit.register(dump)

# --- Queues: Caller One to support (Alice), Caller Two waits in sales (Carol paused).
pk, _ = ami_action("Originate", "Channel=Local/300@test", "Application=Wait", "Data=30", "Async=true",
                   'CallerID="Caller One" <5551001>')
j1 = wait_for(ev("QueueCallerJoin", Queue="support"), "QueueCallerJoin support")
ac = wait_for(ev("AgentConnect", Queue="support"), "AgentConnect support")
check(ac and get(ac, "MemberName") == "Agent Alice", "support rang %r" % (ac and get(ac, "MemberName")))
check(wait_for(ev("AgentCalled", Queue="support", Interface="Local/200@test"), "AgentCalled") is not None, "")
wait_for(ev("QueueMemberStatus", Interface="Local/200@test", InCall="1"), "Alice in call")
ami_action("Originate", "Channel=Local/301@test", "Application=Wait", "Data=30", "Async=true",
           'CallerID="Caller Two" <5551002>')
j2 = wait_for(ev("QueueCallerJoin", Queue="sales"), "QueueCallerJoin sales")
wait_for(ev("MusicOnHoldStart", Uniqueid=get(j2, "Uniqueid")), "hold music for the waiting caller")
quiet()
pk, _ = ami_action("QueueStatus", "Queue=sales")
ent = [p for p in pk if get(p, "Event") == "QueueEntry"]
check(len(ent) == 1 and get(ent[0], "Channel") == get(j2, "Channel") and get(ent[0], "Position") == "1",
      "QueueEntry %r" % ent)
par = [p for p in pk if get(p, "Event") == "QueueParams"]
check(len(par) == 1 and get(par[0], "Calls") == "1" and get(par[0], "Strategy") == "rrmemory",
      "sales QueueParams %r" % par)
comp = pk[-1]
check(get(comp, "Event") == "QueueStatusComplete" and get(comp, "ListItems") == str(len(pk) - 2),
      "QueueStatusComplete %r" % comp)
pk, _ = ami_action("QueueSummary")
sm = {get(p, "Queue"): p for p in pk if get(p, "Event") == "QueueSummary"}
check(get(sm["support"], "Available") == "1" and get(sm["sales"], "Callers") == "1" and
      get(sm["sales"], "Available") == "0", "QueueSummary %r" % sm)
pk, _ = ami_action("QueueStatus", "Member=Agent Bob")
check([get(p, "Name") for p in pk if get(p, "Event") == "QueueMember"] == ["Agent Bob"],
      "Member filter %r" % pk)
agree("caller waiting")

pk, _ = ami_action("QueuePause", "Queue=sales", "Interface=Local/202@test", "Paused=false",
                   "Reason=back from lunch")
check(get(pk[0], "Message") == "Interface unpaused successfully", "QueuePause %r" % pk)
wait_for(ev("QueueMemberPause", Interface="Local/202@test", Paused="0",
            PausedReason="back from lunch"), "QueueMemberPause")
wait_for(ev("AgentConnect", Queue="sales", MemberName="Agent Carol"), "Carol takes Caller Two")
pk, _ = ami_action("QueueAdd", "Queue=support", "Interface=Local/wait@test", "MemberName=Agent Dave",
                   "Penalty=2", "Paused=true")
check(get(pk[0], "Message") == "Added interface to queue", "QueueAdd %r" % pk)
wait_for(ev("QueueMemberAdded", Interface="Local/wait@test", Membership="dynamic", Paused="1"), "added")
_, err = ami_action("QueueAdd", "Queue=support", "Interface=Local/wait@test", status=1)
check("Already there" in err, "QueueAdd twice: %r" % err)
pk, _ = ami_action("QueuePenalty", "Queue=support", "Interface=Local/wait@test", "Penalty=3")
wait_for(ev("QueueMemberPenalty", Interface="Local/wait@test", Penalty="3"), "penalty")
pk, _ = ami_action("QueueRemove", "Queue=support", "Interface=Local/wait@test")
check(get(pk[0], "Message") == "Removed interface from queue", "QueueRemove %r" % pk)
wait_for(ev("QueueMemberRemoved", Interface="Local/wait@test"), "removed")
_, err = ami_action("QueueRemove", "Queue=support", "Interface=Local/200@test", status=1)
check("Member not dynamic" in err, "remove static: %r" % err)
_, err = ami_action("QueuePause", "Interface=Local/999@test", "Paused=true", status=1)
check("Interface not found" in err, "pause unknown: %r" % err)

# Caller Three waits (Carol is busy) and is hung up: abandon, then leave.
ami_action("Originate", "Channel=Local/301@test", "Application=Wait", "Data=30", "Async=true",
           'CallerID="Caller Three" <5551003>')
j3 = wait_for(lambda p: ev("QueueCallerJoin", Queue="sales")(p) and get(p, "Uniqueid") != get(j2, "Uniqueid"),
              "Caller Three joins")
ami_action("Hangup", "Channel=" + get(j3, "Channel"))
ab = wait_for(ev("QueueCallerAbandon", Uniqueid=get(j3, "Uniqueid")), "QueueCallerAbandon")
lv = wait_for(ev("QueueCallerLeave", Uniqueid=get(j3, "Uniqueid")), "QueueCallerLeave")
check(ab and lv and stream.index(ab) < stream.index(lv), "abandon before leave")
check(ab and get(ab, "OriginalPosition") == "1", "abandon %r" % ab)
wait_for(ev("AgentComplete", Queue="support"), "AgentComplete support")
wait_for(ev("AgentComplete", Queue="sales"), "AgentComplete sales")
wait_for(ev("QueueMemberStatus", Interface="Local/200@test", InCall="0", CallsTaken="1"), "Alice free")
agree("queues done")

# --- Bridges: a Dial() bridge, BridgeInfo, CoreShowChannels BridgeId, blind transfer.
ami_action("Originate", "Channel=Local/bridged@test", "Application=Wait", "Data=40", "Async=true",
           'CallerID="Bridge One" <5552001>')
be = wait_for(lambda p: ev("BridgeEnter")(p) and get(p, "BridgeNumChannels") == "2" and
              get(p, "Channel").startswith("Local/bridged@"), "Dial bridge")
bid = get(be, "BridgeUniqueid")
agree("dial bridge")
pk, _ = ami_action("BridgeInfo", "BridgeUniqueid=" + bid)
check(get(pk[-1], "Event") == "BridgeInfoComplete" and get(pk[-1], "BridgeNumChannels") == "2" and
      get(pk[-1], "BridgeType") == "basic", "BridgeInfoComplete %r" % pk[-1])
pk, _ = ami_action("BlindTransfer", "Channel=" + get(be, "Channel"), "Context=test", "Exten=100")
check(get(pk[0], "Message") == "Transfer succeeded", "BlindTransfer %r" % pk)
bt = wait_for(ev("BlindTransfer", BridgeUniqueid=bid), "BlindTransfer event")
check(bt and get(bt, "Extension") == "100" and get(bt, "TransfererChannel") == get(be, "Channel"), "%r" % bt)
wait_for(ev("BridgeDestroy", BridgeUniqueid=bid), "transfer bridge destroyed")
wait_for(ev("Newexten", Channel=get(bt, "TransfereeChannel"), Extension="100"), "transferee runs 100")
_, err = ami_action("BridgeDestroy", "BridgeUniqueid=" + bid, status=1)
check("Specified BridgeUniqueid not found" in err, "BridgeDestroy gone: %r" % err)
_, err = ami_action("BridgeInfo", "BridgeUniqueid=" + bid, status=1)
check("Bridge not found" in err, "BridgeInfo gone: %r" % err)

# Two lone channels joined with Bridge, then kicked apart.
def originate_wait(cid):
    ami_action("Originate", "Channel=Local/wait@test", "Application=Wait", "Data=30", "Async=true",
               "CallerID=%s <%s>" % (cid, cid))
    r = wait_for(lambda p: ev("OriginateResponse")(p) and get(p, "CallerIDNum") == cid, "originate " + cid)
    return get(r, "Channel")
left, right = originate_wait("5552002"), originate_wait("5552003")
pk, _ = ami_action("Bridge", "Channel1=" + left, "Channel2=" + right, "Tone=no")
check(get(pk[0], "Message") == "Channels have been bridged", "Bridge %r" % pk)
be = wait_for(lambda p: ev("BridgeEnter", Channel=right)(p), "Bridge action bridge")
bid2 = get(be, "BridgeUniqueid")
agree("bridge action")
pk, _ = ami_action("BridgeKick", "BridgeUniqueid=" + bid2, "Channel=" + right)
check(get(pk[0], "Message") == "Channel has been kicked", "BridgeKick %r" % pk)
wait_for(ev("BridgeDestroy", BridgeUniqueid=bid2), "kicked bridge destroyed")
_, err = ami_action("Bridge", "Channel1=" + left, "Channel2=Local/none-1;1", status=1)
check("Channel2 does not exist: Local/none-1;1" in err, "Bridge unknown: %r" % err)

# Redirect a bridged channel out of its bridge.
ami_action("Originate", "Channel=Local/bridged@test", "Application=Wait", "Data=40", "Async=true",
           'CallerID="Redirect Me" <5552004>')
be = wait_for(lambda p: ev("BridgeEnter")(p) and get(p, "CallerIDNum") == "5552004" and
              get(p, "BridgeNumChannels") == "2", "bridge to redirect")
pk, _ = ami_action("Redirect", "Channel=" + get(be, "Channel"), "Context=test", "Exten=100", "Priority=1")
check(get(pk[0], "Message") == "Redirect successful", "Redirect %r" % pk)
wait_for(ev("BridgeDestroy", BridgeUniqueid=get(be, "BridgeUniqueid")), "redirected bridge destroyed")
wait_for(ev("Newexten", Channel=get(be, "Channel"), Extension="100"), "redirected channel runs 100")
agree("redirect")

# --- Parking: raw socket for the exact response bytes.
ami_action("Originate", "Channel=Local/bridged@test", "Application=Wait", "Data=40", "Async=true",
           'CallerID="Parker" <5553001>')
be = wait_for(lambda p: ev("BridgeEnter")(p) and get(p, "CallerIDNum") == "5553001" and
              get(p, "BridgeNumChannels") == "2", "bridge to park from")
parkee = get(be, "Channel")
peer = [get(p, "Channel") for p in stream if ev("BridgeEnter", BridgeUniqueid=get(be, "BridgeUniqueid"))(p)
        and get(p, "Channel") != parkee][0]
r = connect(port)
login(r, events="off", aid="raw")
r.sendall(action("Park", ActionID="pk-1", Channel=parkee, Timeout="1000", TimeoutChannel=peer))
buf, _ = recv_until(r, lambda b: b"\r\n\r\n" in b)
check(buf == b"Response: Success\r\nActionID: pk-1\r\nMessage: Park successful\n\r\n\r\n",
      "Park response bytes %r" % buf)
pc = wait_for(ev("ParkedCall", ParkeeChannel=parkee), "ParkedCall")
check(get(pc, "ParkingSpace") == "701" and get(pc, "ParkingTimeout") == "1" and
      get(pc, "ParkerDialString") == "Local/wait@test", "ParkedCall %r" % pc)
hb = wait_for(lambda p: ev("BridgeEnter", Channel=parkee)(p) and get(p, "BridgeType") == "parking",
              "holding bridge")
check(get(hb, "BridgeCreator") == "Parking" and get(hb, "BridgeTechnology") == "holding_bridge", "%r" % hb)
wait_for(ev("MusicOnHoldStart", Channel=parkee), "parked hold music")
pk, _ = ami_action("ParkedCalls")
check([get(p, "ParkeeChannel") for p in pk if get(p, "Event") == "ParkedCall"] == [parkee] and
      get(pk[-1], "Total") == "1", "ParkedCalls %r" % pk)
pk, _ = ami_action("Parkinglots")
check(get(pk[1], "Name") == "default" and get(pk[1], "StartSpace") == "701", "Parkinglots %r" % pk)
agree("parked")
wait_for(ev("ParkedCallTimeOut", ParkeeChannel=parkee), "ParkedCallTimeOut", 5)
wait_for(ev("MusicOnHoldStop", Channel=parkee), "hold music stops at timeout")
wait_for(lambda p: ev("Newexten", Channel=parkee)(p) and get(p, "Context") == "park-dial", "call-back")
agree("park timed out")
pk, _ = ami_action("BridgeList", "BridgeType=parking")
items = [p for p in pk if get(p, "Event") == "BridgeListItem"]
check(len(items) == 1 and get(items[0], "BridgeNumChannels") == "0", "empty holding bridge %r" % items)

# Give up (parkee hangs up while parked) and retrieval via Local/701@parkedcalls.
for mode in ("giveup", "retrieve"):
    cid = "55530%s" % ("02" if mode == "giveup" else "03")
    ami_action("Originate", "Channel=Local/bridged@test", "Application=Wait", "Data=40", "Async=true",
               "CallerID=%s <%s>" % (mode, cid))
    be = wait_for(lambda p: ev("BridgeEnter")(p) and get(p, "CallerIDNum") == cid and
                  get(p, "BridgeNumChannels") == "2", "bridge for " + mode)
    ch = get(be, "Channel")
    pk, _ = ami_action("Park", "Channel=" + ch, "Timeout=60000")
    wait_for(ev("ParkedCall", ParkeeChannel=ch), "parked for " + mode)
    if mode == "giveup":
        ami_action("Hangup", "Channel=" + ch)
        wait_for(ev("ParkedCallGiveUp", ParkeeChannel=ch), "ParkedCallGiveUp")
    else:
        ami_action("Originate", "Channel=Local/701@parkedcalls", "Application=Wait", "Data=5", "Async=true")
        u = wait_for(ev("UnParkedCall", ParkeeChannel=ch), "UnParkedCall")
        check(u and get(u, "RetrieverChannel") is not None, "UnParkedCall retriever %r" % u)
        wait_for(lambda p: ev("BridgeEnter", Channel=ch)(p) and get(p, "BridgeType") == "basic", "retrieved")
    agree(mode)

# --- Hold music extension.
ami_action("Originate", "Channel=Local/moh@test", "Application=Wait", "Data=4", "Async=true")
ms = wait_for(ev("MusicOnHoldStart", Class="default", Exten="moh"), "moh start")
wait_for(ev("MusicOnHoldStop", Uniqueid=get(ms, "Uniqueid")), "moh stop")

ami_action("Hangup", "Channel=/^Local\\//")
quiet(500)
agree("all hung up")
pk, _ = ami_action("CoreShowChannels")
check(get(pk[-1], "ListItems") == "0", "channels left %r" % pk[-1])
for need in ("QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
             "AgentComplete", "QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded",
             "QueueMemberRemoved", "QueueMemberPenalty", "QueueParams", "QueueMember", "QueueEntry",
             "QueueSummary", "BridgeListItem", "BridgeInfoChannel", "BridgeInfoComplete", "BlindTransfer",
             "ParkedCall", "ParkedCallTimeOut", "Parkinglot", "ParkedCallsComplete", "MusicOnHoldStart",
             "MusicOnHoldStop", "DeviceStateChange", "DeviceStateListComplete", "CoreShowChannel"):
    check(need in seen, "never saw %s" % need)
done("test_sim_pbx")
PY

# --queues: a configured queue replaces the built-in ones; a bad file fails.
cat >"$TMP/queues.conf" <<'CONF'
[general]
persistentmembers = no
[helpdesk]
strategy = rrmemory
maxlen = 3
member => Local/200@test,1,Agent Zed,,no,0,yes,training
CONF
start_sim --queues "$TMP/queues.conf"
out=$(AMI_SECRET=amp111 timeout 30 "$AMI" -H 127.0.0.1 -p "$PORT" -u admin action QueueStatus | tr -d '\r')
grep -q '^Queue: helpdesk$' <<<"$out" || { echo "FAIL: helpdesk not listed: $out"; exit 1; }
grep -q '^Queue: support$' <<<"$out" && { echo "FAIL: built-in queue with --queues"; exit 1; }
grep -q '^PausedReason: training$' <<<"$out" || { echo "FAIL: paused member: $out"; exit 1; }
grep -q '^Max: 3$' <<<"$out" || { echo "FAIL: maxlen: $out"; exit 1; }
# QueueAdd without end is refused once a queue has 256 members.
python3 - "$PORT" <<'PY'
import sys
from simlib import *
s = connect(int(sys.argv[1]))
login(s, events="off")
s.sendall(b"".join(action("QueueAdd", ActionID="a%d" % i, Queue="helpdesk",
                          Interface="Local/%d@test" % (1000 + i)) for i in range(300)))
buf, _ = recv_until(s, lambda b: b.count(b"\r\n\r\n") >= 300, 20)
ps = packets(b"x\r\n" + buf)
ok = [p for p in ps if get(p, "Message") == "Added interface to queue"]
oom = [p for p in ps if get(p, "Message") == "Out of memory"]
check(len(ok) == 255 and len(oom) == 45, "member cap: %d added, %d refused" % (len(ok), len(oom)))
done("test_sim_pbx member cap")
PY
printf '[q]\nmember => nonsense\n' >"$TMP/bad.conf"
set +e
"$SIM" --listen 127.0.0.1:0 --queues "$TMP/bad.conf" >/dev/null 2>"$TMP/bad.err"
rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q 'bad.conf:2: bad member' "$TMP/bad.err" ||
    { echo "FAIL: bad queues file: rc=$rc $(cat "$TMP/bad.err")"; exit 1; }
echo "test_sim_pbx --queues: ok"
