#!/usr/bin/env python3
"""amid into NATS JetStream at scale (issue 14), one table:
  1. P simulated PBXs (one ami-sim; amid opens one AMI connection per
     [server] section, and each connection gets its own paced firehose of R
     events/s with SimSeq/SimSentUs stamps) into one amid, published to a
     JetStream stream on a local nats-server -js (file storage), read by a
     durable pull consumer (bench/nats_sink, AckAll per batch) that counts
     every event once, checks each server's sequence, and takes the latency
     from the sim's write to its own read. amid CPU (share of one core) and
     peak RSS from /proc; nats-server's CPU beside it.
  2. The largest steady rate: the same with R raised step by step until a
     step loses an event, falls behind (consumer rate under 95% of offered)
     or its p99 passes 1 s; the last step that held is the figure.
Usage: bench/nats_bench.py BUILD_DIR [PBXS] [RATE] [SECONDS]
(defaults 100 PBXs, 1000 events/s each, 20 s; AMID_NATS_BENCH_STEPS, a
comma-separated list of rising per-PBX rates for part 2, default
"200,300,400,500,700"; empty skips part 2; AMID_NATS_BENCH_KV=0 runs amid
without the state bucket). Needs nats-server (Debian's nats-server) and a
build with libnats (BUILD_DIR/bench/nats_sink)."""
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "amid"))
build = os.path.abspath(sys.argv[1])
PBXS = int(sys.argv[2]) if len(sys.argv) > 2 else 100
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
SECS = int(sys.argv[4]) if len(sys.argv) > 4 else 20
STEPS = [int(x) for x in os.environ.get("AMID_NATS_BENCH_STEPS", "200,300,400,500,700").split(",")
         if x.strip()]
# AMID_NATS_BENCH_KV=0: without the state bucket (kv_bucket empty), to
# see what mirroring the state costs.
KV = os.environ.get("AMID_NATS_BENCH_KV", "1") != "0"
os.environ["AMID_BIN"] = os.path.join(build, "tools", "amid")
os.environ["AMI_SIM_BIN"] = os.path.join(build, "tools", "ami-sim")
os.environ.setdefault("NATS_CONSUMER_BIN", os.path.join(build, "examples", "nats_consumer"))
os.environ.setdefault("NATS_ACTION_BIN", os.path.join(build, "examples", "nats_action"))
import amid_lib as L  # noqa: E402
from proc_stats import cpu_s, fields, status_kib  # noqa: E402
import nats_lib  # noqa: E402

L.AMID, L.SIM = os.environ["AMID_BIN"], os.environ["AMI_SIM_BIN"]
SINK = os.path.join(build, "bench", "nats_sink")
for p in (SINK, L.AMID, L.SIM):
    if not os.access(p, os.X_OK):
        sys.exit("nats_bench: %s missing (build %s with libnats-dev first)" % (p, build))
if not shutil.which(nats_lib.NATS_SERVER):
    sys.exit("nats_bench: nats-server missing (apt-get install nats-server)")

L.write_private(os.path.join(L.TMP, "s"), "amp111\n")
ROWS = []


def run_one(pbxs, rate, secs, tag):
    """One measured run; returns a dict of figures."""
    print("nats_bench: %d PBXs x %d events/s for %d s" % (pbxs, rate, secs), file=sys.stderr)
    per = rate * secs
    nats = nats_lib.Nats(name="bench-" + tag).start()
    sim = L.Sim("bench-" + tag, "--firehose", str(per), "--firehose-rate", str(rate))
    servers = "".join("""[server pbx%03d]
host = 127.0.0.1
port = %d
username = admin
secret_file = s
""" % (i, sim.port) for i in range(pbxs))
    a = L.Amid("bench-" + tag, """[amid]
listen = 127.0.0.1:0
ring_events = 1000000
%s[nats]
url = %s
max_inflight = 1000
%s
""" % (servers, nats.url(), "" if KV else "kv_bucket ="))
    L.wait_for(lambda: "nats ready" in a.log(), "amid nats ready", 120)
    sink = subprocess.Popen([SINK, "-s", nats.url(), "--stream", "AMI", "--subject",
                             "ami.*.events.>", "--durable", "bench", "--expect",
                             str(per * pbxs), "--idle", "30"],
                            stdout=subprocess.PIPE, text=True)
    L.PROCS.append(sink)
    sink.stdout.readline()  # "ready 1": the consumer exists
    c0, n0, t0 = cpu_s(a.proc.pid), cpu_s(nats.proc.pid), time.monotonic()
    rss_peak = 0
    while sink.poll() is None:
        rss_peak = max(rss_peak, status_kib(a.proc.pid, "VmRSS"))
        time.sleep(0.5)  # sampling interval of the RSS probe, not a wait for a condition
    c1, n1, t1 = cpu_s(a.proc.pid), cpu_s(nats.proc.pid), time.monotonic()
    f = fields(sink.stdout.read())
    f.update(offered=per * pbxs, amid_cpu=(c1 - c0) / (t1 - t0) * 100,
             nats_cpu=(n1 - n0) / (t1 - t0) * 100, rss_kib=rss_peak,
             hwm_kib=status_kib(a.proc.pid, "VmHWM"),
             ring_gaps=a.metric("amid_nats_ring_gaps_total") or 0,
             resets=a.metric("amid_nats_resets_total") or 0)
    a.stop()
    sim.kill()
    nats.kill()
    shutil.rmtree(nats.store, ignore_errors=True)
    ev = int(f.get("events", 0))
    f["lost"] = f["offered"] - ev
    f["held"] = (f["lost"] == 0 and int(f.get("duplicates", 1)) == 0 and
                 float(f.get("events_per_s", 0)) >= 0.95 * pbxs * rate and
                 int(f.get("p99_us", 10**9)) <= 1000000)
    return f


def describe(f):
    return ("%s events/s end to end; p50 %.1f ms, p99 %.1f ms, max %.0f ms; "
            "%d of %d events lost, %s duplicates, %s gap messages; amid CPU %.0f%% of a core, "
            "peak RSS %.0f MiB; nats-server CPU %.0f%%; %s JSON bytes per event"
            % (f.get("events_per_s", "0"), int(f.get("p50_us", 0)) / 1000,
               int(f.get("p99_us", 0)) / 1000, int(f.get("max_us", 0)) / 1000, f["lost"],
               f["offered"], f.get("duplicates", "?"), f.get("gap_messages", "?"), f["amid_cpu"],
               f["hwm_kib"] / 1024, f["nats_cpu"], f.get("event_bytes", "?")))


f = run_one(PBXS, RATE, SECS, "main")
ROWS.append("| %d PBXs × %d events/s into one amid → JetStream → durable consumer%s | %s | %s |"
            % (PBXS, RATE, "" if KV else " (no state bucket)", describe(f), "zero loss: **met**" if f["lost"] == 0 and
               f.get("duplicates") == "0" else "zero loss: **missed**"))
best = None
for r in STEPS:
    g = run_one(PBXS, r, SECS, "step%d" % r)
    ROWS.append("| %d PBXs × %d events/s (step) | %s | %s |"
                % (PBXS, r, describe(g), "held" if g["held"] else "did not hold"))
    if not g["held"]:
        break
    best = r
print("| what | figure | verdict |")
print("|---|---|---|")
for r in ROWS:
    print(r)
print()
print("largest steady rate held: %s" % ("%d PBXs × %d = %d events/s" % (PBXS, best, PBXS * best)
                                        if best else "none of the steps"))
