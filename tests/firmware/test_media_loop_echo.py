"""The media loop cancels the echo of analog lines before it listens for keys (barge-in)."""

import line_reference as ref
import numpy as np

from branchline.firmware.media_loop import MediaLoop
from branchline.hw.hybrid import HybridEcho
from branchline.hw.ports import BLOCK_SAMPLES, Port, PortKind

BLOCK = BLOCK_SAMPLES


class HybridLineBoard:
    """Two analog trunks whose hybrid returns what the appliance sends (in the next block, as a
    block-based driver does) and one station, each port also carrying a caller's audio."""

    def __init__(self, caller, kinds=(PortKind.FXO, PortKind.FXO, PortKind.FXS), seed=3):
        self._ports = tuple(Port(i, kind, f"p{i}") for i, kind in enumerate(kinds))
        self._analog = [p.kind is PortKind.FXO for p in self._ports]
        self._hybrid = HybridEcho(len(kinds), return_loss_db=9.0, tail_ms=32, seed=seed)
        self._caller = caller
        self._at = 0
        self._echo = np.zeros((len(kinds), BLOCK))
        self.raw = []  # every block read, before the appliance touched it

    @property
    def ports(self):
        return self._ports

    def tick(self, now):
        return []

    def read_block(self):
        block = self._caller[:, self._at : self._at + BLOCK] + self._echo
        self._at += BLOCK
        block = np.clip(np.round(block), -32768, 32767).astype(np.int16)
        self.raw.append(block.copy())
        return block

    def write_block(self, block):
        echo = self._hybrid.apply(block).astype(np.float64)
        self._echo = echo * np.array(self._analog)[:, None]  # a station has no hybrid here

    def answer(self, port): ...
    def hang_up(self, port): ...
    def ring(self, port, cadence=None): ...
    def stop_ring(self, port): ...


class Listener:
    """Plays one long prompt on every port and writes down the keys and what it heard."""

    def __init__(self, prompt):
        self.prompt = prompt
        self.loop = None
        self.keys = []
        self.heard = []

    def on_input(self, now, events, keys, tones):
        self.keys += [(k.channel, k.digit, k.start) for k in keys if k.end is None]

    def on_timer(self, owner, name, now): ...

    def before_render(self, now):
        for channel in range(self.loop.channels):
            if not self.loop.renderer.playing(channel):
                self.loop.renderer.play(channel, self.prompt[channel])

    def after_render(self, now, ended, tone_ended, rx):
        self.heard.append(rx.copy())


def run(echo_canceller, kinds=(PortKind.FXO, PortKind.FXO, PortKind.FXS)):
    tx, _, truth = ref.barge_in_line(len(kinds), return_loss_db=9, tail_ms=32,
                                           key_dbm0=-20.0, seconds=10, seed=8)
    # The line itself adds the echo: give the board only the caller's keys (and noise).
    _, caller, _ = ref.barge_in_line(len(kinds), return_loss_db=60, tail_ms=32,
                                     key_dbm0=-20.0, seconds=10, seed=8)
    board = HybridLineBoard(caller.astype(np.float64), kinds)
    listener = Listener(tx)
    loop = MediaLoop(board, listener, echo_canceller=echo_canceller)
    listener.loop = loop
    for tick in range(caller.shape[1] // BLOCK):
        loop.tick(tick * 0.02)
    found = [[(d, s) for c, d, s in listener.keys if c == channel] for channel in range(3)]
    return loop, board, listener, truth, found


def test_barge_in_keys_are_heard_over_the_prompt_echo_on_analog_lines():
    loop, _, _, truth, found = run(echo_canceller=True)
    rate, false = ref.detection_rate(truth[:2], found[:2])
    assert rate >= 0.99 and false == 0
    _, _, _, truth_off, found_off = run(echo_canceller=False)
    rate_off, _ = ref.detection_rate(truth_off[:2], found_off[:2])
    assert rate_off <= 0.9  # measured 0.83: the prompt's echo masks quiet keys
    assert loop.echo.counters["transfers"] > 0


def test_the_canceller_leaves_station_ports_alone():
    loop, board, listener, _, _ = run(echo_canceller=True)
    heard = np.stack(listener.heard)
    raw = np.stack(board.raw)
    assert np.array_equal(heard[:, 2], raw[:, 2])
    assert not np.array_equal(heard[:, 0], raw[:, 0])
    assert loop.echo.coefficients(2).tolist() == [0.0] * loop.echo.taps


def test_the_canceller_can_be_turned_off_and_is_absent_without_analog_lines():
    loop, board, listener, _, _ = run(echo_canceller=False)
    assert loop.echo is None
    assert np.array_equal(np.stack(listener.heard), np.stack(board.raw))
    loop, *_ = run(echo_canceller=True, kinds=(PortKind.FXS, PortKind.FXS, PortKind.FXS))
    assert loop.echo is None
