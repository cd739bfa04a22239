"""Try it: one simulated call through a draft's flow, for the browser. Sans-I/O.

    trial = TryIt("t1", flow, catalog, call, audio={("main.long", "zh")}, queues=classes)
    trial.start()
    trial.keys("1")                  # keys the admin pressed on the on-screen keypad
    trial.advance(5.0)               # or trial.advance(None): on to the next thing that happens
    while (request := trial.pending_host) is not None:
        trial.host_reply(request.request_id, status, data)   # the caller (api_tryit) asks the host
    trial.state()                    # what the page shows

Theory of operation: a ``branchline.ivr.Session`` runs on a virtual clock that starts at 0 and
moves only when asked (``advance``). This module plays the runtime's part the way
``tests/support/ivr_harness.py`` does: a ``Play`` finishes after its length (the recording's,
else estimated from its text by ``PromptCatalog``; a spoken-value unit 0.35 s) unless a key
stops it; timers fire when the clock reaches them; a recording ends at its ``max_seconds`` or
when the caller presses ``#``. Host requests are left for the caller to answer (no virtual
time passes while the host is asked, as in the runtime harness). A queue step ends the trial:
the outcome says which queue, class and skills the call would wait with. ``HangUp`` and
``Transfer`` end it too.

What plays is listed item by item: a prompt with its text (and its audio URL when it has
audio); a spoken value (an amount, a date) with its text and its speech units in the order the
caller hears them, each with the URL of its audio (``/api/prompts/units/<lang>/<unit>.wav``),
so the page plays it as the runtime would. A sensitive value shows as dots, with no units.

Keys are ``0-9 * # A-D``; anything else is refused with ``TryItError`` and changes nothing.
Advancing is bounded (``MAX_ADVANCE`` seconds, ``MAX_STEPS`` events) so no request can spin.

Exceptions: ``TryItError`` (a ``ValueError``): bad keys, bad seconds, a reply to a request that
is not pending, anything after the trial ended.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from branchline.ivr import (
    CallStarted,
    CancelTimer,
    Digit,
    Enqueue,
    Flow,
    HangUp,
    HostReplied,
    HostRequest,
    MessageRecorded,
    Play,
    PlaybackFinished,
    PromptCatalog,
    RecordMessage,
    Session,
    StartTimer,
    StopPlayback,
    StopRecording,
    StoreSurvey,
    TimerFired,
    Trace,
    Transfer,
    units_to_text,
)

__all__ = ["MAX_ADVANCE", "QueueClasses", "TryIt", "TryItError"]

KEYS = frozenset("0123456789*#ABCD")
UNIT_SECONDS = 0.35   # one spoken-value unit, as the validator estimates it (docs/ivr.md)
MAX_ADVANCE = 3600.0  # one request may move the clock at most an hour
MAX_STEPS = 10_000
EVENT_LINES = 50


class TryItError(ValueError):
    """A request try-it cannot carry out; the message says why and what would work."""


@dataclass(frozen=True, slots=True)
class QueueClasses:
    """A queue's priority classes as (name, priority) and its default class."""

    classes: tuple[tuple[str, int], ...]
    default: str

    def choose(self, priority: int) -> str:
        """The class a call of ``priority`` waits in: the highest class at or below it;
        priority 0 and no eligible class mean the default (as the runtime chooses)."""
        eligible = [c for c in self.classes if c[1] <= priority]
        if priority == 0 or not eligible:
            return self.default
        return max(eligible, key=lambda c: c[1])[0]


class TryIt:
    def __init__(self, try_id: str, flow: Flow, catalog: PromptCatalog, call: CallStarted, *,
                 audio: Collection[tuple[str, str]] = (),
                 queues: Mapping[str, QueueClasses] | None = None) -> None:
        self.id = try_id
        self.flow = flow
        self.call = call
        self.catalog = catalog
        self.audio = frozenset(audio)
        self.queues = dict(queues or {})
        self.now = 0.0
        self.session = Session(flow, call, 0.0)
        self.path: list[str] = []
        self.outcome: dict[str, Any] | None = None
        self.pending_host: HostRequest | None = None
        self.host_replies: list[dict[str, Any]] = []
        self._lines: deque[str] = deque(maxlen=EVENT_LINES)
        self._timers: dict[str, float] = {}
        self._due: list[tuple[float, int, object]] = []  # playback ends, recording ends
        self._seq = 0
        self._play: Play | None = None
        self._play_until = 0.0
        self._play_seq = -1
        self._recording_seq = -1
        self._cancelled: set[int] = set()
        self._started = False

    # --- what the page asks ------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.outcome is not None

    def start(self) -> None:
        if self._started:
            raise TryItError("try-it: this call has already started")
        self._started = True
        self._run(self.session.start(self.now))

    def keys(self, keys: str) -> None:
        self._live()
        bad = sorted({k for k in keys if k not in KEYS})
        if not keys or bad:
            raise TryItError(f"try-it: keys {keys!r} " + (f"contain {', '.join(bad)}"
                             if bad else "are empty") + "; use the keypad keys 0-9 * # A-D")
        for key in keys:
            if self.ended:
                break
            self._line(f"key {key}")
            self._send(Digit(key))

    def advance(self, seconds: float | None) -> None:
        """Move the virtual clock ``seconds`` on (firing what falls due on the way), or with
        None to the next thing that happens."""
        self._live()
        if self.pending_host is not None:
            raise TryItError("try-it: waiting for the bank host's reply; answer it first")
        if seconds is None:
            upcoming = self._next_due()
            if upcoming is None:
                raise TryItError("try-it: nothing is scheduled; press a key or hang up")
            until = upcoming
        else:
            if not 0 < seconds <= MAX_ADVANCE:
                raise TryItError(f"try-it: seconds {seconds!r} is out of range; give a number "
                                 f"above 0 and at most {MAX_ADVANCE:.0f}, or \"next\"")
            until = self.now + seconds
        for _ in range(MAX_STEPS):
            if self.ended or self.pending_host is not None:
                return
            upcoming = self._next_due()
            if upcoming is None or upcoming > until:
                self.now = until
                return
            self._fire_next()
        raise TryItError(f"try-it: more than {MAX_STEPS} events in one step; the flow may "
                         "loop without the caller")

    def host_reply(self, request_id: int, status: str, data: Mapping[str, object]) -> None:
        pending = self.pending_host
        if pending is None or pending.request_id != request_id:
            raise TryItError(f"try-it: no host request {request_id} is waiting")
        self.pending_host = None
        shown = {k: ("***" if k in pending.sensitive_fields else v) for k, v in data.items()}
        self.host_replies.append({"endpoint": pending.endpoint, "status": status,
                                  "data": shown})
        self._line(f"host {pending.endpoint}: {status} {shown}")
        self._send(HostReplied(request_id, status, dict(data)))  # type: ignore[arg-type]

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "node": self.session.node,
            "phase": self.session.phase.value,
            "language": self.session.language,
            "time_s": round(self.now, 2),
            "path": list(self.path),
            "playing": self._playing(),
            "timers": sorted(({"name": name, "due_in_s": round(at - self.now, 2)}
                              for name, at in self._scheduled().items()),
                             key=lambda t: t["due_in_s"]),
            "budgets": self._budgets(),
            "host": None if self.pending_host is None else {
                "endpoint": self.pending_host.endpoint},
            "host_replies": list(self.host_replies),
            "events": list(self._lines),
            "outcome": self.outcome,
        }

    # --- the runtime's part --------------------------------------------------------------------

    def _live(self) -> None:
        if not self._started:
            raise TryItError("try-it: the call has not started")
        if self.ended:
            raise TryItError("try-it: the call has ended; start a new one")

    def _send(self, event: object) -> None:
        self._run(self.session.handle(event, self.now))

    def _at(self, when: float, event: object) -> int:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, event))
        return self._seq

    def _next_due(self) -> float | None:
        while self._due and self._due[0][1] in self._cancelled:
            heapq.heappop(self._due)
        times = [*self._timers.values()] + ([self._due[0][0]] if self._due else [])
        return min(times) if times else None

    def _fire_next(self) -> None:
        # A scheduled event at the same instant as a timer goes first, as in the runtime.
        due = self._due[0][0] if self._due else None
        timer = min(self._timers.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        if due is not None and (timer is None or due <= timer[1]):
            when, _, event = heapq.heappop(self._due)
            self.now = max(self.now, when)
            if isinstance(event, PlaybackFinished):
                self._play = None
        else:
            name, when = timer  # type: ignore[misc]
            del self._timers[name]
            self.now = max(self.now, when)
            event = TimerFired(name)
        self._send(event)

    def _run(self, actions: list) -> None:
        for action in actions:
            self._execute(action)

    def _execute(self, action: object) -> None:
        if isinstance(action, Play):
            self._play = action
            self._play_until = self.now + self._seconds(action)
            self._play_seq = self._at(self._play_until, PlaybackFinished(action.play_id))
            self._line("plays " + " + ".join(p["text"] for p in self._describe(action)))
        elif isinstance(action, StopPlayback):
            self._cancelled.add(self._play_seq)
            self._play = None
            self._line("prompt stopped by a key")
        elif isinstance(action, StartTimer):
            self._timers[action.name] = action.at
        elif isinstance(action, CancelTimer):
            self._timers.pop(action.name, None)
        elif isinstance(action, HostRequest):
            self.pending_host = action
            self._line(f"asks the bank host: {action.endpoint}")
        elif isinstance(action, Enqueue):
            classes = self.queues.get(action.queue)
            self.outcome = {"kind": "queue", "queue": action.queue,
                            "class": classes.choose(action.priority) if classes else None,
                            "priority": action.priority, "skills": list(action.skills)}
            self._line(f"would queue to {action.queue}")
            self._stop_all()
        elif isinstance(action, RecordMessage):
            self._recording_seq = self._at(self.now + action.max_seconds,
                                           MessageRecorded(action.max_seconds))
            self._line(f"records a message (at most {action.max_seconds:.0f} s; # ends it)")
        elif isinstance(action, StopRecording):
            self._cancelled.add(self._recording_seq)
            self._at(self.now, MessageRecorded(1.0))
        elif isinstance(action, StoreSurvey):
            self._line(f"survey score {action.score}")
        elif isinstance(action, HangUp):
            self.outcome = {"kind": "hangup", "reason": action.reason}
            self._stop_all()
        elif isinstance(action, Transfer):
            self.outcome = {"kind": "transfer", "target": action.target}
            self._stop_all()
        elif isinstance(action, Trace):
            if action.what == "enter":
                self.path.append(action.node)
            if action.what != "ignored":
                self._line(f"{action.what} {action.node} {action.detail}".strip())

    def _stop_all(self) -> None:
        self._timers.clear()
        self._due.clear()
        self._play = None
        self.pending_host = None

    def _line(self, text: str) -> None:
        self._lines.append(f"[{self.now:7.1f} s] {text}")

    def _scheduled(self) -> dict[str, float]:
        shown = {name: at for name, at in self._timers.items()}
        if self._play is not None:
            shown["playback"] = self._play_until
        return shown

    def _seconds(self, play: Play) -> float:
        total = 0.0
        for item in play.items:
            total += UNIT_SECONDS if "/" in item else self.catalog.seconds(item, play.language)
        return total

    def _describe(self, play: Play) -> list[dict[str, Any]]:
        """A Play as the page lists it: prompts by name, runs of spoken units joined."""
        out: list[dict[str, Any]] = []
        units: list[str] = []

        def flush() -> None:
            if units:
                said = {"prompt": None, "language": play.language, "audio_url": None}
                if play.sensitive:  # neither the digits nor their sounds leave the appliance
                    out.append({**said, "text": "••••", "units": []})
                else:
                    out.append({**said, "text": units_to_text(units, play.language),
                                "units": [self._unit(u, play.language) for u in units]})
                units.clear()

        for item in play.items:
            if "/" in item:
                units.append(item)
                continue
            flush()
            text = self.catalog.texts.get(item, {}).get(play.language, f"({item})")
            url = (f"/api/prompts/{item}/{play.language}.wav"
                   if (item, play.language) in self.audio else None)
            out.append({"prompt": item, "language": play.language, "text": text,
                        "audio_url": url})
        flush()
        return out

    @staticmethod
    def _unit(unit: str, language: str) -> dict[str, Any]:
        return {"unit": unit, "text": units_to_text((unit,), language),
                "audio_url": f"/api/prompts/units/{language}/{quote(unit)}.wav"}

    def _playing(self) -> list[dict[str, Any]]:
        return [] if self._play is None else self._describe(self._play)

    def _budgets(self) -> dict[str, dict[str, float]]:
        budgets = self.session.budgets(self.now)
        return {name: {"used": round(used, 1), "limit": limit}
                for name, (used, limit) in budgets.items()}
