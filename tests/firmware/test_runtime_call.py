"""End to end: one virtual caller walks the sample bank flow to an agent and back.

The whole appliance runs on the virtual clock: the sim board's caller keys real DTMF audio,
the bank host simulator answers over HTTP on loopback, the agent at the FXS station logs in
from the keypad, answers the ring, talks, hangs up; the caller answers the survey.
"""

import wave

import numpy as np
from runtime_harness import (
    BALANCE,
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.hw.ports import BLOCK_SAMPLES

BALANCE_THEN_AGENT = ('[{keys: "1"}, {keys: "{card}#"}, {keys: "1"}, {keys: "{pin}"}, '
                      '{keys: "0"}, {wait_agent: true}]')


class TappedBoard:
    """The sim board, with the loudest block the appliance sent to each port kept."""

    def __init__(self, board):
        self._board = board
        self.loudest = np.zeros(len(board.ports))

    def write_block(self, block):
        rms = np.sqrt(np.mean(block.astype(np.float64) ** 2, axis=1))
        np.maximum(self.loudest, rms, out=self.loudest)
        self._board.write_block(block)

    def __getattr__(self, name):
        return getattr(self._board, name)


def test_balance_then_agent_then_survey(tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "data", scenario_text(goal_steps=BALANCE_THEN_AGENT),
                       prompts_dir=prompts_dir, bank_url=bank_url)
    said = []
    render = h.prompts.render_items
    h.prompts.render_items = lambda items, lang, speed=1.0: (
        said.append(tuple(items)) or render(items, lang, speed))
    tap = TappedBoard(h.board)
    h.app.board = h.app.loop.board = tap
    h.run_until(lambda: h.board.callers() and h.board.callers()[0].outcome is not None, 400)
    records = h.close()

    caller = h.board.callers()[0]
    assert caller.connected is not None, "the caller never heard the agent's voice"
    assert caller.survey_score == 4
    [cdr] = [r for r in records if r.caller == caller.number]
    assert cdr.outcome == "answered"
    assert cdr.agent_id == "1001"
    assert cdr.queue == "general"
    assert cdr.survey_score == 4
    assert cdr.host_results == {"balance": {"status": "ok"}}
    assert cdr.talk_seconds == 20.0  # the scenario's fixed handle time
    assert cdr.wrapup_seconds > 0
    assert cdr.config_version == 2  # v1 the default, v2 fitted to the scenario
    nodes = [step.node for step in cdr.ivr_path if step.what == "enter"]
    assert nodes[:3] == ["vip_check", "language_menu", "set_zh"]
    assert {"balance_pin", "balance_query", "balance_said", "agent", "survey"} <= set(nodes)
    assert not any("6222021234567894" in s.detail for s in cdr.ivr_path)
    # The amount was spoken: 1234.56 as Mandarin money units after the result prompt.
    spoken = next(items for items in said if items and items[0] == "balance.result")
    assert any(unit.startswith("money/") for unit in spoken[1:]), spoken
    assert BALANCE == "1234.56"

    # The recording: stereo, caller left, agent right, both voices in it.
    path = h.data_dir / cdr.recording
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(frames) == round(cdr.talk_seconds * 8000 / BLOCK_SAMPLES) * BLOCK_SAMPLES
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=0))
    assert rms[0] > 300 and rms[1] > 300, rms  # talk at -20/-18 dBm0 is ~1,600 RMS
    # Audio flowed to both sides: the appliance sent speech-level audio to the station.
    station = h.board.trunks
    assert tap.loudest[station] > 300


def test_no_half_open_state_after_the_call(tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = RuntimeHarness(tmp_path / "data", scenario_text(goal_steps=BALANCE_THEN_AGENT),
                       prompts_dir=prompts_dir, bank_url=bank_url)
    h.run_until(lambda: h.board.callers() and h.board.callers()[0].outcome is not None, 400)
    h.run(15)  # the agent's wrap-up
    assert h.app.active_calls == 0
    assert h.app.by_id == {}
    assert h.app.acd.waiting("general") == 0
    assert len(h.app.loop.timers) <= 1  # at most the ACD's own timer
    assert h.app.counters["illegal_acd"] == 0
    assert h.app.counters["call_errors"] == 0
    assert len(h.close()) == 1
