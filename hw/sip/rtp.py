"""RTP media for every SIP channel of a board at once: ``RtpEngine(channels)``.

The 20 ms contract; the media loop calls, once per tick, for all channels together::

    events = rtp.receive()   # drain every RTP and RTCP socket into the jitter buffers;
                             # RFC 4733 keys come back as DtmfEvent, as DtmfRx gives them
    rtp.read(rx_block)       # int16[channels, n]: each channel's played-out audio
    ...                      # detection, IVR, mixing: as for any board
    rtp.write(tx_block)      # int16[channels, n]: G.711-encoded, one packet per ptime
    rtp.rtcp()               # the RTCP reports now due (usually none)

``receive``, ``read`` and ``write`` are one call each into the kernel (``_rtp.pyx``), which
loops over every channel in C without the GIL (``recvmmsg`` per socket, ``sendto`` per
packet): no Python per packet or per channel. ``rtcp`` touches only the channels whose
report is due (about one in 250 per tick at 5 s), and the kernel builds and sends each one.
Per call, from the signalling side: ``open`` (sockets bound: RTP on an even port, RTCP on
the next), ``set_direction`` (hold), ``set_remote``, ``send_digit``, ``close``, and ``stats``
(counters, jitter, round trip, and the E-model's R and MOS, ``emodel.py``). ``feed`` pushes
one datagram through the same receive path without a socket, for tests.

What the receive path does, per datagram, in C: RFC 3550 header checks (version 2,
CSRC/extension/padding lengths, payload type is the channel's audio or telephone-event type,
payload 1-480 bytes); the source address (a channel that is not symmetric drops packets from
anywhere but its remote; a symmetric one sends to wherever valid packets of its stream come
from); SSRC (the first one is taken; a new one after two packets in sequence); sequence
numbers (RFC 3550 A.1: duplicates by a 512-number bitmap, reordering, a jump believed on the
second packet); interarrival jitter (A.8, from the kernel's SO_TIMESTAMPNS receive time);
then the jitter buffer, described in docs/sip.md "Media". Whatever is malformed is counted
(``bad``) and dropped; nothing in a datagram can raise.

Errors: ``UsageError`` (hw/sip's "we did it wrong") for a bad argument or a channel in the
wrong state, and for a socket that cannot be bound (with the address and the remedy).
"""

import heapq
import ipaddress
import random
import secrets
import socket
import time
from dataclasses import dataclass

import numpy as np

from branchline.dsp import DtmfEvent, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from branchline.dsp._blocks import check_block, check_channel
from branchline.dsp.dtmf_rx import KEYS
from branchline.hw.sip import _rtp
from branchline.hw.sip.emodel import estimate
from branchline.hw.sip.errors import UsageError

__all__ = ["DIRECTIONS", "EVENT_CODES", "RtpEngine", "RtpStats"]

PCMU, PCMA = 0, 8  # RFC 3551 static payload types
PTIMES = (10, 20, 30)
DIRECTIONS = {"sendrecv": (True, True), "sendonly": (True, False),
              "recvonly": (False, True), "inactive": (False, False)}
# RFC 4733 §3.2: events 0-9 are the digits, 10 '*', 11 '#', 12-15 'A'-'D'.
EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11,
               "A": 12, "B": 13, "C": 14, "D": 15}
_KEY_OF_CODE = {code: key for key, code in EVENT_CODES.items()}
_DTMF_INDEX = {key: KEYS.index(key) for key in KEYS}
RATE = 8000
RTCP_MIN_INTERVAL = 5.0          # RFC 3550 §6.2's recommended minimum, seconds
RTCP_COMPENSATION = 2.71828 - 1.5  # RFC 3550 §6.3.1: e - 3/2
# RTCP sockets are drained every 10th receive (200 ms): a report every 5 s does not need a
# syscall per channel per tick, and its arrival time comes from SO_TIMESTAMPNS anyway.
RTCP_DRAIN_TICKS = 10
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux <asm-generic/socket.h>
DSCP_EF = 46 << 2                # voice: expedited forwarding (RFC 3246), in the TOS byte

# The kernel's statistics rows, in order (_rtp.pyx S_*).
_STATS = ("received", "expected", "duplicate", "late", "bad", "foreign", "jitter16",
          "concealed", "dropped", "inserted", "resyncs", "ssrc_changes", "sent",
          "sent_octets", "send_errors", "rtt", "rtcp_bad", "depth", "events_lost",
          "latches")


@dataclass(frozen=True, slots=True)
class RtpStats:
    """One channel's media quality since ``open``. Times in ms; None until measured."""

    received: int          # valid packets taken (audio and telephone-event)
    lost: int              # RFC 3550 A.3: expected - received, never below 0
    duplicate: int
    late: int              # arrived after their playout time
    bad: int               # malformed, wrong payload type, unproven SSRC, bad sequence jump
    foreign: int           # from an address a non-symmetric channel does not talk to
    jitter_ms: float       # RFC 3550 A.8 interarrival jitter
    concealed_ms: float    # audio made up for missing packets (and for depth inserted)
    dropped_ms: float      # audio skipped to bring the depth down (sender's clock fast)
    inserted_ms: float     # audio inserted to bring it up (sender slow, or more jitter)
    resyncs: int           # jitter buffer restarts: SSRC change, sequence or time jumps
    ssrc_changes: int
    sent: int
    send_errors: int
    rtt_ms: float | None   # from RTCP: RFC 3550 §6.4.1 LSR/DLSR
    depth_ms: float        # jitter buffer: playout point to newest sample held
    rtcp_bad: int
    loss_percent: float
    delay_ms: float        # one-way estimate: rtt/2 + depth + ptime
    r: float               # ITU-T G.107 transmission rating
    mos: float


class _Channel:
    __slots__ = ("direction", "generation", "ptime", "rtcp", "rtp")

    def __init__(self, rtp, rtcp, ptime, direction, generation):
        self.rtp, self.rtcp, self.ptime, self.direction = rtp, rtcp, ptime, direction
        self.generation = generation


class RtpEngine:
    """RTP and RTCP for `channels` SIP channels; one kernel call per tick and direction."""

    def __init__(self, channels, *, clock=time.monotonic, wallclock_ns=time.time_ns,
                 seed=None):
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise UsageError(f"RtpEngine: channels={channels!r}; expected an int >= 1")
        self._channels = channels
        self._clock = clock  # seconds: when RTCP reports are due
        self._wallclock_ns = wallclock_ns  # NTP timestamps; arrival when the kernel has none
        self._random = random.Random(seed)
        every = np.arange(-32768, 32768, dtype=np.int16)
        # Encode tables indexed by the sample's 16 bits read as unsigned, like the kernel.
        order = every.view(np.uint16).argsort()
        alaw_enc = np.ascontiguousarray(alaw_encode(every)[order])
        ulaw_enc = np.ascontiguousarray(ulaw_encode(every)[order])
        codes = np.arange(256, dtype=np.uint8)
        self._events = np.zeros((16 * channels + 64, 4), dtype=np.int64)
        self._kernel = _rtp.RtpKernel(channels, alaw_enc, ulaw_enc, alaw_decode(codes),
                                      ulaw_decode(codes), self._events)
        self._open = [None] * channels
        self._due = []  # heap of (due ns, channel, generation); stale entries are skipped
        self._generation = 0
        self.rtcp_send_errors = 0
        self._ticks = 0

    @property
    def channels(self):
        return self._channels

    # -- per call ----------------------------------------------------------------------------

    def open(self, channel, *, host="127.0.0.1", port=0, ports=None, remote=None,
             payload_type=PCMA, telephone_event=101, ptime=20, direction="sendrecv",
             symmetric=True, jitter_ms=40):
        """Bind channel's sockets and start it; returns the (host, port) RTP is bound to.

        `port` 0 lets the system choose, `ports=(low, high)` takes the first even port of
        that range whose next port is free too. `remote` is (host, port) or None (a
        symmetric channel then answers whoever sends first). `jitter_ms` is the jitter
        buffer's target depth, 0-200.
        """
        check_channel(channel, self._channels, "RtpEngine.open")
        if self._open[channel] is not None:
            raise UsageError(f"RtpEngine.open: channel {channel} is open; close it first")
        if payload_type not in (PCMA, PCMU):
            raise UsageError(f"RtpEngine.open: payload_type={payload_type!r}; expected 8 (PCMA)"
                             " or 0 (PCMU)")
        if telephone_event is not None and (isinstance(telephone_event, bool) or not
                                            isinstance(telephone_event, int) or not
                                            96 <= telephone_event <= 127):
            raise UsageError(f"RtpEngine.open: telephone_event={telephone_event!r}; expected "
                             "a dynamic payload type 96-127 or None")
        if ptime not in PTIMES:
            raise UsageError(f"RtpEngine.open: ptime={ptime!r}; expected 10, 20 or 30 (ms)")
        if direction not in DIRECTIONS:
            raise UsageError(f"RtpEngine.open: direction={direction!r}; expected one of "
                             f"{', '.join(DIRECTIONS)}")
        if isinstance(jitter_ms, bool) or not isinstance(jitter_ms, int) or not (
                0 <= jitter_ms <= 200):
            raise UsageError(f"RtpEngine.open: jitter_ms={jitter_ms!r}; expected an int of "
                             "ms in 0..200")
        rtp, rtcp = self._bind(host, port, ports)
        self._generation += 1
        self._open[channel] = _Channel(rtp, rtcp, ptime, direction, self._generation)
        self._kernel.open(channel, rtp.fileno(), rtcp.fileno(), payload_type,
                          -1 if telephone_event is None else telephone_event,
                          payload_type == PCMA, ptime * RATE // 1000, jitter_ms * RATE // 1000,
                          symmetric, secrets.randbits(32), secrets.randbits(16),
                          secrets.randbits(32))
        self._kernel.set_direction(channel, *DIRECTIONS[direction])
        cname = f"branchline-{secrets.token_hex(6)}@{rtp.getsockname()[0]}"
        self._kernel.set_cname(channel, cname.encode())
        if remote is not None:
            self.set_remote(channel, remote)
        self._schedule(channel, self._clock(), initial=True)
        return rtp.getsockname()[:2]

    def close(self, channel):
        """Stop channel and close its sockets (a closed channel reads silence)."""
        state = self._state(channel, "close")
        self._kernel.close(channel)
        self._open[channel] = None
        state.rtp.close()
        state.rtcp.close()

    def set_direction(self, channel, direction):
        """Hold and resume (RFC 3264 §8.4): what this side may do now."""
        state = self._state(channel, "set_direction")
        if direction not in DIRECTIONS:
            raise UsageError(f"RtpEngine.set_direction: direction={direction!r}; expected "
                             f"one of {', '.join(DIRECTIONS)}")
        state.direction = direction
        self._kernel.set_direction(channel, *DIRECTIONS[direction])

    def set_remote(self, channel, remote):
        """Where channel sends RTP (RTCP goes to the next port, RFC 3550 §11)."""
        self._state(channel, "set_remote")
        try:
            host, port = remote
            address = ipaddress.ip_address(host)
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise ValueError
        except (TypeError, ValueError) as exc:
            raise UsageError(f"RtpEngine.set_remote: remote={remote!r}; expected (IP address,"
                             " port 1-65535)") from exc
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        self._kernel.set_remote(channel, family, address.packed, port)

    def remote(self, channel):
        """(host, port) channel sends to now (symmetric RTP may have moved it), or None."""
        self._state(channel, "remote")
        found = self._kernel.remote(channel)
        if found is None:
            return None
        family, packed, port = found
        return socket.inet_ntop(family, packed), port

    def send_digit(self, channel, digit, ms=100):
        """Queue an RFC 4733 event: sent from the next packet on, start, updates, 3 ends."""
        state = self._state(channel, "send_digit")
        if digit not in EVENT_CODES:
            raise UsageError(f"RtpEngine.send_digit: digit={digit!r}; expected one of "
                             "0-9 * # A-D")
        if isinstance(ms, bool) or not isinstance(ms, int) or not 40 <= ms <= 5000:
            raise UsageError(f"RtpEngine.send_digit: ms={ms!r}; expected an int 40..5000")
        if not DIRECTIONS[state.direction][0]:
            raise UsageError(f"RtpEngine.send_digit: channel {channel} is {state.direction}; "
                             "digits need a direction that sends")
        if not self._kernel.queue_digit(channel, EVENT_CODES[digit], ms * RATE // 1000):
            raise UsageError(f"RtpEngine.send_digit: channel {channel} has 32 digits queued;"
                             " wait for some to go")

    # -- per tick ---------------------------------------------------------------------------

    def receive(self):
        """Drain the RTP sockets into the jitter buffers, and each RTCP socket every 10th
        call (a tenth of them each call, so no tick pays for them all); return the RFC 4733
        key events."""
        self._ticks += 1
        turn = self._ticks % RTCP_DRAIN_TICKS
        return self._keys(self._kernel.receive(self._wallclock_ns(), RTCP_DRAIN_TICKS, turn))

    def read(self, block):
        """Fill block (int16[channels, n]) with n samples of each channel's playout."""
        check_block(block, self._channels, "RtpEngine.read")
        self._kernel.read(block)

    def write(self, block):
        """Send block (int16[channels, n]): a packet each time a channel's ptime is full."""
        check_block(block, self._channels, "RtpEngine.write")
        self._kernel.write(block)

    def rtcp(self):
        """Send the RTCP reports that are due: SR if the channel sent since the last, else
        RR, each with SDES CNAME (RFC 3550 §6.1). Interval: 5 s randomised, §6.3.1. The
        kernel builds and sends each report; Python only keeps the schedule."""
        now = self._clock()
        while self._due and self._due[0][0] <= now:
            _, channel, generation = heapq.heappop(self._due)
            state = self._open[channel]
            if state is None or state.generation != generation:
                continue
            if self._kernel.report(channel, self._wallclock_ns()) < 0:  # in every direction
                self.rtcp_send_errors += 1
            self._schedule(channel, now)

    def feed(self, channel, data, *, arrival_ns=None, source=None, rtcp=False):
        """One datagram through the receive path without a socket; returns key events.

        `source` is (host, port) or None for "from the remote"; `arrival_ns` defaults to
        the engine's wall clock (ns).
        """
        self._state(channel, "feed")
        family, packed, port = 0, b"", 0
        if source is not None:
            address = ipaddress.ip_address(source[0])
            family = socket.AF_INET if address.version == 4 else socket.AF_INET6
            packed, port = address.packed, source[1]
        arrival = self._wallclock_ns() if arrival_ns is None else arrival_ns
        count = self._kernel.feed(channel, bytes(data), arrival, family, packed, port, rtcp)
        return self._keys(count)

    def stats(self, channel):
        state = self._state(channel, "stats")
        s = dict(zip(_STATS, self._kernel.stats(channel), strict=True))
        lost = max(0, s["expected"] - s["received"])
        loss = 100.0 * lost / s["expected"] if s["expected"] else 0.0
        rtt_ms = None if s["rtt"] < 0 else s["rtt"] * 1000 / 65536
        depth_ms = s["depth"] * 1000 / RATE
        delay = (rtt_ms or 0.0) / 2 + depth_ms + state.ptime
        r, mos = estimate(loss, delay)
        return RtpStats(
            received=s["received"], lost=lost, duplicate=s["duplicate"], late=s["late"],
            bad=s["bad"], foreign=s["foreign"], jitter_ms=s["jitter16"] / 16 * 1000 / RATE,
            concealed_ms=s["concealed"] * 1000 / RATE, dropped_ms=s["dropped"] * 1000 / RATE,
            inserted_ms=s["inserted"] * 1000 / RATE, resyncs=s["resyncs"],
            ssrc_changes=s["ssrc_changes"], sent=s["sent"], send_errors=s["send_errors"],
            rtt_ms=rtt_ms, depth_ms=depth_ms, rtcp_bad=s["rtcp_bad"], loss_percent=loss,
            delay_ms=delay, r=r, mos=mos)

    def totals(self):
        """Packets lost and late on the open channels, summed (what /metrics adds to the
        ended calls'): one kernel call, however many channels (metrics take it in the tick)."""
        lost, late = self._kernel.totals()
        return {"lost": lost, "late": late}

    # -- inside ------------------------------------------------------------------------------

    def _state(self, channel, what):
        check_channel(channel, self._channels, f"RtpEngine.{what}")
        state = self._open[channel]
        if state is None:
            raise UsageError(f"RtpEngine.{what}: channel {channel} is not open")
        return state

    def _keys(self, count):
        if not count:
            return []
        return [DtmfEvent(c, _KEY_OF_CODE[code], start, None if end == _rtp.NO_END else end)
                for c, code, start, end in self._events[:count].tolist()]

    def _bind(self, host, port, ports):
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else \
                socket.AF_INET
        except ValueError as exc:
            raise UsageError(f"RtpEngine.open: host={host!r}; expected an IP address") from exc
        if ports is not None:
            low, high = ports
            candidates = [p for p in range(low + low % 2, high, 2)]
            self._random.shuffle(candidates)
        elif port:
            candidates = [port]
        else:
            candidates = [0] * 32
        last = None
        for candidate in candidates:
            rtp = self._socket(family)
            try:
                rtp.bind((host, candidate))
                rtcp = self._socket(family)
                try:
                    rtcp.bind((host, rtp.getsockname()[1] + 1))
                except OSError:
                    rtcp.close()
                    raise
            except OSError as exc:
                rtp.close()
                last = exc
                continue
            return rtp, rtcp
        where = f"ports {ports[0]}-{ports[1]}" if ports else f"port {port or 'any'}"
        raise UsageError(f"RtpEngine.open: no RTP/RTCP port pair free on {host} ({where}): "
                         f"{last}; widen the range or close channels") from last

    @staticmethod
    def _socket(family):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if family == socket.AF_INET:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, DSCP_EF)
        return sock

    def _schedule(self, channel, now, initial=False):
        interval = RTCP_MIN_INTERVAL / (2 if initial else 1)
        interval *= self._random.uniform(0.5, 1.5) / RTCP_COMPENSATION
        heapq.heappush(self._due, (now + interval, channel,
                                   self._open[channel].generation))

