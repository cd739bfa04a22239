"""The sim board's stations: agents' shifts keyed as codes, ringing, answering, talking."""

import dtmf_reference
import numpy as np
from hwsim_kit import PromptingAppliance, callers_with, drive, scenario

import branchline.dsp
from branchline.dsp import CallProgressRx
from branchline.hw.ports import BLOCK_SAMPLES, OffHook, OnHook
from branchline.hw.sim.audio import block_levels
from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.caller import CallOutcome

STATION = 2  # port of station 0 on a 2-trunk board
DtmfRx = getattr(branchline.dsp, "DtmfRx", None)


def agents(**fields):
    section = {
        "answer_delay": {"kind": "fixed", "value": 3},
        "ring_no_answer": 0,
        "handle_time": {"kind": "fixed", "value": 20},
        "roster": [{"id": "1001", "station": 0,
                    "shift": {"start": "09:00", "end": "09:05"}}],
    }
    section.update(fields)
    return section


def staffed_board(**fields):
    return SimBoard(scenario=scenario(agents=agents(**fields)))


def digits(signal):
    return "".join(d for d, _, _ in dtmf_reference.detect(signal.astype(np.float64)))


def test_the_shift_is_keyed_at_the_phone_as_login_ready_logout():
    board = staffed_board(roster=[{
        "id": "1001", "station": 0,
        "shift": {"start": "09:00", "end": "09:02",
                  "breaks": [{"start": "09:00", "end": "09:01", "reason": 3}]},
    }])
    events, rx = drive(board, 150)
    (agent,) = board.agents()
    assert [code for _, code in agent.codes] == ["*111001#", "*12#", "*133#", "*12#", "*19#"]
    assert digits(rx[STATION]) == "*111001#*12#*133#*12#*19#"
    hooks = [type(e).__name__ for e in events if e.port == STATION]
    assert hooks == ["OffHook", "OnHook"] * 4  # the break's start waits for the login session
    offs = [e.time for e in events if isinstance(e, OffHook)]
    assert offs[-1] >= 120.0  # logout at 09:02
    assert not agent.logged_in


def test_a_rung_phone_answers_after_the_delay_talks_and_hangs_up():
    board = staffed_board()
    drive(board, 20)  # logged in by now
    board.tick(20.0)
    board.ring(STATION)
    events, rx = drive(board, 40, start=20.02)
    mine = [e for e in events if e.port == STATION]
    assert mine == [OffHook(STATION, 23.0), OnHook(STATION, 43.0)]
    talk = rx[STATION][4 * 8000:22 * 8000]
    level = block_levels(talk.reshape(1, -1))[0]
    assert -26 < level < -16  # a talker at -20 dBm0 with pauses
    assert digits(talk) == ""  # a voice is not keys
    assert dsp_detections(talk) == ([], [])  # nor keys, nor a busy tone, to the runtime's DSP
    (agent,) = board.agents()
    assert (agent.rings, agent.answered, agent.missed, agent.calls_ended) == (1, 1, 0, 1)


def dsp_detections(signal):
    """(DtmfRx events or [] if it has not landed, CallProgressRx events) on one channel."""
    keys = DtmfRx(1) if DtmfRx is not None else None
    tones = CallProgressRx(1)
    found_keys, found_tones = [], []
    for k in range(0, signal.size - BLOCK_SAMPLES + 1, BLOCK_SAMPLES):
        block = np.ascontiguousarray(signal[None, k:k + BLOCK_SAMPLES])
        found_keys += keys.process(block) if keys else []
        found_tones += tones.process(block)
    return found_keys, found_tones


def test_ring_no_answer_and_stop_ring():
    board = staffed_board(ring_no_answer=1.0)
    drive(board, 20)
    board.ring(STATION)
    events, _ = drive(board, 30, start=20.0)
    assert not [e for e in events if e.port == STATION]
    board.stop_ring(STATION)
    assert board.agents()[0].missed == 1

    board = staffed_board(answer_delay={"kind": "fixed", "value": 10},
                          ready_again={"kind": "fixed", "value": 60})
    drive(board, 20)
    board.ring(STATION)
    drive(board, 5, start=20.0)
    board.stop_ring(STATION)
    events, _ = drive(board, 30, start=25.0)
    assert not [e for e in events if e.port == STATION]
    assert board.agents()[0].answered == 0


def test_an_agent_who_missed_a_ring_keys_ready_again_after_a_while():
    board = staffed_board(ring_no_answer=1.0, ready_again={"kind": "fixed", "value": 12})
    drive(board, 20)
    board.ring(STATION)
    drive(board, 10, start=20.0)
    board.stop_ring(STATION)  # the ACD's no-answer timeout: it made the agent not ready
    events, rx = drive(board, 30, start=30.0)
    (agent,) = board.agents()
    assert [code for _, code in agent.codes] == ["*111001#", "*12#", "*12#"]
    assert agent.codes[-1][0] > 42.0  # 12 s after the ring stopped, plus lifting the handset
    assert [type(e).__name__ for e in events if e.port == STATION] == ["OffHook", "OnHook"]
    assert digits(rx[STATION]) == "*12#"
    assert agent.missed == 1


def test_a_ready_again_that_falls_in_a_break_is_not_keyed():
    board = staffed_board(ring_no_answer=1.0, ready_again={"kind": "fixed", "value": 20},
                          roster=[{"id": "1001", "station": 0, "shift": {
                              "start": "09:00", "end": "09:05",
                              "breaks": [{"start": "09:01", "end": "09:03", "reason": 2}]}}])
    drive(board, 50)
    board.ring(STATION)
    drive(board, 5, start=50.0)
    board.stop_ring(STATION)  # ready again would fall due at 75 s, inside the 60-180 s break
    drive(board, 200, start=55.0)
    (agent,) = board.agents()
    assert [code for _, code in agent.codes] == ["*111001#", "*12#", "*132#", "*12#"]
    assert agent.codes[-1][0] > 180.0  # ready only at the break's end


def test_nobody_answers_before_the_shift_starts():
    board = staffed_board(roster=[{"id": "1001", "station": 0,
                                   "shift": {"start": "10:00", "end": "11:00"}}])
    board.tick(0.0)
    board.ring(STATION)
    events, _ = drive(board, 30)
    assert not [e for e in events if e.port == STATION]


def test_an_agent_whose_shift_began_before_the_day_logs_in_at_its_start_and_answers():
    board = staffed_board(roster=[{"id": "1001", "station": 0,
                                   "shift": {"start": "08:00", "end": "10:00"}}])
    events, rx = drive(board, 20)
    (agent,) = board.agents()
    assert [code for _, code in agent.codes] == ["*111001#", "*12#"]
    assert all(0.0 <= t < 20.0 for t, _ in agent.codes)
    mine = [e for e in events if e.port == STATION]
    assert [type(e).__name__ for e in mine] == ["OffHook", "OnHook"]
    assert mine[0].time == 0.0  # off hook at the day's first tick, not in the past
    assert digits(rx[STATION]) == "*111001#*12#"  # keyed while off hook, heard by the line
    board.tick(20.0)
    board.ring(STATION)
    events, _ = drive(board, 40, start=20.02)
    assert [e for e in events if e.port == STATION] == [OffHook(STATION, 23.0),
                                                          OnHook(STATION, 43.0)]


def test_a_break_on_at_the_days_start_is_keyed_with_the_login():
    board = staffed_board(roster=[{"id": "1001", "station": 0, "shift": {
        "start": "08:00", "end": "10:00",
        "breaks": [{"start": "08:10", "end": "08:20", "reason": 4},
                   {"start": "08:50", "end": "09:01", "reason": 3}]}}])
    _, rx = drive(board, 80)
    (agent,) = board.agents()
    assert [code for _, code in agent.codes] == ["*111001#", "*133#", "*12#"]
    assert agent.codes[-1][0] > 60.0  # ready at the break's end, 09:01
    assert digits(rx[STATION]) == "*111001#*133#*12#"


def test_a_shift_over_before_the_day_starts_keys_nothing():
    board = staffed_board(roster=[{"id": "1001", "station": 0,
                                   "shift": {"start": "07:00", "end": "08:30"}}])
    events, rx = drive(board, 20)
    board.ring(STATION)
    events += drive(board, 20, start=20.0)[0]
    assert events == []
    assert board.agents()[0].codes == ()
    assert digits(rx[STATION]) == ""


def test_wrapup_ends_with_the_end_wrapup_code():
    board = staffed_board(wrapup={"kind": "fixed", "value": 5})
    drive(board, 20)
    board.ring(STATION)
    _, rx = drive(board, 40, start=20.0)
    (agent,) = board.agents()
    assert [code for _, code in agent.codes] == ["*111001#", "*12#", "*14#"]
    assert agent.codes[-1][0] > 20 + 3 + 20 + 5
    assert digits(rx[STATION]) == "*14#"


class BridgingAppliance(PromptingAppliance):
    """Prompts until the caller has pressed a key, then rings the agent, bridges the two,
    and plays a survey prompt when the agent hangs up."""

    def __init__(self, board):
        super().__init__(board, prompt_s=1.5, period=8.0)
        self.state = "ivr"
        self.heard = np.zeros(0, np.int16)
        self.survey_at = None

    def step(self, now, events, rx):
        tx = super().step(now, events, rx) if self.state == "ivr" else np.zeros(
            (len(self.board.ports), BLOCK_SAMPLES), np.int16)
        if self.answered_at:
            self.heard = np.concatenate([self.heard, rx[0]])
        if self.state == "ivr" and digits(self.heard):
            self.board.ring(STATION)
            self.state = "ringing"
        for e in events:
            if isinstance(e, OffHook) and e.port == STATION and self.state == "ringing":
                self.state = "bridged"
            elif isinstance(e, OnHook) and e.port == STATION and self.state == "bridged":
                self.state, self.survey_at = "survey", now
        if self.state == "bridged":
            tx[0], tx[STATION] = rx[STATION], rx[0]
        elif self.state == "survey" and now - self.survey_at < self.prompt.size / 8000:
            k = round((now - self.survey_at) * 8000)
            tx[0] = self.prompt[k:k + BLOCK_SAMPLES]
        return tx


def test_a_bridged_caller_talks_with_the_agent_then_answers_the_survey():
    board = SimBoard(scenario=scenario(
        arrivals={"default_per_hour": 0, "per_hour": {9: 120}},
        callers=callers_with(prelude=[], goals={"agent": {"share": 1, "steps": [
            {"keys": "0"}, {"wait_agent": True}]}}),
        survey={"answer_share": 1, "scores": {4: 1}},
        agents=agents(roster=[{"id": "1001", "station": 0,
                               "shift": {"start": "09:00", "end": "10:00"}}]),
    ))
    app = BridgingAppliance(board)
    events, rx = drive(board, 150, app)
    record = board.callers()[0]
    assert record.port == 0
    assert record.agent_port == STATION
    off = next(e for e in events if isinstance(e, OffHook) and e.port == STATION and e.time > 30)
    assert off.time <= record.connected < off.time + 2.5
    assert record.survey_score == 4
    assert [k.keys for k in record.keys] == ["0", "4"]
    assert digits(rx[0]) == "04"
    assert record.outcome is CallOutcome.HUNG_UP_DONE
    caller_voice = rx[0][round((off.time + 3) * 8000):round((off.time + 15) * 8000)]
    assert block_levels(caller_voice.reshape(1, -1))[0] > -30
    counters = board.counters()
    assert (counters.connected_to_agent, counters.surveys) == (1, 1)


def test_a_caller_nobody_takes_leaves_the_queue_when_patience_runs_out():
    board = SimBoard(scenario=scenario(
        arrivals={"default_per_hour": 0, "per_hour": {9: 120}},
        callers=callers_with(prelude=[], queue_patience={"kind": "fixed", "value": 20},
                             goals={"agent": {"share": 1, "steps": [
                                 {"keys": "0"}, {"wait_agent": True}]}}),
    ))
    drive(board, 120, PromptingAppliance(board))
    record = board.callers()[0]
    assert record.outcome is CallOutcome.ABANDONED_QUEUE
    assert abs(record.ended - record.keys[0].time - 20) < 0.05
    records = board.callers()
    assert board.counters().abandoned_queue == sum(
        r.outcome is CallOutcome.ABANDONED_QUEUE for r in records) >= 1


def test_the_appliance_hanging_up_releases_the_caller():
    board = SimBoard(scenario=scenario(arrivals={"default_per_hour": 0, "per_hour": {9: 120}}))
    app = PromptingAppliance(board)
    drive(board, 60, app)
    port = board.callers()[0].port
    board.hang_up(port)
    assert board.callers()[0].outcome is CallOutcome.RELEASED
    assert board.counters().released == 1
