"""Faults on the board link, injected by the emulator, with the whole appliance running.

For each fault a call is up on the one trunk when it strikes (at FAULT_AT s on the board's
clock). What must hold:

- no crash: the appliance runs on through the fault and after it;
- the board comes back (handshake again) and the fault is counted in /metrics;
- no half-open call: the call the fault cut has its record, with a clear outcome, soon after;
- no stuck port: the next caller on that trunk is answered.

Noise and dropped frames do not cut the call: it runs to its end through them.
"""

import os
import re

import pytest
from emu_harness import EmuHarness
from runtime_harness import (
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

FAULT_AT = 20.0
AFTER_S = 30.0  # how long the run goes on after the fault
BALANCE_THEN_HANG_UP = ('[{keys: "1"}, {keys: "{card}#"}, {keys: "1"}, {keys: "{pin}"}, '
                        '{listen: true}, {hang_up: true}]')
CUT_CALL_ENDS_WITHIN_S = 10.0


def _metric(text, name, **labels):
    body = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{body}}}" if body else name) + r" (\S+)"
    found = re.search(pattern, text)
    assert found, f"{name} {labels} not in /metrics"
    return float(found.group(1))


class Outcome:
    """What a run with one fault left behind."""

    def __init__(self, h, records, metrics):
        self.h = h
        self.records = records
        self.metrics = metrics
        self.callers = h.callers()
        self.epoch = h.app.epoch0


def _run(tmp_path, prompts_dir, bank_url, faults, *, to_the_end=False):  # noqa: F811
    h = EmuHarness(tmp_path / "data", scenario_text(goal_steps=BALANCE_THEN_HANG_UP),
                   prompts_dir=prompts_dir, bank_url=bank_url, faults=faults)
    h.run_until(lambda: h.app.active_calls == 1 and h.callers()[0].answered is not None, 15)
    if to_the_end:
        h.run_until(lambda: h.callers()[0].outcome is not None, 300)
    else:
        h.run(FAULT_AT + AFTER_S - h.clock.now())
    metrics = h.metrics_text()
    status = h.board.status()
    assert status["connected"], status
    records = h.close()
    return Outcome(h, records, metrics)


@pytest.fixture(scope="module", params=["stall@20+5", "reset@20", "unplug@20+6"])
def cut(request, tmp_path_factory, prompts_dir, bank_url):  # noqa: F811
    tmp = tmp_path_factory.mktemp(request.param.split("@")[0])
    return request.param.split("@")[0], _run(tmp, prompts_dir, bank_url, request.param)


def test_the_board_comes_back_and_the_fault_is_counted(cut):
    kind, run = cut
    emulated = run.h.emulator.counters
    assert emulated[{"stall": "stalls", "reset": "resets", "unplug": "unplugs"}[kind]] == 1
    m = run.metrics
    board = {"board": "board0"}
    if kind == "stall":
        assert _metric(m, "branchline_board_heartbeats_missed_total", **board) >= 1
    if kind in ("stall", "reset"):
        assert _metric(m, "branchline_board_resets_total", **board) >= 1
    if kind == "unplug":
        assert _metric(m, "branchline_board_reconnects_total", **board) >= 1
    assert _metric(m, "branchline_board_connected", **board) == 1
    assert _metric(m, "branchline_board_ports_out_of_service", **board) == 0
    # The virtual caller lost its line when the board went down: released, not hung up.
    first = run.callers[0]
    assert first.outcome.value == "released"
    assert FAULT_AT <= first.ended <= FAULT_AT + 10


def test_the_cut_call_is_recorded_soon_and_the_trunk_takes_the_next_call(cut):
    _, run = cut
    first = run.callers[0]
    [record] = [r for r in run.records if r.caller == first.number
                and r.started_at - run.epoch < FAULT_AT]
    assert record.ended_at - run.epoch <= FAULT_AT + CUT_CALL_ENDS_WITHIN_S
    assert record.outcome in ("abandoned-in-ivr", "abandoned-in-queue", "error", "answered",
                              "self-served")
    # The driver put the port out of service; the appliance ended the call saying so.
    assert record.hangup_reason.startswith("line_lost:"), record.hangup_reason
    later = [c for c in run.callers[1:] if c.port == 0]
    assert later and later[0].answered is not None, "trunk 0 never answered again"
    assert not run.h.emulator.lines.off_hook.any()


@pytest.mark.parametrize("faults", ["noise:0.0001", "drop:0.02,late:0.01"])
def test_noise_and_lost_frames_do_not_cut_the_call(tmp_path, prompts_dir, bank_url,  # noqa: F811
                                                   faults):
    run = _run(tmp_path, prompts_dir, bank_url, faults, to_the_end=True)
    first = run.callers[0]
    assert first.outcome.value in ("hung_up_done", "gave_up")  # not released: the line held
    [record] = [r for r in run.records if r.started_at - run.epoch < 5]
    assert record.outcome in ("self-served", "abandoned-in-ivr")
    assert record.hangup_side == "caller"
    board = {"board": "board0"}
    m = run.metrics
    if faults.startswith("noise"):
        assert _metric(m, "branchline_board_frames_total", **board, kind="bad") > 0
    else:
        assert _metric(m, "branchline_board_frames_total", **board, kind="lost") > 0
        assert _metric(m, "branchline_board_frames_total", **board, kind="late") > 0
    assert _metric(m, "branchline_board_reconnects_total", **board) == 0
    assert _metric(m, "branchline_board_connected", **board) == 1


SOAK_HOURS = float(os.environ.get("BRANCHLINE_SOAK_HOURS", "1"))
SOAK_FAULTS = "noise:0.00002,drop:0.002,late:0.001,stall@900+5,reset@1800,unplug@2700+15"


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.soak
def test_soak_eight_lines_for_an_hour_with_faults(tmp_path, prompts_dir, bank_url):  # noqa: F811
    """8 trunks, 4 agents, calls all hour, every kind of fault: nothing leaks, nothing sticks.

    About 5-10 minutes of machine time for the hour (BRANCHLINE_SOAK_HOURS shortens it; the
    timed faults past the end then do not happen)."""
    fds = _open_fds()
    agents = [(f"10{i:02d}", i) for i in range(4)]
    steps = ('[{keys: "1"}, {keys: "{card}#"}, {keys: "1"}, {keys: "{pin}"}, {listen: true}, '
             '{keys: "0"}, {wait_agent: true}]')
    text = scenario_text(trunks=8, stations=4, rate=150, end="23:00", goal_steps=steps,
                         agents=agents, handle="{kind: fixed, value: 60}")
    h = EmuHarness(tmp_path / "data", text, prompts_dir=prompts_dir, bank_url=bank_url,
                   faults=SOAK_FAULTS, seed=3)
    length = SOAK_HOURS * 3600
    h.run(length)
    metrics = h.metrics_text()
    records = h.close()
    run = Outcome(h, records, metrics)

    # Every call the appliance took is recorded, with an outcome; none is left up.
    assert h.app.active_calls == 0 and not h.app.by_id
    assert len(records) == h.app.counters["calls_recorded"] > 8 * SOAK_HOURS
    assert all(r.outcome and r.hangup_reason for r in records)
    assert not h.emulator.lines.off_hook.any()  # every line back on hook
    # The appliance kept answering after each fault that struck.
    for fault in h.emulator.faults.timed:
        if fault.end + 120 < length:
            assert any(r.answered_at is not None
                       and r.answered_at - run.epoch > fault.end + 5 for r in records), fault
    # Every fault is counted, and nothing piles up inside the driver or the emulator.
    counters = h.board.counters
    assert counters["bad_crc"] + counters["bad_cobs"] > 0 and counters["audio_lost"] > 0
    if length > 2700 + 60:
        assert counters["reconnects"] >= 1 and counters["board_resets"] >= 2
    assert _metric(metrics, "branchline_board_frames_total", board="board0", kind="bad") > 0
    assert counters["tx_overflow"] == 0  # the driver's send queue never backed up
    assert not h.emulator._held and not h.emulator._cid
    assert len(h.app.loop.timers) < 50
    assert _open_fds() <= fds + 2  # the pty, the database and the files are closed again
