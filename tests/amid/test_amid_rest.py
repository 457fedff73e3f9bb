"""amid end to end, REST: configuration, tokens, every REST endpoint and
status code, each permission rule (refused with 403 and nothing reaching
the sim), CR/LF/NUL refused with 400 and nothing sent."""
import hashlib
import os
import subprocess
import uuid

from amid_lib import *

sim = Sim("pbx1")
sim2 = Sim("pbx2")
write_private(os.path.join(TMP, "pbx.secret"), "amp111\n")

# ---------------------------------------------------------- tokens
tok_all, hash_all = new_token("all")
check(tok_all.startswith("amid_") and len(tok_all) >= 40, "token new: line 1 is the token")
check(hash_all == "hash = sha256:" + hashlib.sha256(tok_all.encode()).hexdigest(),
      "token new: line 2 is the hash line of line 1")
tok_crm, hash_crm = new_token("crm")
tok_rate, hash_rate = new_token("rate")
tok_none, hash_none = new_token("none")
r = subprocess.run([AMID, "token", "new", "bad name"], capture_output=True, text=True)
check(r.returncode == 2, "token new: a bad name is a usage error")

conf = """[amid]
listen = 127.0.0.1:0   ; free port
static = www
ring_events = 1000
client_queue_bytes = 65536
origins = https://panel.example
max_body_bytes = 8192
[server pbx1]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
[server pbx2]
host = 127.0.0.1
port = %d
username = admin
secret_file = pbx.secret
action_timeout = 3000
[token all]
%s
servers = *
actions = *
events = *
[token crm]
%s
servers = pbx1
actions = Originate, Hangup, Status, Ping, UserEvent, Redirect
events = call
originate_context = from-crm
channels = Local/*, PJSIP/1*
[token rate]
%s
servers = pbx1
actions = Ping
events = *
rate = 3/m
[token none]
%s
""" % (sim.port, sim2.port, hash_all, hash_crm, hash_rate, hash_none)

os.makedirs(os.path.join(TMP, "www", "js"))
write_private(os.path.join(TMP, "www", "index.html"), "<!doctype html><title>panel</title>\n", 0o644)
write_private(os.path.join(TMP, "www", "js", "app.js"), "export const x = 1;\n", 0o644)
write_private(os.path.join(TMP, "www", "style.css"), "body{}\n", 0o644)
write_private(os.path.join(TMP, "outside.txt"), "SECRET-OUTSIDE\n", 0o644)

# ---------------------------------------------------------- config checks
cpath = os.path.join(TMP, "check.conf")


def check_config(text, mode=0o600):
    write_private(cpath, text, mode)
    return subprocess.run([AMID, "-c", cpath, "--check-config"], capture_output=True, text=True)


r = check_config(conf)
check(r.returncode == 0 and "server pbx1" in r.stdout and "token crm" in r.stdout,
      "--check-config accepts the example and explains it")
check(tok_all not in r.stdout + r.stderr and "amp111" not in r.stdout + r.stderr,
      "--check-config prints no secret")
r = check_config(conf, 0o644)
check(r.returncode != 0 and "readable" in r.stderr, "a world-readable config is refused")
r = check_config(conf.replace("secret_file = pbx.secret", "secret = amp111", 1))
check(r.returncode != 0 and "secret_file" in r.stderr and "amp111" not in r.stderr,
      "secret = in the config is refused, pointing to secret_file")
r = check_config(conf.replace("ring_events = 1000", "ring_event = 1000"))
check(r.returncode != 0 and "ring_event" in r.stderr, "an unknown key is refused by name")
r = check_config(conf.replace("rate = 3/m", "rate = fast"))
check(r.returncode != 0 and "rate" in r.stderr, "a bad rate is refused")
write_private(os.path.join(TMP, "open.secret"), "amp111\n", 0o644)
r = check_config(conf.replace("secret_file = pbx.secret", "secret_file = open.secret", 1))
check(r.returncode != 0 and "open.secret" in r.stderr, "a secret file readable by others is refused")
r = subprocess.run([AMID, "-c", "/nonexistent/amid.conf"], capture_output=True, text=True)
check(r.returncode == 1 and "nonexistent" in r.stderr, "a missing config fails clearly")

# ---------------------------------------------------------- the daemon
a = Amid("amid", conf)
a.wait_up("pbx1", tok_all)
a.wait_up("pbx2", tok_all)


def sent(marker):
    return marker in sim.received() or marker in sim2.received()


st, j, _, _ = a.request("GET", "/healthz")
check(st == 200 and j["status"] == "ok" and j["servers_up"] == 2, "GET /healthz")

st, j, _, _ = a.request("GET", "/v1/servers", token=tok_all)
check(st == 200 and [s["name"] for s in j] == ["pbx1", "pbx2"] and
      set(j[0]) >= {"name", "state", "host", "port", "version", "connected_since"} and
      j[0]["state"] == "up", "GET /v1/servers lists every server with its state")
st, j, _, _ = a.request("GET", "/v1/servers", token=tok_crm)
check(st == 200 and [s["name"] for s in j] == ["pbx1"], "GET /v1/servers shows a token its servers only")

st, j, _, _ = a.request("GET", "/v1/servers")
check(st == 401, "no token: 401")
st, j, text, _ = a.request("GET", "/v1/servers", token="amid_wrong")
check(st == 401 and b"amid_wrong" not in text, "wrong token: 401, token not echoed")
st, j, _, _ = a.request("GET", "/v1/servers", headers={"Authorization": "Basic eDp5"})
check(st == 401, "not a bearer: 401")

# actions
mark = "m" + uuid.uuid4().hex
st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", {"Action": "Ping", "ActionID": mark},
                        token=tok_all)
check(st == 200 and j["response"]["Response"] == "Success" and j["response"]["ActionID"] == mark
      and j["events"] == [], "POST actions: Ping answered, the caller's ActionID kept")
check(sent("ActionID: " + mark), "the sim received the Ping with that ActionID")

st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", {"Action": "NoSuchAction"}, token=tok_all)
check(st == 200 and j["response"]["Response"] == "Error", "Response: Error is the PBX's answer: 200")

st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                        {"Action": "UserEvent", "UserEvent": "T", "ActionID": "L" + mark,
                         "Variable": ["A=1", "B=2"]}, token=tok_all)
check(st == 200 and "Variable: A=1\nVariable: B=2" in sim.received(),
      "a JSON list is a repeated header, in order")

st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", {"Action": "Status", "ActionID": "S" + mark},
                        token=tok_all)
check(st == 200 and j["events"] and j["events"][-1]["Event"] == "StatusComplete",
      "a list action returns its events")

st, j, _, _ = a.request("POST", "/v1/servers/pbx1/command", {"command": "core show version"},
                        token=tok_all)
check(st == 200 and isinstance(j["output"], list) and "Asterisk" in j["output"][0],
      "POST command: output lines")

# 400: bad JSON, CR/LF/NUL, values libami refuses; nothing sent
for name, raw in [("bad JSON", b"{\"Action\": "),
                  ("not an object", b"[1,2]"),
                  ("no Action", b"{\"Channel\": \"x\"}"),
                  ("CR/LF in a value", json.dumps({"Action": "UserEvent", "UserEvent": "x",
                                                   "ActionID": "I" + mark,
                                                   "X": "a\r\nAction: Originate"}).encode()),
                  ("LF in a key", json.dumps({"Action": "UserEvent", "ActionID": "J" + mark,
                                              "X\nAction": "Originate"}).encode()),
                  ("CR in the action name", json.dumps({"Action": "Ping\rX", "ActionID": "K" + mark}).encode()),
                  ("NUL in a value", b"{\"Action\":\"UserEvent\",\"ActionID\":\"N" + mark.encode() +
                   b"\",\"X\":\"a\\u0000b\"}"),
                  ("invalid UTF-8", b"{\"Action\":\"UserEvent\",\"ActionID\":\"U" + mark.encode() +
                   b"\",\"X\":\"\xff\xfe\"}"),
                  ("nested object", json.dumps({"Action": "UserEvent", "ActionID": "O" + mark,
                                                "X": {"y": 1}}).encode()),
                  ("line too long", json.dumps({"Action": "UserEvent", "ActionID": "T" + mark,
                                                "X": "y" * 2000}).encode()),
                  ("colon in a key", json.dumps({"Action": "UserEvent", "ActionID": "C" + mark,
                                                 "X:Y": "z"}).encode())]:
    st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", raw=raw, token=tok_all,
                            headers={"Content-Type": "application/json"})
    check(st == 400 and j and "error" in j, "400: " + name)
for p in "IJKNUOTC":
    check(not sent(p + mark), "nothing sent for the 400 with ActionID prefix " + p)

# 403 by rule, nothing sent
cases = [
    ("servers", "pbx2", {"Action": "Ping"}),
    ("actions", "pbx1", {"Action": "Command", "Command": "core show channels"}),
    ("reserved", "pbx1", {"Action": "Logoff"}),
    ("originate_context", "pbx1", {"Action": "Originate", "Channel": "Local/100@test",
                                   "Context": "test", "Exten": "100", "Priority": "1"}),
    ("originate_context", "pbx1", {"Action": "Originate", "Channel": "Local/100@from-crm",
                                   "Application": "System", "Data": "rm -rf /"}),
    ("originate_context", "pbx1", {"Action": "Originate", "Channel": "Local/100@from-crm",
                                   "Context": ["from-crm", "test"], "Exten": "1", "Priority": "1"}),
    ("channels", "pbx1", {"Action": "Hangup", "Channel": "SIP/trunk-0001"}),
    ("channels", "pbx1", {"Action": "Hangup", "Channel": "/.*/"}),
    ("channels", "pbx1", {"Action": "Redirect", "Channel": "Local/1@x", "ExtraChannel": "DAHDI/1",
                          "Context": "a", "Exten": "1", "Priority": "1"}),
    ("channels", "pbx1", {"Action": "Originate", "Channel": "SIP/evil", "Context": "from-crm",
                          "Exten": "1", "Priority": "1"}),
]
for i, (rule, server, act) in enumerate(cases):
    act = dict(act)
    act["ActionID"] = "F%d%s" % (i, mark)
    st, j, _, _ = a.request("POST", "/v1/servers/%s/actions" % server, act, token=tok_crm)
    check(st == 403 and j.get("rule") == rule and rule in j["error"],
          "403 naming rule %s (%s)" % (rule, act["Action"]))
    check(not sent("F%d%s" % (i, mark)), "nothing sent for refused %s (%s)" % (rule, act["Action"]))
st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", {"Action": "Ping"}, token=tok_none)
check(st == 403 and j["rule"] == "servers", "a token with no servers may do nothing")

# allowed by the same token
st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                        {"Action": "Originate", "Channel": "Local/100@from-crm", "Context": "from-crm",
                         "Exten": "100", "Priority": "1", "Async": "true", "ActionID": "G" + mark},
                        token=tok_crm)
check(st == 200 and sent("G" + mark), "Originate into the allowed context with an allowed channel goes")
st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions",
                        {"Action": "Hangup", "Channel": "PJSIP/100-0001", "ActionID": "H" + mark},
                        token=tok_crm)
check(st == 200 and sent("H" + mark), "Hangup on a channel matching the globs goes")

# 404, 405, 413, 429
st, j, _, _ = a.request("POST", "/v1/servers/nope/actions", {"Action": "Ping"}, token=tok_all)
check(st == 404 and "nope" in j["error"], "unknown server: 404")
st, j, _, _ = a.request("GET", "/v1/nothing", token=tok_all)
check(st == 404, "unknown path: 404")
st, j, _, _ = a.request("GET", "/v1/servers/pbx1/actions", token=tok_all)
check(st == 405, "GET on actions: 405")
st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", raw=b"{" + b" " * 20000 + b"}",
                        token=tok_all)
check(st == 413, "body over max_body_bytes: 413")
statuses = []
for i in range(5):
    st, j, _, _ = a.request("POST", "/v1/servers/pbx1/actions", {"Action": "Ping"}, token=tok_rate)
    statuses.append(st)
check(statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429], "rate = 3/m: then 429")

# 504: pbx2's sim stalls on... a stalled action: the sim answers every action,
# so stop it answering with SIGSTOP and let action_timeout (3 s) pass.
os.kill(sim2.proc.pid, signal.SIGSTOP)
try:
    st, j, _, _ = a.request("POST", "/v1/servers/pbx2/actions", {"Action": "Ping"}, token=tok_all)
    check(st == 504, "no answer within action_timeout: 504")
finally:
    os.kill(sim2.proc.pid, signal.SIGCONT)
# 502: server down
sim2.kill()
wait_for(lambda: a.request("GET", "/v1/servers", token=tok_all)[1][1]["state"] != "up", "pbx2 down")
st, j, _, _ = a.request("POST", "/v1/servers/pbx2/actions", {"Action": "Ping"}, token=tok_all)
check(st == 502 and "pbx2" in j["error"], "PBX down: 502")

# sessions
st, j, _, r = a.request("POST", "/v1/session", {"token": tok_crm})
cookie = r.getheader("Set-Cookie") or ""
check(st == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie and j["token"] == "crm",
      "POST /v1/session sets an HttpOnly SameSite=Strict cookie")
check(tok_crm not in cookie, "the cookie is not the token")
sid = cookie.split(";")[0]
own = "http://127.0.0.1:%d" % a.port
st, j, _, _ = a.request("GET", "/v1/servers", headers={"Cookie": sid, "Origin": own})
check(st == 200 and [s["name"] for s in j] == ["pbx1"], "the cookie authenticates a browser (own Origin)")
st, j, _, _ = a.request("GET", "/v1/session", headers={"Cookie": sid, "Origin": own})
check(st == 200 and j["originate_context"] == ["from-crm"], "GET /v1/session tells the permissions")
st, j, _, _ = a.request("GET", "/v1/servers", headers={"Cookie": sid})
check(st == 401, "a cookie without Origin is refused (needs the bearer)")
st, j, _, _ = a.request("GET", "/v1/servers", headers={"Cookie": sid, "Origin": "https://evil.example"})
check(st == 403 and j["rule"] == "origins", "a foreign Origin is refused: 403")
st, j, _, _ = a.request("GET", "/v1/servers", token=tok_all, headers={"Origin": "https://panel.example"})
check(st == 200, "an Origin listed in origins is allowed")
st, j, _, _ = a.request("POST", "/v1/session", {"token": "amid_bogus"})
check(st == 401, "POST /v1/session with a wrong token: 401")
st, j, _, r = a.request("DELETE", "/v1/session", headers={"Cookie": sid, "Origin": own})
check(st == 200 and "Max-Age=0" in (r.getheader("Set-Cookie") or ""), "DELETE /v1/session logs out")
st, j, _, _ = a.request("GET", "/v1/servers", headers={"Cookie": sid, "Origin": own})
check(st == 401, "the cookie is dead after logout")

# static files
st, _, text, r = a.request("GET", "/")
check(st == 200 and b"panel" in text and r.getheader("Content-Type").startswith("text/html"),
      "GET / serves index.html as text/html")
st, _, text, r = a.request("GET", "/js/app.js")
check(st == 200 and r.getheader("Content-Type").startswith("text/javascript"), "JS as text/javascript")
st, _, text, r = a.request("GET", "/style.css")
check(st == 200 and r.getheader("Content-Type").startswith("text/css"), "CSS as text/css")
for p in ["/../outside.txt", "/%2e%2e/outside.txt", "/js/../../outside.txt", "/..%2foutside.txt",
          "/js/%2e%2e/%2e%2e/outside.txt", "/nonexistent.html", "/\\..\\outside.txt"]:
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=20)
    c.putrequest("GET", p, skip_accept_encoding=True)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    check(r.status in (400, 403, 404) and b"SECRET-OUTSIDE" not in body,
          "path traversal refused: %s (%d)" % (p, r.status))

# keep-alive: several requests on one connection (each body freed)
c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=20)
codes = []
for i in range(5):
    c.request("POST", "/v1/servers/pbx1/actions", body=json.dumps({"Action": "Ping"}),
              headers={"Authorization": "Bearer " + tok_all})
    r = c.getresponse()
    r.read()
    codes.append(r.status)
c.close()
check(codes == [200] * 5, "five actions on one keep-alive connection")

# metrics
_, _, text, r = a.request("GET", "/metrics")
m = text.decode()
check('amid_server_connected{server="pbx1"} 1' in m and 'amid_http_requests_total{code="403"}' in m
      and "amid_pending_actions" in m and "amid_ws_drops_total" in m,
      "GET /metrics: Prometheus text with connected, pending, drops, HTTP statuses")
check(tok_all not in m and "amp111" not in m, "no secret in metrics")
log = a.log()
for t in (tok_all, tok_crm, tok_rate, "amp111"):
    check(t not in log, "no secret in the log (%s...)" % t[:6])
check(all(l.startswith("ts=") for l in log.splitlines() if l and not l.startswith("==")),
      "log lines are structured")

check(a.stop() == 0, "SIGTERM: clean exit 0")
finish()
