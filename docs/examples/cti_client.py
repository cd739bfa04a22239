"""A CTI client for Branchline: print the screen pop of every call offered.

    BRANCHLINE_CTI_TOKEN=blt_... python3 cti_client.py ws://10.1.2.3:8080 --queue general
    BRANCHLINE_CTI_TOKEN=blt_... python3 cti_client.py wss://10.1.2.3:8443 --agent 1001

Python's standard library plus the ``websockets`` package (pip install websockets). The token
comes from the appliance's Integrations page (an admin issues it with a scope such as
``queue:general`` or ``agent:1001``). On a dropped connection the client reconnects and
resumes after the last event it saw (``stream`` and ``after``), so nothing is missed or
printed twice. ``--count N`` stops after N offered calls.
"""

import argparse
import json
import os
import sys
import time
import urllib.parse

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def pop_lines(event):
    """The screen pop of an ``offered`` event as lines of text."""
    pop = event["data"]
    path = " > ".join(f"{s['node']} {s['did']} {s['value']}".strip() for s in pop["path"])
    host = ", ".join(f"{h['endpoint']} {h['status']}" for h in pop["host"]) or "none"
    return [
        f"offered {event['call_id']} to agent {event['agent']} at {pop['station']}",
        f"  caller {pop['caller'] or '(withheld)'}  VIP {'yes' if pop['vip'] else 'no'}  "
        f"class {pop['class']}  language {pop['language']}",
        f"  queue {pop['queue']}  waited {pop['waited_s']:.0f} s  card {pop['card'] or 'none'}"
        f"  host {host}",
        f"  path {path or 'none'}",
        f"  earlier calls today {len(pop['calls_today'])}",
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the appliance, ws://host:port or wss://host:port")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--agent")
    who.add_argument("--queue")
    parser.add_argument("--count", type=int, default=0, help="stop after N offered calls")
    args = parser.parse_args(argv)
    token = os.environ.get("BRANCHLINE_CTI_TOKEN")
    if not token:
        sys.exit("set BRANCHLINE_CTI_TOKEN to a token from the appliance's Integrations page")
    query = {"agent": args.agent} if args.agent else {"queue": args.queue}
    asked = ", ".join(f"{k} {v}" for k, v in query.items())
    stream, after, offered = None, None, 0
    while True:
        where = dict(query)
        if stream is not None:
            where.update(stream=stream, after=after)
        url = f"{args.url.rstrip('/')}/api/cti/v1/stream?{urllib.parse.urlencode(where)}"
        try:
            with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
                print(f"connected to {args.url} ({asked})", flush=True)
                for message in ws:
                    event = json.loads(message)
                    if event["type"] == "gap":
                        print(f"events were missed; now at {event['last']}", flush=True)
                        stream = event["stream"]
                        continue
                    stream, after = event["stream"], event["seq"]
                    if event["type"] == "offered":
                        print("\n".join(pop_lines(event)), flush=True)
                        offered += 1
                        if offered == args.count:
                            return
        except ConnectionClosed as closed:
            if closed.rcvd is not None and closed.rcvd.code in (4400, 4401, 4403):
                sys.exit(f"refused: {closed.rcvd.reason}")
            print("connection lost; reconnecting", flush=True)
        except (OSError, InvalidStatus) as problem:
            print(f"cannot connect ({problem}); trying again in 5 s", flush=True)
        time.sleep(5)


if __name__ == "__main__":
    main()
