"""`branchline call`: the terminal caller's line, the board wrapper, and a scripted real call."""

import argparse
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from branchline.config import default_document_text
from branchline.dsp import CALL_PROGRESS_TONES, CallProgressRx, DtmfRx
from branchline.firmware.cli.call import (
    BUSY_GIVE_UP_S,
    ManualTrunkBoard,
    TerminalCaller,
    add_call_command,
)
from branchline.firmware.records.database import Records
from branchline.hw import SimBoard
from branchline.hw.ports import CallerId, PortError, Ring, RingOff

ROOT = Path(__file__).resolve().parents[3]
PROMPTS = yaml.safe_load((ROOT / "config/defaults/prompts.yaml").read_text(encoding="utf-8"))
DEMO = ROOT / "config/defaults/scenario_demo.yaml"


def run_blocks(caller, start, seconds, sink=None):
    events = []
    for i in range(round(seconds / 0.02)):
        now = start + i * 0.02
        events += caller.tick(now)
        audio = caller.audio()
        if sink is not None:
            sink(audio)
    return events


def test_rings_china_cadence_with_caller_id_after_the_first_ring():
    said = []
    caller = TerminalCaller(3, say=said.append)
    caller.dial(10.0)
    events = run_blocks(caller, 10.0, 6.5)
    assert [(type(e), round(e.time, 2)) for e in events] == [
        (Ring, 10.0), (RingOff, 11.0), (CallerId, 11.5), (Ring, 15.0), (RingOff, 16.0)]
    assert [e.count for e in events if isinstance(e, Ring)] == [1, 2]
    cid = events[2]
    assert (cid.port, cid.number, cid.number_absent) == (3, None, "O")
    caller.answered()
    assert caller.state == "talking" and said == ["answered"]
    assert run_blocks(caller, 16.5, 6.0) == []  # no more ringing once answered


def test_keys_become_dtmf_the_detector_hears():
    said = []
    caller = TerminalCaller(0, say=said.append)
    caller.dial(0.0)
    caller.answered()
    caller.press("1#9*")
    rx = DtmfRx(1)
    heard = []

    def detect(audio):
        heard.extend(k.digit for k in rx.process(audio.reshape(1, -1)) if k.end is None)

    run_blocks(caller, 0.0, 1.2, detect)
    assert "".join(heard) == "1#9*"
    assert said == ["answered", "you pressed 1", "you pressed #", "you pressed 9",
                    "you pressed *"]


def test_a_wrong_key_is_explained_not_sent():
    said = []
    caller = TerminalCaller(0, say=said.append)
    caller.dial(0.0)
    caller.answered()
    caller.press("x")
    assert said[-1] == "'x' is not a key on a phone: use 0-9 * # A-D, or q to hang up"
    assert not caller.audio().any()


def test_q_hangs_up_with_the_busy_tone():
    said = []
    caller = TerminalCaller(0, say=said.append)
    caller.dial(0.0)
    caller.answered()
    caller.press("5q")  # the queued 5 is dropped: the phone is down
    progress = CallProgressRx(1, tones=CALL_PROGRESS_TONES["cn"], detect=["busy"])
    tones = []
    run_blocks(caller, 0.0, 3.0,
               lambda audio: tones.extend(t.tone for t in progress.process(audio.reshape(1, -1))))
    assert tones[:1] == ["busy"]
    assert caller.state == "hung_up" and said[-1] == "you hung up"
    assert not caller.busy_too_long(3.0)
    assert caller.busy_too_long(0.02 + BUSY_GIVE_UP_S + 0.1)
    caller.released()
    assert caller.state == "over" and said[-1] == "line released"


def test_board_wrapper_gives_one_trunk_to_the_person():
    inner = SimBoard(trunks=2, stations=3, scenario=DEMO)
    said = []
    caller = TerminalCaller(1, say=said.append)
    board = ManualTrunkBoard(inner, caller)
    assert board.ports == inner.ports
    caller.dial(0.0)
    events = board.tick(0.0)
    assert [e for e in events if e.port == 1] == [Ring(1, 0.0, 1)]
    assert {e.port for e in events} - {1} <= {2, 3, 4}  # the virtual agents' phones
    board.answer(1)
    assert caller.state == "talking"
    caller.press("7")
    rx = board.read_block()
    assert rx.shape == (5, 160) and rx[1].any()  # the 7's DTMF on the person's trunk
    tx = np.zeros((5, 160), np.int16)
    tx[1] = 1000
    board.write_block(tx)
    assert (board.heard == 1000).all()
    board.hang_up(1)
    assert caller.state == "over"
    for t in range(1, 3000):  # a minute of demo traffic: no virtual caller on the seized trunk
        assert all(e.port != 1 for e in board.tick(t * 0.02))
    board.release()


def test_a_station_cannot_be_the_terminal_line():
    inner = SimBoard(trunks=1, stations=3, scenario=DEMO)
    with pytest.raises(PortError, match=r"port 2 \(fxs2\) is a station; give the terminal a "
                                        "trunk"):
        ManualTrunkBoard(inner, TerminalCaller(2))


# The `call` subcommand exactly as add_call_command gives it to `branchline`.
CALL_COMMAND = """
import argparse, sys
from branchline.firmware.cli.call import add_call_command
parser = argparse.ArgumentParser(prog="branchline")
add_call_command(parser.add_subparsers(required=True))
args = parser.parse_args()
sys.exit(args.func(args))
"""


def test_scripted_call_walks_the_menus(tmp_path):
    """A real call: the appliance in a child process on the real clock, keys by script."""
    run = subprocess.run(
        [sys.executable, "-c", CALL_COMMAND, "call", "--data", str(tmp_path),
         "--script", "1,3,q", "--at", "2026-11-23T10:00", "--no-sound"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    prompts = [line for line in lines if line.startswith("prompt ")]
    assert prompts[0] == f"prompt [zh] {PROMPTS['language.choose']['zh']}"
    assert prompts[1] == f"prompt [zh] {PROMPTS['main.long']['zh']}"
    assert prompts[2].startswith(f"prompt [zh] {PROMPTS['branch.address']['zh']}")
    assert lines[:2] == ["calling 075588880001 on fxo2", "answered"]
    assert [line for line in lines if line.startswith("you ")] == [
        "you pressed 1", "you pressed 3", "you hung up"]
    assert lines[-1] == "call over"


@pytest.mark.parametrize("caller_id", ["none", "private", "unavailable"])
def test_a_caller_without_a_number_can_report_a_lost_card(tmp_path, caller_id):
    """Issue 18: no caller ID, a withheld or an unavailable number must not stop a card
    loss; the real bank host simulator on loopback answers it and the caller hears the
    reference."""
    run = subprocess.run(
        [sys.executable, "-c", CALL_COMMAND, "call", "--data", str(tmp_path),
         "--caller-id", caller_id, "--script", "1,2,6222021234567894#,1,q",
         "--at", "2026-11-23T10:00", "--no-sound"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    prompts = [line for line in run.stdout.splitlines() if line.startswith("prompt ")]
    assert any(line.startswith(f"prompt [zh] {PROMPTS['loss.reported']['zh']}")
               for line in prompts), prompts
    assert not any(PROMPTS["host.refused"]["zh"] in line for line in prompts)
    with Records(tmp_path / "records.db") as records:
        (call,) = [c for c in records.calls(0.0, float("inf")) if "card_loss" in c.host_results]
    assert call.caller == ""
    assert call.host_results == {"card_loss": {"status": "ok"}}


@pytest.fixture(params=["errors", "stopped"])
def failing_bank(request, tmp_path):
    """The bank host simulator as its own process, answering every request 503 (``errors``),
    or started and stopped again so nothing listens at its address (``stopped``); yields the
    reply code the appliance's host client must make of it."""
    bank = subprocess.Popen(
        [sys.executable, "-m", "branchline.firmware.bankhost", "--port", "0",
         "--error-rate", "1"], stdout=subprocess.PIPE, text=True)
    try:
        ready = bank.stdout.readline()  # "bank host simulator at http://127.0.0.1:PORT (...)"
        assert ready.startswith("bank host simulator at http://127.0.0.1:"), ready
        url = ready.split()[4]
        if request.param == "stopped":
            bank.terminate()
            bank.wait()
        document = yaml.safe_load(default_document_text())
        document["host"]["base_url"] = url
        published = tmp_path / "failing-bank.yaml"
        published.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        run = subprocess.run(
            [str(Path(sys.executable).with_name("branchline")), "config", "publish",
             str(published), "--note", "bank host at " + url, "--data", str(tmp_path)],
            capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        yield {"errors": "http_503", "stopped": "unreachable"}[request.param]
    finally:
        bank.terminate()
        bank.wait()
        bank.stdout.close()


def test_a_card_loss_the_bank_cannot_take_goes_to_a_person(tmp_path, failing_bank):
    """Issue 18: when the bank's system fails on a card loss, the caller hears that the system
    could not help (not that the card or PIN was refused) and is queued to an agent, and the
    call's record says why."""
    run = subprocess.run(
        [sys.executable, "-c", CALL_COMMAND, "call", "--data", str(tmp_path),
         "--caller-id", "private", "--script", "1,2,6222021234567894#,1",
         "--at", "2026-11-23T10:00", "--no-sound"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    prompts = [line for line in run.stdout.splitlines() if line.startswith("prompt ")]
    assert f"prompt [zh] {PROMPTS['host.failed']['zh']}" in prompts, prompts
    assert not any(PROMPTS[name]["zh"] in line for line in prompts
                   for name in ("host.refused", "loss.refused", "loss.reported"))
    with Records(tmp_path / "records.db") as records:
        (call,) = [c for c in records.calls(0.0, float("inf")) if "card_loss" in c.host_results]
        entered = [e for e in records.call_events(call.call_id) if e.name == "ENTERQUEUE"]
    assert call.host_results == {"card_loss": {"status": "failed", "code": failing_bank}}
    assert f"card_loss: failed {failing_bank}" in [step.detail for step in call.ivr_path]
    assert call.queue == "general"
    assert [e.queue for e in entered] == ["general"]


def test_a_bad_start_time_is_explained(tmp_path):
    parser = argparse.ArgumentParser(prog="branchline")
    add_call_command(parser.add_subparsers(required=True))
    args = parser.parse_args(["call", "--data", str(tmp_path), "--at", "ten o'clock"])
    with pytest.raises(SystemExit, match=r"--at \"ten o'clock\" is not an ISO date and time; "
                                         r"write e\.g\. 2026-11-23T10:00"):
        args.func(args)


class Terminal:
    """A child process on a real pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, argv, cwd):
        self.master, slave = pty.openpty()
        self.child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                                      close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text, limit=60.0):
        """Read until `text` has been printed; `limit` bounds a broken run, it is no wait."""
        end = time.monotonic() + limit
        while text not in self.seen:
            ready, _, _ = select.select([self.master], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                raise AssertionError(f"{text!r} not printed; the terminal shows:\n{self.seen}")
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"{text!r} not printed before the end:\n{self.seen}")
            self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")

    def type(self, keys):
        os.write(self.master, keys.encode())

    def close(self):
        self.child.kill()
        self.child.wait()
        os.close(self.master)


def test_interactive_call_on_a_terminal(tmp_path):
    """Keys typed on a real terminal (cbreak mode, one key at a time) reach the IVR as DTMF."""
    term = Terminal([sys.executable, "-c", CALL_COMMAND, "call", "--data", str(tmp_path),
                     "--at", "2026-11-23T10:00", "--no-sound"], tmp_path)
    try:
        term.expect(f"prompt [zh] {PROMPTS['language.choose']['zh']}", limit=120)
        term.type("3")                       # English, pressed over the prompt
        term.expect("you pressed 3")
        term.expect(f"prompt [en] {PROMPTS['main.long']['en']}")
        term.type("x")                       # not a key on a phone: explained, not sent
        term.expect("'x' is not a key on a phone")
        term.type("q")
        term.expect("you hung up")
        term.expect("call over")
        assert term.child.wait(timeout=60) == 0
    finally:
        term.close()
    assert "you pressed x" not in term.seen
