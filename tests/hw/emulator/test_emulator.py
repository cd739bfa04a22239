"""The emulated board's firmware, sans-I/O: a host protocol Endpoint wired to it directly.

Two real peers, as h11 tests its connections: the test's host speaks the protocol with
``branchline.hw.protocol.endpoint.Endpoint``; the emulator answers as the board does.
"""

import itertools

import numpy as np
import pytest
from hwsim_kit import callers_with, scenario

from branchline.dsp import CallProgressRx, alaw_decode, alaw_encode
from branchline.dsp.callerid import FskRx
from branchline.hw import protocol as p
from branchline.hw.emulator.board import FIRMWARE, HOST_TIMEOUT_S, BoardEmulator
from branchline.hw.ports import ClockError

HANG_UP_AFTER_MENU = callers_with(goals={"quick": {"share": 1, "steps": [
    {"keys": "{language_key}"}, {"hang_up": True}]}}, prelude=[])


def _calls(**extra):
    return scenario(board={"trunks": 2, "stations": 1}, arrivals={"default_per_hour": 600},
                    **extra)


def _staffed():
    return scenario(
        board={"trunks": 1, "stations": 1},
        agents={"answer_delay": {"kind": "fixed", "value": 2}, "ring_no_answer": 0,
                "handle_time": {"kind": "fixed", "value": 5},
                "roster": [{"id": "1001", "station": 0,
                            "shift": {"start": "09:00", "end": "17:00"}}]})


class Host:
    """The host end of the link, in the test: says Hello, heartbeats, keeps what arrives."""

    def __init__(self, board, hello=True, heartbeat=True):
        self.board = board
        self.endpoint = p.Endpoint()
        self.t = 0.0
        self.heartbeat = heartbeat
        self.messages = []  # (t, seq, message)
        self.board.tick(self.t)
        if hello:
            self.send(p.Hello())

    def send(self, message):
        self.board.receive(self.endpoint.send(message))
        return self.endpoint.last_seq

    def run(self, seconds, tx=None):
        """Advance `seconds`; `tx(t)` may return Audio messages to send each tick."""
        for _ in range(round(seconds / 0.02)):
            self.t = round(self.t + 0.02, 6)
            if self.heartbeat and round(self.t * 50) % 25 == 0:
                self.send(p.Heartbeat(0))
            for message in tx(self.t) if tx else ():
                self.send(message)
            for received in self.endpoint.receive_data(self.board.tick(self.t)):
                self.messages.append((self.t, received.seq, received.message))

    def of(self, kind, **fields):
        return [(t, m) for t, _, m in self.messages if isinstance(m, kind)
                and all(getattr(m, k) == v for k, v in fields.items())]

    def audio(self, port):
        frames = [m.samples for _, m in self.of(p.Audio, port=port)]
        return alaw_decode(np.frombuffer(b"".join(frames), dtype=np.uint8))


def test_boot_repeats_until_hello_then_the_session_opens():
    board = BoardEmulator(scenario=_calls(), seed=1, serial_number="BR-7")
    host = Host(board, hello=False)
    host.run(3.0)
    boots = host.of(p.Boot)
    assert [t for t, _ in boots] == [1.0, 2.0, 3.0]  # and one at 0 before the first run
    assert all(m.reason == p.BootReason.POWER_ON for _, m in boots)
    assert not host.of(p.Audio) and not host.of(p.RingEvent)
    host.send(p.Hello())
    host.run(0.1)
    [(_, reply)] = host.of(p.HelloReply)
    assert reply == p.HelloReply(p.PROTOCOL_VERSION, FIRMWARE, "BR-7",
                                 ((p.InventoryKind.FXO, 2), (p.InventoryKind.FXS, 1)))
    assert [m for _, m in host.of(p.LineEvent)] == [
        p.LineEvent(0, True, 0.0, 48.0), p.LineEvent(1, True, 0.0, 48.0)]
    # Audio: one frame per port per block, each port numbered from 0.
    assert [m.seq for _, m in host.of(p.Audio, port=2)] == list(range(5))
    assert board.session


def test_rings_come_with_the_chinese_cadence_and_fsk_caller_id_between():
    board = BoardEmulator(scenario=_calls(), seed=2)
    host = Host(board)
    host.run(40)
    port = host.of(p.RingEvent)[0][1].port
    edges = [(t, m.on, m.previous_ms) for t, m in host.of(p.RingEvent, port=port)]
    first_on, first_off, second_on = edges[0], edges[1], edges[2]
    assert first_on[1:] == (True, 0)
    assert first_off[1:] == (False, 1000)  # GB 3380: 1 s on
    assert second_on[1:] == (True, 4000)  # 4 s off
    chunks = host.of(p.CallerIdAudio, port=port)
    assert chunks and all(first_off[0] < t < second_on[0] for t, _ in chunks)
    assert [m.index for _, m in chunks] == list(range(len(chunks)))
    assert chunks[-1][1].last and not any(m.last for _, m in chunks[:-1])
    audio = alaw_decode(np.frombuffer(b"".join(m.samples for _, m in chunks), np.uint8))
    block = np.zeros((1, len(audio)), np.int16)
    block[0] = audio
    [(_, message)] = FskRx(1).process(block)
    caller = next(c for c in board.lines.sim.callers() if c.port == port)
    assert message.kind == "mdmf" and message.number == caller.number


def test_commands_are_acked_with_their_result():
    board = BoardEmulator(scenario=_staffed(), seed=3)
    host = Host(board)
    host.run(0.1)
    cases = {
        host.send(p.HookCommand(0, True)): p.Result.OK,
        host.send(p.HookCommand(1, True)): p.Result.WRONG_PORT_KIND,
        host.send(p.RingCommand(0, 25, (1000, 4000))): p.Result.WRONG_PORT_KIND,
        host.send(p.StopRingCommand(9)): p.Result.NO_SUCH_PORT,
        host.send(p.RingCommand(1, 5, (1000, 4000))): p.Result.BAD_ARGUMENT,
        host.send(p.SetAbcdCommand(0, 0b1101)): p.Result.UNSUPPORTED,
        host.send(p.GainsCommand(0, -3.0, 1.5)): p.Result.OK,
    }
    host.run(0.1)
    acks = {m.command_seq: m.result for _, m in host.of(p.Ack)}
    assert acks == {seq: int(result) for seq, result in cases.items()}
    assert host.of(p.LineEvent, port=0)[-1][1] == p.LineEvent(0, True, 28.0, 9.0)
    assert board.counters["commands"] == len(cases)


def test_a_rung_station_is_answered_by_its_agent():
    board = BoardEmulator(scenario=_staffed(), seed=3)
    host = Host(board)
    host.run(20)  # the agent logs in from the keypad
    assert [m.off_hook for _, m in host.of(p.HookEvent, port=1)] == [True, False]
    host.send(p.RingCommand(1, 25, (1000, 4000)))
    host.run(3)
    assert host.of(p.HookEvent, port=1)[-1][1] == p.HookEvent(1, True)


def test_a_caller_who_hangs_up_leaves_the_exchange_busy_tone_and_the_loop_closed():
    board = BoardEmulator(scenario=_calls(callers=HANG_UP_AFTER_MENU), seed=4)
    host = Host(board)
    host.run(30)
    port = host.of(p.RingEvent)[0][1].port
    host.send(p.HookCommand(port, True))
    prompt = np.full(160, 0xD5, np.uint8)
    prompt[::2] = alaw_encode(np.full(80, 3000, np.int16))
    host.messages.clear()
    # A prompt of a second, then silence: the caller keys its language and hangs up.
    host.run(20, tx=lambda t: [p.Audio(port, round(t * 50) % 65536, (
        prompt if t % 6 < 1 else np.full(160, 0xD5, np.uint8)).tobytes())])
    caller = next(c for c in board.lines.sim.callers() if c.port == port)
    assert caller.outcome is not None and caller.outcome.value == "hung_up_done"
    rx = host.audio(port).reshape(1, -1)
    tones = [e for e in CallProgressRx(1).process(np.ascontiguousarray(rx))
             if e.tone == "busy"]
    assert tones, "no busy tone after the caller hung up"
    # Chinese line: no loop-current drop, no polarity reversal.
    assert not host.of(p.PolarityEvent)
    assert [m for _, m in host.of(p.LineEvent, port=port)] == [p.LineEvent(port, True, 28.0, 9.0)]


def test_loopback_returns_the_hosts_audio_one_block_later():
    board = BoardEmulator(2, 1, seed=5)
    host = Host(board)
    host.run(0.1)
    host.send(p.LoopbackCommand(1, True))
    host.run(0.02)
    tone = alaw_encode((np.sin(np.arange(160) * 0.3) * 8000).astype(np.int16)).tobytes()
    host.messages.clear()
    host.run(0.2, tx=lambda t: [p.Audio(1, 0, tone)])
    frames = [m.samples for _, m in host.of(p.Audio, port=1)]
    assert frames[1:] == [tone] * (len(frames) - 1)
    idle = host.audio(0).astype(np.float64)
    assert np.sqrt(np.mean(idle ** 2)) < 30  # port 0 is not looped: line noise only


def test_a_host_that_goes_quiet_loses_its_session_and_the_lines_go_on_hook():
    board = BoardEmulator(scenario=_calls(), seed=6)
    host = Host(board)
    host.run(15)
    port = host.of(p.RingEvent)[0][1].port
    host.send(p.HookCommand(port, True))
    host.run(1)
    assert board.lines.off_hook[port]
    host.heartbeat = False
    host.run(HOST_TIMEOUT_S + 0.5)
    assert not board.session and not board.lines.off_hook[port]
    assert board.counters["host_timeouts"] == 1


@pytest.mark.parametrize(("faults", "boot_reason", "silent_s"), [
    ("reset@2", p.BootReason.BROWN_OUT, 0.0),
    ("stall@2+3", p.BootReason.WATCHDOG, 3.0),
    ("unplug@2+4", p.BootReason.POWER_ON, 4.0),
])
def test_timed_faults_end_the_session_and_the_board_boots_again(faults, boot_reason, silent_s):
    board = BoardEmulator(2, 1, seed=7, faults=faults)
    host = Host(board)
    host.run(1.9)
    assert board.session
    host.messages.clear()
    host.run(2.0 + silent_s)
    boot_times = [t for t, m in host.of(p.Boot) if m.reason == boot_reason]
    assert boot_times and boot_times[0] == pytest.approx(2.0 + silent_s, abs=0.03)
    assert not any(t > 2.0 and t < boot_times[0] for t, _ in host.of(p.Audio))
    assert not board.session
    host.send(p.Hello())
    host.run(0.1)
    assert board.session and host.of(p.HelloReply)


def test_unplugged_the_board_says_so_while_it_lasts():
    board = BoardEmulator(1, 0, seed=8, faults="unplug@1+2")
    host = Host(board)
    host.run(1.5)
    assert not board.plugged and board.counters["unplugs"] == 1
    host.run(2.0)
    assert board.plugged


def test_noise_drop_and_late_are_injected_and_counted():
    board = BoardEmulator(2, 1, seed=9, faults="noise:0.0005,drop:0.02,late:0.02")
    host = Host(board)
    host.run(20)
    counters, seen = board.counters, host.endpoint.counters
    assert counters["noise_bytes"] > 0 and counters["frames_dropped"] > 0
    assert counters["frames_late"] > 0
    bad = sum(seen[k] for k in ("bad_cobs", "bad_crc", "short_frame", "long_frame",
                                "bad_payload"))
    assert 0 < bad <= counters["noise_bytes"]
    seqs = [m.seq for _, m in host.of(p.Audio, port=0)]
    assert len(seqs) < 1000 and any(b < a for a, b in itertools.pairwise(seqs))


def test_same_seed_same_bytes():
    def run():
        board = BoardEmulator(scenario=_calls(), seed=10, faults="noise:0.001,drop:0.01")
        host = Host(board)
        host.run(12)
        return [(t, m) for t, _, m in host.messages]

    assert run() == run()


def test_the_clock_must_not_go_back():
    board = BoardEmulator(1, 0, seed=1)
    board.tick(5.0)
    with pytest.raises(ClockError, match="must not go back"):
        board.tick(4.0)


def test_an_answered_line_returns_the_echo_of_what_the_host_sends():
    def line_audio(echo):
        board = BoardEmulator(2, 0, seed=11, echo=echo)
        host = Host(board)
        host.run(0.1)
        host.send(p.HookCommand(0, True))
        rng = np.random.default_rng(1)

        def noise(t):  # white noise at -15 dBm0 on both lines; only line 0 is off hook
            block = np.clip(rng.normal(0, 2870, 160), -32768, 32767).astype(np.int16)
            return [p.Audio(port, 0, alaw_encode(block).tobytes()) for port in (0, 1)]

        host.run(0.2, tx=noise)
        host.messages.clear()
        host.run(2.0, tx=noise)
        return host.audio(0).astype(np.float64), host.audio(1).astype(np.float64)

    echoed, quiet = line_audio((9.0, 32)), line_audio(None)
    # Same seed, same audio sent: the difference is the echo (the exchange's dial tone and
    # the line noise are in both).
    echo_db = 10 * np.log10(np.mean((echoed[0] - quiet[0]) ** 2) / 2870.0 ** 2)
    assert -12.0 < echo_db < -8.0  # 9 dB return loss in the band, a little more on white noise
    assert np.array_equal(echoed[1], quiet[1])  # on hook: nothing comes back
