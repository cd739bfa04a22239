"""A telephone line on a sound card: a Board with one trunk whose far end is the card.

    line = SoundCardLine("USB Audio", samplerate=48000)   # or device=2, or None: the default
    line = SoundCardLine.from_url("audio://USB%20Audio?rate=48000&control=/dev/ttyUSB1")
    events = line.tick(now); rx = line.read_block(); line.write_block(tx)
    line.close()

The port (index 0, an FXO trunk named ``name``, default ``"fxo1"`` as the configuration names
a board's first trunk) carries what the appliance sends to the **speaker** (``write_block``)
and what the **microphone** hears (``read_block``): the caller is whoever speaks into it, or a
USB FXO adapter that presents its telephone line as a sound card. Audio moves at 8 kHz
inside and at the card's rate outside, through ``branchline.dsp.Resampler`` (48 kHz or
44.1 kHz cards; a card that runs at 8 kHz is used as it is).

Signalling (``control``):

* ``None`` (a headset, a plain sound card): no signalling. ``answer``/``hang_up`` are accepted
  and recorded (``off_hook``); ``tick`` reports no events, so a call on the line is started by
  the program using it (``branchline call --audio`` rings it itself).
* a serial device path or pyserial URL (``"/dev/ttyUSB1"``; ``loop://`` in tests): a USB FXO
  adapter whose ring detector and hook relay are wired to a serial port's modem lines, the
  voice-modem convention: **RI** (ring indicator, input) is asserted while ringing voltage is
  on the line, **DTR** (output) closes the hook relay (asserted = off hook). ``tick`` polls
  RI: a ``Ring`` when it rises, numbered from 1 for each call; a ``RingOff`` once it has
  stayed low ``RING_RELEASE_S`` (0.2 s: bridges an adapter that passes the 25 Hz ring itself,
  whose RI follows each half cycle); a call that rings no more for ``RING_GAP_S`` (6 s, longer
  than China's 4 s ring pause) is over, the next ring is burst 1 again. RI is ignored while
  off hook. The adapter's caller ID and hang-up are audio: the runtime's DSP hears them in
  ``read_block``, as on the board's FXO ports.
  ``serial_factory(url)`` (default ``serial.serial_for_url``) opens it.

Real time: PortAudio calls ``_callback`` on its own thread once per card period
(``blocksize`` frames, default 20 ms of the card's rate). The callback only moves samples
between the card and two FIFOs under a lock; resampling runs on the media loop's side, in
``read_block``/``write_block``. The two clocks drift apart (the card's crystal against the
host's), so each FIFO is bounded: capture beyond ``max_latency_ms`` drops the oldest audio,
playback beyond it likewise; a FIFO that runs dry gives silence. Each such event is counted
(``counters``), as are PortAudio's own xrun flags; ``status()`` adds the FIFO depths and the
stream's reported latency.

``stream_factory(**kwargs)`` (default ``sounddevice.Stream``) builds the stream: keyword
arguments ``device, samplerate, blocksize, channels=1, dtype="int16", latency, callback``;
the result needs ``start()``, ``stop()``, ``close()`` and optionally ``latency``. Tests hand in
a fake of the card that calls the callback as a card would.

Errors (``BoardError`` subclasses, from hw/ports.py's tree): ``AudioUnavailable`` when the
sounddevice package or the PortAudio library is missing (the message names the package to
install), ``AudioDeviceError`` when the device cannot be found or opened (the message lists the
devices there are), ``AudioControlError`` when the control line cannot be opened or fails
(pyserial's errors, mapped in ``_HookControl``); ``PortError``/``BlockError``/``ClockError`` as
for every board.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from branchline.dsp import Resampler
from branchline.hw.ports import (
    BLOCK_SAMPLES,
    CN_STATION_RING,
    SAMPLE_RATE,
    BoardError,
    ClockError,
    Port,
    PortError,
    PortEvent,
    PortKind,
    Ring,
    RingCadence,
    RingOff,
    check_block,
)

__all__ = ["AudioControlError", "AudioDeviceError", "AudioUnavailable", "SoundCardLine"]

DEFAULT_RATE = 48000
RING_RELEASE_S = 0.2
RING_GAP_S = 6.0
XRUN_FLAGS = ("input_overflow", "input_underflow", "output_overflow", "output_underflow")


class AudioUnavailable(BoardError):
    """sounddevice or the PortAudio library is not installed."""


class AudioDeviceError(BoardError):
    """The sound device cannot be found or opened."""


class AudioControlError(BoardError):
    """The adapter's serial control line cannot be opened or stopped answering."""


def _sounddevice():
    """Import sounddevice, mapping its absence to AudioUnavailable with the remedy."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice is there, the PortAudio C library is not
        raise AudioUnavailable(
            f"sound card: the PortAudio library is missing ({exc}); install it with "
            "`sudo apt-get install libportaudio2`") from exc
    except ImportError as exc:
        raise AudioUnavailable(
            f"sound card: the Python package sounddevice is missing ({exc}); install it with "
            "`.venv/bin/pip install sounddevice`") from exc
    return sounddevice


def _device_list(sd) -> str:
    try:
        devices = sd.query_devices()
    except Exception:  # only decorates an error message
        return "(the device list is unavailable)"
    rows = [f"{i}: {d['name']} ({d['max_input_channels']} in, {d['max_output_channels']} out, "
            f"{d['default_samplerate']:.0f} Hz)" for i, d in enumerate(devices)]
    return "; ".join(rows) or "none"


class _Fifo:
    """Samples in chunks; the caller holds the line's lock."""

    def __init__(self):
        self.chunks: deque[np.ndarray] = deque()
        self.size = 0

    def push(self, samples: np.ndarray) -> None:
        if len(samples):
            self.chunks.append(samples)
            self.size += len(samples)

    def pop_into(self, out: np.ndarray) -> int:
        """Fill out from the front; return how many samples there were."""
        done = 0
        while done < len(out) and self.chunks:
            chunk = self.chunks[0]
            n = min(len(chunk), len(out) - done)
            out[done:done + n] = chunk[:n]
            done += n
            if n == len(chunk):
                self.chunks.popleft()
            else:
                self.chunks[0] = chunk[n:]
        self.size -= done
        return done

    def drop_to(self, keep: int) -> int:
        """Drop the oldest samples beyond `keep`; return how many were dropped."""
        excess = self.size - keep
        if excess <= 0:
            return 0
        self.pop_into(np.empty(excess, np.int16))
        return excess


class _HookControl:
    """RI in, DTR out, on a serial port (see the module docstring); time from tick(now)."""

    def __init__(self, url: str, serial_factory: Callable[..., Any] | None):
        if serial_factory is None:
            import serial

            serial_factory = serial.serial_for_url
        self.url = url
        try:
            self.port = serial_factory(url)
            self.port.dtr = False  # on hook
        except Exception as exc:  # SerialException, OSError, ValueError: bad URL or device
            raise AudioControlError(
                f"sound card control line {url}: cannot open it ({exc}); give the serial "
                "device the adapter's ring detect (RI) and hook relay (DTR) are wired to, "
                "e.g. /dev/ttyUSB1, and check the user is in the dialout group") from exc
        self.ringing = False
        self.count = 0
        self._last_ri: float | None = None

    def set_hook(self, off_hook: bool) -> None:
        try:
            self.port.dtr = off_hook
        except Exception as exc:
            raise AudioControlError(f"sound card control line {self.url}: cannot set DTR "
                                    f"({exc}); the adapter was unplugged?") from exc
        if off_hook:
            self.ringing = False
            self.count = 0
            self._last_ri = None

    def poll(self, now: float, off_hook: bool) -> list[PortEvent]:
        try:
            ri = bool(self.port.ri)
        except Exception as exc:
            raise AudioControlError(f"sound card control line {self.url}: cannot read RI "
                                    f"({exc}); the adapter was unplugged?") from exc
        if off_hook:
            return []
        events: list[PortEvent] = []
        if ri:
            if not self.ringing:
                if self._last_ri is None or now - self._last_ri >= RING_GAP_S:
                    self.count = 0
                self.ringing = True
                self.count += 1
                events.append(Ring(0, now, self.count))
            self._last_ri = now
        elif self.ringing and now - self._last_ri >= RING_RELEASE_S - 1e-9:  # 20 ms steps
            self.ringing = False
            events.append(RingOff(0, now, self.count))
        return events

    def close(self) -> None:
        try:
            self.port.dtr = False
        finally:
            self.port.close()


class SoundCardLine:
    """One trunk on a sound card (see the module docstring)."""

    def __init__(self, device: int | str | None = None, *, samplerate: int | None = None,
                 blocksize: int | None = None, stream_factory: Callable[..., Any] | None = None,
                 name: str = "fxo1", max_latency_ms: float = 200.0,
                 latency: str | float = "low", control: str | None = None,
                 serial_factory: Callable[..., Any] | None = None):
        sd = None
        if stream_factory is None:
            sd = _sounddevice()
            stream_factory = sd.Stream
            if samplerate is None:
                samplerate = self._default_rate(sd, device)
        rate = DEFAULT_RATE if samplerate is None else samplerate
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < SAMPLE_RATE:
            raise ValueError(f"SoundCardLine: samplerate={samplerate!r}; expected a whole "
                             "number of Hz the card supports, at least 8000 (e.g. 48000)")
        self.samplerate = rate
        self.blocksize = rate // 50 if blocksize is None else blocksize
        if isinstance(self.blocksize, bool) or not isinstance(self.blocksize, int) \
                or self.blocksize < 1:
            raise ValueError(f"SoundCardLine: blocksize={blocksize!r}; expected a positive "
                             f"number of frames per card period, e.g. {rate // 50} (20 ms)")
        if not max_latency_ms >= 40:
            raise ValueError(f"SoundCardLine: max_latency_ms={max_latency_ms!r}; expected at "
                             "least 40 (two 20 ms blocks of cushion), e.g. 200")
        self.device = device
        self._ports = (Port(0, PortKind.FXO, name),)
        self.off_hook = False
        self._lock = threading.Lock()
        self._period = threading.Condition(self._lock)
        self._capture = _Fifo()  # card rate, from the microphone
        self._playback = _Fifo()  # card rate, to the speaker
        self._rx = np.zeros(0, np.int16)  # 8 kHz, resampled, not yet read
        self._max_card = round(max_latency_ms * rate / 1000)
        self._max_line = round(max_latency_ms * SAMPLE_RATE / 1000)
        self._to_line = Resampler(1, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else None
        self._to_card = Resampler(1, SAMPLE_RATE, rate) if rate != SAMPLE_RATE else None
        self._heard = False  # the card has delivered capture audio
        self._playing = False  # the appliance has written audio
        self._now: float | None = None
        self._counts = dict.fromkeys(
            ("periods", "blocks_read", "blocks_written", "capture_underruns",
             "capture_overruns_samples", "playback_underruns", "playback_overruns_samples",
             *XRUN_FLAGS), 0)
        self.stream = None
        self.control = _HookControl(control, serial_factory) if control is not None else None
        try:
            self.stream = stream_factory(
                device=device, samplerate=rate, blocksize=self.blocksize, channels=1,
                dtype="int16", latency=latency, callback=self._callback)
            self.stream.start()
        except Exception as exc:  # PortAudioError, ValueError: no such device, busy, bad rate
            if self.stream is not None:
                self.stream.close()
            if self.control is not None:
                self.control.close()
            listing = _device_list(sd) if sd is not None else "(injected stream)"
            raise AudioDeviceError(
                f"sound card {device if device is not None else '(default)'}: cannot open a "
                f"mono int16 stream at {rate} Hz, {self.blocksize} frames per period: {exc}. "
                f"Devices: {listing}. Choose one by index or by a part of its name, and a rate "
                "it lists") from exc

    @classmethod
    def from_url(cls, url: str, **options) -> SoundCardLine:
        """``audio://[DEVICE][?rate=HZ&control=SERIAL]``: DEVICE an index or a part of the
        name (URL-quoted; none: the default card). A ValueError names what is wrong."""
        parts = urllib.parse.urlsplit(url)
        form = "audio://[DEVICE][?rate=HZ&control=SERIAL], e.g. audio://2?rate=48000"
        if parts.scheme != "audio":
            raise ValueError(f"sound card URL {url!r}: expected {form}")
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"rate", "control"})
        if unknown:
            raise ValueError(f"sound card URL {url!r}: parameter {unknown[0]!r} is not known; "
                             f"expected {form}")
        rate = query.get("rate", [None])[-1]
        if rate is not None and not rate.isdigit():
            raise ValueError(f"sound card URL {url!r}: rate={rate!r}; expected Hz, e.g. "
                             "rate=48000")
        name = urllib.parse.unquote(parts.netloc + parts.path)
        device: int | str | None = int(name) if name.isdigit() else (name or None)
        return cls(device, samplerate=None if rate is None else int(rate),
                   control=query.get("control", [None])[-1], **options)

    @staticmethod
    def _default_rate(sd, device) -> int:
        try:
            info = sd.query_devices(device, "input")
        except Exception as exc:  # PortAudioError, ValueError: no such device
            raise AudioDeviceError(
                f"sound card {device if device is not None else '(default)'}: not found "
                f"({exc}). Devices: {_device_list(sd)}. Choose one by index or by a part of "
                "its name (`python -m sounddevice` lists them)") from exc
        return int(info["default_samplerate"])

    # -- the card's side (PortAudio's thread) --------------------------------------------------

    def _callback(self, indata, outdata, frames, _time, status) -> None:
        with self._lock:
            c = self._counts
            c["periods"] += 1
            for flag in XRUN_FLAGS:
                if getattr(status, flag, False):
                    c[flag] += 1
            self._capture.push(np.array(indata[:frames, 0], np.int16))
            self._heard = True
            c["capture_overruns_samples"] += self._capture.drop_to(self._max_card)
            got = self._playback.pop_into(outdata[:frames, 0])
            if got < frames:
                outdata[got:frames, 0] = 0
                if self._playing:
                    c["playback_underruns"] += 1
            self._period.notify_all()

    # -- the Board interface (the media loop's thread) -----------------------------------------

    @property
    def ports(self) -> tuple[Port, ...]:
        return self._ports

    def tick(self, now: float) -> list[PortEvent]:
        if self._now is not None and now < self._now:
            raise ClockError(f"SoundCardLine.tick: now={now} is before the last tick "
                             f"{self._now}; time only goes forward")
        self._now = now
        return [] if self.control is None else self.control.poll(now, self.off_hook)

    def read_block(self) -> np.ndarray:
        """The microphone's last 20 ms at 8 kHz; silence where the card has not caught up."""
        with self._lock:
            card = np.empty(self._capture.size, np.int16)
            self._capture.pop_into(card)
            heard = self._heard
            self._counts["blocks_read"] += 1
        line = card if self._to_line is None else self._to_line.process(card[None])[0]
        rx = np.concatenate([self._rx, line])
        block = np.zeros((1, BLOCK_SAMPLES), np.int16)
        n = min(BLOCK_SAMPLES, len(rx))
        block[0, :n] = rx[:n]
        rx = rx[n:]
        if len(rx) > self._max_line:
            self._counts_add("capture_overruns_samples", len(rx) - self._max_line)
            rx = rx[len(rx) - self._max_line:]
        self._rx = rx
        if n < BLOCK_SAMPLES and heard:
            self._counts_add("capture_underruns", 1)
        return block

    def write_block(self, block: np.ndarray) -> None:
        """Queue 20 ms for the speaker (resampled to the card's rate)."""
        check_block(block, 1, "SoundCardLine.write_block")
        card = block if self._to_card is None else self._to_card.process(block)
        with self._lock:
            self._playing = True
            self._playback.push(card[0].copy())
            self._counts["playback_overruns_samples"] += self._playback.drop_to(self._max_card)
            self._counts["blocks_written"] += 1

    def answer(self, port: int) -> None:
        self._trunk(port, "answer")
        if self.control is not None:
            self.control.set_hook(True)
        self.off_hook = True

    def hang_up(self, port: int) -> None:
        self._trunk(port, "hang_up")
        if self.control is not None:
            self.control.set_hook(False)
        self.off_hook = False

    def ring(self, port: int, cadence: RingCadence = CN_STATION_RING) -> None:
        self._trunk(port, "ring")
        raise PortError(f"SoundCardLine.ring: port {port} ({self._ports[0].name}) is a trunk; "
                        "only stations ring, and a sound-card line has none")

    def stop_ring(self, port: int) -> None:
        self._trunk(port, "stop_ring")
        raise PortError(f"SoundCardLine.stop_ring: port {port} ({self._ports[0].name}) is a "
                        "trunk; only stations ring, and a sound-card line has none")

    def _trunk(self, port: int, what: str) -> None:
        if port != 0:
            raise PortError(f"SoundCardLine.{what}: port {port} does not exist; a sound-card "
                            "line has one port, 0")

    # -- reports and life ----------------------------------------------------------------------

    def _counts_add(self, key: str, n: int) -> None:
        with self._lock:
            self._counts[key] += n

    @property
    def counters(self) -> dict[str, int]:
        """A snapshot of the fault and traffic counts (see the module docstring)."""
        with self._lock:
            return dict(self._counts)

    def status(self) -> dict[str, Any]:
        """Plain data for probe and the System view: device, rate, FIFO depths, latency."""
        with self._lock:
            capture_ms = (self._capture.size / self.samplerate
                          + len(self._rx) / SAMPLE_RATE) * 1000
            playback_ms = self._playback.size / self.samplerate * 1000
            counts = dict(self._counts)
        reported = getattr(self.stream, "latency", None)
        if isinstance(reported, tuple | list):
            reported_ms = [round(x * 1000, 1) for x in reported]
        else:
            reported_ms = None if reported is None else round(reported * 1000, 1)
        return {
            "device": self.device, "samplerate": self.samplerate, "blocksize": self.blocksize,
            "off_hook": self.off_hook,
            "control": None if self.control is None else self.control.url,
            "capture_fifo_ms": round(capture_ms, 1),
            "playback_fifo_ms": round(playback_ms, 1), "stream_latency_ms": reported_ms,
            "counters": counts,
        }

    def wait_for_card(self, periods: int = 1, timeout: float = 2.0) -> bool:
        """Block until the card has run `periods` more periods; False if timeout passed."""
        with self._period:
            target = self._counts["periods"] + periods
            return self._period.wait_for(lambda: self._counts["periods"] >= target, timeout)

    def close(self) -> None:
        """Stop and close the stream, put the line on hook (idempotent)."""
        stream, self.stream = self.stream, None
        control, self.control = self.control, None
        try:
            if stream is not None:
                try:
                    stream.stop()
                finally:
                    stream.close()
        finally:
            if control is not None:
                control.close()

    def __enter__(self) -> SoundCardLine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
