"""amid -> a three-node JetStream cluster on loopback (issue 14): amid is
given the three URLs and replicas = 3, creates the stream (retrying until
the cluster has elected its meta leader), and one node is killed while a
firehose is being published: every event is in the stream once, in order,
read back from a surviving node."""
import os
import re

from amid_lib import TMP, Amid, Sim, check, finish, wait_for, write_private
from nats_lib import Nats, Reader, free_port

cports = [free_port() for _ in range(3)]
nodes = []
for i in range(3):
    routes = ",".join("nats://127.0.0.1:%d" % p for j, p in enumerate(cports) if j != i)
    nodes.append(Nats(name="c%d" % i, extra=[
        "--name", "c%d" % i, "--cluster_name", "amitest",
        "--cluster", "nats://127.0.0.1:%d" % cports[i], "--routes", routes]))
for n in nodes:
    n.start()

write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")
N = 40000
sim = Sim("sim", "--firehose", str(N))
conf = """[amid]
listen = 127.0.0.1:0
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
[nats]
url = %s
replicas = 3
ack_timeout = 2000
""" % (sim.port, ", ".join(n.url() for n in nodes))
a = Amid("amid", conf)
epoch = wait_for(lambda: (re.search(r"epoch=([0-9a-f]+-[0-9a-f]+)", a.log()) or [None, None])[1],
                 "amid's epoch")
try:
    wait_for(lambda: "nats ready" in a.log(), "amid creating the R3 stream on the cluster", 90)
except AssertionError:
    print(a.log()[-3000:])
    print(open(os.path.join(TMP, "nats-c1-1.log")).read()[-3000:])
    raise
check(a.metric("amid_nats_ready") == 1, "amid is ready on the cluster (stream with 3 replicas)")
# Kill a node while the firehose is being published.
wait_for(lambda: (a.metric("amid_nats_acked_seq") or 0) > 500, "the first events acknowledged", 60)
acked_at_kill = a.metric("amid_nats_acked_seq")
nodes[0].kill()
check(acked_at_kill < N, "node c0 killed mid-stream (%d of %d acknowledged)" % (acked_at_kill, N))

r = Reader(nodes[1].url(), "AMI", "ami.>", "t")


def done():
    r.read()
    return any(m["subject"] == "ami.pbx1.events.SimDone" for m in r.msgs)


try:
    wait_for(done, "SimDone in the stream, read from c1", 240)
except AssertionError:
    # What amid was doing, for the report: its log's end and its NATS and
    # bucket metrics (the state of the window, reconnects, bucket jobs).
    print(a.log()[-4000:])
    _, _, text, _ = a.request("GET", "/metrics")
    print("\n".join(x for x in text.decode().splitlines() if x.startswith("amid_nats")))
    print("stream messages read from c1: %d" % len(r.msgs))
    raise
fire = [m for m in r.msgs if m["data"].get("event", {}).get("Channel", "").find("@test-") > 0]
check(len(fire) == N, "all %d firehose events are in the stream (got %d)" % (N, len(fire)))
ids = [m.get("msg_id") for m in r.msgs]
check(len(ids) == len(set(ids)), "no message id twice (%d messages)" % len(ids))
seqs = [m["data"]["seq"] for m in r.msgs]
check(seqs == list(range(1, len(seqs) + 1)) and
      all(m["msg_id"] == "pbx1:%s:%d" % (epoch, m["data"]["seq"]) for m in r.msgs),
      "sequence 1..%d in stream order with their Nats-Msg-Id" % len(seqs))
a.check_stops("amid")
for n in nodes[1:]:
    n.kill()
finish()
