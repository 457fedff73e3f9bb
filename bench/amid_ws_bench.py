#!/usr/bin/env python3
"""amid WebSocket fan-out, one run, side by side with `ami events --format
ndjson` on the same firehose:
  - amid's ingest rate (ami-sim --firehose N into the ring, no subscriber),
  - K = 1, 10, 100 WebSocket subscribers replaying the whole ring at once
    (since=EPOCH:0), each reading every event (Python websockets clients in
    one asyncio process: they bound the figure, not amid; amid's CPU time
    per delivered event is reported from /proc),
  - `ami events --format ndjson > /dev/null` on a fresh firehose.
Usage: bench/amid_ws_bench.py BUILD_DIR [N]   (e.g. build/bench 200000)"""
import asyncio
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "amid"))
build = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
os.environ["AMID_BIN"] = os.path.join(build, "tools", "amid")
os.environ["AMI_SIM_BIN"] = os.path.join(build, "tools", "ami-sim")
import amid_lib as L  # noqa: E402
from proc_stats import cpu_s  # noqa: E402

L.AMID, L.SIM = os.environ["AMID_BIN"], os.environ["AMI_SIM_BIN"]


sim = L.Sim("fire", "--firehose", str(N))
L.write_private(os.path.join(L.TMP, "s"), "amp111\n")
tok, h = L.new_token("b")
a = L.Amid("amid", """[amid]
listen = 127.0.0.1:0
ring_events = %d
ring_bytes = 2048M
client_queue_bytes = 64M
[server fire]
host = 127.0.0.1
port = %d
username = admin
secret_file = s
[token b]
%s
servers = *
actions = *
events = *
""" % (N + 100, sim.port, h))
t0 = time.monotonic()
L.wait_for(lambda: (a.metric("amid_last_seq") or 0) >= N + 1, "ingest", 600)
ingest = time.monotonic() - t0
epoch = a.request("GET", "/healthz")[1]["epoch"]
print("| what | figure |\n| --- | --- |")
print("| amid ingest (firehose into the ring, login included) | %.0f events/s |" % (N / ingest))


async def sub(counts, i):
    ws = await L.ws_connect(a, "?server=fire&since=%s:0" % epoch, token=tok, max_queue=4096,
                              ping_interval=None)
    n = 0
    while True:
        m = await ws.recv()
        n += 1
        if '"SimDone"' in m:
            break
    counts[i] = n
    await ws.close()


for k in (1, 10, 100):
    counts = [0] * k
    c0 = cpu_s(a.proc.pid)
    t = time.monotonic()
    async def all_subs():
        await asyncio.wait_for(asyncio.gather(*(sub(counts, i) for i in range(k))), 1200)
    asyncio.run(all_subs())
    wall = time.monotonic() - t
    cpu = cpu_s(a.proc.pid) - c0
    total = sum(counts)
    print("| %d subscriber(s), replay of %d events each | %.0f events/s each, %.0f delivered/s in all, "
          "amid CPU %.2f us per delivered event |" % (k, N, counts[0] / wall, total / wall, cpu / total * 1e6))

sim2 = L.Sim("fire2", "--firehose", str(N))
tool = os.path.join(build, "tools", "ami")
t = time.monotonic()
subprocess.run([tool, "-H", "127.0.0.1", "-p", str(sim2.port), "-u", "admin", "events", "--format",
                "ndjson", "--until", "Event=SimDone"], stdout=subprocess.DEVNULL, check=True,
               env=dict(os.environ, AMI_SECRET="amp111"))
print("| `ami events --format ndjson > /dev/null`, same N | %.0f events/s |" % (N / (time.monotonic() - t)))
a.stop()
