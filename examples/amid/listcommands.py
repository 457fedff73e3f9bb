#!/usr/bin/env python3
"""ListCommands through amid: the first AMI program, without a manager
secret in the script. Usage:
    AMID_URL=http://127.0.0.1:8088 AMID_TOKEN=amid_... ./listcommands.py [SERVER]
Standard library only."""
import json
import os
import sys
import urllib.error
import urllib.request

url = os.environ.get("AMID_URL", "http://127.0.0.1:8088")
token = os.environ.get("AMID_TOKEN")
if not token:
    sys.exit("set AMID_TOKEN (never put it on the command line)")
server = sys.argv[1] if len(sys.argv) > 1 else "pbx1"

req = urllib.request.Request(
    "%s/v1/servers/%s/actions" % (url, server),
    data=json.dumps({"Action": "ListCommands"}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
try:
    with urllib.request.urlopen(req, timeout=15) as r:
        answer = json.load(r)
except urllib.error.HTTPError as e:
    body = json.load(e)
    sys.exit("amid said %d: %s" % (e.code, body.get("error")))

response = answer["response"]
if response.get("Response") != "Success":
    sys.exit("the PBX said: %s" % response.get("Message"))
for key, value in response.items():
    if key not in ("Response", "ActionID"):
        print("%-24s %s" % (key, value))
