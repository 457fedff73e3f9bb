"""amid -> NATS JetStream, restarts and HA (issue 14):

(a) amid stopped (SIGTERM) mid-stream and started again, twice: it logs
    off, reads the PBX to its Goodbye and publishes everything before it
    exits, so the stream holds exactly the firehose events the sim says it
    wrote to each session (its own per-connection count), in order, none
    twice;
(b) two amid instances on one sim (an HA pair) with --timestamp-events:
    every event broadcast while at least one of them was connected is in
    the stream exactly once, also while one of them is killed (SIGKILL)
    or stopped and started again; compared with what a third AMI session
    of its own saw (the sim sends every session the same bytes) and with
    what each amid holds in its ring;
(c) the ids: <server>:<epoch>:<seq> without Timestamp, and
    <server>:ts:<Timestamp>:<sha256 of the AMI headers, 128 bits> with
    one; Amid-Seq carries each instance's own sequence number;
and the drain's bound: with NATS down, SIGTERM stops at drain_timeout and
logs how many events were left unacknowledged.

No fixed sleeps: every wait is a bounded poll on a condition."""
import asyncio
import hashlib
import os
import re
import socket
import subprocess
import threading
import time

from amid_lib import (AMID, TMP, Amid, Sim, check, finish, new_token, recv_json, wait_for,
                      write_private, ws_connect)
from nats_lib import Nats, Reader

nats = Nats().start()
write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")
tok, tok_hash = new_token("ha")

CONF = """[amid]
listen = 127.0.0.1:0
drain_timeout = 60000
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
keepalive = 30000
[token ha]
%s
servers = *
actions = *
events = *
[nats]
url = %s
stream = %s
subject_prefix = %s
ack_timeout = 5000
"""


def write_conf(name, text):
    path = os.path.join(TMP, name)
    write_private(path, text)
    return path


def amid_conf(sim, stream, prefix):
    return CONF % (sim.port, tok_hash, nats.url(), stream, prefix)


def epoch_of(a):
    return wait_for(lambda: (re.search(r"epoch=([0-9a-f]+-[0-9a-f]+)", a.log()) or
                             [None, None])[1], "the epoch in %s's log" % a.name, 60)


def sim_log(sim):
    try:
        return open(os.path.join(TMP, sim.name + ".err")).read()
    except FileNotFoundError:
        return ""


def sim_written(sim):
    """{conn id: firehose events written} for every closed session."""
    return {int(c): int(n) for c, n in
            re.findall(r"conn (\d+) closed, firehose events written (\d+)", sim_log(sim))}


# =================================================== (a) stop and restart
def restart_test():
    N, RATE = 8000, 1500
    sim = Sim("fh", "--firehose", str(N), "--firehose-rate", str(RATE), "--verbose")
    ra = Reader(nats.url(), "RESTART", "rs.>", "a")
    epochs = []

    def run_once(name, to_end):
        a = Amid(name, amid_conf(sim, "RESTART", "rs"))
        ep = epoch_of(a)
        a.wait_up("pbx1", tok)
        if to_end:
            def all_read():
                ra.read()
                return any(m["subject"] == "rs.pbx1.events.SimDone" and m["data"]["epoch"] == ep
                           for m in ra.msgs)
            wait_for(all_read, "%s's whole firehose in the stream" % name, 180)
        else:
            # Mid-stream: a few hundred events in, thousands still to come.
            wait_for(lambda: (a.metric("amid_events_total") or 0) > 600, "%s receiving" % name, 120)
        rc = a.stop(timeout=120)
        log = a.log()
        check(rc == 0 and "logging off the pbx" in log and "drained" in log and
              "cut short" not in log, "%s stops on SIGTERM after logging off and draining (rc %s)"
              % (name, rc))
        check("reason=Goodbye" in log and "pbx closed for the stop" in log and
              "pbx down" not in log,
              "%s read the PBX until its Goodbye, logged as the stop's own close, not a warning"
              % name)
        epochs.append(ep)


    run_once("amid-r1", False)
    run_once("amid-r2", False)
    run_once("amid-r3", True)
    wait_for(lambda: len(sim_written(sim)) >= 3, "the sim logging its three sessions' counts", 60)
    written = [n for _, n in sorted(sim_written(sim).items())]
    check(len(written) == 3 and written[0] < N and written[1] < N and written[2] == N,
          "the first two stopped mid-stream, the third ran to the end (sim wrote %r)" % written)
    ra.read()
    ids = [m.get("msg_id") for m in ra.msgs]
    check(len(ids) == len(set(ids)) and None not in ids,
          "no message id twice in the stream (%d messages)" % len(ids))
    for i, ep in enumerate(epochs):
        mine = [m for m in ra.msgs if m["data"].get("epoch") == ep]
        fh = [m for m in mine if "SimSeq" in m["data"].get("event", {})]
        seqs = [int(m["data"]["event"]["SimSeq"]) for m in fh]
        want = written[i] if i < len(written) else -1
        check(seqs == list(range(1, want + 1)),
              "run %d: the stream holds exactly the %d firehose events the sim wrote to that "
              "session, in order (got %d%s)" % (i + 1, want, len(seqs),
                                                 "" if seqs == sorted(seqs) else ", out of order"))
        check([m["data"]["seq"] for m in mine] == list(range(1, len(mine) + 1)) and
              all(m.get("msg_id") == "pbx1:%s:%d" % (ep, m["data"]["seq"]) for m in mine),
              "(c) run %d: without Timestamp each id is pbx1:EPOCH:SEQ, seq 1..%d in order"
              % (i + 1, len(mine)))
        check(all(m.get("amid_seq") == str(m["data"]["seq"]) for m in mine),
              "(c) run %d: Amid-Seq is the instance's own sequence number" % (i + 1))
    sim.kill()


if not os.environ.get("AMID_TEST_SKIP_RESTART"):  # to debug the HA part alone
    restart_test()

# ================================================================ (b) HA
sim = Sim("ha", "--timestamp-events", "--call-duration", "300")


class Driver:
    """A third AMI session on the sim: drives calls and UserEvents and
    records every event it gets, as the exact bytes the sim sent."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.events = []  # raw event packets, in order
        self.lock = threading.Lock()
        self.stop = False
        self.s.sendall(b"Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: amp111\r\n"
                       b"Events: on\r\n\r\n")
        self.t = threading.Thread(target=self.reader, daemon=True)
        self.t.start()

    def reader(self):
        self.s.settimeout(1)
        while not self.stop:
            try:
                d = self.s.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not d:
                return
            self.buf += d
            while b"\r\n\r\n" in self.buf:
                pkt, self.buf = self.buf.split(b"\r\n\r\n", 1)
                if b"\r\n" in pkt and pkt.startswith(b"Asterisk Call Manager/"):
                    pkt = pkt.split(b"\r\n", 1)[1]  # the banner line
                if pkt.startswith(b"Event: "):
                    with self.lock:
                        self.events.append(pkt)

    def send(self, name, **kw):
        lines = ["Action: " + name] + ["%s: %s" % kv for kv in kw.items()]
        self.s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def stamped(self):
        """(Timestamp, Event) of every stamped event seen, in order."""
        out = []
        with self.lock:
            evs = list(self.events)
        for p in evs:
            lines = p.split(b"\r\n")
            if len(lines) > 2 and lines[2].startswith(b"Timestamp: "):
                out.append((lines[2][11:].decode(), lines[0][7:].decode()))
        return out

    def saw_probe(self, n):
        with self.lock:
            return any(b"\r\nUserEvent: Probe\r\n" in p + b"\r\n" and
                       b"\r\nN: %d\r\n" % n in p + b"\r\n" for p in self.events)


def ha_amid(name):
    a = Amid(name, amid_conf(sim, "HA", "ha"))
    a.wait_up("pbx1", tok)
    return a


A = ha_amid("amid-a")
B = ha_amid("amid-b")
drv = Driver(sim.port)
rb = Reader(nats.url(), "HA", "ha.>", "b")
probe = 0


def drive(calls):
    """Some calls and a UserEvent probe per call; waits until the driver's
    session saw the last probe (so the sim broadcast everything)."""
    global probe
    for _ in range(calls):
        probe += 1
        drv.send("Originate", ActionID="o%d" % probe, Channel="Local/100@test", Context="test",
                 Exten="101", Priority="1", Async="true")
        drv.send("UserEvent", ActionID="u%d" % probe, UserEvent="Probe", N=str(probe))
    last = probe
    wait_for(lambda: drv.saw_probe(last), "the driver seeing probe %d" % last, 120)


def in_stream(pred, what):
    def poll():
        rb.read()
        return pred(rb.msgs)
    wait_for(poll, what, 180)


def probe_in_stream(n):
    return lambda msgs: any(m["data"].get("event", {}).get("UserEvent") == "Probe" and
                            m["data"]["event"].get("N") == str(n) for m in msgs)


drive(15)  # both up
B.proc.kill()  # SIGKILL: what B had not published yet, A publishes
B.proc.wait()
drive(15)  # A alone
B = ha_amid("amid-b2")
drive(15)  # both up again
A.stop(timeout=120)  # SIGTERM: A drains while B goes on
drive(15)  # B alone
A = ha_amid("amid-a2")
drive(15)
# Let every call end, then one last probe closes the window.
wait_for(lambda: sum(1 for _, e in drv.stamped() if e == "Hangup") >= 2 * probe,
         "every call hung up", 120)
drv.send("UserEvent", ActionID="end", UserEvent="End")
wait_for(lambda: any(e == "UserEvent" for _, e in drv.stamped()[-3:]), "the End event", 60)
in_stream(lambda msgs: any(m["data"].get("event", {}).get("UserEvent") == "End" for m in msgs),
          "the End event in the stream")

want = drv.stamped()
got = [(m["data"]["event"].get("Timestamp"), m["data"]["event"].get("Event"))
       for m in rb.msgs if m["data"].get("event", {}).get("Timestamp")]
first = want[0][0]  # the driver's own SuccessfulAuth: the window starts there
got_window = [g for g in got if float(g[0]) >= float(first)]
check(len(got) == len(set(got)), "(b) no event twice in the stream (%d stamped events, %d "
      "distinct)" % (len(got), len(set(got))))
check(set(got_window) == set(want),
      "(b) the stream holds every event the sim broadcast while the pair ran, and nothing "
      "else (%d in the stream, %d seen by a third session; missing %r, extra %r)"
      % (len(set(got_window)), len(set(want)), sorted(set(want) - set(got_window))[:5],
         sorted(set(got_window) - set(want))[:5]))
probes = [int(m["data"]["event"]["N"]) for m in rb.msgs
          if m["data"].get("event", {}).get("UserEvent") == "Probe"]
check(sorted(probes) == list(range(1, probe + 1)),
      "(b) every probe 1..%d exactly once, across a SIGKILL and a SIGTERM of one of the pair "
      "(got %d)" % (probe, len(probes)))
ids = [m.get("msg_id") for m in rb.msgs]
check(len(ids) == len(set(ids)), "(b) no message id twice")


async def ring_of(a):
    """Every event in a's ring (a replay from seq 1 of its epoch)."""
    ep = a.request("GET", "/healthz")[1]["epoch"]
    last = int(a.metric("amid_last_seq"))
    ws = await ws_connect(a, "?server=pbx1&since=%s:0" % ep, token=tok)
    out = []
    while not out or out[-1].get("seq", 0) < last:
        m = await recv_json(ws, 60)
        if m.get("seq"):
            out.append(m)
    await ws.close()
    return out


stream_set = set(got)
for a in (A, B):
    ring = asyncio.run(ring_of(a))
    stamped = {(m["event"]["Timestamp"], m["event"]["Event"]) for m in ring
               if m.get("event", {}).get("Timestamp")}
    check(stamped and stamped <= stream_set,
          "(b) every stamped event %s received (%d) is in the stream" % (a.name, len(stamped)))
    pub = a.metric("amid_nats_published_total") or 0
    check(pub >= len(ring) and a.metric("amid_nats_acked_seq") == a.metric("amid_last_seq"),
          "(b) %s published all %d of its events; JetStream acknowledged them (the pair's "
          "copies as duplicates)" % (a.name, len(ring)))

# (c) the id of a stamped event: pbx1:ts:<Timestamp>:<hash of its AMI headers>
ok, bad = 0, None
for m in rb.msgs:
    ev = m["data"].get("event", {})
    if not ev.get("Timestamp") or any(isinstance(v, list) for v in ev.values()):
        continue  # repeated keys: the JSON no longer has their order
    ami = "".join("%s: %s\r\n" % kv for kv in ev.items()).encode()
    want_id = "pbx1:ts:%s:%s" % (ev["Timestamp"], hashlib.sha256(ami).hexdigest()[:32])
    if m.get("msg_id") == want_id and m.get("amid_seq") == str(m["data"]["seq"]):
        ok += 1
    elif bad is None:
        bad = (m.get("msg_id"), want_id)
check(ok > 100 and bad is None,
      "(c) with Timestamp the id is pbx1:ts:<Timestamp>:<first 128 bits of the SHA-256 of the "
      "AMI headers> and Amid-Seq the instance's seq (%d checked, first mismatch %r)" % (ok, bad))
unstamped = [m for m in rb.msgs if m["data"].get("event") and
             not m["data"]["event"].get("Timestamp")]
check(unstamped and all(re.match(r"pbx1:[0-9a-f]+-[0-9a-f]+:\d+$", m.get("msg_id", ""))
                        for m in unstamped),
      "(c) an event without Timestamp (a login's FullyBooted, one per session) keeps "
      "pbx1:EPOCH:SEQ (%d)" % len(unstamped))

drv.stop = True
for a in (A, B):
    check(a.stop(timeout=120) == 0, "%s stops cleanly" % a.name)
sim.kill()

# ========================================== the drain's bound, and its log
rc = subprocess.run([AMID, "-c", write_conf("bad.conf", CONF.replace(
    "drain_timeout = 60000", "drain_timeout = 0") % (1, tok_hash, nats.url(), "X", "x")),
    "--check-config"], capture_output=True, text=True)
check(rc.returncode != 0 and "drain_timeout" in rc.stdout + rc.stderr,
      "--check-config refuses drain_timeout = 0, naming the key")
rc = subprocess.run([AMID, "-c", write_conf("good.conf", CONF % (1, tok_hash, nats.url(), "X", "x")),
                     "--check-config"], capture_output=True, text=True)
check(rc.returncode == 0 and "drain: at most 60000 ms" in rc.stdout,
      "--check-config shows the drain's bound")
nats.kill()  # NATS away: what amid receives stays unacknowledged
sim = Sim("cut", "--firehose", "500")
c = Amid("amid-cut", amid_conf(sim, "CUT", "cut").replace("drain_timeout = 60000",
                                                          "drain_timeout = 1500"))
wait_for(lambda: (c.metric("amid_events_total") or 0) >= 501, "amid-cut receiving", 60)
t0 = time.monotonic()
rc = c.stop(timeout=120)
took = time.monotonic() - t0
m = re.search(r"drain cut short by drain_timeout.*unpublished=(\d+)", c.log())
check(rc == 0 and m and int(m.group(1)) >= 501 and "drain cut short: server not finished" in
      c.log() and took < 60, "with NATS down the drain stops at drain_timeout and logs the %s "
      "unacknowledged events (rc %s, %.1f s)" % (m.group(1) if m else "?", rc, took))
finish()
