"""`branchline simulate` as a process: the scenario check's warnings reach the user before the
run, an agent whose shift began before the day works it, and a bad file is refused plainly."""

import shutil
import subprocess
import sys
from pathlib import Path

from runtime_harness import prompts_dir, scenario_text  # noqa: F401 - fixture

from branchline.firmware.records.database import Records

BRANCHLINE = Path(sys.executable).with_name("branchline")


def simulate(tmp_path, prompts_dir, text):  # noqa: F811
    scenario = tmp_path / "early.yaml"
    scenario.write_text(text)
    data = tmp_path / "data"
    shutil.copytree(prompts_dir / "prompts", data / "prompts")
    return data, subprocess.run(
        [str(BRANCHLINE), "simulate", str(scenario), "--data", str(data), "--quiet"],
        capture_output=True, text=True, timeout=600)


def test_an_agent_on_shift_before_the_day_starts_is_warned_about_and_answers(
        tmp_path, prompts_dir):  # noqa: F811
    text = scenario_text(rate=120, end="09:04", shift=("08:30", "09:04"))
    data, done = simulate(tmp_path, prompts_dir, text)
    assert done.returncode == 0, done.stderr[-2000:]
    assert ("warning  agents.roster.0.shift: agent 1001's shift 08:30-09:04 starts before the "
            "day 09:00-09:04: the agent logs in at 09:00\n"
            "         fix: start the shift at 09:00 or later\n") in done.stderr
    with Records(data / "records.db") as records:
        calls = records.calls(0.0, float("inf"))
    assert {c.agent_id for c in calls} - {None} == {"1001"}, [c.outcome for c in calls]


def test_a_scenario_with_problems_is_refused_with_them(tmp_path, prompts_dir):  # noqa: F811
    text = scenario_text().replace('day: {start: "09:00"', 'day: {start: "9am"')
    data, done = simulate(tmp_path, prompts_dir, text)
    assert done.returncode == 2
    assert done.stderr.startswith(f"branchline simulate: scenario {tmp_path / 'early.yaml'}: "
                                  "1 problem(s)\n  day.start: expected a time of day 'HH:MM'")
    assert not (data / "records.db").exists()
