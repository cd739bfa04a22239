"""End to end on the board emulator: the appliance drives a board over a real pty.

Everything between the virtual caller and the IVR is the real thing: the emulator's firmware
sends the ring cadence, the caller ID as Bell 202 FSK audio between the first and second ring,
the caller's keys as DTMF in A-law frames; the host's SerialBoard decodes them; the appliance
answers, plays prompts (which go back down the pty and are heard by the virtual caller), hears
the exchange's busy tone when the caller hangs up and releases the line.
"""

import numpy as np
from emu_harness import EmuHarness
from runtime_harness import (
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

BALANCE_THEN_HANG_UP = ('[{keys: "1"}, {keys: "{card}#"}, {keys: "1"}, {keys: "{pin}"}, '
                        '{listen: true}, {hang_up: true}]')


def _one_call(tmp_path, prompts_dir, bank_url, steps, prelude=None, **options):  # noqa: F811
    text = scenario_text(goal_steps=steps, **({"prelude": prelude} if prelude else {}))
    h = EmuHarness(tmp_path / "data", text, prompts_dir=prompts_dir, bank_url=bank_url,
                   **options)
    h.run_until(lambda: h.callers() and h.callers()[0].outcome is not None, 400)
    return h


def test_caller_id_reaches_the_call_record_and_busy_tone_ends_the_call(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    h = _one_call(tmp_path, prompts_dir, bank_url, BALANCE_THEN_HANG_UP)
    caller = h.callers()[0]
    gone_at = caller.ended
    h.run_until(lambda: h.app.active_calls == 0, 30)
    released_after = h.clock.now() - gone_at
    h.run(0.1)  # the on-hook command reaches the board at its next block
    on_hook = not h.emulator.lines.off_hook.any()
    records = h.close()

    [cdr] = records
    assert cdr.caller == caller.number  # decoded by the host from the FSK burst
    assert caller.outcome.value == "hung_up_done"
    assert cdr.outcome == "self-served"
    assert cdr.hangup_side == "caller"
    assert cdr.host_results == {"balance": {"status": "ok"}}
    # Busy tone 0.35 s on / 0.35 s off: the runtime needs a few cadences to be sure.
    assert 0.5 < released_after < 6.0, released_after
    assert on_hook  # the board put the line back on hook
    counters = h.board.counters
    assert counters["callerid_decoded"] == 1 and counters["callerid_errors"] == 0
    assert counters["audio_lost"] == 0 and counters["bad_crc"] == 0


def test_keys_pressed_over_a_prompt_with_line_echo_barge_in(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    # Every key step is pressed early, while the prompt is still playing, on a line whose
    # hybrid returns the prompt 9 dB down with a 32 ms tail.
    steps = ('[{keys: "1", early: 1.0}, {keys: "{card}#", early: 1.0}, '
             '{keys: "1", early: 1.0}, {keys: "{pin}", early: 1.0}, {listen: true}, '
             '{hang_up: true}]')
    h = _one_call(tmp_path, prompts_dir, bank_url, steps, echo=(9.0, 32),
                  prelude='[{keys: "{language_key}", early: 1.0}]')
    caller = h.callers()[0]
    records = h.close()
    [cdr] = records
    assert all(k.early for k in caller.keys if k.kind == "ok"), caller.keys
    assert caller.outcome.value == "hung_up_done"
    assert cdr.host_results == {"balance": {"status": "ok"}}
    nodes = [s.node for s in cdr.ivr_path if s.what == "enter"]
    assert "balance_said" in nodes, nodes


def test_a_caller_reaches_the_agent_at_a_station_of_the_board(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    # The default script: balance, then 0 for a person; the agent's phone is an FXS station
    # of the emulated board, rung with the Chinese cadence by a RingCommand.
    h = EmuHarness(tmp_path / "data", scenario_text(), prompts_dir=prompts_dir,
                   bank_url=bank_url)
    h.run_until(lambda: h.callers() and h.callers()[0].outcome is not None, 600)
    caller = h.callers()[0]
    records = h.close()
    [cdr] = [r for r in records if r.caller == caller.number]
    assert caller.connected is not None, "the caller never heard the agent"
    assert cdr.outcome == "answered" and cdr.agent_id == "1001"
    assert cdr.talk_seconds == 20.0  # the scenario's fixed handle time
    [agent] = h.sim.agents()
    assert agent.answered == 1 and agent.logged_in  # logged in from the station's keypad
    assert h.board.counters["audio_lost"] == 0


def test_the_line_echo_canceller_removes_the_prompt_echo_through_the_serial_path(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    # A silent caller hears the menus on a 9 dB / 32 ms hybrid: what comes back up the pty is
    # the prompt's echo alone, delayed by the link; the canceller must still find it.
    text = scenario_text(prelude="[{listen: true}]", goal_steps="[{listen: true}]")
    h = EmuHarness(tmp_path / "data", text, prompts_dir=prompts_dir, bank_url=bank_url,
                   echo=(9.0, 32))
    canceller = h.app.loop.echo
    process, energies = canceller.process, []

    def measured(rx, tx, active):
        out = process(rx, tx, active)
        if np.abs(tx[0]).mean() > 200:  # a prompt is playing on the trunk
            energies.append((np.square(rx[0], dtype=np.float64).sum(),
                             np.square(out[0], dtype=np.float64).sum()))
        return out

    canceller.process = measured
    h.run(30)
    h.close()
    # From 2 s into the prompts (converged) for 10 s, while the caller is still listening.
    assert len(energies) > 600
    before, after = np.array(energies[100:600]).sum(axis=0)
    assert 10 * np.log10(before / after) > 20.0  # ERLE, dB
