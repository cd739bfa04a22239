"""The serial board driver: a telephony board whose controller speaks the board protocol.

``SerialBoard(url)`` is a ``hw.ports.Board``. It opens the line only through pyserial's
``serial_for_url`` (a device path, ``loop://``, ``socket://host:port``, ...; tests inject
``serial_factory``) at ``baudrate``, starts no thread and reads time only from ``tick(now)``:
each tick it reads what arrived, runs the link (hw/serial/link.py's table: connect, handshake,
up, stalled, reconnect), retries unacknowledged commands and sends heartbeats; the media loop
then calls ``read_block`` (the jitter buffers' next 20 ms, ``jitter_frames`` deep:
hw/serial/audio.py) and ``write_block`` (one ``Audio`` frame per port whose audio is on, sent
at once). On a transport with a file descriptor (a tty, a socket) the driver writes only what
the line takes (``select``) and never waits on it; only ``connect`` waits.

Beyond the Board interface: ``flash``, ``loopback``, ``set_gains``, ``reverse_polarity``,
``set_abcd`` (E1 CAS bits), ``reset_board``; ``connect(clock)``, ``close()``; ``counters``
and ``status()`` (plain data for probe, /metrics and the System page).

Ports come from the board's ``HelloReply``: ``ports`` is empty until the first handshake
(``connect(clock)`` ticks until then). A later handshake must report the same inventory, or
the ports stay out of service (counted ``inventory_changed``). ``clear_signals`` maps a trunk
index to its ``ClearSignal`` (how that line reports a far-end clear; default none).

Faults ridden out, all counted in ``counters``: garbage and CRC errors (dropped,
resynchronised: hw/protocol/endpoint.py), lost/late audio (concealed: hw/serial/audio.py), commands
not acknowledged within ``ack_timeout_s`` (resent, up to ``command_tries`` times, then
``command_failed``), a silent board (after ``timeout_s``: ``PortOutOfService`` for every port,
then ``Hello`` every ``reconnect_s`` until it answers: ``PortInService``), a failing port
(unplugged: closed, reopened every ``reconnect_s``, handshake, ports back), a board reset
(``Boot``, or a ``HelloReply`` nobody asked for: out of service, handshake, back in service).
Out of service, a port's commands are ignored (``commands_dropped``), its audio is silence,
and its calls are the runtime's to end.

Errors: the ``hw.ports`` tree. ``PortError`` for a command on a port that does not exist or
of the wrong kind, ``BlockError``, ``ClockError``; ``BoardLinkError`` from ``connect`` when
the board did not answer in time. pyserial's exceptions are mapped to ``BoardLinkError`` in
hw/serial/transport.py and never leave the driver: here they become link events.
"""

import threading
from dataclasses import dataclass

import serial

from branchline.hw.ports import (
    CN_STATION_RING,
    BoardLinkError,
    ClockError,
    PortError,
    PortInService,
    PortKind,
    PortOutOfService,
    RingCadence,
    check_block,
)
from branchline.hw.protocol.endpoint import (
    BROADCAST_PORT,
    PROTOCOL_VERSION,
    Ack,
    Boot,
    BootReason,
    Endpoint,
    FlashCommand,
    GainsCommand,
    Heartbeat,
    Hello,
    HelloReply,
    HookCommand,
    LoopbackCommand,
    PolarityCommand,
    ResetCommand,
    Result,
    RingCommand,
    SetAbcdCommand,
    StopRingCommand,
    UnknownMessage,
)
from branchline.hw.serial.link import LinkState, transition
from branchline.hw.serial.ports import BoardPorts, describe, ports_of
from branchline.hw.serial.transport import SerialTransport

__all__ = ["DRIVER_COUNTERS", "SerialBoard"]

DRIVER_COUNTERS = (
    "heartbeat_timeouts", "board_resets", "reconnects", "open_failures", "io_errors",
    "handshake_timeouts", "incompatible", "inventory_changed", "commands_sent",
    "command_retries", "command_failed", "command_rejected", "commands_dropped",
    "unexpected_message", "tx_overflow", "ports_out_of_service",
)


@dataclass(slots=True)
class _Pending:
    """A command waiting for its Ack."""

    message: object
    sent_at: float
    tries: int


class SerialBoard:
    """A board on a serial line (see the module docstring)."""

    def __init__(self, url, *, name="board0", heartbeat_s=0.5, timeout_s=2.0, reconnect_s=1.0,
                 serial_factory=serial.serial_for_url, baudrate=921600, clear_signals=None,
                 ack_timeout_s=0.2, command_tries=3, jitter_frames=2):
        if not 0 < heartbeat_s < timeout_s:
            raise ValueError(f"SerialBoard {name}: heartbeat_s={heartbeat_s}, timeout_s="
                             f"{timeout_s}; expected 0 < heartbeat_s < timeout_s")
        for field, value in (("reconnect_s", reconnect_s), ("ack_timeout_s", ack_timeout_s)):
            if not value > 0:
                raise ValueError(f"SerialBoard {name}: {field}={value}; expected > 0 seconds")
        if command_tries < 1:
            raise ValueError(f"SerialBoard {name}: command_tries={command_tries}; expected "
                             ">= 1 (the first try counts)")
        if jitter_frames not in (1, 2, 3):
            raise ValueError(f"SerialBoard {name}: jitter_frames={jitter_frames}; expected 1, "
                             "2 or 3 (20 ms each)")
        self.url = url
        self.name = name
        self.heartbeat_s = heartbeat_s
        self.timeout_s = timeout_s
        self.reconnect_s = reconnect_s
        self.ack_timeout_s = ack_timeout_s
        self.command_tries = command_tries
        self._factory = serial_factory
        self._baudrate = baudrate
        self._clear_signals = dict(clear_signals or {})
        self._jitter_frames = jitter_frames
        self._counts = dict.fromkeys(DRIVER_COUNTERS, 0)
        self._link_totals = {}
        self._line = None
        self._endpoint = Endpoint()
        self._state = LinkState.CONNECTING
        self._now = None
        self._next_try = None
        self._last_rx = None
        self._last_tx_beat = None
        self._hello_sent = None
        self._handshake_started = None
        self._in_service = False
        self._reply = None
        self._ports = ()
        self._events = []
        self._pending = {}
        self._setup_ports(())
        self.last_error = None

    # -- the Board interface -------------------------------------------------------------

    @property
    def ports(self):
        """The board's ports (empty until the first handshake)."""
        return self._ports

    @property
    def connected(self):
        """True while the link is up (the ports are in service)."""
        return self._state is LinkState.UP

    @property
    def pending_commands(self):
        """Commands sent and not yet acknowledged."""
        return len(self._pending)

    @property
    def state(self):
        """The link's LinkState."""
        return self._state

    def tick(self, now):
        if self._now is not None and now < self._now:
            raise ClockError(f"SerialBoard.tick: now={now} is before the last tick "
                             f"{self._now}; the clock must not go back")
        self._now = now
        closed = self._state in (LinkState.CONNECTING, LinkState.RECONNECTING)
        if closed and (self._next_try is None or now >= self._next_try):
            self._open(now)
        if self._line is not None:
            self._receive(now)
        if self._line is not None:
            self._timers(now)
            self._flush()
        events, self._events = self._events, []
        ports = self._board_ports
        if self._in_service:
            events += ports.callerid.process(now)
        for source in (ports, ports.callerid):
            if source.last_error is not None:
                self.last_error, source.last_error = source.last_error, None
        return events

    def read_block(self):
        return self._board_ports.rx.play()

    def write_block(self, block):
        check_block(block, len(self._ports), "SerialBoard.write_block")
        if not self._in_service:
            return
        ports = self._board_ports
        for message in ports.tx.frames(block, ports.audio_ports()):
            self._queue(message)
        self._flush()

    def answer(self, port):
        self._trunk(port, "answer")
        if self._command(HookCommand(port, True)):
            self._board_ports.set_off_hook(port, True)

    def hang_up(self, port):
        self._trunk(port, "hang_up")
        if self._command(HookCommand(port, False)):
            self._board_ports.set_off_hook(port, False)

    def ring(self, port, cadence=CN_STATION_RING):
        self._station(port, "ring")
        if not isinstance(cadence, RingCadence):
            raise PortError(f"SerialBoard.ring: cadence {cadence!r}; expected a RingCadence")
        pattern = tuple(round(s * 1000) for s in cadence.pattern)
        if len(pattern) > 8 or max(pattern) > 0xFFFF:
            raise PortError(f"SerialBoard.ring: cadence {cadence.pattern} s; the board takes "
                            "up to 4 on/off pairs of at most 65.535 s each")
        self._command(RingCommand(port, round(cadence.frequency_hz), pattern))

    def stop_ring(self, port):
        self._station(port, "stop_ring")
        self._command(StopRingCommand(port))

    # -- more commands -----------------------------------------------------------------------

    def flash(self, port, duration_s=0.3):
        """Flash a trunk's hook for duration_s (a transfer on lines that offer one)."""
        self._trunk(port, "flash")
        self._command(FlashCommand(port, round(duration_s * 1000)))

    def reverse_polarity(self, port, on=True):
        """Reverse the battery toward a station (on) or restore it (off)."""
        self._station(port, "reverse_polarity")
        self._command(PolarityCommand(port, on))

    def set_gains(self, port, rx_db, tx_db):
        """Set a port's receive and transmit gains (dB, -12 to +12)."""
        self._port(port, "set_gains")
        self._command(GainsCommand(port, rx_db, tx_db))

    def loopback(self, port, on=True):
        """Self-test: loop the port's transmit audio into its receive path on the board."""
        self._port(port, "loopback")
        if self._command(LoopbackCommand(port, on)):
            self._board_ports.set_loopback(port, on)

    def set_abcd(self, port, bits):
        """E1 CAS: send ABCD `bits` (0-15) on a timeslot port (ITU-T G.704 timeslot 16)."""
        if self._port(port, "set_abcd").kind is not PortKind.E1:
            raise PortError(f"SerialBoard.set_abcd: port {port} is "
                            f"{self._ports[port].kind.name}; set_abcd works on E1 timeslots")
        if not 0 <= bits <= 15:
            raise PortError(f"SerialBoard.set_abcd: bits {bits}; expected 0-15 (A B C D)")
        self._command(SetAbcdCommand(port, bits))

    def reset_board(self):
        """Ask the board to restart (it will come back through the handshake)."""
        self._command(ResetCommand())

    def connect(self, clock, *, timeout_s=5.0, pump=None):
        """Tick on `clock()` until the board is up; its ports. For probe and start-up.

        `pump(now)` runs before each tick (an emulator on the same thread); without one the
        driver waits up to 10 ms for the line between ticks.
        """
        start = clock()
        held = []  # events of the start-up ticks (a phone already off hook): the next tick's
        while self._state is not LinkState.UP:
            now = clock()
            if now - start > timeout_s:
                raise BoardLinkError(
                    f"SerialBoard {self.name}: no handshake with the board at {self.url} in "
                    f"{timeout_s:g} s (link {self._state.value}; last error: "
                    f"{self.last_error or 'none'}); check the cable, the device path and "
                    "that nothing else has the port open")
            if pump is not None:
                pump(now)
            held += self.tick(now)
            if pump is None:
                self._pause(0.01)
        self._events = held + self._events
        return self._ports

    def close(self):
        """Close the serial port for good: later ticks do not reopen it."""
        self._close()
        self._state = LinkState.CONNECTING
        self._next_try = float("inf")

    # -- reports -----------------------------------------------------------------------------

    @property
    def counters(self):
        """Every fault and traffic count since the driver started (a new dict)."""
        counts = dict(self._counts)
        for key, value in self._endpoint.counters.items():
            counts[key] = self._link_totals.get(key, 0) + value
        ports = self._board_ports
        counts.update(ports.counters)
        counts.update(ports.rx.counters)
        counts.update({f"callerid_{k}": v for k, v in ports.callerid.counters.items()})
        return counts

    def status(self):
        """The board as plain data: link, firmware, serial number, ports and line state."""
        reply = self._reply
        return {
            "name": self.name,
            "url": self.url,
            "state": self._state.value,
            "connected": self.connected,
            "protocol_version": reply.version if reply else None,
            "firmware": reply.firmware if reply else None,
            "serial_number": reply.serial if reply else None,
            "alarms": [{"port": port, "code": code}
                       for port, code in sorted(self._board_ports.alarms)],
            "ports": self._board_ports.status(self._in_service),
            "spans": self._board_ports.spans(),
            "counters": self.counters,
            "last_error": self.last_error,
        }

    # -- the link ----------------------------------------------------------------------------

    def _link(self, event, now, reason=None):
        before = self._state
        self._state = after = transition(before, event)
        if after is before:
            if after in (LinkState.CONNECTING, LinkState.RECONNECTING):
                self._next_try = now + self.reconnect_s
            return
        if before is LinkState.UP:
            self._out_of_service(now, reason or event)
        if after is LinkState.RECONNECTING:
            self._close()
            self._counts["reconnects"] += 1
            self._next_try = now + self.reconnect_s
        elif after is LinkState.HANDSHAKING:
            self._handshake_started = now
            self._hello(now)
        elif after is LinkState.STALLED:
            self._hello(now)
        elif after is LinkState.UP:
            self._up(now)

    def _open(self, now):
        try:
            self._line = SerialTransport.open(self._factory, self.url, self._baudrate)
        except BoardLinkError as exc:
            self.last_error = str(exc)
            self._counts["open_failures"] += 1
            self._link("open_failed", now)
            return
        for key, value in self._endpoint.counters.items():
            self._link_totals[key] = self._link_totals.get(key, 0) + value
        self._endpoint = Endpoint()
        self._line.send(b"\x00")  # flush whatever half frame the board's receiver holds
        self._last_rx = now
        self._link("opened", now)

    def _hello(self, now):
        self._hello_sent = now
        self._endpoint.restart()
        self._queue(Hello(PROTOCOL_VERSION))

    def _up(self, now):
        self._last_tx_beat = now
        self._in_service = True
        if self._out_once:
            self._events += [PortInService(p.index, now) for p in self._ports]

    def _out_of_service(self, now, reason):
        if not self._in_service:
            return
        self._in_service = False
        self._out_once = True
        self._counts["ports_out_of_service"] += len(self._ports)
        self._events += [PortOutOfService(p.index, now, reason) for p in self._ports]
        self._pending.clear()
        self._board_ports.reset()

    def _timers(self, now):
        state = self._state
        if state is LinkState.UP:
            if now - self._last_rx >= self.timeout_s:
                self._counts["heartbeat_timeouts"] += 1
                self._link("silence", now, f"board {self.name} stopped answering (nothing "
                                           f"for {self.timeout_s:g} s)")
                return
            if now - self._last_tx_beat >= self.heartbeat_s:
                self._last_tx_beat = now
                self._queue(Heartbeat(round(now * 1000) & 0xFFFFFFFF))
            self._retry_commands(now)
        elif state is LinkState.HANDSHAKING:
            if now - self._handshake_started >= self.timeout_s:
                self._counts["handshake_timeouts"] += 1
                self._link("silence", now)
            elif now - self._hello_sent >= self.heartbeat_s:
                self._hello(now)
        elif state is LinkState.STALLED and now - self._hello_sent >= self.reconnect_s:
            self._hello(now)

    def _retry_commands(self, now):
        for seq, pending in list(self._pending.items()):
            if now - pending.sent_at < self.ack_timeout_s:
                continue
            del self._pending[seq]
            if pending.tries >= self.command_tries:
                self._counts["command_failed"] += 1
                self.last_error = (f"{type(pending.message).__name__} not acknowledged after "
                                   f"{pending.tries} tries")
                continue
            self._counts["command_retries"] += 1
            self._send_command(pending.message, now, pending.tries + 1)

    # -- receiving -----------------------------------------------------------------------------

    def _receive(self, now):
        try:
            data = self._line.read()
        except BoardLinkError as exc:
            self._failed(exc, now)
            return
        if not data:
            return
        received = self._endpoint.receive_data(data)
        if self._endpoint.last_error:
            self.last_error = self._endpoint.last_error
        for item in received:
            self._last_rx = now
            self._handle(item.message, now)
            if self._line is None:
                return

    def _handle(self, message, now):
        if isinstance(message, HelloReply):
            self._hello_reply(message, now)
        elif isinstance(message, Boot):
            if self._state is not LinkState.HANDSHAKING:
                self._counts["board_resets"] += 1
            self._link("boot", now, f"board {self.name} restarted "
                                    f"({_boot_reason(message.reason)})")
        elif self._state is not LinkState.UP:
            return  # heartbeats keep the link alive; events wait for the handshake
        elif isinstance(message, Heartbeat):
            return
        elif isinstance(message, Ack):
            self._ack(message)
        elif isinstance(message, UnknownMessage):
            return
        elif self._board_ports.handles(message):
            self._events += self._board_ports.handle(message, now)
        else:
            self._counts["unexpected_message"] += 1  # a host message sent back to us

    def _hello_reply(self, reply, now):
        if self._state is LinkState.UP:
            self._counts["board_resets"] += 1
            self._link("hello_reply", now, f"board {self.name} restarted (unasked handshake)")
            return
        if reply.version != PROTOCOL_VERSION:
            self._counts["incompatible"] += 1
            self.last_error = (f"board speaks protocol version {reply.version}; this driver "
                               f"speaks {PROTOCOL_VERSION}: update the board's firmware")
            self._link("incompatible", now)
            return
        ports = ports_of(reply.inventory, self._clear_signals)
        if len(ports) > BROADCAST_PORT:
            self._counts["incompatible"] += 1
            self.last_error = (f"board {self.name} reports {describe(reply.inventory)}: "
                               f"{len(ports)} ports; the protocol addresses at most "
                               f"{BROADCAST_PORT}")
            self._link("incompatible", now)
            return
        if self._ports and ports != self._ports:
            self._counts["inventory_changed"] += 1
            self.last_error = (f"board {self.name} now reports {describe(reply.inventory)}; "
                               "the appliance started with another board: restart it")
            self._link("incompatible", now)
            return
        if not self._ports:
            self._setup_ports(ports)
        self._reply = reply
        self._link("hello_reply", now)

    def _ack(self, ack):
        pending = self._pending.pop(ack.command_seq, None)
        if pending is None or ack.result == Result.OK:
            return
        self._counts["command_rejected"] += 1
        try:
            result = Result(ack.result).name
        except ValueError:
            result = f"result {ack.result}"
        self.last_error = f"board refused {pending.message}: {result}"

    # -- sending -------------------------------------------------------------------------------

    def _command(self, message):
        """Send a command if the board is up; False (counted) if it is out of service."""
        if not self._in_service:
            self._counts["commands_dropped"] += 1
            return False
        self._counts["commands_sent"] += 1
        self._send_command(message, self._now, 1)
        return True

    def _send_command(self, message, now, tries):
        self._queue(message)
        self._pending[self._endpoint.last_seq] = _Pending(message, now, tries)
        self._flush()

    def _queue(self, message):
        self._counts["tx_overflow"] += self._line.send(self._endpoint.send(message))

    def _flush(self):
        if self._line is None:
            return
        try:
            self._line.flush()
        except BoardLinkError as exc:
            self._failed(exc, self._now)

    def _failed(self, exc, now):
        self.last_error = str(exc)
        self._counts["io_errors"] += 1
        self._link("io_error", now, f"serial link to {self.name} failed: {exc}")

    # -- ports and I/O ---------------------------------------------------------------------------

    def _setup_ports(self, ports):
        self._ports = ports
        self._board_ports = BoardPorts(ports, jitter_frames=self._jitter_frames)
        self._out_once = False

    def _close(self):
        if self._line is not None:
            self._line.close()
        self._line = None

    def _pause(self, seconds):
        if self._line is not None:
            self._line.wait(seconds)
        else:
            threading.Event().wait(seconds)

    def _port(self, port, command):
        if isinstance(port, bool) or not isinstance(port, int) or not (
                0 <= port < len(self._ports)):
            raise PortError(f"SerialBoard.{command}: port {port!r} does not exist; ports are "
                            f"0..{len(self._ports) - 1}" if self._ports else
                            f"SerialBoard.{command}: port {port!r} does not exist; the board "
                            "has not answered yet (see connect)")
        return self._ports[port]

    def _trunk(self, port, command):
        if self._port(port, command).is_station:
            raise PortError(f"SerialBoard.{command}: port {port} is a station; {command} works "
                            "on trunks")

    def _station(self, port, command):
        if self._port(port, command).is_trunk:
            raise PortError(f"SerialBoard.{command}: port {port} is a trunk; {command} works on "
                            "stations")


def _boot_reason(code):
    try:
        return BootReason(code).name.lower().replace("_", " ")
    except ValueError:
        return f"reason {code}"
