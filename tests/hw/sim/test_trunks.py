"""The sim board's trunks: ringing, caller ID, real DTMF from callers, the Chinese hang-up."""

import audioop
import itertools

import dtmf_reference
import numpy as np
import pytest
from hwsim_kit import PromptingAppliance, callers_with, drive, scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import branchline.dsp
from branchline.dsp import CallProgressRx
from branchline.hw.ports import (
    BLOCK_SAMPLES,
    CallerId,
    ClearSignal,
    FarEndHangup,
    OnHook,
    Ring,
    RingOff,
)
from branchline.hw.sim.board import SimBoard
from branchline.hw.sim.caller import CallOutcome

DtmfRx = getattr(branchline.dsp, "DtmfRx", None)
CARD = "6222020200112233446"

ONE_CALL = {"default_per_hour": 0, "per_hour": {9: 120}}


def first_call_board(**sections):
    sections.setdefault("arrivals", ONE_CALL)
    return SimBoard(scenario=scenario(**sections))


def test_ring_cadence_is_one_second_on_four_off_with_caller_id_between():
    board = first_call_board(callers=callers_with(
        ring_patience={"kind": "fixed", "value": 22.5}))
    events, _ = drive(board, 120)
    port0 = [e for e in events if e.port == 0]
    rings = [e for e in port0 if isinstance(e, Ring)]
    offs = [e for e in port0 if isinstance(e, RingOff)]
    t0 = rings[0].time
    # 22.5 s of patience: bursts at 0, 5, 10, 15, 20 s; the last is cut short at 22.5 s.
    assert [round(e.time - t0, 6) for e in rings] == [0, 5, 10, 15, 20]
    assert [e.count for e in rings] == [1, 2, 3, 4, 5]
    assert [round(e.time - t0, 6) for e in offs] == [1, 6, 11, 16, 21]
    (cid,) = [e for e in port0 if isinstance(e, CallerId)]
    assert offs[0].time + 0.5 < cid.time < rings[1].time
    assert cid.number == board.callers()[0].number
    assert board.callers()[0].outcome is CallOutcome.ABANDONED_RINGING
    assert board.counters().abandoned_ringing >= 1


def test_abandoned_in_mid_burst_reports_ring_off_at_once():
    board = first_call_board(callers=callers_with(
        ring_patience={"kind": "fixed", "value": 5.5}))
    events, _ = drive(board, 60)
    port0 = [e for e in events if e.port == 0 and isinstance(e, Ring | RingOff)]
    t0 = port0[0].time
    assert [(type(e).__name__, round(e.time - t0, 6)) for e in port0[:4]] == [
        ("Ring", 0), ("RingOff", 1), ("Ring", 5), ("RingOff", 5.5)]


def test_withheld_caller_id_gives_the_reason():
    board = first_call_board(callers=callers_with(
        caller_id={"private_share": 1, "unavailable_share": 0}))
    events, _ = drive(board, 60)
    cid = next(e for e in events if isinstance(e, CallerId))
    assert (cid.number, cid.number_absent) == (None, "P")


def test_vip_callers_present_a_vip_number():
    board = first_call_board(callers=callers_with(
        vip={"share": 1, "numbers": ["13801380001"]}))
    events, _ = drive(board, 60)
    cid = next(e for e in events if isinstance(e, CallerId))
    assert cid.number == "13801380001"
    assert board.callers()[0].vip


def test_every_trunk_busy_blocks_the_call():
    board = SimBoard(trunks=1, stations=0, scenario=scenario(
        board={"trunks": 1, "stations": 0},
        arrivals={"default_per_hour": 0, "per_hour": {9: 1200}}))
    drive(board, 30)
    counters = board.counters()
    assert counters.blocked >= 1
    assert counters.offered == counters.blocked + sum(
        r.outcome is not CallOutcome.BLOCKED for r in board.callers())
    assert all(r.port is None for r in board.callers() if r.outcome is CallOutcome.BLOCKED)


def _keys_call(seconds=150):
    board = first_call_board()
    app = PromptingAppliance(board)
    events, rx = drive(board, seconds, app)
    return board, events, rx


def _digits_by_reference(signal):
    return "".join(d for d, _, _ in dtmf_reference.detect(signal.astype(np.float64)))


def test_a_caller_follows_its_script_at_its_turns():
    board, _, _ = _keys_call()
    record = board.callers()[0]
    assert [k.keys for k in record.keys] == ["1", "1", CARD + "#", "135790#"]
    assert all(k.kind == "ok" and not k.early for k in record.keys)
    assert record.outcome is CallOutcome.HUNG_UP_DONE
    # Each entry answers a different prompt (the toy appliance prompts every 10 s).
    times = [k.time for k in record.keys]
    assert all(b - a > 5 for a, b in itertools.pairwise(times))


def test_caller_keys_are_real_dtmf_after_an_alaw_round_trip():
    board, _, rx = _keys_call()
    line = rx[board.callers()[0].port]
    alaw = audioop.lin2alaw(line.astype("<i2").tobytes(), 2)
    heard = np.frombuffer(audioop.alaw2lin(alaw, 2), dtype="<i2").astype(np.int16)
    assert _digits_by_reference(heard) == "11" + CARD + "#135790#"


@pytest.mark.skipif(DtmfRx is None, reason="branchline.dsp.DtmfRx has not landed yet")
def test_caller_keys_are_detected_by_the_dsp_receiver():
    board, _, rx = _keys_call()
    port = board.callers()[0].port
    alaw = audioop.lin2alaw(rx[port].astype("<i2").tobytes(), 2)
    heard = np.frombuffer(audioop.alaw2lin(alaw, 2), dtype="<i2").astype(np.int16)
    receiver = DtmfRx(1)
    digits = []
    for k in range(0, heard.size, BLOCK_SAMPLES):
        block = np.ascontiguousarray(heard[k:k + BLOCK_SAMPLES].reshape(1, -1))
        digits += [e.digit for e in receiver.process(block) if e.end is None]
    assert "".join(digits) == "11" + CARD + "#135790#"


def test_mistakes_early_keys_and_silence_are_recorded_and_retried():
    board = first_call_board(
        keypad={"early": 0, "wrong": 0, "silent": 0},
        callers=callers_with(
            prelude=[{"keys": "{language_key}", "silent": 1.0}],
            goals={"g": {"share": 1, "steps": [{"keys": "1", "early": 1.0},
                                               {"keys": "{card}#", "wrong": 1.0},
                                               ]}},
        ),
    )
    drive(board, 90, PromptingAppliance(board, prompt_s=4.0))
    record = board.callers()[0]
    # Silent at every turn of the language menu: three attempts, then the caller gives up.
    assert record.silent_turns == 3
    assert record.keys == ()
    assert record.outcome is CallOutcome.GAVE_UP


def test_early_and_wrong_keys():
    board = first_call_board(callers=callers_with(
        prelude=[],
        goals={"g": {"share": 1, "steps": [{"keys": "1", "early": 1.0},
                                           {"keys": "{card}#", "wrong": 1.0}]}},
    ))
    app = PromptingAppliance(board, prompt_s=4.0)
    drive(board, 120, app)
    record = board.callers()[0]
    first = record.keys[0]
    start = app.answered_at[record.port]
    assert first.early and first.keys == "1"
    assert start < first.time < start + 4.0  # during the first 4 s prompt: barge-in
    wrong = record.keys[1:]
    assert [k.kind for k in wrong] == ["wrong"] * 3
    for k in wrong:
        assert len(k.keys) == len(CARD) + 1 and k.keys != CARD + "#"
        assert sum(a != b for a, b in zip(k.keys, CARD + "#", strict=True)) == 1
    assert record.outcome is CallOutcome.GAVE_UP


def _hangup_board(**board_section):
    spec = {"trunks": 2, "stations": 0, **board_section}
    return first_call_board(
        board=spec,
        callers=callers_with(prelude=[], goals={"g": {"share": 1, "steps": [
            {"listen": True}, {"hang_up": True}]}}),
    )


def test_a_caller_hangs_up_the_chinese_way_busy_tone_and_no_on_hook():
    board = _hangup_board()
    app = PromptingAppliance(board, period=1000)
    events, rx = drive(board, 90, app)
    record = board.callers()[0]
    assert record.outcome is CallOutcome.HUNG_UP_DONE
    assert not [e for e in events if isinstance(e, OnHook | FarEndHangup)]
    after = rx[record.port][round(record.ended * 8000) + 800:]
    # 450 Hz at about -10 dBm0 (peak 7,219), in 0.35 s bursts separated by 0.35 s of quiet.
    cycles = after[:4 * 5600]
    assert 6500 < np.abs(after[:5600]).max() < 8000
    spectrum = np.abs(np.fft.rfft(after[:5600]))
    assert abs(np.argmax(spectrum) * 8000 / 5600 - 450) < 3
    on = np.abs(cycles.reshape(-1, 40)).max(axis=1) > 3000
    assert 0.47 < on.mean() < 0.53
    detector = CallProgressRx(1)
    found = []
    for k in range(0, after.size - BLOCK_SAMPLES, BLOCK_SAMPLES):
        found += detector.process(np.ascontiguousarray(after[None, k:k + BLOCK_SAMPLES]))
    assert [e.tone for e in found][:1] == ["busy"]


def test_the_busy_tone_lasts_until_the_appliance_hangs_up_then_the_line_is_free():
    board = _hangup_board()
    app = PromptingAppliance(board, period=1000)
    _, rx = drive(board, 90, app)
    port = board.callers()[0].port
    assert board.callers()[0].ended < 60
    assert np.abs(rx[port][-5600:]).max() > 6500  # still busy tone 30 s later
    board.hang_up(port)
    board.tick(90.0)
    quiet = np.concatenate([board.read_block()[port] for _ in range(50)])
    assert np.abs(quiet).max() < 100  # only line noise


def test_lines_with_loop_current_drop_report_the_far_end_hanging_up():
    board = _hangup_board(loop_current_drop=[0])
    assert board.ports[0].clear_signal is ClearSignal.LOOP_CURRENT_DROP
    assert board.ports[1].clear_signal is ClearSignal.NONE
    events, _ = drive(board, 90, PromptingAppliance(board, period=1000))
    (drop,) = [e for e in events if isinstance(e, FarEndHangup)]
    assert drop == FarEndHangup(0, board.callers()[0].ended, ClearSignal.LOOP_CURRENT_DROP)


def test_seizing_an_idle_line_gives_dial_tone():
    board = first_call_board(arrivals={"default_per_hour": 0})
    board.tick(0.0)
    board.answer(1)
    rx = np.concatenate([board.read_block()[1] for _ in range(10)])
    spectrum = np.abs(np.fft.rfft(rx))
    assert abs(np.argmax(spectrum) * 8000 / rx.size - 450) < 5
    board.hang_up(1)
    assert np.abs(board.read_block()[1]).max() < 100


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    def run(seed):
        s = scenario(arrivals={"default_per_hour": 0, "per_hour": {9: 300}})
        board = SimBoard(scenario=s, seed=seed)
        events, rx = drive(board, 120, PromptingAppliance(board))
        return events, rx, board.callers()

    a, b, c = run(5), run(5), run(6)
    assert a[0] == b[0] and a[2] == b[2]
    assert np.array_equal(a[1], b[1])
    assert a[0] != c[0]


def test_an_answered_line_echoes_the_appliance_through_its_hybrid():
    board = first_call_board(
        board={"trunks": 2, "stations": 0, "echo_return_loss_db": 12, "echo_delay_ms": 4},
        callers=callers_with(prelude=[], goals={"g": {"share": 1, "steps": [
            {"wait_agent": True}]}}),
    )
    app = PromptingAppliance(board, period=1000)
    drive(board, 60, app)
    port = board.callers()[0].port
    t = 60.0
    sent = (np.sin(np.arange(2 * BLOCK_SAMPLES) * 0.3) * 8000).astype(np.int16)
    heard = []
    for k in range(3):
        board.tick(t + 0.02 * k)
        heard.append(board.read_block()[port])
        tx = np.zeros((2, BLOCK_SAMPLES), np.int16)
        if k < 2:
            tx[port] = sent[k * BLOCK_SAMPLES:(k + 1) * BLOCK_SAMPLES]
        board.write_block(tx)
    # Block k+1 holds block k's audio 32 samples (4 ms) late, 12 dB down, over line noise.
    echo = np.concatenate(heard[1:]).astype(np.float64)
    expected = np.concatenate([np.zeros(32), sent[:-32]]) * 10 ** (-12 / 20)
    assert np.abs(echo - expected).max() < 60
    assert np.abs(expected).max() > 2000


def test_arrivals_follow_the_hourly_rate():
    board = SimBoard(scenario=scenario(
        board={"trunks": 40, "stations": 0},
        day={"start": "09:00", "end": "12:00"},
        arrivals={"default_per_hour": 0, "per_hour": {10: 600}},
        callers=callers_with(ring_patience={"kind": "fixed", "value": 3})))
    for second in range(3 * 3600 + 1):  # nobody answers: one tick a second is enough
        board.tick(float(second))
    arrivals = [r.arrived for r in board.callers()]
    assert all(3600 <= t < 7200 for t in arrivals)
    assert abs(len(arrivals) - 600) < 3 * 600**0.5  # Poisson: sd = sqrt(mean)
    assert board.counters().abandoned_ringing == len(arrivals)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_ringing_and_caller_id_keep_their_order_for_any_seed(seed):
    board = SimBoard(scenario=scenario(
        board={"trunks": 3, "stations": 0},
        arrivals={"default_per_hour": 0, "per_hour": {9: 200}},
        callers=callers_with(caller_id={"private_share": 0.3, "unavailable_share": 0.3},
                             ring_patience={"kind": "exponential", "mean": 15})), seed=seed)
    events = []
    for k in range(6000):
        events += board.tick(k * 0.1)
    assert sum(isinstance(e, CallerId) for e in events) > 5
    for port in range(3):
        expect_ring, last_off, cid_seen = 1, None, False
        for e in (e for e in events if e.port == port):
            if isinstance(e, Ring):
                if e.count == 1:
                    expect_ring, cid_seen = 1, False
                assert e.count == expect_ring
                assert e.count == 1 or cid_seen  # caller ID came before the second ring
                expect_ring += 1
            elif isinstance(e, RingOff):
                assert e.count == expect_ring - 1
                last_off = e
            else:
                assert isinstance(e, CallerId) and not cid_seen
                assert last_off is not None and last_off.count == 1 and e.time > last_off.time
                assert (e.number is None) == (e.number_absent in ("O", "P"))
                cid_seen = True


def test_the_caller_mix_follows_the_scenario_shares():
    callers = callers_with(
        vip={"share": 0.2, "numbers": ["13801380001", "13901390002"]},
        languages={"mandarin": {"share": 0.7, "key": "1"}, "english": {"share": 0.3,
                                                                      "key": "3"}},
        goals={"balance": {"share": 0.5, "steps": [{"keys": "1"}]},
               "agent": {"share": 0.5, "steps": [{"keys": "0"}, {"wait_agent": True}]}},
        ring_patience={"kind": "fixed", "value": 1},
    )
    board = SimBoard(scenario=scenario(
        board={"trunks": 30, "stations": 0},
        arrivals={"default_per_hour": 0, "per_hour": {9: 2000, 10: 2000}},
        callers=callers))
    for second in range(7200):
        board.tick(float(second))
    records = board.callers()
    n = len(records)

    def share(test):
        return sum(map(test, records)) / n

    assert n > 3000
    # Binomial sd is at most 0.5 / sqrt(n) < 0.01: these bounds are several sd wide.
    assert abs(share(lambda r: r.vip) - 0.2) < 0.04
    assert abs(share(lambda r: r.language == "english") - 0.3) < 0.04
    assert abs(share(lambda r: r.goal == "agent") - 0.5) < 0.04
    assert {r.number for r in records if r.vip} == {"13801380001", "13901390002"}


def test_a_board_that_lets_gone_callers_go_counts_them_all_the_same():
    """keep_callers=False (the day-long soak): the callers who are gone leave the history,
    never the counters."""
    sections = {"arrivals": {"default_per_hour": 0, "per_hour": {9: 600}},
                "callers": callers_with(ring_patience={"kind": "uniform", "low": 3,
                                                       "high": 30})}
    kept = SimBoard(scenario=scenario(**sections), seed=3)
    lean = SimBoard(scenario=scenario(**sections), seed=3, keep_callers=False)
    drive(kept, 600, PromptingAppliance(kept))
    drive(lean, 600, PromptingAppliance(lean))
    assert lean.counters() == kept.counters()
    assert kept.counters().offered > 50
    assert 0 < len(lean.callers()) < 10 < len(kept.callers())
    still = {c.id for c in lean.callers()}
    let_go = [c for c in kept.callers() if c.id not in still]
    assert still <= {c.id for c in kept.callers()}
    assert let_go and all(c.outcome is not None for c in let_go)
