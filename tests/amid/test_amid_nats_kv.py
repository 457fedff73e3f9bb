"""amid's live state in a NATS key-value bucket (issue 14): one key per
object, holding its JSON, deleted when the object goes. The bucket, read
without amid by examples/amid/nats_kv_dump, must equal
GET /v1/servers/pbx1/state at every quiet point: after calls start (queue
callers connected and waiting, a bridged call, a parked call, a dynamic
member whose interface needs escaping), after some hang up (their keys
deleted), while a watcher follows it, after the sim is killed and
restarted with other queues, after amid is killed and restarted against
yet another PBX state (the previous run's keys reconciled away, with a
dirty-key bound small enough to overflow), and after NATS restarts, with
its store kept and with it wiped (the bucket made again and refilled);
and an amid whose PBX is never up stops cleanly with a bucket it never
wrote.

Starts its own nats-server -js on a free loopback port; the sim keeps its
calls up until they are hung up (--call-duration 10 min), so every point
is quiet once the state is."""
import json
import os
import shutil
import signal
import socket
import subprocess

from amid_lib import AMID, TMP, Amid, Sim, check, finish, new_token, wait_for, write_private
from nats_lib import Nats

KV_DUMP = os.environ["NATS_KV_DUMP_BIN"]
LONG = ["--call-duration", "600000"]

nats = Nats().start()
write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")
tok, tok_hash = new_token("all")

conf = """[amid]
listen = 127.0.0.1:0
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
[token all]
%s
servers = *
actions = *
events = *
[nats]
url = %s
ack_timeout = 2000
%s
"""


def check_config(extra):
    path = os.path.join(TMP, "check.conf")
    write_private(path, conf % (5038, tok_hash, "nats://127.0.0.1:4222", extra))
    r = subprocess.run([AMID, "-c", path, "--check-config"], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


# ---------------------------------------------------------- --check-config
rc, out = check_config("")
check(rc == 0 and "kv bucket ami_state" in out and "100000 keys waiting" in out,
      "--check-config shows the default bucket ami_state and kv_max_pending (%s)" % out.strip())
rc, out = check_config("kv_bucket =")
check(rc == 0 and "kv bucket: none" in out, "an empty kv_bucket means no bucket")
rc, out = check_config("kv_bucket = a.b")
check(rc != 0 and "kv_bucket" in out, "a kv_bucket that is no bucket name is refused")
rc, out = check_config("kv_max_pending = 0")
check(rc != 0 and "kv_max_pending" in out, "kv_max_pending = 0 is refused")
rc, out = check_config("kv_delete_markers = 0")
check(rc != 0 and "kv_delete_markers" in out, "kv_delete_markers = 0 is refused")
rc, out = check_config("kv_delete_markers = 2h")
check(rc == 0 and "delete markers purged after 7200s" in out, "kv_delete_markers = 2h is shown")


# ------------------------------------------------------------ the mapping
def esc(s):
    """amid's rule for one key token: A-Z a-z 0-9 - _ / stay, every other
    byte is =XX (upper-case hex), the empty string is a lone '='."""
    b = s.encode()
    if not b:
        return "="
    return "".join(chr(c) if (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c in b"-_/")
                   else "=%02X" % c for c in b)


def expected(state, server="pbx1"):
    """The bucket GET /v1/servers/S/state says there must be: one key per
    object, without a bridge's Channels or a queue's members and callers
    (they have keys, or a BridgeId, of their own)."""
    out = {}
    p = server + "."
    for c in state["channels"]:
        out[p + "channel." + esc(c["Uniqueid"])] = c
    for b in state["bridges"]:
        out[p + "bridge." + esc(b["BridgeUniqueid"])] = {k: v for k, v in b.items()
                                                         if k != "Channels"}
    for q in state["queues"]:
        out[p + "queue." + esc(q["Queue"])] = {k: v for k, v in q.items()
                                              if k not in ("members", "callers")}
        for m in q["members"]:
            out[p + "queue.%s.member.%s" % (esc(m["Queue"]), esc(m["Interface"]))] = m
        for c in q["callers"]:
            out[p + "queue.%s.caller.%s" % (esc(c["Queue"]), esc(c["Uniqueid"]))] = c
    for k in state["parked"]:
        out[p + "parked.%s.%s" % (esc(k["Parkinglot"]), esc(k["ParkingSpace"]))] = k
    for d in state["devices"]:
        out[p + "device." + esc(d["Device"])] = d
    return out


check(esc("1700000000.12") == "1700000000=2E12" and esc("Local/200@test") == "Local/200=40test"
      and esc("") == "=" and esc("a=b") == "a=3Db", "the escaping rule as documented")

a = None  # the amid under test


def get_state():
    st, j, _, _ = a.request("GET", "/v1/servers/pbx1/state", token=tok)
    return j if st == 200 else None


def uniqueids():
    st = get_state()
    return {c["Uniqueid"] for c in st["channels"]} if st else set()


def dump(deleted=False):
    r = subprocess.run([KV_DUMP, "-s", nats.url(), "--keys", "pbx1.>"] +
                       (["--deleted"] if deleted else []), capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def converged(what, pred=lambda st: True, timeout=120):
    """Waits until the bucket equals the state (and the state is what the
    step expects); prints the difference when it never does."""
    last = {}

    def same():
        st = get_state()
        kv = dump()
        last["st"], last["kv"] = st, kv
        return st is not None and kv is not None and pred(st) and expected(st) == kv
    try:
        wait_for(same, what, timeout)
    except AssertionError:
        st, kv = last.get("st"), last.get("kv")
        if st is not None and kv is not None:
            exp = expected(st)
            print("  only in the state: %s" % sorted(set(exp) - set(kv)))
            print("  only in the bucket: %s" % sorted(set(kv) - set(exp)))
            print("  different: %s" % sorted(k for k in exp if k in kv and exp[k] != kv[k]))
        print("  pred on the state: %s" % (pred(st) if st is not None else "no state"))
        if st is not None:
            print("  state: %s" % json.dumps(st)[:4000])
        return check(False, what), st, kv
    return check(True, what), last["st"], last["kv"]


def action(body):
    st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", body, token=tok)
    assert st == 200, (body, st, j)
    return j


def originate(exten, app=True):
    body = {"Action": "Originate", "Channel": "Local/%s@test" % exten, "Async": "true"}
    if app:
        body.update({"Application": "Wait", "Data": "600"})
    else:
        body.update({"Context": "test", "Exten": exten, "Priority": "1"})
    action(body)


def queue(st, name):
    return ([q for q in st["queues"] if q["Queue"] == name] or [None])[0]


def metric(name):
    return a.metric(name) or 0


# ------------------------------------------------- calls start: the bucket
sim = Sim("sim", *LONG)
a = Amid("amid", conf % (sim.port, tok_hash, nats.url(), ""))
a.wait_up("pbx1", tok)
converged("the bucket holds the idle PBX's state (queues, members, devices)",
          lambda st: queue(st, "support") is not None)
check("nats kv ready" in a.log() and "nats kv reconcile" in a.log(),
      "amid logged the bucket ready and its first reconcile")

for _ in range(3):
    originate("300")  # Queue(support): Alice, then Bob, then a caller waiting
originate("100", app=False)  # a bridged Local pair, to be parked
action({"Action": "QueueAdd", "Queue": "sales", "Interface": "PJSIP/agent.eu=1",
        "MemberName": "Agent Dot", "Penalty": "2"})
action({"Action": "QueuePause", "Queue": "sales", "Interface": "Local/202@test",
        "Paused": "false"})


def parkee(st):
    return [c["Channel"] for c in st["channels"] if c["Exten"] == "100" and
            c["Channel"].endswith(";2") and c.get("BridgeId")]


wait_for(lambda: get_state() and parkee(get_state()), "the call to 100 bridged", 90)
action({"Action": "Park", "Channel": parkee(get_state())[0], "Timeout": "600000"})


def busy(st):
    s = queue(st, "support")
    return (s and len(s["callers"]) == 1 and len(st["parked"]) == 1 and
            any(m["Interface"] == "PJSIP/agent.eu=1" for m in queue(st, "sales")["members"]) and
            any(m["Paused"] == "0" for m in queue(st, "sales")["members"]
                if m["Interface"] == "Local/202@test") and
            sum(1 for c in st["channels"] if c.get("BridgeId")) >= 5)


ok, st, kv = converged("calls up: the bucket equals GET /v1/servers/pbx1/state (two queue calls, "
                       "a caller waiting, a parked call, a new member, one unpaused)", busy)
if ok:
    caller = queue(st, "support")["callers"][0]
    check("pbx1.queue.support.caller." + esc(caller["Uniqueid"]) in kv and
          "." not in esc(caller["Uniqueid"]),
          "the waiting caller's key: its Uniqueid's '.' escaped, one token")
    check("pbx1.queue.sales.member.PJSIP/agent=2Eeu=3D1" in kv,
          "the new member's key: queue.sales.member.PJSIP/agent=2Eeu=3D1")
    check(any(k.startswith("pbx1.parked.default.7") for k in kv), "the parked call's key")
    bridged = {}
    for c in st["channels"]:
        if c.get("BridgeId"):
            bridged.setdefault(c["BridgeId"], set()).add(c["Channel"])
    check(all(bridged.get(b["BridgeUniqueid"], set()) == set(b["Channels"])
              for b in st["bridges"]),
          "a bridge's channels are the channels whose BridgeId names it (why the bridge's key "
          "has no Channels)")
    check(all(not k.startswith("pbx1.bridge.") or "Channels" not in v for k, v in kv.items()) and
          all(not k.startswith("pbx1.queue.") or "members" not in v for k, v in kv.items()),
          "bridge and queue values carry no child lists")

# ------------------------------------------------ some hang up: keys deleted
st = get_state()
waiting = queue(st, "support")["callers"][0]
alice_call = [c for c in st["channels"] if c["Exten"] == "300" and c["Channel"].endswith(";1")][0]
gone = ["pbx1.queue.support.caller." + esc(waiting["Uniqueid"]),
        "pbx1.channel." + esc(waiting["Uniqueid"]),
        "pbx1.queue.sales.member.PJSIP/agent=2Eeu=3D1"]
action({"Action": "Hangup", "Channel": waiting["Channel"]})
action({"Action": "Hangup", "Channel": alice_call["Channel"]})
action({"Action": "QueueRemove", "Queue": "sales", "Interface": "PJSIP/agent.eu=1"})


def fewer(st):
    s = queue(st, "support")
    return (s and not s["callers"] and
            not any(c["Uniqueid"] in (waiting["Uniqueid"], alice_call["Uniqueid"])
                    for c in st["channels"]) and
            not any(m["Interface"] == "PJSIP/agent.eu=1" for m in queue(st, "sales")["members"]))


ok, st, kv = converged("after hang-ups and a QueueRemove the bucket equals the state again", fewer)
check(ok and not any(k in kv for k in gone), "the hung-up caller's, its channel's and the removed "
      "member's keys are deleted")
check(metric("amid_nats_kv_deletes_total") >= 3 and metric("amid_nats_kv_puts_total") > 20,
      "/metrics counts puts and deletes")

# ----------------------------------------------------- a watcher follows it
wout = os.path.join(TMP, "watch.out")
watcher = subprocess.Popen([KV_DUMP, "-s", nats.url(), "--keys", "pbx1.channel.*", "--watch"],
                           stdout=open(wout, "w"), stderr=subprocess.DEVNULL)


def watched():
    return [json.loads(x) for x in open(wout).read().splitlines() if x.strip()]


wait_for(lambda: any(m["op"] == "ready" for m in watched()), "the watcher's current values", 90)
before = uniqueids()
originate("wait", app=False)
wait_for(lambda: len(uniqueids() - before) == 2, "the new call's channels", 90)
new = sorted(uniqueids() - before)
wait_for(lambda: {m.get("id") for m in watched() if m["op"] == "put" and
                  m.get("kind") == "channel"} >= set(new), "the watcher seeing both new channels",
         90)
action({"Action": "Hangup", "Channel": [c["Channel"] for c in get_state()["channels"]
                                        if c["Uniqueid"] == new[0]][0]})
wait_for(lambda: {m.get("id") for m in watched() if m["op"] == "del"} >= set(new),
         "the watcher seeing both channels deleted", 90)
w = watched()
put = [m for m in w if m["op"] == "put" and m.get("id") == new[0]][-1]
check(put["key"] == "pbx1.channel." + esc(new[0]) and put["server"] == "pbx1" and
      put["value"]["Uniqueid"] == new[0], "a watch gives put and del per channel, the id "
      "decoded from the key by the documented rule (%r)" % put)
watcher.kill()
watcher.wait()
converged("quiet again after the watched call", lambda st: not set(new) & {
    c["Uniqueid"] for c in st["channels"]})

# ------------------------------------- the sim restarted with other queues
queues2 = os.path.join(TMP, "queues2.conf")
with open(queues2, "w") as f:
    f.write("[helpdesk.eu]\nstrategy = rrmemory\nmember => Local/210@test,0,Desk One\n"
            "member => PJSIP/desk two,1,Desk Two\n")
def pbx_restart(name, *args):
    """Kills the sim and starts another on its port; returns once amid
    logged in to the new one."""
    global sim
    logins = metric("amid_reconnects_total")
    sim.kill()
    sim = Sim(name, *args, port=sim.port)
    wait_for(lambda: metric("amid_reconnects_total") > logins, "amid logged in to " + name, 120)
    a.wait_up("pbx1", tok)


pbx_restart("sim2", "--queues", queues2, *LONG)
originate("301")  # Queue(sales): no such queue now; the call itself stays


def other_pbx(st):
    return (queue(st, "helpdesk.eu") is not None and queue(st, "support") is None and
            not st["parked"])


ok, st, kv = converged("after the sim restarted with other queues the bucket equals the new "
                       "state", other_pbx)
check(ok and not any(k.startswith(("pbx1.queue.support", "pbx1.queue.sales", "pbx1.parked."))
                     for k in kv) and "pbx1.queue.helpdesk=2Eeu" in kv and
      "pbx1.queue.helpdesk=2Eeu.member.PJSIP/desk=20two" in kv,
      "the vanished queues', members' and parked call's keys are gone; the new queue's "
      "'.' and the member's space are escaped")

# ---------------- amid killed and restarted: the previous run's keys go
a.proc.kill()
a.proc.wait()
sim.kill()
sim = Sim("sim3", *LONG, port=sim.port)  # the default queues again, no calls
stale = [k for k in dump() or {} if "helpdesk" in k]
check(len(stale) >= 3, "the killed amid left its keys in the bucket (%d of helpdesk.eu)" %
      len(stale))
a = Amid("amid2", conf % (sim.port, tok_hash, nats.url(), "kv_max_pending = 4"))
a.wait_up("pbx1", tok)
originate("300")
ok, st, kv = converged("a new amid reconciles the bucket: the previous run's keys of objects "
                       "the PBX no longer has are deleted",
                       lambda st: queue(st, "support") is not None and
                       queue(st, "helpdesk.eu") is None and
                       any(c["Exten"] == "300" for c in st["channels"]))
check(ok and not any("helpdesk" in k for k in kv), "no helpdesk.eu key left")

# A resync's list results change many objects at once: more than 4 keys
# wait, the dirty set is dropped and a full reconcile writes the state.
reconciles = metric("amid_nats_kv_reconciles_total")
pbx_restart("sim4", "--queues", queues2, *LONG)
converged("after a resync that overflowed kv_max_pending = 4 the bucket equals the state",
          other_pbx)
check(metric("amid_nats_kv_overflows_total") >= 1 and
      metric("amid_nats_kv_reconciles_total") > reconciles,
      "the overflow is counted (%d) and a full reconcile (%d) wrote the state instead"
      % (metric("amid_nats_kv_overflows_total"), metric("amid_nats_kv_reconciles_total")))
check("too many keys waiting" in a.log(), "the overflow is logged")
wait_for(lambda: metric("amid_nats_kv_pending") == 0 and metric("amid_nats_kv_inflight") == 0 and
         metric("amid_nats_kv_reconcile_wanted") == 0, "nothing pending at the quiet point", 90)

# ----------------------------------------- NATS restarted, store kept
originate("wait", app=False)
converged("a call up before the NATS outage",
          lambda st: sum(1 for c in st["channels"] if c["Exten"] == "wait") == 2)
nats.kill()
originate("100", app=False)  # changes while NATS is down
hang = [c for c in get_state()["channels"] if c["Exten"] == "wait"][0]
action({"Action": "Hangup", "Channel": hang["Channel"]})
wait_for(lambda: "nats connection lost" in a.log() or "nats not ready" in a.log(),
         "amid noticing NATS gone", 90)
nats.start()
converged("NATS restarted: the changes made while it was down reach the bucket",
          lambda st: any(c["Exten"] == "100" for c in st["channels"]) and
          not any(c["Uniqueid"] == hang["Uniqueid"] for c in st["channels"]))
dk = dump(deleted=True) or {}
check("pbx1.channel." + esc(hang["Uniqueid"]) in dk and
      dk["pbx1.channel." + esc(hang["Uniqueid"])] is None,
      "a deleted key leaves a delete marker (watchers see the delete by it)")

# --------------------------------------- NATS restarted, store wiped
nats.kill()
shutil.rmtree(nats.store, ignore_errors=True)
nats.start()
reconciles = metric("amid_nats_kv_reconciles_total")
converged("NATS restarted with an empty store: amid makes the bucket again and fills it",
          lambda st: len(st["channels"]) > 0)
check(metric("amid_nats_kv_reconciles_total") > reconciles and metric("amid_nats_ready") == 1,
      "NATS ready again, and the bucket refilled by a reconcile")

# ----------------------------------------- old delete markers are purged
rc = a.stop(signal.SIGTERM)
check(rc == 0, "amid2 stops cleanly on SIGTERM (exit %d)" % rc)
a = Amid("amid3", conf % (sim.port, tok_hash, nats.url(), "kv_delete_markers = 1s"))
a.wait_up("pbx1", tok)
originate("wait", app=False)
ok, st, kv = converged("amid3 (kv_delete_markers = 1s) keeps the bucket equal to the state",
                       lambda st: sum(1 for c in st["channels"] if c["Exten"] == "wait") == 2)
ends = [c for c in st["channels"] if c["Exten"] == "wait"]
action({"Action": "Hangup", "Channel": ends[0]["Channel"]})
marker_keys = ["pbx1.channel." + esc(c["Uniqueid"]) for c in ends]


def purged():
    dk = dump(deleted=True)
    return dk is not None and not any(k in dk for k in marker_keys) and \
        not any(v is None for v in dk.values())


wait_for(purged, "the hung-up call's delete markers purged", 120)
check(True, "delete markers older than kv_delete_markers are purged (no deleted key left)")
converged("after the purge the bucket still equals the state",
          lambda st: not any(c["Exten"] == "wait" for c in st["channels"]))

# ------------------------------------------ no bucket when kv_bucket is empty
sim4 = Sim("sim4")
b = Amid("amid-nokv", conf % (sim4.port, tok_hash, nats.url(),
                             "kv_bucket =\nstream = NOKV\nsubject_prefix = nokv"))
b.wait_up("pbx1", tok)
wait_for(lambda: b.metric("amid_nats_ready") == 1, "the bucket-less amid connected", 90)
r = subprocess.run([KV_DUMP, "-s", nats.url(), "--bucket", "nosuch"], capture_output=True,
                   text=True, timeout=60)
check(b.metric("amid_nats_kv_puts_total") is None and r.returncode != 0,
      "kv_bucket empty: no bucket metrics; a missing bucket is an error for the reader")

# ------------------------- a bucket never written to (its PBX never up)
# Its write context never published: libnats 3.4.1 crashes when asked for
# the pending list of such a context, which amid's stop used to do.
held = socket.socket()  # bound, never listening: refused, and no one else's
held.bind(("127.0.0.1", 0))
c = Amid("amid-never", conf % (held.getsockname()[1], tok_hash, nats.url(),
                               "stream = NEVER\nsubject_prefix = never\nkv_bucket = never"))
wait_for(lambda: "nats kv ready" in c.log(), "amid-never's bucket ready", 90)
check(c.metric("amid_nats_kv_puts_total") == 0, "no PBX up: nothing written to the bucket")
for d, what in ((c, "amid with a PBX never up and an unwritten bucket"),
                (b, "the bucket-less amid"), (a, "amid with the bucket")):
    d.check_stops(what + " on SIGTERM")
finish()
