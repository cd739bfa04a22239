"""When a virtual caller takes its turn: a prompt right after its keys is a new prompt."""

import numpy as np
from hwsim_kit import callers_with, scenario

from branchline.hw.sim.audio import speech_like
from branchline.hw.sim.caller import VirtualCaller

BLOCK_S = 0.02


def caller_hearing(prompts, seconds, **keypad):
    """A caller answered at 0 s hearing prompts at -15 dBm0 in the (start, end) spans given."""
    pad = {"early": 0, "wrong": 0, "silent": 0, "key_ms": {"kind": "fixed", "value": 100},
           "gap_ms": {"kind": "fixed", "value": 300},
           "think_s": {"kind": "fixed", "value": 0.5}}
    pad.update(keypad)
    sc = scenario(keypad=pad, callers=callers_with(goals={"hours": {"share": 1, "steps": [
        {"keys": "3"}, {"listen": True}, {"hang_up": True}]}}))
    rng = np.random.default_rng(3)
    caller = VirtualCaller(1, sc, rng, speech_like(rng, 5.0), 0.0)
    caller.port = 0
    caller.answer(0.0)
    for k in range(round(seconds / BLOCK_S)):
        now = k * BLOCK_S
        caller.advance(now)
        caller.render()
        playing = any(start <= now < end for start, end in prompts)
        caller.hear(now, -15.0 if playing else -90.0, None)
    return caller


def test_a_prompt_that_starts_in_the_gap_after_the_last_key_gets_an_answer():
    # Language menu 0-1.5 s; its turn at 2.48 s (1 s after the last loud block); "1" pressed
    # at 2.98 s, held 100 ms, then 300 ms of silence before the caller's audio ends. The
    # appliance starts the main menu at 3.2 s, inside that gap: the caller must answer it at
    # its turn (1 s after the menu ends at 4.7 s, then 0.5 s of thought).
    caller = caller_hearing([(0.0, 1.5), (3.2, 4.7)], 8.0)
    assert [(k.keys, round(k.time, 2)) for k in caller.keys] == [("1", 2.98), ("3", 6.18)]


def test_a_prompt_that_began_while_a_key_sounded_was_answered_by_it():
    # The main menu starts at 3.04 s while the "1" is still held (2.98-3.08 s): those keys
    # answered it (a barge-in), so its turn brings no second press.
    caller = caller_hearing([(0.0, 1.5), (3.04, 4.7)], 8.0)
    assert [k.keys for k in caller.keys] == ["1"]
