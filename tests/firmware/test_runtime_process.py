"""The commands as processes: `branchline run` drains on SIGTERM and exits 0; a
`branchline simulate` killed with SIGKILL mid-traffic leaves an intact database holding every
record it had acknowledged, and the next run on the same data directory carries on."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from runtime_harness import prompts_dir, scenario_text  # noqa: F401 - fixture

from branchline.acd import QueueEventKind, kpis_from_log
from branchline.firmware.records.cdr import queue_event
from branchline.firmware.records.database import Records
from branchline.firmware.records.reconcile import reconcile

BRANCHLINE = Path(sys.executable).with_name("branchline")
INFO_GOAL = '[{keys: "3"}, {listen: true}, {hang_up: true}]'


def _data_with_prompts(tmp_path, prompts_dir):  # noqa: F811
    data = tmp_path / "data"
    shutil.copytree(prompts_dir / "prompts", data / "prompts")
    return data


def test_kill_9_mid_traffic_loses_no_acknowledged_record(tmp_path, prompts_dir):  # noqa: F811
    scenario = tmp_path / "busy.yaml"
    scenario.write_text(scenario_text(trunks=8, stations=1, rate=1200, end="12:00",
                                      goal_steps=INFO_GOAL))
    data = _data_with_prompts(tmp_path, prompts_dir)
    command = [str(BRANCHLINE), "simulate", str(scenario), "--data", str(data), "--quiet",
               "--log-level", "INFO", "--hours", "2"]
    acknowledged = []
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          text=True) as child:
        for line in child.stderr:
            found = re.search(r"records committed: calls (.*)$", line)
            if found:
                acknowledged += found.group(1).split()
            if len(acknowledged) >= 8:
                child.send_signal(signal.SIGKILL)
                break
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 8
    with Records(data / "records.db") as records:
        assert records.integrity_problems() == []
        stored = {r.call_id for r in records.calls(0.0, float("inf"))}
    assert set(acknowledged) <= stored

    again = subprocess.run([*command[:-1], "0.05"], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    with Records(data / "records.db") as records:
        assert len(records.calls(0.0, float("inf"))) > len(stored)
        assert records.integrity_problems() == []


def test_kill_9_then_restart_gives_every_caller_who_entered_a_record(tmp_path,
                                                                    prompts_dir):  # noqa: F811
    """Callers wait for two agents who take 60 s each; SIGKILL comes with calls in the menus,
    in the queue and talking. The next start must give each of them a record before taking
    new calls, so that callers entered == records and KPIs answered == records answered."""
    scenario = tmp_path / "queueing.yaml"
    scenario.write_text(scenario_text(trunks=8, stations=2, rate=900, end="12:00",
                                      agents=[("1001", 0), ("1002", 1)],
                                      handle="{kind: fixed, value: 60}"))
    data = _data_with_prompts(tmp_path, prompts_dir)
    command = [str(BRANCHLINE), "simulate", str(scenario), "--data", str(data), "--quiet",
               "--log-level", "INFO", "--hours", "2"]
    acknowledged = []
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          text=True) as child:
        for line in child.stderr:
            found = re.search(r"records committed: calls (.*)$", line)
            if found:
                acknowledged += found.group(1).split()
            if len(acknowledged) >= 6:
                child.send_signal(signal.SIGKILL)
                break
        child.wait()
    assert child.returncode == -signal.SIGKILL

    again = subprocess.run([*command[:-1], "0.02"], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    with Records(data / "records.db") as records:
        calls = records.calls(0.0, float("inf"))
        log = [queue_event(row, 0.0) for row in records.iter_events()]
        lost = [c for c in calls if c.hangup_reason == "appliance_restarted"]
        entered = {e.call_id for e in log if e.kind is QueueEventKind.ENTERQUEUE}
        assert entered == {c.call_id for c in calls if c.queue is not None}
        assert {e.call_id for e in log if e.call_id} <= {c.call_id for c in calls}
        kpis = kpis_from_log(log, [], max(e.time for e in log)).queues["general"]
        assert kpis.answered == sum(c.outcome == "answered" for c in calls)
        assert kpis.offered == len(entered)
        assert lost, "the kill found no call up: the test proves nothing"
        assert records.open_calls() == []
        assert "call record(s) written now" in again.stderr
        # The normal stop of the second run may leave agents logged in; once reconciled,
        # a further start writes nothing.
        reconcile(records, data)
        assert not reconcile(records, data)


def test_run_drains_on_sigterm_and_exits_0(tmp_path, prompts_dir):  # noqa: F811
    data = _data_with_prompts(tmp_path, prompts_dir)
    lines = []
    with subprocess.Popen([str(BRANCHLINE), "run", "--data", str(data)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "NOTIFY_SOCKET": ""}) as child:
        for line in child.stdout:
            lines.append(line)
            if line.startswith("branchline running"):
                child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)
    output = "".join(lines)
    assert child.returncode == 0, output[-2000:]
    assert "SIGTERM: draining" in output
    assert re.search(r"branchline stopped \((drained|bound reached)\).*records flushed", output)
