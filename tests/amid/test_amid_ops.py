"""amid end to end, operations and hostile clients: SIGHUP reloads a
changed tokens_file without dropping clients, a bad reload keeps the old
tokens, hostile HTTP (huge headers and bodies, slow headers, invalid
UTF-8, many connections) is bounded and refused, and a start/stop loop
exits cleanly every time (run it under ASan to check for leaks)."""
from amid_lib import *

sim = Sim("pbx1")
write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")
tok_a, h_a = new_token("a")
tok_b, h_b = new_token("b")
tok_c, h_c = new_token("c")
tokens = os.path.join(TMP, "tokens.conf")


def write_tokens(*pairs):
    text = ""
    for name, h in pairs:
        text += "[token %s]\n%s\nservers = *\nactions = *\nevents = *\n" % (name, h)
    write_private(tokens, text)


write_tokens(("a", h_a), ("b", h_b))
conf = """[amid]
listen = 127.0.0.1:0
tokens_file = tokens.conf
max_clients = 40
max_body_bytes = 4096
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
""" % sim.port
a = Amid("amid", conf)
a.wait_up("pbx1", tok_a)


async def reload_test():
    ws = await ws_connect(a, "?server=pbx1", token=tok_a)
    check(a.request("GET", "/v1/servers", token=tok_b)[0] == 200, "token b works before the reload")
    write_tokens(("a", h_a), ("c", h_c))
    a.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: a.request("GET", "/v1/servers", token=tok_b)[0] == 401, "token b revoked by SIGHUP")
    check(a.request("GET", "/v1/servers", token=tok_c)[0] == 200, "SIGHUP: the new token c works")
    await ws.send(json.dumps({"id": 1, "action": {"Action": "Ping"}}))
    while True:
        m = await recv_json(ws)
        if m.get("id") == 1:
            break
    check(m["status"] == 200, "SIGHUP: a connected client of an unchanged token stays and works")
    write_private(tokens, "[token broken]\nhash = nope\n")
    before = a.metric("amid_reload_failures_total")
    a.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: a.metric("amid_reload_failures_total") > before, "the failed reload counted")
    check(a.request("GET", "/v1/servers", token=tok_c)[0] == 200, "a bad reload keeps the old tokens")
    check("reload failed" in a.log(), "a bad reload is logged")
    await ws.close()


asyncio.run(reload_test())


def raw(data, read_timeout=20):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=read_timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


r = raw(b"GET /v1/servers HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
check(not r.startswith(b"HTTP/1.1 200"), "a 100 KB header is refused (%r)" % r[:30])
r = raw(b"GET /v1/servers HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(3000)) + b"\r\n")
check(not r.startswith(b"HTTP/1.1 200"), "3000 headers are refused")
r = raw(b"POST /v1/servers/pbx1/actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok_a.encode() +
        b"\r\nContent-Length: 100000000\r\n\r\n" + b"{" * 1000)
check(r.startswith(b"HTTP/1.1 413"), "a 100 MB Content-Length is refused with 413")
r = raw(b"POST /v1/servers/pbx1/actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok_a.encode() +
        b"\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"1000\r\n" + b" " * 4096 + b"\r\n") * 4 + b"0\r\n\r\n")
check(r.startswith(b"HTTP/1.1 413") or r == b"",
      "a chunked body over max_body_bytes is refused (413, or lws closes) (%r)" % r[:40])
r = raw(b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
check(not r.startswith(b"HTTP/1.1 200"), "invalid UTF-8 in the path is refused")

# slow headers: a client that never finishes its headers is dropped
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", a.port), timeout=60)
s.sendall(b"GET /v1/servers HTTP/1.1\r\nHost: x\r\n")
closed = False
try:
    closed = s.recv(100) == b""
except (ConnectionResetError, socket.timeout):
    closed = True
s.close()
check(closed and time.monotonic() - t0 < 60, "slow headers: dropped after %.1f s" % (time.monotonic() - t0))

# many connections: amid stays bounded and keeps serving
socks = []
for i in range(1000):
    try:
        socks.append(socket.create_connection(("127.0.0.1", a.port), timeout=5))
    except OSError:
        break
check(len(socks) > 0, "opened %d idle connections" % len(socks))
for s in socks:
    s.close()
wait_for(lambda: a.request("GET", "/healthz")[0] == 200, "healthz after the connection flood")
check(True, "amid serves after %d connections were opened against max_clients = 40" % len(socks))


async def many_ws():
    ok = refused = 0
    conns = []
    for i in range(60):
        try:
            conns.append(await ws_connect(a, "?server=pbx1", token=tok_a))
            ok += 1
        except (websockets.exceptions.InvalidStatusCode, OSError, websockets.exceptions.InvalidMessage):
            refused += 1
    for c in conns:
        await c.close()
    return ok, refused

ok, refused = asyncio.run(many_ws())
check(ok <= 40 and refused >= 20, "max_clients = 40: %d WebSocket clients taken, %d refused" % (ok, refused))
check(a.stop() == 0, "SIGTERM: clean exit")
err = a.log()
check("AddressSanitizer" not in err and "LeakSanitizer" not in err, "no sanitizer report")

# start/stop loop, with a client connected each time
write_tokens(("a", h_a))
for i in range(5):
    b = Amid("loop%d" % i, conf)
    b.wait_up("pbx1", tok_a)

    async def one():
        ws = await ws_connect(b, "?server=pbx1", token=tok_a)
        b.proc.send_signal(signal.SIGTERM)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 20)
        except websockets.exceptions.ConnectionClosed as e:
            return e.code, e.reason
    code, reason = asyncio.run(one())
    rc = b.proc.wait(30)
    log = b.log()
    check(rc == 0 and code == 1001 and "AddressSanitizer" not in log and "LeakSanitizer" not in log,
          "start/stop %d: exit %d, client closed %s '%s'" % (i, rc, code, reason))
finish()
