#!/usr/bin/env bash
# ami-sim against the Asterisk 22 captures: byte layout of responses, errors,
# Command framing, login (plain, MD5, failure delay), permissions.
source "$(dirname "$0")/sim_lib.sh"

start_sim --users "$(dirname "$0")/../../tools/ami-sim/users.conf.example"

python3 - "$PORT" <<'PY'
import hashlib, re, sys, time
from simlib import *
port = int(sys.argv[1])

def replay_fixture(name, timeout=5.0, chunked=False):
    s = connect(port)
    sent = fixture(name + ".sent")
    if chunked:  # hostile chunking: one byte per write
        for i in range(len(sent)):
            s.sendall(sent[i:i + 1])
    else:
        s.sendall(sent)
    got = recv_all(s, timeout)
    s.close()
    return got

# Byte-exact against the captures.
for name in ["errors", "command_core_show_version", "command_nonexistent",
             "command_usage_error", "command_dialplan_show_test", "command_empty_output"]:
    got = replay_fixture(name)
    check(got == fixture(name + ".raw"), "%s: bytes differ:\n%s" % (name, got.decode(errors="replace")))
got = replay_fixture("errors", chunked=True)
check(got == fixture("errors.raw"), "errors fed byte by byte: bytes differ")

# Same layout with the values that differ per run masked.
VOLATILE = {"Uptime", "LastReload", "EventTV", "SessionTV", "SessionID", "LocalAddress",
            "RemoteAddress", "Timestamp", "Challenge"}
def masked(data):
    return [[(k, "*" if k in VOLATILE else v) for k, v in p] for p in packets(data)]

s = connect(port)
s.sendall(fixture("login_ok.sent"))
got = recv_all(s)
check(masked(got) == masked(fixture("login_ok.raw")), "login_ok layout differs: %r" % got)
auth = [p for p in packets(got) if get(p, "Event") == "SuccessfulAuth"]
check(len(auth) == 1 and get(auth[0], "RemoteAddress") == "IPV4/TCP/127.0.0.1/%d" % s.getsockname()[1],
      "SuccessfulAuth RemoteAddress is not the client's address")
check(len(auth) == 1 and get(auth[0], "LocalAddress") == "IPV4/TCP/127.0.0.1/%d" % port,
      "SuccessfulAuth LocalAddress is not the server's address")
check(re.match(rb"Asterisk Call Manager/11\.0\.0\r\n", got) is not None, "banner")

got = replay_fixture("command_core_show_uptime")
pk = packets(got)
check(masked(got)[0] == masked(fixture("command_core_show_uptime.raw"))[0], "uptime login")
outs = [v for k, v in pk[1] if k == "Output"]
check(len(outs) == 2 and re.fullmatch(r"System uptime: \d+ seconds?", outs[0]) and
      re.fullmatch(r"Last reload: \d+ seconds?", outs[1]), "uptime output %r" % outs)

# Failed login: answered after --auth-delay (1 s default), then closed.
s = connect(port)
recv_until(s, lambda b: b"\r\n" in b)
t0 = time.time()
s.sendall(fixture("login_fail.sent"))
got = recv_all(s, 5)
dt = time.time() - t0
check(b"Asterisk Call Manager/11.0.0\r\n" + got == fixture("login_fail.raw"), "login_fail bytes %r" % got)
check(0.9 <= dt < 3.0, "login_fail answered after %.2fs, want about 1s" % dt)

# MD5 challenge login, following login_md5.sent with a real key.
s = connect(port)
s.sendall(action("Challenge", ActionID="c1", AuthType="MD5"))
buf, _ = recv_until(s, lambda b: b"Challenge: " in b and b.endswith(b"\r\n\r\n"))
ch = re.search(rb"Challenge: (\d+)\r\n", buf)
check(ch is not None, "no numeric challenge in %r" % buf)
key = hashlib.md5(ch.group(1) + b"amp111").hexdigest()
s.sendall(b"Action: Login\r\nActionID: c2\r\nAuthType: MD5\r\nUsername: admin\r\nKey: " +
          key.encode() + b"\r\nEvents: off\r\n\r\nAction: Ping\r\nActionID: c3\r\n\r\n"
          b"Action: Logoff\r\nActionID: c4\r\n\r\n")
got = buf + recv_all(s)
check(masked(got) == masked(fixture("login_md5.raw")), "login_md5 layout: %r" % got)
got = replay_fixture("login_md5_badkey")
check(masked(got) == masked(fixture("login_md5_badkey.raw")), "login_md5_badkey: %r" % got)

# Permissions of the limited user; ListCommands lists only what it may run,
# each line exactly as the real server prints it.
got = replay_fixture("permission_denied")
exp = packets(fixture("permission_denied.raw"))
pk = packets(got)
check(len(pk) == len(exp), "permission_denied packet count %d" % len(pk))
for a, b in zip(pk, exp):
    if get(b, "ActionID") == "7":
        lines = [x for x in a if x[0] not in ("Response", "ActionID")]
        check(set(lines) <= set(b), "ListCommands lines not in capture: %r" % (set(lines) - set(b)))
        names = [k for k, _ in lines]
        check(names == ["BridgeDestroy", "BridgeInfo", "BridgeKick", "BridgeList", "Challenge",
                        "Events", "ListCommands", "Login", "Logoff", "Originate", "Ping",
                        "QueueStatus", "QueueSummary", "WaitEvent"], "limited ListCommands %r" % names)
    elif get(b, "Ping"):
        check(keys(a) == keys(b), "ping layout")
    else:
        check(a == b, "permission_denied: %r != %r" % (a, b))

s = connect(port)
login(s, events="off")
s.sendall(action("ListCommands", ActionID="lc"))
buf, _ = recv_until(s, lambda b: b"ActionID: lc" in b and b.endswith(b"\r\n\r\n"))
real = set(packets(fixture("listcommands.raw"))[1])
mine = [x for x in packets(buf)[-1] if x[0] not in ("Response", "ActionID")]
check(len(mine) >= 19 and set(mine) <= real, "admin ListCommands differs from capture: %r" % (set(mine) - real))
check([k for k, _ in mine] == sorted([k for k, _ in mine], key=str.lower), "ListCommands order")

# misc_actions: Ping, Setvar on a global (+ VarSet Channel: none), Getvar
# x3, UserEvent echoing repeated headers and the sender's ActionID.
s = connect(port)
sent = fixture("misc_actions.sent")
upto = sent.index(b"Action: CoreSettings")
ue = sent[sent.index(b"Action: UserEvent"):sent.index(b"Action: ModuleCheck")]
s.sendall(sent[:upto] + ue + b"Action: Logoff\r\nActionID: bye\r\n\r\n")
got = recv_all(s)
mine = [p for p in masked(got)]
want = masked(fixture("misc_actions.raw"))
def pick(ps, pred):
    return [p for p in ps if pred(p)]
for aid in ["1", "ping-1", "sv-1", "gv-1", "gv-2", "gv-3", "ue-1", "bye"]:
    a = pick(mine, lambda p: p[0][0] == "Response" and get(p, "ActionID") == aid)
    b = pick(want, lambda p: p[0][0] == "Response" and get(p, "ActionID") == aid)
    check(a == b and len(a) == 1, "misc %s: %r != %r" % (aid, a, b))
for ev in ["VarSet", "UserEvent", "FullyBooted", "SuccessfulAuth"]:
    a = pick(mine, lambda p: get(p, "Event") == ev)
    b = pick(want, lambda p: get(p, "Event") == ev)
    check(a == b, "misc event %s: %r != %r" % (ev, a, b))

# A line longer than Asterisk accepts ends the connection.
s = connect(port)
s.sendall(b"Action: Ping\r\nX: " + b"x" * 5000 + b"\r\n\r\n")
buf, eof = recv_until(s, lambda b: False, 3)
check(eof and b"Response" not in buf, "over-long line was not refused")
done("test_sim_protocol")
PY
