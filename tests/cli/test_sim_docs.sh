#!/usr/bin/env bash
# ami-sim answers Asterisk's documentation commands (manager show commands,
# manager show command X, manager show events, manager show event X) with
# the bytes of the capture docs_manager_show, and documents its own actions
# in the same layout.
source "$(dirname "$0")/sim_lib.sh"

start_sim --users "$(dirname "$0")/../../tools/ami-sim/users.conf.example"

python3 - "$PORT" <<'PY'
import sys
from simlib import *
port = int(sys.argv[1])

def session(sent, chunked=False):
    s = connect(port)
    if chunked:
        for i in range(len(sent)):
            s.sendall(sent[i:i + 1])
    else:
        s.sendall(sent)
    got = recv_all(s)
    s.close()
    return got

sent = fixture("docs_manager_show.sent")
raw = fixture("docs_manager_show.raw")
got = session(sent)
check(got == raw, "docs_manager_show: bytes differ:\n%s" % got.decode(errors="replace")[:3000])
check(session(sent, chunked=True) == raw, "docs_manager_show fed byte by byte: bytes differ")

def command(cmd):
    return ("Action: Login\r\nUsername: admin\r\nSecret: amp111\r\nEvents: off\r\n\r\n"
            "Action: Command\r\nActionID: d\r\nCommand: %s\r\n\r\n"
            "Action: Logoff\r\n\r\n" % cmd).encode()

def output(cmd):
    pk = [p for p in packets(session(command(cmd))) if get(p, "ActionID") == "d"]
    check(len(pk) == 1, "%s: no answer" % cmd)
    return pk[0] if pk else []

# Case-insensitive names, as manager.c's strcasecmp.
p = output("manager show command originate")
outs = [v for k, v in p if k == "Output"]
check("  -= Info about Manager Command 'Originate' =- " in outs and "Channel: <value>" in outs,
      "originate (lower case) not documented: %r" % outs[:5])

# An action the sim implements but the capture does not document.
p = output("manager show command Getvar")
outs = [v for k, v in p if k == "Output"]
check(get(p, "Response") == "Success", "Getvar docs: %r" % p)
for line in ["  -= Info about Manager Command 'Getvar' =- ", "[Synopsis]", "[Syntax]",
             "Action: Getvar", "[ActionID:] <value>", "Variable: <value>", "[Channel:] <value>",
             "[Privilege]", "call,reporting,all", "[End Final Response]"]:
    check(line in outs, "Getvar docs lack %r: %r" % (line, outs))

# Several names in one command, each documented in turn.
p = output("manager show command Ping Getvar")
outs = [v for k, v in p if k == "Output"]
check(outs.count("[Synopsis]") == 2, "two actions: %r" % outs)

# Unknown event; usage errors.
p = output("manager show event NoSuchEvent")
check([v for k, v in p if k == "Output"] == ["Could not find event 'NoSuchEvent'"], "unknown event: %r" % p)
p = output("manager show command")
check(get(p, "Response") == "Error" and get(p, "Output").startswith("Usage: manager show command"),
      "usage: %r" % p)
done("sim docs")
PY
