"""docs/examples/cti_client.py, run as its own process against the appliance served on
loopback: it prints the screen pop of the call offered, and no PIN."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

from loopback_server import served
from runtime_harness import CARD, PIN, bank_url, prompts_dir, scenario_text  # noqa: F401
from web_harness import WebHarness

CLIENT = Path(__file__).resolve().parents[3] / "docs" / "examples" / "cti_client.py"
WAIT_S = 60  # a bound for a loaded machine: a Python process starting, a socket opening


def _lines(process) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_the_example_client_prints_the_screen_pop(tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url,
                   scenario=scenario_text(stations=1, end="09:03"))
    try:
        token = h.client().post("/api/integrations", json={
            "name": "crm", "scopes": ["queue:general"]}).json()["token"]
        with served(h.web) as base:
            process = subprocess.Popen(
                [sys.executable, str(CLIENT), base.replace("http", "ws"), "--queue", "general",
                 "--count", "1"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                env={**os.environ, "BRANCHLINE_CTI_TOKEN": token})
            try:
                lines = _lines(process)
                first = lines.get(timeout=WAIT_S)
                assert first == f"connected to {base.replace('http', 'ws')} (queue general)"
                h.run_until(lambda: any(e.type == "offered" for e in h.link.cti.since(0)[0]),
                            limit=240)
                assert process.wait(WAIT_S) == 0
            finally:
                process.kill()
        printed = []
        while (line := lines.get(timeout=WAIT_S)) is not None:
            printed.append(line)
        process.stdout.close()
        offered = next(json.loads(e.text) for e in h.link.cti.since(0)[0]
                       if e.type == "offered")
        pop = offered["data"]
        assert printed[0] == f"offered {offered['call_id']} to agent 1001 at fxs1"
        assert f"caller {pop['caller']}  VIP no" in printed[1]
        assert f"card {'*' * 12}{CARD[-4:]}  host balance ok" in printed[2]
        assert "main_menu pressed 1" in printed[3] and "balance_pin typed" in printed[3]
        assert PIN not in "\n".join(printed) and CARD not in "\n".join(printed)
    finally:
        h.close()
