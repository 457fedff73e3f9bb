"""Shared set-up for amid's end-to-end tests: temporary directory, ami-sim
and amid processes on loopback ports they pick themselves (port 0, read
back from their "listening on" line), REST and WebSocket helpers. Every
wait is a bounded poll on a condition; every process started is killed at
exit."""
import asyncio
import atexit
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

AMID = os.environ.get("AMID_BIN")
# e.g. "valgrind --error-exitcode=99 --leak-check=full": the daemon runs
# under it (scripts/valgrind.sh); a clean stop then means no error or leak.
WRAP = os.environ.get("AMID_WRAPPER", "").split()
SIM = os.environ.get("AMI_SIM_BIN")
TMP = tempfile.mkdtemp(prefix="amid-test-")
PROCS = []
FAILS = []


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
    if os.environ.get("AMID_TEST_KEEP"):
        print("kept (AMID_TEST_KEEP): " + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


atexit.register(cleanup)


def check(cond, what):
    if cond:
        print("ok   " + what)
    else:
        print("FAIL " + what)
        FAILS.append(what)
    return cond


def wait_for(pred, what, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def read_port(path, proc, timeout=60.0):
    def got():
        if proc.poll() is not None:
            raise AssertionError("%s exited (%d) before listening" % (path, proc.returncode))
        try:
            m = re.search(r"listening on .*:(\d+)", open(path).read())
        except FileNotFoundError:
            return None
        return int(m.group(1)) if m else None
    return wait_for(got, "listening line in " + path, timeout)


class Sim:
    def __init__(self, name, *args, port=0):
        self.name = name
        self.args = args
        self.record = os.path.join(TMP, name + ".record")
        self.start(port)

    def start(self, port=0):
        out = os.path.join(TMP, self.name + ".out")
        if os.path.exists(out):
            os.unlink(out)
        for attempt in range(50):
            self.proc = subprocess.Popen(
                [SIM, "--listen", "127.0.0.1:%d" % port, "--record", self.record,
                 "--write-timeout", "0"] + list(self.args),
                stdout=open(out, "w"), stderr=open(os.path.join(TMP, self.name + ".err"), "a"))
            PROCS.append(self.proc)
            try:
                self.port = read_port(out, self.proc)
                return
            except AssertionError:
                if port == 0 or attempt == 49:
                    raise
                time.sleep(0.1)  # the old socket is still in TIME_WAIT: bounded retry

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def received(self):
        try:
            return open(self.record).read()
        except FileNotFoundError:
            return ""


def write_private(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def new_token(name):
    out = subprocess.run([AMID, "token", "new", name], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    return lines[0], lines[1]


class Amid:
    def __init__(self, name, conf_text):
        self.name = name
        self.conf = os.path.join(TMP, name + ".conf")
        write_private(self.conf, conf_text)
        self.err = os.path.join(TMP, name + ".err")
        out = os.path.join(TMP, name + ".out")
        self.proc = subprocess.Popen(WRAP + [AMID, "-c", self.conf], stdout=open(out, "w"),
                                     stderr=open(self.err, "w"))
        PROCS.append(self.proc)
        self.port = read_port(out, self.proc)

    def log(self):
        return open(self.err).read()

    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            j = json.loads(text)
        except ValueError:
            j = None
        return r.status, j, text, r

    def metric(self, name):
        _, _, text, _ = self.request("GET", "/metrics")
        total = 0
        found = False
        for line in text.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
                found = True
        return total if found else None

    def wait_up(self, server, token):
        def up():
            st, j, _, _ = self.request("GET", "/v1/servers", token=token)
            return st == 200 and any(s["name"] == server and s["state"] == "up" for s in j)
        wait_for(up, "server %s up" % server)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        return rc

    def check_stops(self, what, sig=signal.SIGTERM, timeout=30):
        """stop(), checked for exit 0; on another status prints amid's log
        (from a sanitizer's report, if there is one) for the report."""
        rc = self.stop(sig, timeout)
        if not check(rc == 0, "%s stops cleanly (exit %s)" % (what, rc)):
            log = self.log()
            print(log[log.find("ERROR: "):][:6000] if "ERROR: " in log else log[-6000:])
        return rc


def ws_url(a, query=""):
    return "ws://127.0.0.1:%d/v1/events%s" % (a.port, query)


async def ws_connect(a, query="", token=None, headers=None, **kw):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    return await websockets.connect(ws_url(a, query), extra_headers=h, open_timeout=20,
                                    max_size=None, **kw)


async def ws_refused(a, query="", token=None, headers=None):
    try:
        ws = await ws_connect(a, query, token, headers)
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code
    await ws.close()
    return None


async def recv_json(ws, timeout=20):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def finish():
    if FAILS:
        print("%d check(s) failed:" % len(FAILS))
        for f in FAILS:
            print("  " + f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)
