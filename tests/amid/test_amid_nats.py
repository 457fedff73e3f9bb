"""amid -> NATS JetStream (issue 14): the [nats] config checks, the stream
created by amid, every event in the stream in order with its
Nats-Msg-Id, NATS killed and restarted mid-stream with nothing lost and
nothing duplicated, events that waited in the ring while NATS was down, and
a ring overrun published as one gap message.

Starts its own nats-server -js (Debian's) on a free loopback port with a
temporary store directory; reads the stream with examples/amid/
nats_consumer (a durable pull consumer: each read resumes where the last
one stopped)."""
import json
import os
import re
import subprocess
import time

from amid_lib import AMID, TMP, Amid, Sim, check, finish, wait_for, write_private
from nats_lib import ACTION, CONSUMER, Nats, Reader, free_port

nats = Nats().start()
write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")


def check_config(text):
    path = os.path.join(TMP, "check.conf")
    write_private(path, text)
    r = subprocess.run([AMID, "-c", path, "--check-config"], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


base = """[amid]
listen = 127.0.0.1:0
%s
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
[nats]
url = %s
max_age = 1h
max_bytes = 64M
%s
"""

# ---------------------------------------------------------- --check-config
rc, out = check_config(base % ("", 5038, "nats://127.0.0.1:4222, nats://127.0.0.2:4222", ""))
check(rc == 0 and "stream AMI" in out and "ami.*.events.>" in out and "max_age 3600s" in out,
      "--check-config accepts [nats] and shows stream, subjects and limits")
rc, out = check_config(base % ("", 5038, "nats://127.0.0.1:4222", "passwrd = x"))
check(rc != 0 and "unknown key 'passwrd'" in out, "--check-config names an unknown [nats] key")
rc, out = check_config(base % ("", 5038, "nats://127.0.0.1:4222", "password = hunter2"))
check(rc != 0 and "password_file" in out and "hunter2" not in out,
      "a password in the config is refused without being echoed")
rc, out = check_config(base % ("", 5038, "nats://amid:hunter2@127.0.0.1:4222", ""))
check(rc != 0 and "credentials in the URL" in out and "hunter2" not in out,
      "credentials in the URL are refused without being echoed")
rc, out = check_config(base % ("", 5038, "http://127.0.0.1:4222", ""))
check(rc != 0 and "[nats] url" in out, "a URL that is not nats:// or tls:// is refused")
rc, out = check_config(base % ("", 5038, "nats://127.0.0.1:4222", "subject_prefix = a.*"))
check(rc != 0 and "subject_prefix" in out, "a wildcard in subject_prefix is refused")
write_private(os.path.join(TMP, "nats.pw"), "s3cret\n", 0o644)
rc, out = check_config(base % ("", 5038, "nats://127.0.0.1:4222",
                               "user = amid\npassword_file = nats.pw"))
check(rc != 0 and "nats.pw" in out and "s3cret" not in out,
      "a password_file readable by others is refused")

# ------------------------------------------------ events, in order, with ids
N1 = 3000
sim = Sim("sim", "--firehose", str(N1))
a = Amid("amid", base % ("max_body_bytes = 16384", sim.port, nats.url(), "ack_timeout = 2000"))
epoch = wait_for(lambda: (re.search(r"epoch=([0-9a-f]+-[0-9a-f]+)", a.log()) or [None, None])[1],
                 "amid's epoch in its log")

seen = []  # every message read from the stream, in stream order


def read_stream():
    r = subprocess.run([CONSUMER, "-s", nats.url(), "--stream", "AMI", "--subject", "ami.>",
                        "--durable", "t", "--drain"], capture_output=True, text=True, timeout=60)
    for line in r.stdout.splitlines():
        seen.append(json.loads(line))
    return r.returncode == 0


def sim_done_count():
    return sum(1 for m in seen if m["subject"] == "ami.pbx1.events.SimDone")


def wait_stream(pred, what, timeout=60):
    def poll():
        read_stream()
        return pred()
    wait_for(poll, what, timeout)


wait_stream(lambda: sim_done_count() >= 1, "the first firehose's SimDone in the stream")
check("nats ready" in a.log(), "amid logs that NATS is ready")


def firehose_events(msgs):
    return [m for m in msgs if "@test-" in json.dumps(m["data"].get("event", {}))]


check(len(firehose_events(seen)) == N1,
      "all %d firehose events are in the stream (got %d)" % (N1, len(firehose_events(seen))))


def check_order(msgs, what):
    ok = True
    prev = 0
    for m in msgs:
        d = m["data"]
        if m.get("msg_id") != "pbx1:%s:%d" % (epoch, d["seq"]) or d["seq"] != prev + 1:
            ok = False
            print("  out of order or bad id: prev %d, %r" % (prev, m.get("msg_id")))
            break
        prev = d["seq"]
        if d.get("type") == "gap":
            if m["subject"] != "ami.pbx1.gap":
                ok = False
        else:
            ev = d["event"]["Event"]
            if m["subject"] != "ami.pbx1.events." + ev.replace("_", "_5F"):
                ok = False
                print("  bad subject %s for %s" % (m["subject"], ev))
                break
    check(ok, what)
    return prev


last = check_order(seen, "sequence 1..%d in stream order, each Nats-Msg-Id pbx1:EPOCH:SEQ "
                   "and subject ami.pbx1.events.<Event>" % len(seen))

# ------------------------------------------ actions over request-reply


def nats_action(subject, body):
    r = subprocess.run([ACTION, "-s", nats.url(), "--timeout", "20000", subject],
                       input=body, capture_output=True, text=True, timeout=60)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, r.stdout + r.stderr


rc, j = nats_action("ami.pbx1.action", '{"Action":"Ping","ActionID":"x1"}')
check(rc == 0 and isinstance(j, dict) and j.get("response", {}).get("Response") == "Success"
      and j.get("status") == 200, "Ping over ami.pbx1.action answers like POST /actions (%r)" % j)
rc, j = nats_action("ami.pbx1.action", '{"Action":"Login","Username":"x","Secret":"y"}')
check(rc == 0 and isinstance(j, dict) and j.get("status") == 403 and j.get("rule") == "reserved",
      "Login over NATS is refused with 403 and the rule (%r)" % j)
rc, j = nats_action("ami.pbx1.action", '{"Action":')
check(rc == 0 and isinstance(j, dict) and j.get("status") == 400 and "bad JSON" in j["error"],
      "invalid JSON over NATS gets 400 (%r)" % j)
rc, j = nats_action("ami.pbx1.action", '{"Action":"Ping","X":"a\r\nAction: Hangup"}')
check(rc == 0 and isinstance(j, dict) and j.get("status") == 400,
      "a CR/LF in a value over NATS gets 400, nothing injected (%r)" % j)
rc, j = nats_action("ami.pbx1.action", "x" * 20000)
check(rc == 0 and isinstance(j, dict) and j.get("status") == 413,
      "a request over max_body_bytes gets 413 (%r)" % (j if isinstance(j, dict) else "?"))
rc, j = nats_action("ami.nosuch.action", '{"Action":"Ping"}')
check(rc != 0 and "responders" in str(j).lower(), "no amid answers for an unknown server")
rec = sim.received()
check("Action: Ping" in rec and "Hangup" not in rec and "Username: x" not in rec,
      "the sim got the Ping and nothing of the refused requests")

# ------------------------------------ NATS killed and restarted mid-stream
N2 = 60000
before = len(seen)
sim.kill()
sim2 = Sim("sim2", "--firehose", str(N2), port=sim.port)
base_total = a.metric("amid_events_total") or 0
# amid has the new connection's events coming in: kill NATS now.
wait_for(lambda: (a.metric("amid_events_total") or 0) > base_total + 500,
         "amid receiving the second firehose")
nats.kill()
t_kill = time.time()
nats.start()
wait_stream(lambda: sim_done_count() >= 2, "the second firehose's SimDone after NATS came back",
            180)
second = seen[before:]
stored_before = sum(1 for m in second if m["ts"] / 1e9 < t_kill)
stored_after = sum(1 for m in second if m["ts"] / 1e9 > t_kill)
check(stored_before > 0 and stored_after > 0,
      "NATS was killed mid-stream: %d of the second firehose stored before the kill, %d after "
      "the restart" % (stored_before, stored_after))
check(len(firehose_events(second)) == N2,
      "after the NATS restart all %d events of the second firehose are in the stream (got %d)"
      % (N2, len(firehose_events(second))))
ids = [m.get("msg_id") for m in seen]
check(len(ids) == len(set(ids)), "no message id twice in the stream (%d messages)" % len(ids))
check(any(m["data"].get("type") == "gap" and m["data"].get("reason") == "pbx_reconnect"
          for m in second), "the PBX reconnect is in the stream as a gap on ami.pbx1.gap")
check_order(seen, "the whole stream is still sequence 1..N in order after the outage")
check("nats publish failed" in a.log() or "nats connection lost" in a.log(),
      "amid logged the outage")
# Resets (a restart from the last acknowledged event) happen only when
# something was in flight at the kill, which the timing decides: the
# connection loss is what the kill always causes.
check((a.metric("amid_nats_connection_losses_total") or 0) >= 1 and
      a.metric("amid_nats_ready") == 1,
      "/metrics counts the lost NATS connection, and NATS ready again")
wait_for(lambda: a.metric("amid_nats_acked_seq") == a.metric("amid_last_seq") and
         a.metric("amid_nats_inflight") == 0, "amid_nats_acked_seq reaching amid_last_seq")
check(a.metric("amid_nats_requests_total") == 5,
      "/metrics counted the 5 NATS action requests to pbx1 (%r)" % a.metric("amid_nats_requests_total"))

# ------------------------------------------ events waiting in the ring
before = len(seen)
nats.kill()
sim2.kill()
N3 = 2000
t2 = a.metric("amid_events_total") or 0
sim3 = Sim("sim3", "--firehose", str(N3), port=sim.port)
wait_for(lambda: (a.metric("amid_events_total") or 0) >= t2 + N3 + 1,
         "amid got the third firehose while NATS is down", 60)
nats.start()
wait_stream(lambda: sim_done_count() >= 3, "the third firehose published once NATS is back", 120)
check(len(firehose_events(seen[before:])) == N3,
      "the %d events received while NATS was down waited in the ring and were published" % N3)
check_order(seen, "still in order, no duplicate, after events waited in the ring")

# --------------------------------------- a ring overrun becomes one gap
sim3.kill()
nats.kill()
sim4 = Sim("sim4", "--firehose", "5000", port=free_port())
b = Amid("amid-small", base.replace("[amid]\n", "[amid]\nring_events = 1000\n") %
         ("", sim4.port, nats.url(), "stream = SMALL\nsubject_prefix = small"))
wait_for(lambda: (b.metric("amid_events_total") or 0) >= 5001, "the small amid got 5001 events")
nats.start()
small = []


def read_small():
    r = subprocess.run([CONSUMER, "-s", nats.url(), "--stream", "SMALL", "--subject", "small.>",
                        "--durable", "s", "--drain"], capture_output=True, text=True, timeout=60)
    small.extend(json.loads(x) for x in r.stdout.splitlines())
    return any(m["subject"] == "small.pbx1.events.SimDone" for m in small)


wait_for(read_small, "the small amid's stream", 120)
gaps = [m for m in small if m["subject"] == "small.pbx1.gap"]
check(len(gaps) == 1 and gaps[0]["data"]["reason"] == "ring" and gaps[0]["data"]["from"] == 1,
      "what the ring lost is one gap message on small.pbx1.gap from seq 1 (%r)"
      % [g["data"] for g in gaps])
if gaps:
    g = gaps[0]["data"]
    rest = [m["data"]["seq"] for m in small if m["subject"] != "small.pbx1.gap"]
    total = int(b.metric("amid_events_total") or 0)
    check(rest == list(range(g["to"] + 1, total + 1)) and len(rest) == 1000,
          "after the gap, the 1000 events the ring held, in order (gap to %d, %d events, "
          "last %s of %d)" % (g["to"], len(rest), rest[-1] if rest else None, total))

# ------------------------- a stream that does not take amid's subjects
c = Amid("amid-wrong", base % ("", sim4.port, nats.url(), "stream = SMALL"))
wait_for(lambda: "does not take the subjects ami.*.events.> and ami.*.gap" in c.log(),
         "amid naming the stream's missing subjects")
check("stream SMALL exists but does not take" in c.log() and "nats ready" not in c.log(),
      "an existing stream without amid's subjects is reported, naming them, and not used")
check(c.stop() == 0, "that amid stops cleanly too")

# ------------------------- SIGTERM: the drain waits for JetStream's acks
sim5 = Sim("sim5", "--firehose", "20000", port=free_port())
e = Amid("amid-drain", base % ("", sim5.port, nats.url(), ""))
ep = wait_for(lambda: (re.search(r"epoch=([0-9a-f]+-[0-9a-f]+)", e.log()) or [None, None])[1],
              "the draining amid's epoch")
wait_for(lambda: (e.metric("amid_events_total") or 0) >= 20001, "amid-drain got 20001 events")
last_seq = int(e.metric("amid_last_seq"))
behind = last_seq - int(e.metric("amid_nats_acked_seq") or 0)
check(e.stop() == 0, "amid-drain stops cleanly on SIGTERM (%d events not yet acknowledged then)"
      % behind)
rd = Reader(nats.url(), "AMI", "ami.>", "drain")
rd.read()
mine = [m["data"]["seq"] for m in rd.msgs if m["data"].get("epoch") == ep]
check(mine == list(range(1, last_seq + 1)),
      "every event amid had received at SIGTERM is in the stream, in order (%d of %d)"
      % (len(mine), last_seq))

# -------------------------------------------------------------- clean stop
check(a.stop() == 0, "amid stops cleanly (SIGTERM) with NATS connected")
check(b.stop() == 0, "the second amid stops cleanly")
nats.kill()

# ------------------------------------------------- a server without JetStream
plain = Nats(js=False, name="plain").start()
d = Amid("amid-nojs", base % ("", sim4.port, plain.url(), ""))
wait_for(lambda: "has no JetStream" in d.log(), "amid saying the server has no JetStream")
check("start it with -js" in d.log(), "a NATS server without JetStream is reported clearly")
check(d.stop() == 0, "amid without JetStream stops cleanly")
plain.kill()

# ------------------------------------------------ user and password_file
auth = Nats(name="auth", extra=["--user", "amid", "--pass", "s3cret-pw"]).start()
write_private(os.path.join(TMP, "good.pw"), "s3cret-pw\n")
write_private(os.path.join(TMP, "bad.pw"), "wrong-pw\n")
f = Amid("amid-auth", base % ("", sim4.port, auth.url(), "user = amid\npassword_file = good.pw"))
wait_for(lambda: "nats ready" in f.log(), "amid logging in to NATS with user/password_file")
check("s3cret-pw" not in f.log(), "user and password_file log in; the password is not logged")
check(f.stop() == 0, "that amid stops cleanly")
g = Amid("amid-badauth", base % ("", sim4.port, auth.url(), "user = amid\npassword_file = bad.pw"))
wait_for(lambda: "cannot connect" in g.log(), "amid refused by NATS")
check("wrong-pw" not in g.log() and "nats ready" not in g.log(),
      "a wrong NATS password is reported (without the password) and nothing is published")
check(g.stop() == 0, "that amid stops cleanly")
auth.kill()
finish()
