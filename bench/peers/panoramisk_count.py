#!/usr/bin/python3
"""Count firehose events with panoramisk (Debian: apt-get install python3-panoramisk).

usage: panoramisk_count.py PORT N
Logs in as admin/amp111 with Events: on, counts events until Event: SimDone,
checks SimDone's Count and the number of firehose events (those with a
Linkedid), then prints `events`, `seconds` and `events_per_s` lines.
"""
import asyncio
import sys
import time

from panoramisk import Manager


def main():
    port, want = int(sys.argv[1]), int(sys.argv[2])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    state = {"firehose": 0, "t0": None, "t1": None, "ok": False}
    done = loop.create_future()

    def on_login(manager):
        state["t0"] = time.monotonic()

    def on_event(manager, event):
        if event.event == "SimDone":
            state["t1"] = time.monotonic()
            state["ok"] = int(event["Count"]) == want
            if not done.done():
                done.set_result(True)
        elif "Linkedid" in event:
            state["firehose"] += 1

    manager = Manager(loop=loop, host="127.0.0.1", port=port, username="admin",
                      secret="amp111", events="on", ping_delay=3600,
                      ping_interval=3600, on_login=on_login)
    manager.register_event("*", on_event)
    manager.connect()
    loop.run_until_complete(asyncio.wait_for(done, 600))
    manager.close()
    if not state["ok"] or state["firehose"] != want:
        sys.exit("panoramisk: counted %d firehose events, expected %d"
                 % (state["firehose"], want))
    secs = state["t1"] - (state["t0"] or state["t1"])
    print("events %d" % want)
    print("seconds %.6f" % secs)
    print("events_per_s %.0f" % (want / secs))


if __name__ == "__main__":
    main()
