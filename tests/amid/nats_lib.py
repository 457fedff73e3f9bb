"""Shared by the amid NATS tests: nats-server processes on free loopback
ports (standalone or a cluster with routes), and reading a stream with the
nats_consumer example's durable consumer. Every wait is bounded; every
process is registered for kill at exit (amid_lib.PROCS)."""
import json
import os
import random
import socket
import subprocess
import time

from amid_lib import PROCS, TMP, wait_for

# See lsan_libnats.supp: an unexplained, rare indirect leak inside libnats
# at amid's exit. Set before any amid starts (they inherit it).
_supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan_libnats.supp")
os.environ["LSAN_OPTIONS"] = "suppressions=" + _supp + (
    ":" + os.environ["LSAN_OPTIONS"] if os.environ.get("LSAN_OPTIONS") else "")

NATS_SERVER = os.environ.get("NATS_SERVER_BIN", "nats-server")
CONSUMER = os.environ["NATS_CONSUMER_BIN"]
ACTION = os.environ["NATS_ACTION_BIN"]


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port free now, for a server started later (nats-server
    takes its ports from the command line). Picked below the kernel's
    ephemeral range: an outgoing connection (a route between two nodes, a
    client) can take any port in that range as its own end and hold it
    for as long as it lives, and a server told to listen there could not
    start (it happened under load). A random pick, checked by a bind, so
    concurrent tests rarely meet."""
    low = _ephemeral_low()
    lo, hi = max(1024, low - 12000), low - 1
    for _ in range(200 if hi > lo else 0):
        p = random.randint(lo, hi)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Nats:
    def __init__(self, js=True, name="n", extra=()):
        self.port = free_port()
        self.name = name
        self.store = os.path.join(TMP, "js-" + name)
        self.js = ["-js", "-sd", self.store] if js else []
        self.extra = list(extra)
        self.n = 0

    def start(self, wait_ready=True):
        self.n += 1
        log = os.path.join(TMP, "nats-%s-%d.log" % (self.name, self.n))
        for attempt in range(100):
            self.proc = subprocess.Popen(
                [NATS_SERVER] + self.js + ["-a", "127.0.0.1", "-p", str(self.port)] + self.extra,
                stdout=subprocess.DEVNULL, stderr=open(log, "w"))
            PROCS.append(self.proc)

            def ready():
                if self.proc.poll() is not None:
                    return "exited"
                return "ready" if "Server is ready" in open(log).read() else None
            if wait_for(ready, "nats-server ready", 30) == "ready":
                return self
            time.sleep(0.1)  # the port is still held by the old one: bounded retry
        raise AssertionError("nats-server did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def url(self):
        return "nats://127.0.0.1:%d" % self.port


class Reader:
    """All messages of a stream read so far, in stream order, through one
    durable consumer (each read resumes where the last one stopped)."""

    def __init__(self, url, stream, subject, durable):
        self.url, self.stream, self.subject, self.durable = url, stream, subject, durable
        self.msgs = []

    def read(self):
        r = subprocess.run([CONSUMER, "-s", self.url, "--stream", self.stream, "--subject",
                            self.subject, "--durable", self.durable, "--drain"],
                           capture_output=True, text=True, timeout=60)
        self.msgs.extend(json.loads(x) for x in r.stdout.splitlines())
        return r.returncode == 0


