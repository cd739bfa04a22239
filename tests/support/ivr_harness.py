"""Drive an IVR Session on a virtual clock, the way the runtime would.

The harness executes the session's actions like a runtime: a ``Play`` finishes after its
duration (``PlaybackFinished``) unless stopped; timers fire when due; host requests, queue
hand-offs and transfers that wait for their outcome are answered by scripts you pass in;
recordings end after a set time. Caller behaviour (keys, hang-up) is scheduled at absolute
virtual times. Nothing sleeps.

    h = IvrHarness(flow, prompts=catalog)
    h.start()
    h.keys("1", at=2.0)             # a key 2 s into the call
    h.run()                         # until the session ends (or nothing is left to happen)
    assert h.terminal == HangUp("served")
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from branchline.ivr import (
    AgentCallEnded,
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
    QueueOutcome,
    RecordMessage,
    Session,
    StartTimer,
    StopPlayback,
    StopRecording,
    TimerFired,
    Trace,
    Transfer,
    TransferOutcome,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNIT_SECONDS = 0.35


def make_call(*, vip: bool = False, caller: str = "13800138000",
              when: dt.datetime | None = None, call_id: str = "c1",
              caller_absent: str = "") -> CallStarted:
    """A call on a Tuesday at 10:00 in Shanghai (the branch is open) unless told otherwise."""
    started = when or dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)
    return CallStarted(call_id, caller, "95588", "fxo0", vip, started, caller_absent)


def default_host(request: HostRequest) -> tuple[float, str, dict]:
    """(delay, status, data): balance 1234.56, loss reference 20261124001."""
    if request.endpoint == "balance":
        return 0.5, "ok", {"balance": "1234.56", "currency": "CNY"}
    if request.endpoint == "card_loss":
        return 0.5, "ok", {"reference": "20261124001"}
    return 0.5, "error", {"code": "unknown_endpoint"}


def default_queue(request: Enqueue) -> list[tuple[float, object]]:
    """Answered after 5 s by agent a1; the agent hangs up 30 s later."""
    return [(5.0, QueueOutcome("answered", "a1")), (35.0, AgentCallEnded())]


def default_transfer(request: Transfer) -> list[tuple[float, object]]:
    """A transfer that waits for its outcome: nobody answers in 30 s."""
    return [(30.0, TransferOutcome("failed", "no answer"))]


@dataclass
class IvrHarness:
    flow: Flow
    call: CallStarted = field(default_factory=make_call)
    prompts: PromptCatalog | None = None
    host: Callable[[HostRequest], tuple[float, str, dict] | None] = default_host
    queue: Callable[[Enqueue], list[tuple[float, object]]] = default_queue
    transfer: Callable[[Transfer], list[tuple[float, object]]] = default_transfer
    message_seconds: float = 8.0
    now: float = 0.0
    max_events: int = 5000

    def __post_init__(self) -> None:
        self.session = Session(self.flow, self.call, self.now)
        self.actions: list[object] = []
        self.timers: dict[str, float] = {}
        self._plays: dict[int, tuple] = {}       # play_id -> scheduled entry (for stops)
        self._heap: list[tuple[float, int, object]] = []
        self._seq = 0
        self._cancelled: set[int] = set()
        self.terminals: list[object] = []
        self.events = 0
        self._recording: int | None = None

    # --- scheduling caller behaviour ---------------------------------------------------------

    def at(self, when: float, event: object) -> int:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, event))
        return self._seq

    def keys(self, text: str, *, at: float, gap: float = 0.3) -> None:
        for i, key in enumerate(text):
            self.at(at + i * gap, Digit(key))

    # --- running ---------------------------------------------------------------------------

    def start(self) -> list[object]:
        return self._execute(self.session.start(self.now))

    def send(self, event: object) -> list[object]:
        self.events += 1
        return self._execute(self.session.handle(event, self.now))

    def step(self) -> bool:
        """Deliver the next due thing (scheduled event or timer); False when none is left.
        An event scheduled at the same instant as a timer goes first (a key pressed exactly
        at the timeout counts)."""
        while self._heap and self._heap[0][1] in self._cancelled:
            heapq.heappop(self._heap)
        due_timer = min(self.timers.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        next_event = self._heap[0][0] if self._heap else None
        if due_timer is None and next_event is None:
            return False
        if next_event is not None and (due_timer is None or next_event <= due_timer[1]):
            when, _, event = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            self.send(event)
        else:
            name, when = due_timer
            del self.timers[name]
            self.now = max(self.now, when)
            self.send(TimerFired(name))
        return True

    def run(self, until: float | None = None) -> None:
        for _ in range(self.max_events):
            if self.session.ended:
                return
            upcoming = self._next_time()
            if until is not None and upcoming is not None and upcoming > until:
                self.now = until
                return
            if not self.step():
                return
        raise AssertionError(f"session still running after {self.max_events} events")

    def _next_time(self) -> float | None:
        times = list(self.timers.values())
        times += [w for w, seq, _ in self._heap if seq not in self._cancelled]
        return min(times) if times else None

    # --- what the runtime does with each action ----------------------------------------------

    def _execute(self, actions: list[object]) -> list[object]:
        self.actions += actions
        for action in actions:
            if isinstance(action, Play):
                seq = self.at(self.now + self.play_seconds(action),
                              PlaybackFinished(action.play_id))
                self._plays[action.play_id] = seq
            elif isinstance(action, StopPlayback):
                seq = self._plays.pop(action.play_id, None)
                if seq is not None:
                    self._cancelled.add(seq)
            elif isinstance(action, StartTimer):
                self.timers[action.name] = action.at
            elif isinstance(action, CancelTimer):
                self.timers.pop(action.name, None)
            elif isinstance(action, HostRequest):
                answer = self.host(action)
                if answer is not None:
                    delay, status, data = answer
                    self.at(self.now + delay, HostReplied(action.request_id, status, data))
            elif isinstance(action, Enqueue):
                for delay, event in self.queue(action):
                    self.at(self.now + delay, event)
            elif isinstance(action, RecordMessage):
                self._recording = self.at(self.now + min(self.message_seconds,
                                                         action.max_seconds),
                                          MessageRecorded(min(self.message_seconds,
                                                              action.max_seconds)))
            elif isinstance(action, StopRecording):
                seq = self._recording
                if seq is not None and seq not in self._cancelled:
                    self._cancelled.add(seq)
                    self.at(self.now, MessageRecorded(1.0))
            elif isinstance(action, Transfer) and action.returns:
                for delay, event in self.transfer(action):
                    self.at(self.now + delay, event)
            elif isinstance(action, HangUp | Transfer):
                self.terminals.append(action)
        return actions

    def play_seconds(self, play: Play) -> float:
        total = 0.0
        for item in play.items:
            if "/" in item:
                total += UNIT_SECONDS
            elif self.prompts is not None:
                total += self.prompts.seconds(item, play.language) or 1.0
            else:
                total += 1.0
        return total

    # --- results ---------------------------------------------------------------------------

    @property
    def traces(self) -> list[Trace]:
        return [a for a in self.actions if isinstance(a, Trace)]

    @property
    def terminal(self) -> object | None:
        return self.terminals[-1] if self.terminals else None

    def path(self) -> list[str]:
        """Node names entered, in order (the call's path in the CDR)."""
        return [t.node for t in self.traces if t.what == "enter"]

    def of(self, kind: type) -> list[object]:
        return [a for a in self.actions if isinstance(a, kind)]


def luhn_complete(prefix: str) -> str:
    """``prefix`` plus the Luhn check digit that makes it a valid card number."""
    for check in "0123456789":
        number = prefix + check
        total = 0
        for i, ch in enumerate(reversed(number)):
            d = int(ch)
            if i % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return number
    raise AssertionError("unreachable: one check digit always fits")


def tiny_flow(nodes: dict, **top: object) -> Flow:
    """A flow of ``nodes`` plus an ``agent`` queue and a ``bye`` hang-up, for engine tests."""
    all_nodes = {"agent": {"kind": "queue", "queue": "general"},
                 "bye": {"kind": "hangup", "reason": "bye"}, **nodes}
    document = {"flow": "t", "start": next(iter(nodes)), "operator": "agent",
                "defaults": {"first_digit_timeout": 5, "inter_digit_timeout": 2,
                             "invalid_prompt": "bad", "no_input_prompt": "silent"},
                "nodes": all_nodes, **top}
    return Flow.model_validate(document)
