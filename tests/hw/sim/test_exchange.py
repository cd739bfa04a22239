"""The sim board's exchange: lines the appliance seizes to call back the callers who asked.

A caller asks for a call back in the queue (after a prompt) and is hung up on; then the test,
as the appliance would, seizes a line, hears dial tone, sends the caller's number as DTMF and
hears what the exchange does: the caller's phone answered with a hello, busy, or an unknown
number's unobtainable tone.
"""

import numpy as np
from hwsim_kit import PromptingAppliance, callers_with, drive, scenario

from branchline.dsp import CALL_PROGRESS_TONES, AnswerDetector, dtmf_samples
from branchline.hw.ports import BLOCK_SAMPLES
from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.caller import CallOutcome

LINE = 5  # callers arrive from trunk 0 up; the call back goes out on the last trunk


class AskingAppliance(PromptingAppliance):
    """Prompts a caller until they have asked for a call back, then hangs up on them."""

    def step(self, now, events, rx):
        tx = super().step(now, events, rx)
        callers = self.board.callers()
        asked = callers[0].callback_asked if callers else None
        if asked is not None and 0 in self.answered_at and now - asked > 1.0:
            self.board.hang_up(0)
            del self.answered_at[0]
        return tx


def _asked(callback):
    board = SimBoard(scenario=scenario(
        board={"trunks": 6, "stations": 1},
        arrivals={"default_per_hour": 0, "per_hour": {9: 120}},
        callers=callers_with(prelude=[], callback=callback, goals={"cb": {"share": 1, "steps": [
            {"keys": "0"}, {"callback": "1"}]}}),
    ))
    app = AskingAppliance(board, prompt_s=1.5, period=8.0)
    drive(board, 90, app)
    [caller] = [c for c in board.callers() if c.callback_asked is not None][:1]
    assert caller.outcome is CallOutcome.CALLBACK_PENDING
    assert [k.kind for k in caller.keys] == ["ok", "callback"]
    return board, caller


def _dial(board, number, seconds, start=90.0):
    """Seize LINE, wait for dial tone, send `number`, listen; [(what, seconds)] heard."""
    detector = AnswerDetector(1, tones=CALL_PROGRESS_TONES["cn"])
    channels = len(board.ports)
    heard, digits = [], None
    board.answer(LINE)
    detector.watch(LINE, "dial")
    for k in range(round(seconds / 0.02)):
        now = start + k * 0.02
        board.tick(now)
        rx = board.read_block()
        for event in detector.process(rx):
            heard.append((event.what, round(now - start, 2)))
            if event.what == "dial":
                digits = dtmf_samples(number, level_dbm0=-8, on_ms=100, off_ms=100)
        tx = np.zeros((channels, BLOCK_SAMPLES), np.int16)
        if digits is not None:
            tx[LINE, :min(BLOCK_SAMPLES, digits.size)] = digits[:BLOCK_SAMPLES]
            digits = digits[BLOCK_SAMPLES:]
            if not digits.size:
                digits = None
                detector.watch(LINE, "answer")
        board.write_block(tx)
    return heard


def test_a_call_back_rings_the_caller_who_answers_with_a_hello():
    board, caller = _asked({"busy": 0, "no_answer": 0,
                            "answer_delay": {"kind": "fixed", "value": 5}})
    heard = _dial(board, caller.number, 16)
    assert [w for w, _ in heard] == ["dial", "voice"]
    when = dict(heard)
    assert when["dial"] < 0.6
    dialled = when["dial"] + 0.2 * len(caller.number)
    assert dialled + 5 <= when["voice"] <= dialled + 7  # rang 5 s, then "hello"
    record = board.callers()[caller.id - 1]
    assert record.callback_attempts == 1 and record.called_back is not None
    assert board.counters().called_back == 1


def test_a_busy_caller_gives_busy_tone():
    board, caller = _asked({"busy": 1.0, "no_answer": 0.0})
    heard = _dial(board, caller.number, 14)
    assert [w for w, _ in heard] == ["dial", "busy"]
    assert board.callers()[caller.id - 1].called_back is None
    assert board.counters().callback_attempts == 1


def test_a_number_nobody_waits_on_is_unobtainable_and_counted():
    board, caller = _asked({"busy": 0})
    heard = _dial(board, "13912345678" if caller.number != "13912345678" else "13800000000",
                  16)
    assert [w for w, _ in heard] == ["dial", "unobtainable"]
    assert board.counters().dialled_unknown == 1
    assert board.callers()[caller.id - 1].callback_attempts == 0
