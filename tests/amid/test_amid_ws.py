"""amid end to end, WebSocket: auth (bearer, session cookie, Origin),
message shape, event classes and filters, actions over the socket,
resume with since within and beyond the ring, another epoch, a PBX
reconnect (pending REST 502, subscribers a gap), a slow client (gap, then
closed with a reason) that does not delay a fast one."""
import threading

from amid_lib import *

sim = Sim("pbx1")
write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")
tok_all, h_all = new_token("all")
tok_calls, h_calls = new_token("calls")
tok_users, h_users = new_token("users")
conf = """[amid]
listen = 127.0.0.1:0
ring_events = 50
session_ttl = 6
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
keepalive = 30000
[token all]
%s
servers = *
actions = *
events = *
[token calls]
%s
servers = pbx1
actions = Ping
events = call
[token users]
%s
servers = pbx1
actions = UserEvent
events = user
""" % (sim.port, h_all, h_calls, h_users)
a = Amid("amid", conf)
a.wait_up("pbx1", tok_all)
epoch = a.request("GET", "/healthz")[1]["epoch"]


def user_event(marker):
    st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                            {"Action": "UserEvent", "UserEvent": marker}, token=tok_all)
    assert st == 200, (st, j)


async def read_until(ws, pred, limit=5000):
    got = []
    for _ in range(limit):
        m = await recv_json(ws)
        got.append(m)
        if pred(m):
            return got
    raise AssertionError("no matching message in %d" % limit)


def is_user(m, marker):
    return m.get("event", {}).get("UserEvent") == marker


async def auth_tests():
    check(await ws_refused(a) == 401, "WS without token: 401")
    check(await ws_refused(a, token="amid_nope") == 401, "WS with a wrong token: 401")
    check(await ws_refused(a, token=tok_all, headers={"Origin": "https://evil.example"}) == 403,
          "WS from a foreign Origin: 403")
    check(await ws_refused(a, "?server=nope", token=tok_all) == 404, "WS for an unknown server: 404")
    check(await ws_refused(a, "?since=garbage", token=tok_all) == 400, "WS with a bad since: 400")
    st, j, _, r = a.request("POST", "/v1/session", {"token": tok_all})
    sid = (r.getheader("Set-Cookie") or "").split(";")[0]
    own = "http://127.0.0.1:%d" % a.port
    ws = await ws_connect(a, "?server=pbx1", headers={"Cookie": sid, "Origin": own})
    await ws.close()
    check(True, "WS with the session cookie from the panel's own Origin")
    check(await ws_refused(a, "?server=pbx1", headers={"Cookie": sid}) == 401,
          "WS with a cookie and no Origin: 401 (needs the bearer)")

    async def expired():
        return await ws_refused(a, "?server=pbx1", headers={"Cookie": sid, "Origin": own}) == 401
    end = time.monotonic() + 20
    ok = False
    while time.monotonic() < end and not ok:
        ok = await expired()
        if not ok:
            await asyncio.sleep(0.1)
    check(ok, "WS with an expired session: 401")


async def shape_and_classes():
    ws = await ws_connect(a, "?server=pbx1", token=tok_all)
    wc = await ws_connect(a, "?server=pbx1", token=tok_calls)
    wu = await ws_connect(a, "?server=pbx1", token=tok_users)
    wf = await ws_connect(a, "?server=pbx1&filter=UserEvent=m2", token=tok_all)
    user_event("m1")
    st, _, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                            {"Action": "Originate", "Channel": "Local/100@test", "Context": "test",
                             "Exten": "100", "Priority": "1", "Async": "true"}, token=tok_all)
    user_event("m2")
    got = await read_until(ws, lambda m: is_user(m, "m2"))
    m1 = [m for m in got if is_user(m, "m1")][0]
    check(set(m1) == {"server", "seq", "epoch", "event"} and m1["server"] == "pbx1" and
          m1["epoch"] == epoch and isinstance(m1["seq"], int), "event message shape")
    seqs = [m["seq"] for m in got]
    check(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "sequence numbers are consecutive")
    gc = await read_until(wc, lambda m: m.get("event", {}).get("Event") == "Newchannel")
    check(not any(is_user(m, "m1") for m in gc), "events = call: no UserEvent (class user)")
    gu = await read_until(wu, lambda m: is_user(m, "m2"))
    check(any(is_user(m, "m1") for m in gu) and
          not any(m["event"].get("Event") == "Newchannel" for m in gu),
          "events = user: UserEvents, no call events")
    first = await recv_json(wf)
    check(is_user(first, "m2"), "filter=UserEvent=m2 passes only that event")
    # encoding: repeated headers as a list, quotes, backslashes, UTF-8 kept
    st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                            {"Action": "UserEvent", "UserEvent": "enc", "Variable": ["A=1", "B=2"],
                             "Q": 'say "hi" \\ bye', "U": "caf\u00e9 \u20ac"}, token=tok_all)
    got = await read_until(ws, lambda m: is_user(m, "enc"))
    e = got[-1]["event"]
    check(e["Variable"] == ["A=1", "B=2"] and e["Q"] == 'say "hi" \\ bye' and e["U"] == "caf\u00e9 \u20ac",
          "event JSON: repeated header as a list, escapes and UTF-8 intact")
    # actions over the socket
    await ws.send(json.dumps({"id": 7, "action": {"Action": "Ping"}}))
    rep = await read_until(ws, lambda m: m.get("id") == 7)
    check(rep[-1]["status"] == 200 and rep[-1]["response"]["Ping"] == "Pong",
          "action over the socket: {id, response}")
    await wc.send(json.dumps({"id": "x", "action": {"Action": "UserEvent", "UserEvent": "no"}}))
    rep = await read_until(wc, lambda m: m.get("id") == "x")
    check(rep[-1]["status"] == 403 and "actions" in rep[-1]["error"],
          "action over the socket refused like REST: 403")
    await wc.send("{not json")
    rep = await read_until(wc, lambda m: "status" in m and "id" in m)
    check(rep[-1]["status"] == 400, "bad JSON over the socket: 400 reply")
    await wc.send(json.dumps({"id": 9, "action": {"Action": "Ping", "X": "a\r\nAction: Logoff"}}))
    rep = await read_until(wc, lambda m: m.get("id") == 9)
    check(rep[-1]["status"] == 400, "CR/LF over the socket: 400")
    for w in (ws, wc, wu, wf):
        await w.close()


async def resume():
    ws = await ws_connect(a, "?server=pbx1", token=tok_all)
    for i in range(5):
        user_event("r%d" % i)
    got = await read_until(ws, lambda m: is_user(m, "r4"))
    last = got[-1]["seq"]
    await ws.close()
    for i in range(5, 10):
        user_event("r%d" % i)
    ws = await ws_connect(a, "?server=pbx1&since=%s:%d" % (epoch, last), token=tok_all)
    got = await read_until(ws, lambda m: is_user(m, "r9"))
    check(got[0]["seq"] == last + 1 and [m["seq"] for m in got] == list(range(last + 1, last + 1 + len(got)))
          and not any(m.get("type") == "gap" for m in got),
          "since within the ring: everything after it, no loss, no duplicate")
    check([m["event"]["UserEvent"] for m in got if "UserEvent" in m.get("event", {})] ==
          ["r%d" % i for i in range(5, 10)], "the missed events, in order")
    await ws.close()
    for i in range(60):
        user_event("b%d" % i)
    ws = await ws_connect(a, "?server=pbx1&since=%s:%d" % (epoch, last), token=tok_all)
    got = await read_until(ws, lambda m: is_user(m, "b59"))
    gap = got[0]
    check(gap.get("type") == "gap" and gap["from"] == last + 1 and gap["reason"] == "ring" and
          gap["to"] == got[1]["seq"] - 1, "since beyond the ring: one gap with the exact range")
    check(len(got) - 1 == 50 and [m["seq"] for m in got[1:]] == list(range(gap["to"] + 1, gap["to"] + 51)),
          "then the whole ring, in order")
    await ws.close()
    ws = await ws_connect(a, "?server=pbx1&since=otherepoch:12", token=tok_all)
    m = await recv_json(ws)
    check(m.get("type") == "gap" and m["reason"] == "epoch" and m["lost_epoch"] == "otherepoch",
          "since from another epoch: a gap naming it")
    await ws.close()


async def state_tests():
    wait_for(lambda: a.request("GET", "/v1/servers/pbx1/state", token=tok_all)[0] == 200, "state synced")
    st, j, _, _ = a.request("GET", "/v1/servers/pbx1/state", token=tok_all)
    check(st == 200 and isinstance(j.get("channels"), list) and "bridges" in j,
          "GET /v1/servers/pbx1/state: the store's JSON")
    check(a.request("GET", "/v1/servers/pbx1/state", token=tok_users)[0] == 403,
          "the state needs the call class: 403")
    try:
        bad = await websockets.connect("ws://127.0.0.1:%d/v1/state?server=pbx1" % a.port,
                                       extra_headers={"Authorization": "Bearer " + tok_users})
        await bad.close()
        check(False, "WS /v1/state without the call class refused")
    except websockets.exceptions.InvalidStatusCode as e:
        check(e.status_code == 403, "WS /v1/state without the call class refused: 403")
    ws = await websockets.connect("ws://127.0.0.1:%d/v1/state?server=pbx1" % a.port,
                                  extra_headers={"Authorization": "Bearer " + tok_all}, max_size=None)
    snap = await recv_json(ws)
    check(snap.get("type") == "snapshot" and snap["server"] == "pbx1" and "channels" in snap["state"],
          "/v1/state: a snapshot first")
    st, _, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                            {"Action": "Originate", "Channel": "Local/200@test", "Context": "test",
                             "Exten": "200", "Priority": "1", "Async": "true"}, token=tok_all)
    got = await read_until(ws, lambda m: m.get("type") == "change" and m["kind"] == "channel"
                           and m["change"] == "added")
    ch = got[-1]
    check(ch["object"] is not None and "Local/200@test" in json.dumps(ch["object"]),
          "/v1/state: then changes (a channel added)")
    return ws


async def pbx_restart(state_ws):
    ws = await ws_connect(a, "?server=pbx1", token=tok_all)
    result = {}
    os.kill(sim.proc.pid, signal.SIGSTOP)

    def pending():
        result["st"] = a.request("POST", "/v1/servers/pbx1/actions", {"Action": "Ping"}, token=tok_all)[0]
    t = threading.Thread(target=pending)
    t.start()
    wait_for(lambda: (a.metric("amid_pending_actions") or 0) >= 1, "the action pending")
    sim.kill()
    t.join(30)
    check(result.get("st") == 502, "PBX lost mid-action: pending REST gets 502")
    sim.start(sim.port)
    got = await read_until(ws, lambda m: m.get("type") == "gap", 100000)
    g = got[-1]
    check(g["reason"] == "pbx_reconnect" and g["event"]["Event"] == "AmiGap" and "seq" in g,
          "PBX reconnect: subscribers get a gap (libami's AmiGap)")
    got = await read_until(state_ws, lambda m: m.get("type") == "snapshot", 100000)
    check(any(m.get("type") == "gap" for m in got) and got[-1]["state"] is not None,
          "PBX reconnect: the state stream gets a gap, then a fresh snapshot")
    await state_ws.close()
    a.wait_up("pbx1", tok_all)
    await ws.close()


async def slow_and_fast():
    """Big paced events (about 48 KB each, sent one by one through REST) to
    a fast client that reads each before the next is sent, and to a slow
    one that reads nothing: the slow one overflows its queue (and the
    kernel's buffers), gets a gap and is closed; the fast one never waits."""
    tok_f, h_f = new_token("f")
    big = Sim("big")
    conf_s = """[amid]
listen = 127.0.0.1:0
ring_events = 1000
client_queue_bytes = 262144
slow_client_timeout = 2000
max_body_bytes = 131072
[server big]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
[token f]
%s
servers = *
actions = *
events = *
""" % (big.port, h_f)
    s = Amid("amid-slow", conf_s)
    s.wait_up("big", tok_f)
    slow = await ws_connect(s, "?server=big", token=tok_f, max_queue=1, read_limit=4096)
    fast = await ws_connect(s, "?server=big", token=tok_f)
    pad = "x" * 950
    n_events = int(os.environ.get("AMID_TEST_BIG_EVENTS", "400"))
    worst = 0.0
    seqs = []
    fast_gap = False
    for i in range(n_events):
        act = {"Action": "UserEvent", "UserEvent": "big%d" % i}
        for k in range(48):
            act["H%02d" % k] = pad
        t0 = time.monotonic()
        st = s.request("POST", "/v1/servers/big/actions", act, token=tok_f)[0]
        assert st == 200, st
        while True:
            m = await recv_json(fast, 30)
            if m.get("type") == "gap":
                fast_gap = True
                continue
            seqs.append(m["seq"])
            if is_user(m, "big%d" % i):
                break
        worst = max(worst, time.monotonic() - t0)
    check(not fast_gap and seqs == list(range(seqs[0], seqs[0] + len(seqs))),
          "the fast client gets every event, in order, no gap")
    check(worst < 10, "the fast client is never held up by the slow one (worst %.3f s per event)" % worst)
    wait_for(lambda: (s.metric("amid_ws_drops_total") or 0) >= 1, "a drop for the slow client")
    wait_for(lambda: (s.metric("amid_ws_slow_closed_total") or 0) >= 1, "the slow client closed")
    got = []
    code = reason = None
    try:
        while True:
            got.append(json.loads(await asyncio.wait_for(slow.recv(), 30)))
    except websockets.exceptions.ConnectionClosed as e:
        code, reason = e.code, e.reason
    gaps = [i for i, m in enumerate(got) if m.get("type") == "gap"]
    check(len(gaps) >= 1, "the slow client gets a gap message")
    if gaps:
        g = got[gaps[0]]
        ev = [m["seq"] for m in got[:gaps[0]]]
        before = ev[-1] if ev else seqs[0] - 1
        check(g["reason"] == "slow_client" and g["from"] == before + 1 and g["to"] >= g["from"],
              "the gap names exactly the lost range (%d..%d)" % (g["from"], g["to"]))
        check(not ev or ev == list(range(ev[0], ev[0] + len(ev))), "before the gap: no loss, no duplicate")
    check(code == 1008 and "too slow" in (reason or ""), "then closed: %s '%s'" % (code, reason))
    check((s.metric("amid_ws_drops_total") or 0) >= 1, "drops counted in metrics")
    await fast.close()
    # A resume from the start of the ring reads it in place: the whole
    # burst (far more than client_queue_bytes) without a gap.
    ep = s.request("GET", "/healthz")[1]["epoch"]
    again = await ws_connect(s, "?server=big&since=%s:0" % ep, token=tok_f)
    rs = []
    while True:
        m = await recv_json(again, 60)
        if m.get("type") == "gap":
            break
        rs.append(m["seq"])
        if is_user(m, "big%d" % (n_events - 1)):
            break
    check(rs and rs == list(range(1, len(rs) + 1)) and len(rs) >= n_events,
          "since=EPOCH:0 replays the ring in place (%d events, ~%d MB) without a gap"
          % (len(rs), n_events * 48 // 1024))
    await again.close()
    check(s.stop() == 0, "the slow/fast amid stops cleanly")


async def main():
    await auth_tests()
    await shape_and_classes()
    await resume()
    sws = await state_tests()
    await pbx_restart(sws)
    await slow_and_fast()

asyncio.run(main())
check(a.stop() == 0, "SIGTERM: clean exit 0")
finish()
