"""``branchline call``: dial into the appliance from the terminal, as a caller would.

    branchline call [--data DIR] [--to NUMBER] [--script KEYS] [--at TIME]
                    [--no-sound | --audio [--device NAME|INDEX] [--samplerate HZ]]

The command builds the appliance in this process, as ``branchline run`` does (the same data
directory, configuration in force, prompts, records and the simulated board with its virtual
callers and agents), on the real-time clock, and takes over one trunk of the board for the
person at the terminal: the highest-numbered trunk whose line has the dialled number (``--to``,
default the first line's number). That trunk is seized from the simulated exchange for the
whole session, so no virtual caller lands on it.

* The call rings (China: 1 s on, 4 s off) and the caller ID arrives after the first ring
  (marked unavailable: the terminal has no number), so the appliance answers, as it would a
  real line.
* Each prompt's text is printed as it starts to play (``prompt [zh] ...``), and played on the
  sound card when there is one (sounddevice, imported only then; without it the text says so).
* Keys typed become DTMF audio on the line (``branchline.dsp.dtmf_samples``: 100 ms tone,
  100 ms pause, -8 dBm0 per tone, well inside ITU-T Q.24's 40 ms / 40 ms minimums and level
  range). ``q`` hangs up the way a Chinese exchange shows it: the busy tone (450 Hz,
  0.35 s / 0.35 s, GB 3380) until the appliance hears it and releases the line.
* ``--script "1,1,6222021234567894#"``: non-interactive. Groups are separated by commas; each
  group is typed 0.5 s after the next prompt starts (a caller who knows the menu barges in); a
  group may end in ``q``. A script that does not hang up itself hangs up 20 s after its last
  key if the appliance has not ended the call by then.
* ``--at 2026-11-23T10:00``: the site's wall clock starts at that time instead of now, to try
  the flow's opening hours.
* ``--audio``: the sound card is the caller's handset (``branchline.hw.audio.SoundCardLine``,
  ``--device`` by index or part of its name, ``--samplerate`` if the card's default will not
  do): the line's audio plays on its speaker, its microphone is what the caller says, and the
  typed keys are mixed into the microphone's audio as DTMF, so the appliance hears speech and
  keys together as on a real line. Without ``--audio`` the microphone is not used (text mode;
  the line's audio still plays on the default card when there is one, unless ``--no-sound``).
  A card that cannot be opened ends the command before the call with the reason and the
  devices there are; at the end, the card's under/overruns are reported if there were any.

The command exits 0 when the call is over (either side hung up) and the records are written.

Pieces: ``TerminalCaller`` (the person's side of the line, time as an argument; with a
``microphone`` it mixes their voice under their keys), ``ManualTrunkBoard`` (a ``Board``
wrapper giving one trunk to a ``TerminalCaller``; everything else goes to the wrapped board),
``PromptEcho`` (reports each prompt started on one channel with its text), ``CardHandset``
(a ``SoundCardLine`` as the person's handset) and ``run_call`` (one call on a built appliance;
its ``pace(due)`` waits for the loop's next block, so tests run it on a virtual clock). They
depend on the appliance only through the ``Board`` interface, ``Appliance.board`` /
``Appliance.loop.board`` (the wrapper replaces both after ``open_sim``),
``Appliance.prompts.render_items`` / ``items_text``, ``Appliance.loop.renderer`` (``play`` /
``stop`` / ``render``, tapped in place), ``start``/``tick``/``close`` and ``clock``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np

from branchline.config.data_dir import DataDir
from branchline.dsp import CALL_PROGRESS_TONES, ToneTx, dtmf_samples
from branchline.firmware.board_open import close_board
from branchline.hw.audio import SoundCardLine
from branchline.hw.ports import (
    ABSENT_PRIVATE,
    ABSENT_UNAVAILABLE,
    BLOCK_SAMPLES,
    BLOCK_SECONDS,
    CN_STATION_RING,
    BoardError,
    CallerId,
    PortError,
    PortKind,
    Ring,
    RingOff,
)

__all__ = [
    "CardHandset",
    "ManualTrunkBoard",
    "PromptEcho",
    "TerminalCaller",
    "add_call_command",
    "run_call",
]

log = logging.getLogger("branchline.call")

KEYS = frozenset("0123456789*#ABCD")
KEY_ON_MS = KEY_OFF_MS = 100
KEY_LEVEL_DBM0 = -8.0
CALLER_ID_AFTER_S = 1.5  # in the silence after the first 1 s ring burst
SCRIPT_DELAY_S = 0.5
SCRIPT_LINGER_S = 20.0
BUSY_GIVE_UP_S = 15.0  # the appliance should hear the busy tone in about 2 s


class TerminalCaller:
    """The person's side of one trunk: rings, caller ID, their keys as DTMF, their hang-up.

    ``state``: ``idle`` -> ``ringing`` (``dial``) -> ``talking`` (the appliance answered) ->
    ``hung_up`` (the person pressed q: busy tone on the line) -> ``over`` (the appliance put
    the trunk on hook). ``say`` receives one line of text per thing the person would notice.
    ``microphone``, if given, returns the person's next 160 samples; it is read every block
    (so a sound card's audio never piles up) and heard on the line only while talking.
    """

    def __init__(self, port: int, *, country: str = "cn", say: Callable[[str], None] = print,
                 microphone: Callable[[], np.ndarray] | None = None,
                 caller_id: str | None = ABSENT_UNAVAILABLE):
        self.port = port
        # A number, the absence reason 'P' (private) / 'O' (unavailable), or None: no caller
        # ID at all (a line without the service); see CALLER_ID_CHOICES.
        self.caller_id = caller_id
        self.say = say
        self.microphone = microphone
        self.state = "idle"
        self._busy_spec = CALL_PROGRESS_TONES[country]["busy"]
        self._busy = ToneTx(1)
        self._audio = np.zeros(0, np.int16)  # key tones not yet sent
        self._pending: list = []
        self._dialled_at = 0.0
        self._rings = 0
        self._ring_on = False
        self._caller_id_sent = False
        self._hung_up_at: float | None = None

    def dial(self, now: float) -> None:
        self.state = "ringing"
        self._dialled_at = now
        self._rings = 0
        self._caller_id_sent = False

    def answered(self) -> None:
        if self.state == "ringing":
            self.state = "talking"
            self.say("answered")

    def released(self) -> None:
        if self.state != "over":
            self.say("the bank hung up" if self.state == "talking" else "line released")
            self.state = "over"

    def press(self, keys: str) -> None:
        """Queue keys as DTMF audio; ``q`` hangs up. Other characters are refused aloud."""
        for key in keys:
            if self.state not in ("ringing", "talking"):
                return
            if key in ("q", "Q"):
                self._hang_up()
                return
            if key.upper() in KEYS:
                self.say(f"you pressed {key.upper()}")
                tone = dtmf_samples(key.upper(), level_dbm0=KEY_LEVEL_DBM0, on_ms=KEY_ON_MS,
                                    off_ms=KEY_OFF_MS)
                self._audio = np.concatenate([self._audio, tone])
            elif not key.isspace():
                self.say(f"{key!r} is not a key on a phone: use 0-9 * # A-D, or q to hang up")

    def _hang_up(self) -> None:
        self.state = "hung_up"
        self._audio = self._audio[:0]
        self._busy.start(0, self._busy_spec)
        self.say("you hung up")

    def tick(self, now: float) -> list:
        """Port events for this block: the exchange's ringing and caller ID while ringing."""
        if self.state == "hung_up" and self._hung_up_at is None:
            self._hung_up_at = now
        if self.state != "ringing":
            return []
        events = []
        since = now - self._dialled_at
        on_s = CN_STATION_RING.pattern[0]
        burst = int(since // CN_STATION_RING.period) + 1
        if burst > self._rings:
            self._rings = burst
            self._ring_on = True
            events.append(Ring(self.port, now, burst))
        if self._ring_on and since % CN_STATION_RING.period >= on_s:
            self._ring_on = False
            events.append(RingOff(self.port, now, self._rings))
        if not self._caller_id_sent and since >= CALLER_ID_AFTER_S:
            self._caller_id_sent = True
            if self.caller_id in (ABSENT_PRIVATE, ABSENT_UNAVAILABLE):
                events.append(CallerId(self.port, now, None, number_absent=self.caller_id))
            elif self.caller_id is not None:
                events.append(CallerId(self.port, now, self.caller_id))
        return events

    def audio(self) -> np.ndarray:
        """The 160 samples the person sends this block: their voice and keys, or busy tone."""
        voice = self.microphone() if self.microphone is not None else None
        frame = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
        if self.state == "hung_up":
            self._busy.render(frame)
        elif self.state == "talking":
            n = min(BLOCK_SAMPLES, len(self._audio))
            frame[0, :n] = self._audio[:n]
            self._audio = self._audio[n:]
            if voice is not None:
                mixed = frame[0].astype(np.int32) + voice
                frame[0] = np.clip(mixed, -32768, 32767)
        return frame[0]

    def busy_too_long(self, now: float) -> bool:
        return self._hung_up_at is not None and now - self._hung_up_at > BUSY_GIVE_UP_S


class ManualTrunkBoard:
    """A Board that is ``inner`` except for trunk ``caller.port``, which ``caller`` drives.

    The trunk is seized on ``inner`` at once (so the simulated exchange routes no virtual
    caller to it) and released by ``release()``. ``heard`` keeps what the appliance sent on
    the trunk in the last block (for the sound card).
    """

    def __init__(self, inner, caller: TerminalCaller):
        port = inner.ports[caller.port]
        if not port.is_trunk:
            raise PortError(f"ManualTrunkBoard: port {caller.port} ({port.name}) is a station; "
                            "give the terminal a trunk")
        self.inner = inner
        self.caller = caller
        self.port = caller.port
        self.heard = np.zeros(BLOCK_SAMPLES, dtype=np.int16)
        inner.answer(self.port)

    @property
    def ports(self):
        return self.inner.ports

    def tick(self, now):
        events = [e for e in self.inner.tick(now) if e.port != self.port]
        return events + self.caller.tick(now)

    def read_block(self):
        rx = self.inner.read_block()
        rx[self.port] = self.caller.audio()
        return rx

    def write_block(self, block):
        self.inner.write_block(block)
        self.heard = block[self.port].copy()

    def answer(self, port):
        if port == self.port:
            self.caller.answered()
        else:
            self.inner.answer(port)

    def hang_up(self, port):
        if port == self.port:
            self.caller.released()
        else:
            self.inner.hang_up(port)

    def ring(self, port, cadence=CN_STATION_RING):
        self.inner.ring(port, cadence)

    def stop_ring(self, port):
        self.inner.stop_ring(port)

    def release(self) -> None:
        self.inner.hang_up(self.port)

    def __getattr__(self, name):
        # Reports of the simulated board (callers(), agents(), counters()) pass through.
        return getattr(self.inner, name)


class PromptEcho:
    """Calls ``on_prompt(language, text)`` when a prompt starts playing on ``channel``.

    Installed over the appliance's prompt store and renderer: ``render_items`` remembers the
    text of the audio it makes, ``play`` on the channel reports it. ``started`` counts the
    prompts started; ``playing`` is False once the renderer reports the end or a stop.
    """

    def __init__(self, app, channel: int, on_prompt: Callable[[str, str], None]):
        self.channel = channel
        self.on_prompt = on_prompt
        self.started = 0
        self.playing = False
        self._last = ("", "")
        prompts, renderer = app.prompts, app.loop.renderer
        make = prompts.render_items

        def render_items(items, language, speed=1.0):
            self._last = (language, prompts.items_text(items, language))
            return make(items, language, speed)

        play, stop, render = renderer.play, renderer.stop, renderer.render

        def tapped_play(channel, audio, *args, **kwargs):
            if channel == self.channel:
                self.started += 1
                self.playing = True
                self.on_prompt(*self._last)
            return play(channel, audio, *args, **kwargs)

        def tapped_stop(channel, *args, **kwargs):
            if channel == self.channel:
                self.playing = False
            return stop(channel, *args, **kwargs)

        def tapped_render(tx):
            ended = render(tx)
            if self.channel in ended:
                self.playing = False
            return ended

        prompts.render_items = render_items
        renderer.play, renderer.stop, renderer.render = tapped_play, tapped_stop, tapped_render


class _Script:
    """Key groups typed 0.5 s after each new prompt starts; hang up when spent and idle."""

    def __init__(self, text: str):
        self.groups = deque(g.strip() for g in text.split(",") if g.strip())
        self._seen = 0
        self._due: float | None = None
        self._spent_at: float | None = None

    def keys(self, echo: PromptEcho, now: float) -> str:
        if echo.started > self._seen:
            self._seen = echo.started
            if self.groups and self._due is None:
                self._due = now + SCRIPT_DELAY_S
        if self._due is not None and now >= self._due:
            self._due = None
            group = self.groups.popleft()
            if not self.groups:
                self._spent_at = now
            return group
        if self._spent_at is not None and now - self._spent_at >= SCRIPT_LINGER_S:
            self._spent_at = None
            return "q"
        return ""


class _Terminal:
    """Keys typed at the terminal, read by a thread (one key at a time on a tty)."""

    def __init__(self):
        self._keys: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._restore = None
        if sys.stdin.isatty():
            import termios
            import tty

            fd = sys.stdin.fileno()
            saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            self._restore = lambda: termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        threading.Thread(target=self._read, name="call-keys", daemon=True).start()

    def _read(self) -> None:
        while True:
            key = sys.stdin.read(1)
            if not key:
                self._keys.put("q")  # end of input: the person put the phone down
                return
            self._keys.put(key)

    def keys(self, _echo: PromptEcho, _now: float) -> str:
        out = []
        while not self._keys.empty():
            out.append(self._keys.get())
        return "".join(out)

    def close(self) -> None:
        if self._restore is not None:
            self._restore()


class _Speaker:
    """The trunk's audio on the default sound card, 8 kHz mono, fed one block per tick."""

    def __init__(self, say: Callable[[str], None]):
        self.stream = None
        self._blocks: deque[np.ndarray] = deque(maxlen=25)  # at most 0.5 s behind
        try:
            import sounddevice

            self.stream = sounddevice.OutputStream(
                samplerate=8000, channels=1, dtype="int16", blocksize=BLOCK_SAMPLES,
                callback=self._fill)
            self.stream.start()
        except Exception as exc:  # no PortAudio, no device, device busy: text only
            self.stream = None
            say(f"(no sound: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; "
                "prompts are shown as text only)")

    def _fill(self, outdata, frames, _time, _status) -> None:
        block = self._blocks.popleft() if self._blocks else None
        outdata[:, 0] = 0 if block is None or len(block) != frames else block

    def play(self, block: np.ndarray) -> None:
        if self.stream is not None:
            self._blocks.append(block)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


class CardHandset:
    """``--audio``: a sound card as the person's handset.

    ``microphone()`` is the card's next 20 ms at 8 kHz (what the person says), ``play(block)``
    sends 20 ms of the line to its speaker; ``report()`` is a line of text about the card's
    under- and overruns, or None when there were none.
    """

    def __init__(self, line: SoundCardLine):
        self.line = line

    def microphone(self) -> np.ndarray:
        return self.line.read_block()[0]

    def play(self, block: np.ndarray) -> None:
        self.line.write_block(block.reshape(1, BLOCK_SAMPLES))

    def report(self) -> str | None:
        c = self.line.counters
        late = c["capture_underruns"] + c["playback_underruns"]
        dropped_ms = (c["capture_overruns_samples"] + c["playback_overruns_samples"]) \
            * 1000 / self.line.samplerate
        xruns = sum(c[k] for k in ("input_overflow", "input_underflow", "output_overflow",
                                   "output_underflow"))
        if not (late or dropped_ms or xruns):
            return None
        return (f"sound card: {late} blocks of silence where audio was late, "
                f"{dropped_ms:.0f} ms dropped to keep latency down, {xruns} PortAudio xruns")

    def close(self) -> None:
        self.line.close()


class _WallClock:
    """Loop time from time.monotonic; the site's wall clock starting at ``start``."""

    def __init__(self, start: dt.datetime):
        self._mono0 = time.monotonic()
        self._wall0 = start

    def now(self) -> float:
        return time.monotonic()

    def wall(self, now: float) -> dt.datetime:
        return self._wall0 + dt.timedelta(seconds=now - self._mono0)


def _trunk_for(document, board, number: str | None) -> tuple[int, str]:
    lines = dict(document.lines)
    if number is None:
        if not lines:
            raise SystemExit("branchline call: the configuration has no lines; add one under "
                             "lines: (e.g. fxo1: {number: ..., flow: bank})")
        number = next(iter(lines.values())).number
    # The terminal takes a line over from the simulated exchange: a SIP channel has no
    # exchange behind it (a SIP caller dials in with baresip, README).
    matches = [p.index for p in board.ports if p.is_trunk and p.kind is not PortKind.SIP
               and p.name in lines and lines[p.name].number == number]
    if not matches:
        known = ", ".join(sorted({line.number for line in lines.values()})) or "(none)"
        raise SystemExit(f"branchline call: --to {number}: no line has that number; the "
                         f"lines' numbers are {known}")
    return matches[-1], number


def _call(args) -> int:
    from branchline.firmware.appliance import open_sim
    from branchline.firmware.ops.logs import configure_logging

    configure_logging("kv", "WARNING")
    data_dir = DataDir.from_option(args.data)
    try:
        start = dt.datetime.fromisoformat(args.at) if args.at else None
    except ValueError:
        raise SystemExit(f"branchline call: --at {args.at!r} is not an ISO date and time; "
                         "write e.g. 2026-11-23T10:00 (the site's time zone) or add an "
                         "offset, 2026-11-23T10:00+08:00") from None

    def make_clock(zone: ZoneInfo):
        wall = dt.datetime.now(zone) if start is None else (
            start.replace(tzinfo=zone) if start.tzinfo is None else start)
        return _WallClock(wall)

    app, bank = open_sim(data_dir, make_clock)
    try:
        port, number = _trunk_for(app.config.document, app.board, args.to)
        sound = None if args.quiet_sound else (
            _handset(args) if args.audio else _Speaker(_say))
    except BaseException:
        if bank is not None:
            bank.stop()
        close_board(app.board)
        raise
    source = _Script(args.script) if args.script else _Terminal()
    if not args.script:
        _say("type keys 0-9 * # (A-D); q hangs up")
    try:
        ok = run_call(app, port, number, source=source, sound=sound, say=_say,
                      caller_id=CALLER_ID_CHOICES.get(args.caller_id, args.caller_id))
    finally:
        if bank is not None:
            bank.stop()
    _say("call over" if ok else "call over; some records were NOT written")
    return 0 if ok else 1


def _handset(args) -> CardHandset:
    device = int(args.device) if args.device and args.device.isdigit() else args.device
    try:
        return CardHandset(SoundCardLine(device, samplerate=args.samplerate))
    except BoardError as exc:
        raise SystemExit(f"branchline call --audio: {exc}") from exc


def _sleep_until(clock) -> Callable[[float], None]:
    def pace(due: float) -> None:
        wait = due - clock.now()
        if wait > 0:
            time.sleep(wait)
    return pace


# --caller-id words to what TerminalCaller sends: the caller ID standards' absence reasons.
CALLER_ID_CHOICES = {"private": ABSENT_PRIVATE, "unavailable": ABSENT_UNAVAILABLE, "none": None}


def _caller_id(value: str) -> str:
    if value in CALLER_ID_CHOICES or (value.isdigit() and 1 <= len(value) <= 20):
        return value
    raise argparse.ArgumentTypeError(
        f"{value!r} is not a caller ID; give a phone number (digits only), private, "
        "unavailable or none")


def run_call(app, port: int, number: str, *, source, sound=None,
             say: Callable[[str], None] = print,
             pace: Callable[[float], None] | None = None,
             caller_id: str | None = ABSENT_UNAVAILABLE) -> bool:
    """Make one call from the person to trunk `port` (dialled as `number`) of `app`.

    ``app`` is built and not started; it is started here and closed at the end (every call
    ended, records written: the result says whether they were). ``source.keys(echo, now)``
    gives the keys typed since the last block; ``sound`` (``_Speaker``, ``CardHandset`` or
    None) plays the line, and a ``CardHandset`` is also the person's microphone.
    ``pace(due)`` returns when the loop's clock has reached `due` (default: sleep).
    """
    pace = pace or _sleep_until(app.clock)
    caller = TerminalCaller(port, country=app.config.document.site.country, say=say,
                            microphone=getattr(sound, "microphone", None), caller_id=caller_id)
    # The board wrapper goes in after construction: the appliance and its loop hold the board.
    board = ManualTrunkBoard(app.board, caller)
    app.board = board
    app.loop.board = board
    echo = PromptEcho(app, port, lambda lang, text: say(f"prompt [{lang}] {text}"))
    app.start()
    say(f"calling {number} on {app.board.ports[port].name}")
    due = app.clock.now()
    caller.dial(due)
    try:
        while caller.state != "over":
            pace(due)
            now = app.clock.now()
            keys = source.keys(echo, now)
            if keys:
                caller.press(keys)
            app.tick(now, due=due)
            if sound is not None:
                sound.play(board.heard)
            if caller.busy_too_long(now):
                say("the appliance did not hear the hang-up; releasing the line")
                break
            due += BLOCK_SECONDS
    except KeyboardInterrupt:
        say("interrupted: the call is cut off")
    finally:
        if hasattr(source, "close"):
            source.close()
        if sound is not None:
            sound.close()
            report = getattr(sound, "report", lambda: None)()
            if report:
                say(report)
        ok = app.close(app.clock.now())
        board.release()
        close_board(board.inner)  # the SIP board's sockets, when the document has one
    return ok


def _say(text: str) -> None:
    print(text, flush=True)


def add_call_command(subparsers) -> argparse.ArgumentParser:
    """Add ``call`` to the ``branchline`` command's subparsers (firmware/cli/main.py)."""
    call = subparsers.add_parser(
        "call", help="dial into the appliance from the terminal",
        description=__doc__.split("\n\n")[0])
    call.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    call.add_argument("--to", metavar="NUMBER", help="the number to dial (default: the first "
                      "line's number)")
    call.add_argument("--script", metavar="KEYS", help='keys to type, a group per prompt, '
                      'e.g. "1,3,q" (q hangs up)')
    call.add_argument("--caller-id", metavar="NUMBER|private|unavailable|none",
                      type=_caller_id, default="unavailable",
                      help="what the caller ID after the first ring says: your number, that "
                      "it is withheld (private) or unavailable, or none: no caller ID at all "
                      "(default: unavailable)")
    call.add_argument("--at", metavar="TIME", help="the site's wall clock starts at this ISO "
                      "time, e.g. 2026-11-23T10:00 (default: now)")
    sound = call.add_mutually_exclusive_group()
    sound.add_argument("--no-sound", dest="quiet_sound", action="store_true",
                       help="do not play the line's audio on the sound card")
    sound.add_argument("--audio", action="store_true",
                       help="the sound card is your handset: hear the line on its speaker, "
                       "speak into its microphone (typed keys are mixed in as DTMF)")
    call.add_argument("--device", metavar="NAME|INDEX", help="--audio: the sound card, by "
                      "index or part of its name (`python -m sounddevice` lists them; default: "
                      "the system's default card)")
    call.add_argument("--samplerate", metavar="HZ", type=int, help="--audio: the card's rate "
                      "(default: the card's own; 48000 and 44100 are resampled to 8000)")
    call.set_defaults(func=_call)
    return call
