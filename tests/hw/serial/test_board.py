"""The serial driver against a board-side stub built from the protocol module.

The stub is a small sans-I/O board (tests' own, not the emulator): it answers Hello, acks
commands, sends heartbeats and whatever events a test asks for. Two cables join it to the real
SerialBoard: pyserial's loop:// (the stub drains what the host wrote before the host reads,
so the host never sees its own bytes) and a real pseudo-terminal behind a by-id style symlink
(unplug: the pty closes and the link vanishes; replug: a new pty behind the same link).
Everything runs in lockstep on a virtual clock: no thread, no sleep — except the one test of
``connect`` on the monotonic clock, whose board answers from its own thread (stopped through an
Event; every wait is a select on the line with a generous bound).
"""

import os
import select
import socket
import threading
import time
import tty

import numpy as np
import pytest
import serial

from branchline.dsp import alaw_decode, alaw_encode
from branchline.dsp.callerid import dtmf_callerid_samples, encode_mdmf, fsk_modulate
from branchline.hw.ports import (
    BoardLinkError,
    CallerId,
    ClearSignal,
    ClockError,
    FarEndHangup,
    HookFlash,
    LineState,
    OffHook,
    OnHook,
    PolarityReversal,
    PortError,
    PortInService,
    PortKind,
    PortOutOfService,
    Ring,
    RingCadence,
    RingOff,
    SpanAlarm,
)
from branchline.hw.protocol.endpoint import (
    AbcdEvent,
    Ack,
    AlarmCode,
    AlarmEvent,
    Audio,
    Boot,
    BootReason,
    CallerIdAudio,
    Endpoint,
    FlashCommand,
    FlashEvent,
    GainsCommand,
    Heartbeat,
    Hello,
    HelloReply,
    HookCommand,
    HookEvent,
    InventoryKind,
    LineEvent,
    LoopbackCommand,
    PolarityCommand,
    PolarityEvent,
    ResetCommand,
    Result,
    RingCommand,
    RingEvent,
    SetAbcdCommand,
    SpanAlarmBits,
    SpanStatus,
    StopRingCommand,
    is_command,
)
from branchline.hw.serial.board import SerialBoard

STD = ((InventoryKind.FXO, 2), (InventoryKind.FXS, 2))
IDLE = bytes([0xD5]) * 160


class BoardStub:
    """The board side: answers Hello, acks commands, heartbeats every 0.5 s."""

    def __init__(self, inventory=STD, firmware="1.0.0", serial_number="BL-TEST-1"):
        self.endpoint = Endpoint()
        self.inventory = inventory
        self.firmware = firmware
        self.serial_number = serial_number
        self.out = bytearray()
        self.received = []  # every message from the host
        self.session = False
        self.stalled = False  # hears nothing, says nothing
        self.ack = True
        self.result = Result.OK
        self.next_beat = 0.0

    def commands(self, kind=None):
        return [m for m in self.received if is_command(m) and (kind is None or
                                                                isinstance(m, kind))]

    def send(self, message):
        self.out += self.endpoint.send(message)

    def receive(self, data, now):
        if self.stalled:
            return
        for item in self.endpoint.receive_data(data):
            message = item.message
            self.received.append(message)
            if isinstance(message, Hello):
                self.endpoint.restart()
                self.session = True
                self.send(HelloReply(1, self.firmware, self.serial_number, self.inventory))
            elif is_command(message) and self.ack:
                self.send(Ack(item.seq, self.result))

    def take(self, now):
        if self.session and not self.stalled and now >= self.next_beat:
            self.next_beat = now + 0.5
            self.send(Heartbeat(round(now * 1000)))
        data, self.out = bytes(self.out), bytearray()
        return b"" if self.stalled else data

    def reboot(self, reason=BootReason.WATCHDOG):
        self.endpoint = Endpoint()
        self.session = False
        self.send(Boot(reason))


class LoopRig:
    """SerialBoard on loop:// with the stub in lockstep."""

    def __init__(self, stub=None, **options):
        self.stub = stub or BoardStub()
        self.port = None
        self.unplugged = False
        self.now = 0.0
        self.board = SerialBoard("loop://", serial_factory=self._open, **options)

    def _open(self, url, **kwargs):
        if self.unplugged:
            raise serial.SerialException(f"could not open port {url}: No such device")
        self.port = serial.serial_for_url(url, **kwargs)
        return self.port

    def unplug(self):
        self.unplugged = True
        self.port.close()

    def step(self):
        if self.port is not None and self.port.is_open:
            self.stub.receive(self.port.read(self.port.in_waiting), self.now)
            self.port.write(self.stub.take(self.now))
        events = self.board.tick(self.now)
        self.now = round(self.now + 0.02, 6)
        return events

    def steps(self, seconds):
        """Ticks without audio (loop:// holds only 4 KB: an E1's 30 ports send 5 KB a tick)."""
        events = []
        for _ in range(round(seconds / 0.02)):
            events += self.step()
        return events

    def run(self, seconds, audio=None):
        events = []
        silence = np.zeros((len(self.board.ports), 160), np.int16)
        for _ in range(round(seconds / 0.02)):
            events += self.step()
            self.board.read_block()
            self.board.write_block(silence if audio is None else audio)
        return events

    def connect(self):
        self.board.connect(lambda: self.now, pump=lambda now: self._pump(), timeout_s=5)
        return self

    def _pump(self):
        if self.port is not None and self.port.is_open:
            self.stub.receive(self.port.read(self.port.in_waiting), self.now)
            self.port.write(self.stub.take(self.now))
        self.now = round(self.now + 0.02, 6)


@pytest.fixture
def rig():
    return LoopRig().connect()


def kinds(events, *types):
    return [e for e in events if isinstance(e, types)]


# -- handshake and commands ---------------------------------------------------------------------


def test_handshake_gives_ports_firmware_and_serial(rig):
    ports = rig.board.ports
    assert [(p.index, p.kind, p.name) for p in ports] == [
        (0, PortKind.FXO, "fxo1"), (1, PortKind.FXO, "fxo2"),
        (2, PortKind.FXS, "fxs1"), (3, PortKind.FXS, "fxs2")]
    status = rig.board.status()
    assert status["connected"] and status["state"] == "up"
    assert (status["firmware"], status["serial_number"], status["protocol_version"]) == (
        "1.0.0", "BL-TEST-1", 1)
    assert [p["in_service"] for p in status["ports"]] == [True] * 4
    assert rig.stub.received[0] == Hello(1)


def test_ports_are_empty_and_commands_refused_before_the_handshake():
    board = SerialBoard("loop://", serial_factory=lambda *a, **k: (_ for _ in ()).throw(
        serial.SerialException("no device")))
    assert board.ports == ()
    board.tick(0.0)
    with pytest.raises(PortError, match="the board has not answered yet"):
        board.answer(0)
    assert board.counters["open_failures"] == 1


def test_connect_gives_up_with_a_clear_error():
    rig = LoopRig()
    rig.stub.stalled = True
    with pytest.raises(BoardLinkError, match=r"no handshake with the board at loop:// in 1 s "
                                              r"\(link handshaking"):
        rig.board.connect(lambda: rig.now, pump=lambda now: rig._pump(), timeout_s=1)


def test_hook_commands_are_acknowledged(rig):
    rig.board.answer(0)
    rig.run(0.1)
    rig.board.hang_up(0)
    rig.run(0.1)
    assert rig.stub.commands() == [HookCommand(0, True), HookCommand(0, False)]
    counters = rig.board.counters
    assert counters["commands_sent"] == 2
    assert counters["command_retries"] == counters["command_failed"] == 0
    assert rig.board.pending_commands == 0


def test_unacknowledged_commands_are_retried_then_given_up(rig):
    rig.stub.ack = False
    rig.board.answer(1)
    rig.run(1.0)
    assert rig.stub.commands() == [HookCommand(1, True)] * 3
    counters = rig.board.counters
    assert (counters["command_retries"], counters["command_failed"]) == (2, 1)
    assert rig.board.last_error == "HookCommand not acknowledged after 3 tries"


def test_a_refused_command_is_counted_with_the_reason(rig):
    rig.stub.result = Result.NO_LINE
    rig.board.answer(0)
    rig.run(0.1)
    assert rig.board.counters["command_rejected"] == 1
    assert rig.board.last_error == ("board refused HookCommand(port=0, off_hook=True): "
                                    "NO_LINE")


def test_a_station_rings_with_the_chinese_cadence(rig):
    rig.board.ring(2)
    rig.board.stop_ring(2)
    rig.board.ring(3, RingCadence(20.0, (0.4, 0.2, 0.4, 2.0)))
    rig.run(0.1)
    assert rig.stub.commands() == [RingCommand(2, 25, (1000, 4000)), StopRingCommand(2),
                                   RingCommand(3, 20, (400, 200, 400, 2000))]
    with pytest.raises(PortError, match=r"the board takes up to 4 on/off pairs of at most "
                                        r"65.535 s each"):
        rig.board.ring(2, RingCadence(25.0, (0.2, 0.2) * 5))


def test_commands_check_ports_like_every_board(rig):
    with pytest.raises(PortError, match=r"port 4 does not exist; ports are 0..3"):
        rig.board.answer(4)
    with pytest.raises(PortError, match="port 0 is a trunk; ring works on stations"):
        rig.board.ring(0)
    with pytest.raises(PortError, match="port 2 is a station; answer works on trunks"):
        rig.board.answer(2)
    with pytest.raises(ClockError, match="must not go back"):
        rig.board.tick(rig.now - 1)


def test_loopback_turns_audio_on_for_the_port(rig):
    rig.board.loopback(3)
    rig.run(0.1)
    assert LoopbackCommand(3, True) in rig.stub.commands()
    sent = [m for m in rig.stub.received if isinstance(m, Audio)]
    assert sent and {m.port for m in sent} == {3}


# -- events ---------------------------------------------------------------------------------


def test_rings_are_counted_per_call(rig):
    stub = rig.stub
    events = []
    for on, previous in ((True, 0), (False, 1000), (True, 4000), (False, 1000)):
        stub.send(RingEvent(0, on, previous))
        events += rig.run(0.1)
    events += rig.run(10)  # a long pause: the next ring is another call's first
    stub.send(RingEvent(0, True, 10000))
    events += rig.run(0.1)
    rings = kinds(events, Ring, RingOff)
    assert [(type(e).__name__, e.count) for e in rings] == [
        ("Ring", 1), ("RingOff", 1), ("Ring", 2), ("RingOff", 2), ("Ring", 1)]
    assert rig.board.status()["ports"][0]["ring_ms"] == {"on": 1000, "off": 10000}


def test_station_and_line_events(rig):
    stub = rig.stub
    stub.send(HookEvent(2, True))
    stub.send(FlashEvent(2, 250))
    stub.send(HookEvent(2, False))
    stub.send(LineEvent(0, True, 0.0, -48.0))
    stub.send(PolarityEvent(1))
    events = rig.run(0.1)
    t = events[0].time
    assert events == [OffHook(2, t), HookFlash(2, t), OnHook(2, t),
                      LineState(0, t, True, 0.0, -48.0), PolarityReversal(1, t)]
    assert rig.board.status()["ports"][0]["line"] == {
        "present": True, "loop_current_ma": 0.0, "voltage_v": -48.0}


def test_far_end_hangup_only_where_the_line_signals_it():
    stub = BoardStub()
    rig = LoopRig(stub, clear_signals={0: ClearSignal.LOOP_CURRENT_DROP,
                                       1: ClearSignal.POLARITY_REVERSAL}).connect()
    assert [p.clear_signal for p in rig.board.ports[:2]] == [
        ClearSignal.LOOP_CURRENT_DROP, ClearSignal.POLARITY_REVERSAL]
    rig.board.answer(0)
    rig.board.answer(1)
    stub.send(LineEvent(0, True, 28.0, -8.0))
    rig.run(0.1)
    stub.send(LineEvent(0, True, 0.5, -48.0))
    stub.send(PolarityEvent(1))
    events = rig.run(0.1)
    assert [(type(e).__name__, e.port) for e in kinds(events, FarEndHangup)] == [
        ("FarEndHangup", 0), ("FarEndHangup", 1)]
    assert [e.signal for e in kinds(events, FarEndHangup)] == [
        ClearSignal.LOOP_CURRENT_DROP, ClearSignal.POLARITY_REVERSAL]
    rig.board.hang_up(1)
    stub.send(PolarityEvent(1))
    assert kinds(rig.run(0.1), FarEndHangup) == []


def test_e1_spans_are_thirty_timeslot_ports_with_alarms():
    stub = BoardStub(inventory=((InventoryKind.E1, 1), (InventoryKind.FXS, 1)))
    rig = LoopRig(stub).connect()
    ports = rig.board.ports
    assert len(ports) == 31
    assert [p.timeslot for p in ports[:30]] == [*range(1, 16), *range(17, 32)]
    assert {p.span for p in ports[:30]} == {0} and ports[30].kind is PortKind.FXS
    assert ports[15].name == "e1s1t17"
    stub.send(SpanStatus(0, SpanAlarmBits.LOS | SpanAlarmBits.RAI, 2))
    events = kinds(rig.steps(0.1), SpanAlarm)
    assert events == [SpanAlarm(0, events[0].time, 0, frozenset({"los", "rai"}), 2)]
    assert rig.board.status()["spans"] == [
        {"span": 0, "first_port": 0, "alarms": ["los", "rai"], "slips": 2}]


def _window(port, window, audio):
    codes = alaw_encode(audio).tobytes()
    chunks = [codes[i:i + 160] for i in range(0, len(codes), 160)]
    return [CallerIdAudio(port, window, i, i == len(chunks) - 1, c)
            for i, c in enumerate(chunks)]


def test_fsk_caller_id_between_the_rings(rig):
    stub = rig.stub
    message = encode_mdmf(number="13800138000", name="WANG", when=(3, 17, 16, 56))
    audio = np.concatenate([np.zeros(800, np.int16), fsk_modulate(message),
                            np.zeros(800, np.int16)])
    stub.send(RingEvent(1, True, 0))
    events = rig.run(0.1)
    stub.send(RingEvent(1, False, 1000))
    events += rig.run(0.1)
    for chunk in _window(1, 0, audio):
        stub.send(chunk)
        events += rig.run(0.02)
    ids = kinds(events, CallerId)
    assert [(e.port, e.number, e.name) for e in ids] == [(1, "13800138000", "WANG")]
    assert rig.board.counters["callerid_decoded"] == 1


def test_dtmf_caller_id_before_the_first_ring(rig):
    audio = np.concatenate([np.zeros(400, np.int16),
                            dtmf_callerid_samples("075512345678", start="D", end="#"),
                            np.zeros(400, np.int16)])
    events = []
    for chunk in _window(0, 3, audio):
        rig.stub.send(chunk)
        events += rig.run(0.02)
    events += rig.run(0.1)
    assert [(e.port, e.number) for e in kinds(events, CallerId)] == [(0, "075512345678")]


def test_a_garbled_dtmf_caller_id_is_counted_not_raised(rig):
    audio = np.concatenate([np.zeros(400, np.int16),
                            dtmf_callerid_samples("1234", start="A", end="C")[:-2400],
                            np.zeros(400, np.int16)])
    for chunk in _window(0, 4, audio):
        rig.stub.send(chunk)
        rig.run(0.02)
    assert rig.board.counters["callerid_errors"] == 1
    assert rig.board.last_error.startswith("parse_dtmf_callerid: ")


# -- audio -----------------------------------------------------------------------------------


def test_audio_both_ways_on_an_answered_line(rig):
    rig.board.answer(0)
    rig.run(0.1)
    tone = (8000 * np.sin(np.arange(160) * 2 * np.pi * 1000 / 8000)).astype(np.int16)
    codes = alaw_encode(tone).tobytes()
    rig.stub.send(Audio(0, 0, codes))  # two frames of cushion, then one a tick
    blocks = []
    for seq in range(1, 6):
        rig.stub.send(Audio(0, seq, codes))
        rig.step()
        blocks.append(rig.board.read_block())
    assert rig.board.counters["audio_lost"] == rig.board.counters["audio_overflow"] == 0
    assert all(np.array_equal(b[0], alaw_decode(np.frombuffer(codes, np.uint8)))
               for b in blocks)
    assert all(not b[1:].any() or np.all(b[1:] == 8) for b in blocks)  # idle A-law is +8
    block = np.zeros((4, 160), np.int16)
    block[0] = tone
    rig.board.write_block(block)
    rig.step()
    sent = [m for m in rig.stub.received if isinstance(m, Audio)]
    assert sent[-1] == Audio(0, sent[-1].seq, codes)
    assert {m.port for m in sent} == {0}  # only the off-hook trunk's audio goes out
    assert [m.seq for m in sent] == list(range(len(sent)))


def test_lost_and_late_audio_is_concealed_and_counted(rig):
    rig.board.answer(0)
    rig.run(0.1)
    loud = alaw_encode(np.full(160, 4000, np.int16)).tobytes()
    rig.stub.send(Audio(0, 0, loud))
    rig.stub.send(Audio(0, 1, loud))
    rig.step()
    played = [rig.board.read_block()[0] for _ in range(2)]
    assert all(np.all(p == 4032) for p in played)  # A-law's value for 4000
    concealed = [rig.board.read_block()[0] for _ in range(3)]
    assert concealed[0][0] == 4032 and abs(int(concealed[0][-1]) - 2016) <= 40
    assert abs(int(concealed[1][0]) - 2016) <= 40 and abs(int(concealed[1][-1])) <= 40
    assert np.all(concealed[2] == 8)
    rig.stub.send(Audio(0, 2, loud))  # its turn has passed
    rig.step()
    counters = rig.board.counters
    assert (counters["audio_lost"], counters["audio_late"]) == (3, 1)


# -- faults ----------------------------------------------------------------------------------


def test_garbage_and_crc_errors_are_counted_and_the_link_stays_up(rig):
    good = rig.stub.endpoint.send(HookEvent(2, True))
    bad = bytearray(rig.stub.endpoint.send(HookEvent(3, True)))
    bad[3] ^= 0x40
    rig.stub.out += b"\x13\x37noise\x00" + bytes(bad) + good
    events = rig.run(0.1)
    assert [(type(e).__name__, e.port) for e in events] == [("OffHook", 2)]
    counters = rig.board.counters
    assert counters["bad_cobs"] + counters["bad_crc"] + counters["short_frame"] >= 2
    assert counters["bad_crc"] >= 1
    assert rig.board.connected


def test_a_silent_board_takes_its_ports_out_of_service_and_back(rig):
    rig.board.answer(0)
    rig.run(0.2)
    rig.stub.stalled = True
    events = rig.run(3.0)
    out = kinds(events, PortOutOfService)
    assert [e.port for e in out] == [0, 1, 2, 3]
    assert out[0].reason == "board board0 stopped answering (nothing for 2 s)"
    assert rig.board.state.value == "stalled"
    assert rig.board.status()["ports"][0]["off_hook"] is False
    rig.board.answer(0)  # ignored while out of service
    assert rig.board.counters["commands_dropped"] == 1
    rig.stub.stalled = False
    events = rig.run(1.5)
    assert [e.port for e in kinds(events, PortInService)] == [0, 1, 2, 3]
    assert rig.board.connected
    assert rig.board.counters["heartbeat_timeouts"] == 1


def test_a_board_reset_mid_call_is_out_of_service_then_back(rig):
    rig.board.answer(0)
    rig.stub.send(HookEvent(2, True))
    rig.run(0.2)
    rig.stub.reboot()
    events = rig.run(0.5)
    names = [(type(e).__name__, e.port) for e in kinds(events, PortOutOfService,
                                                        PortInService)]
    assert names == [("PortOutOfService", p) for p in range(4)] + [
        ("PortInService", p) for p in range(4)]
    assert kinds(events, PortOutOfService)[0].reason == "board board0 restarted (watchdog)"
    assert rig.board.counters["board_resets"] == 1
    assert not any(p["off_hook"] for p in rig.board.status()["ports"])


def test_an_unasked_hello_reply_is_a_reset_too(rig):
    rig.stub.send(HelloReply(1, "1.0.0", "BL-TEST-1", STD))
    events = rig.run(0.5)
    assert len(kinds(events, PortOutOfService)) == 4 and len(kinds(events, PortInService)) == 4
    assert rig.board.counters["board_resets"] == 1


def test_another_board_behind_the_same_cable_stays_out_of_service(rig):
    rig.stub.inventory = ((InventoryKind.FXO, 8),)
    rig.stub.reboot()
    events = rig.run(1.0)
    assert len(kinds(events, PortOutOfService)) == 4 and not kinds(events, PortInService)
    assert rig.board.counters["inventory_changed"] >= 1
    assert "now reports 8 FXO" in rig.board.last_error


def test_unplug_and_replug_on_loop(rig):
    rig.unplug()
    events = rig.run(0.1)
    assert [e.port for e in kinds(events, PortOutOfService)] == [0, 1, 2, 3]
    assert rig.board.state.value == "reconnecting"
    rig.run(2.5)
    assert rig.board.counters["open_failures"] >= 2
    rig.unplugged = False
    events = rig.run(1.5)
    assert [e.port for e in kinds(events, PortInService)] == [0, 1, 2, 3]
    assert rig.board.counters["reconnects"] == 1


# -- a real pseudo-terminal -----------------------------------------------------------------


class PtyRig:
    """SerialBoard on a real pty behind a symlink (like /dev/serial/by-id/...)."""

    WAIT_S = 5.0  # generous: only ever reached if the kernel stops moving bytes

    def __init__(self, tmp_path, stub=None):
        self.stub = stub or BoardStub()
        self.link = tmp_path / "ttyBOARD"
        self.master = self.slave = None
        self.host = None
        self.now = 0.0
        self.plug()
        self.board = SerialBoard(str(self.link), serial_factory=self._open)

    def _open(self, url, **kwargs):
        self.host = serial.serial_for_url(url, **kwargs)
        return self.host

    def plug(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        os.symlink(os.ttyname(self.slave), self.link)

    def unplug(self):
        self.link.unlink()
        os.close(self.master)
        os.close(self.slave)
        self.master = None

    def close(self):
        self.board.close()
        if self.master is not None:
            self.unplug()

    def step(self):
        sent_before = self.board.counters["frames_out"]
        if self.master is not None:
            self._to_board(sent_before)
        events = self.board.tick(self.now)
        if self.master is not None:
            self._to_board(sent_before)
        self.now = round(self.now + 0.02, 6)
        return events

    def _to_board(self, sent_before):
        data = bytearray()
        while (self.board.counters["frames_out"] > sent_before and not data.endswith(b"\0")
               and self.host is not None and self.host.is_open):
            ready, _, _ = select.select([self.master], [], [], self.WAIT_S)
            assert ready, "the pty stopped moving bytes"
            data += os.read(self.master, 65536)
        ready, _, _ = select.select([self.master], [], [], 0)
        if ready:
            data += os.read(self.master, 65536)
        self.stub.receive(bytes(data), self.now)
        reply = self.stub.take(self.now)
        if reply:
            os.write(self.master, reply)
            self._wait_host(len(reply))

    def _wait_host(self, count):
        if self.host is None or not self.host.is_open:
            return
        fd = self.host.fileno()
        while self.host.in_waiting < count:
            ready, _, _ = select.select([fd], [], [], self.WAIT_S)
            assert ready, "the pty stopped moving bytes"

    def run(self, seconds):
        events = []
        for _ in range(round(seconds / 0.02)):
            events += self.step()
        return events


@pytest.fixture
def pty_rig(tmp_path):
    rig = PtyRig(tmp_path)
    yield rig
    rig.close()


def test_handshake_and_commands_over_a_pty(pty_rig):
    pty_rig.run(0.2)
    assert pty_rig.board.connected
    assert len(pty_rig.board.ports) == 4
    pty_rig.board.answer(1)
    pty_rig.stub.send(HookEvent(3, True))
    events = pty_rig.run(0.2)
    assert HookCommand(1, True) in pty_rig.stub.commands()
    assert [type(e).__name__ for e in events] == ["OffHook"]
    assert pty_rig.board.pending_commands == 0


def test_unplug_and_replug_over_a_pty(pty_rig):
    pty_rig.run(0.2)
    pty_rig.board.answer(0)
    pty_rig.run(0.1)
    pty_rig.unplug()
    events = pty_rig.run(0.1)
    out = kinds(events, PortOutOfService)
    assert [e.port for e in out] == [0, 1, 2, 3]
    assert out[0].reason.startswith("serial link to board0 failed: ")  # then pyserial's words
    pty_rig.run(2.0)  # the path is gone: reopening fails, and is retried every second
    assert pty_rig.board.counters["open_failures"] >= 1
    pty_rig.stub = BoardStub()
    pty_rig.plug()
    events = pty_rig.run(1.5)
    assert [e.port for e in kinds(events, PortInService)] == [0, 1, 2, 3]
    assert pty_rig.board.connected and pty_rig.board.counters["reconnects"] == 1


def test_a_board_that_never_answers_the_handshake_is_reopened():
    rig = LoopRig()
    rig.stub.stalled = True
    rig.steps(2.5)
    counters = rig.board.counters
    assert counters["handshake_timeouts"] == 1 and counters["reconnects"] == 1
    rig.stub.stalled = False
    rig.steps(1.5)
    assert rig.board.connected and len(rig.board.ports) == 4


def test_a_board_speaking_another_version_is_not_used():
    class NewBoard(BoardStub):
        def receive(self, data, now):
            for item in self.endpoint.receive_data(data):
                if isinstance(item.message, Hello):
                    self.send(HelloReply(2, "9.0", "BL-NEW", STD))

    rig = LoopRig(NewBoard())
    rig.steps(1.0)
    assert not rig.board.connected and rig.board.ports == ()
    assert rig.board.counters["incompatible"] >= 1
    assert rig.board.last_error == ("board speaks protocol version 2; this driver speaks 1: "
                                    "update the board's firmware")


def test_messages_for_ports_the_board_does_not_have_are_counted(rig):
    rig.stub.send(HookEvent(9, True))
    rig.stub.send(HookEvent(255, True))  # 255 is "the board" only in an alarm
    rig.stub.send(SpanStatus(3, 0, 0))
    rig.stub.send(HookCommand(0, True))  # a host message coming back
    rig.stub.send(RingEvent(2, True, 0))  # a ring on a station
    events = rig.run(0.1)
    assert events == []
    counters = rig.board.counters
    assert (counters["bad_port"], counters["unexpected_message"]) == (4, 1)
    assert rig.board.last_error == "RingEvent for port 2, which is FXS; it is for FXO ports"


def test_a_board_with_more_ports_than_the_protocol_addresses_is_not_used():
    rig = LoopRig(BoardStub(inventory=((InventoryKind.E1, 8), (InventoryKind.FXS, 16))))
    rig.steps(0.5)
    assert not rig.board.connected
    assert rig.board.last_error == ("board board0 reports 8 E1, 16 FXS: 256 ports; the "
                                    "protocol addresses at most 255")


def test_board_alarms_are_reported(rig):
    rig.stub.send(AlarmEvent(0xFF, AlarmCode.OVER_TEMPERATURE, True))
    rig.stub.send(AlarmEvent(2, AlarmCode.RINGER_OVERLOAD, True))
    rig.stub.send(AlarmEvent(2, AlarmCode.RINGER_OVERLOAD, False))
    rig.run(0.1)
    assert rig.board.status()["alarms"] == [{"port": 255, "code": 1}]
    assert rig.board.counters["board_alarms"] == 2


def test_a_line_that_does_not_drain_drops_the_oldest_frames(tmp_path):
    rig = PtyRig(tmp_path)
    try:
        rig.run(0.2)
        rig.board.answer(0)
        rig.board.loopback(2)
        rig.run(0.1)
        # The board stops reading: the pty fills, then the driver's own queue is capped.
        block = np.zeros((4, 160), np.int16)
        for _ in range(400):
            rig.board.write_block(block)
        assert rig.board.counters["tx_overflow"] > 0
        assert rig.board.connected  # nothing failed: only frames were dropped
    finally:
        rig.close()


def test_every_fault_counter_is_there_from_the_start():
    board = SerialBoard("loop://")
    expected = {
        "frames_in", "frames_out", "bad_cobs", "bad_crc", "short_frame", "long_frame",
        "bad_payload", "unknown_type", "seq_gap", "seq_backwards", "heartbeat_timeouts",
        "board_resets", "reconnects", "open_failures", "io_errors", "handshake_timeouts",
        "incompatible", "inventory_changed", "commands_sent", "command_retries",
        "command_failed", "command_rejected", "commands_dropped", "unexpected_message",
        "tx_overflow", "ports_out_of_service", "bad_port", "board_alarms", "audio_in",
        "audio_lost", "audio_late", "audio_duplicate", "audio_overflow", "callerid_windows",
        "callerid_decoded", "callerid_errors"}
    counters = board.counters
    assert set(counters) == expected
    assert set(counters.values()) == {0}


# -- socket:// (a board behind a serial-to-network adapter) ------------------------------------


class SocketRig:
    """SerialBoard on socket:// to a real TCP server on loopback, the stub behind it."""

    WAIT_S = 5.0

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        self.stub = BoardStub()
        self.conn = self.host = None
        self.now = 0.0
        self.board = SerialBoard(self.url, serial_factory=self._open)

    def _open(self, url, **kwargs):
        self.host = serial.serial_for_url(url, **kwargs)
        self.conn, _ = self.server.accept()
        self.stub = BoardStub()
        return self.host

    def drop(self):
        self.conn.close()
        self.conn = None

    def close(self):
        self.board.close()
        if self.conn is not None:
            self.conn.close()
        self.server.close()

    def step(self):
        events = self.board.tick(self.now)
        if self.conn is not None:
            data = bytearray()
            while select.select([self.conn], [], [], 0)[0]:
                chunk = self.conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.stub.receive(bytes(data), self.now)
            reply = self.stub.take(self.now)
            if reply:
                self.conn.sendall(reply)
                assert select.select([self.host.fileno()], [], [], self.WAIT_S)[0]
        self.now = round(self.now + 0.02, 6)
        return events

    def run(self, seconds):
        events = []
        for _ in range(round(seconds / 0.02)):
            events += self.step()
        return events


def test_handshake_events_and_a_dropped_connection_over_socket():
    rig = SocketRig()
    try:
        rig.run(0.2)
        assert rig.board.connected and len(rig.board.ports) == 4
        rig.stub.send(HookEvent(2, True))
        assert [(type(e), e.port) for e in rig.run(0.1)] == [(OffHook, 2)]
        rig.board.ring(2)
        rig.run(0.1)
        assert RingCommand(2, 25, (1000, 4000)) in rig.stub.commands()
        rig.drop()
        events = rig.run(0.1)
        assert [e.port for e in kinds(events, PortOutOfService)] == [0, 1, 2, 3]
        assert "socket disconnected" in kinds(events, PortOutOfService)[0].reason
        events = rig.run(1.5)  # reopened after reconnect_s: a new connection, a new handshake
        assert [e.port for e in kinds(events, PortInService)] == [0, 1, 2, 3]
    finally:
        rig.close()


def test_e1_timeslots_take_cas_bits():
    stub = BoardStub(inventory=((InventoryKind.E1, 1), (InventoryKind.FXS, 1)))
    rig = LoopRig(stub).connect()
    rig.board.set_abcd(16, 0b1101)
    rig.steps(0.1)
    assert SetAbcdCommand(16, 0b1101) in stub.commands()
    with pytest.raises(PortError, match="port 30 is FXS; set_abcd works on E1 timeslots"):
        rig.board.set_abcd(30, 1)
    with pytest.raises(PortError, match=r"bits 16; expected 0-15 \(A B C D\)"):
        rig.board.set_abcd(0, 16)
    stub.send(AbcdEvent(3, 0b1001))
    rig.steps(0.1)
    assert rig.board.status()["ports"][3]["abcd"] == 0b1001


def test_a_closed_board_stays_closed(rig):
    rig.board.close()
    rig.steps(2.0)
    assert rig.board.counters["open_failures"] == 0 and not rig.board.connected


def test_connect_in_real_time_against_a_board_on_its_own_thread(tmp_path):
    """The path probe and `run` take: the monotonic clock, the board answering by itself."""
    master, slave = os.openpty()
    tty.setraw(master)
    stop = threading.Event()
    stub = BoardStub()

    def board_side():
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                stub.receive(os.read(master, 4096), 0.0)
                os.write(master, stub.take(0.0))

    thread = threading.Thread(target=board_side, daemon=True)
    thread.start()
    board = SerialBoard(os.ttyname(slave))
    try:
        ports = board.connect(time.monotonic, timeout_s=30)
        assert [p.name for p in ports] == ["fxo1", "fxo2", "fxs1", "fxs2"]
        assert board.status()["serial_number"] == "BL-TEST-1"
    finally:
        stop.set()
        thread.join(timeout=30)
        board.close()
        os.close(master)
        os.close(slave)
    assert not thread.is_alive()


@pytest.mark.parametrize(("options", "error"), [
    ({"heartbeat_s": 2.0, "timeout_s": 2.0}, r"heartbeat_s=2.0, timeout_s=2.0; expected 0 < "
                                             r"heartbeat_s < timeout_s"),
    ({"reconnect_s": 0}, r"reconnect_s=0; expected > 0 seconds"),
    ({"command_tries": 0}, r"command_tries=0; expected >= 1"),
    ({"jitter_frames": 4}, r"jitter_frames=4; expected 1, 2 or 3"),
])
def test_bad_options_are_refused_with_the_fix(options, error):
    with pytest.raises(ValueError, match=error):
        SerialBoard("loop://", **options)


def test_a_noisy_line_loses_exactly_the_frames_it_broke(rig):
    """30 s of a noisy line: noise between frames costs nothing; each broken or missing audio
    frame is one concealed frame; the link never drops."""
    rng = np.random.default_rng(7)
    rig.board.answer(0)
    rig.run(0.1)
    codes = alaw_encode(np.full(160, 1000, np.int16)).tobytes()
    broken = missing = 0
    events = []
    silence = np.zeros((4, 160), np.int16)
    for seq in range(1500):
        roll = rng.random()
        if roll < 0.02:
            missing += 1
        else:
            wire = bytearray(rig.stub.endpoint.send(Audio(0, seq, codes)))
            if roll < 0.04:
                wire[60] ^= 0x80  # inside the samples: never makes or removes a 0x00
                broken += 1
            rig.stub.out += wire
        if rng.random() < 0.05:
            rig.stub.out += bytes(rng.integers(1, 256, 30, dtype=np.uint8)) + b"\x00"
        events += rig.step()
        rig.board.read_block()
        rig.board.write_block(silence)
    counters = rig.board.counters
    assert not kinds(events, PortOutOfService) and rig.board.connected
    assert counters["audio_lost"] == broken + missing
    assert counters["bad_crc"] == broken
    assert counters["seq_gap"] == broken  # a frame never sent takes no frame number
    assert counters["bad_cobs"] + counters["short_frame"] + counters["long_frame"] > 0


def test_the_other_commands_reach_the_board(rig):
    rig.board.flash(1, 0.25)
    rig.board.reverse_polarity(3)
    rig.board.set_gains(0, -3.0, 1.5)
    rig.board.reset_board()
    rig.run(0.1)
    assert rig.stub.commands() == [FlashCommand(1, 250), PolarityCommand(3, True),
                                   GainsCommand(0, -3.0, 1.5), ResetCommand()]
    with pytest.raises(PortError, match="port 2 is a station; flash works on trunks"):
        rig.board.flash(2)
    with pytest.raises(PortError, match="port 0 is a trunk; reverse_polarity works on stations"):
        rig.board.reverse_polarity(0)
