"""The IVR session: one call through one flow, sans-I/O.

Theory of operation
-------------------
``Session(flow, call, now)`` is created when a call is answered; ``start(now)`` and
``handle(event, now)`` return the actions for the runtime to execute in order. Time is an
argument (seconds on the runtime's monotonic or virtual clock); the session reads no clock and
does no I/O. Timers are actions (``StartTimer``/``CancelTimer``) that come back as
``TimerFired``; ``next_deadline()`` reports the earliest armed timer.

The session is always in one *phase* (what it waits for) at one *node* (where in the flow):

    PROMPTING   an input node (menu, collect, its confirm step, survey) plays its prompt
    AWAITING    an input node waits for keys; the "digit" timer is armed
    PLAYING     a play node, or the prompt of a message, transfer or hangup node, plays
    HOST        a host request is outstanding; the "host" timer is armed
    RECORDING   a voice message is being recorded
    QUEUED      the ACD has the caller; waiting for QueueOutcome
    TRANSFERRING  a transfer node with on_failure handed the caller out; waiting for
                TransferOutcome (keys ignored, the IVR clock paused as in QUEUED)
    WITH_AGENT  an agent talks with the caller; waiting for AgentCallEnded
    ENDED       a terminal action (HangUp or Transfer) was emitted, or a transfer that
                waited for its outcome connected; every event is ignored

``TABLE`` maps (phase, event type) to a handler or to ``IGNORE``. Every pair is listed; an
ignored event produces one ``Trace("ignored", ...)`` and changes nothing, so a caller who
mashes keys or a runtime that sends a stale event never crashes a call. Instant nodes
(switch, schedule, language, subflow) are passed through inside one call to ``handle``.

This module holds the table, the session's plumbing and the keypad-input nodes (menu,
collect with its confirm step, survey), kept together because they share the type-ahead and
budget rules; the other node kinds are in ``_outward`` (a mixin), the phases in ``_phases``.

Keys go into one type-ahead buffer; input nodes consume from it, so a caller who knows the
menus never waits for a prompt. Escalation, budgets, type-ahead and masking rules are in
docs/ivr.md; the code below implements exactly those rules.
"""

from __future__ import annotations

import re
from collections import Counter

from branchline.ivr._errors import SpokenValueError
from branchline.ivr._events import (
    AgentCallEnded,
    CallerHungUp,
    CallStarted,
    CancelTimer,
    Digit,
    HangUp,
    HostReplied,
    MessageRecorded,
    Play,
    PlaybackFinished,
    QueueOutcome,
    StartTimer,
    StopPlayback,
    StopRecording,
    StoreSurvey,
    TimerFired,
    Trace,
    Transfer,
    TransferOutcome,
)
from branchline.ivr._model import (
    RETURN,
    Budgets,
    CollectNode,
    Flow,
    MenuNode,
    Node,
    Prompt,
    Say,
    SurveyNode,
)
from branchline.ivr._outward import OutwardNodes
from branchline.ivr._phases import Phase
from branchline.ivr._spoken import SAYERS, say_digits

BUFFER_LIMIT = 32
DIGITS = "0123456789"
SURVEY_OPTIONS = {str(score): str(score) for score in range(1, 6)}
CONFIRM_OPTIONS = {"1": "confirm", "2": "reenter"}


IGNORE = "ignore"
_STAY = "<stay>"  # an input node keeps the caller (re-prompted or waiting for more keys)

_COMMON = {HostReplied: IGNORE, QueueOutcome: IGNORE, AgentCallEnded: IGNORE,
           MessageRecorded: IGNORE, TransferOutcome: IGNORE, TimerFired: "_on_timer",
           CallerHungUp: "_on_caller_gone"}
TABLE: dict[Phase, dict[type, str]] = {
    Phase.PROMPTING: {**_COMMON, Digit: "_on_input_digit", PlaybackFinished: "_on_input_played"},
    Phase.AWAITING: {**_COMMON, Digit: "_on_input_digit", PlaybackFinished: IGNORE},
    Phase.PLAYING: {**_COMMON, Digit: "_on_play_digit", PlaybackFinished: "_on_played"},
    Phase.HOST: {**_COMMON, Digit: "_on_held_digit", PlaybackFinished: IGNORE,
                 HostReplied: "_on_host_reply"},
    Phase.RECORDING: {**_COMMON, Digit: "_on_record_digit", PlaybackFinished: IGNORE,
                      MessageRecorded: "_on_recorded"},
    Phase.QUEUED: {**_COMMON, Digit: IGNORE, PlaybackFinished: IGNORE,
                   QueueOutcome: "_on_queue_outcome"},
    Phase.TRANSFERRING: {**_COMMON, Digit: IGNORE, PlaybackFinished: IGNORE,
                         TransferOutcome: "_on_transfer_outcome"},
    Phase.WITH_AGENT: {**_COMMON, Digit: IGNORE, PlaybackFinished: IGNORE,
                       AgentCallEnded: "_on_agent_call_ended"},
    Phase.ENDED: {kind: IGNORE for kind in (Digit, PlaybackFinished, TimerFired, HostReplied,
                                           QueueOutcome, AgentCallEnded, MessageRecorded,
                                           TransferOutcome, CallerHungUp)},
}

Outcome = tuple[str, str]  # ("more"|"select"|"invalid"|"global"|"complete", value)


def mask(entry: str, how: str) -> str:
    """How a sensitive entry appears in a trace: all stars, or stars and the last four.
    An entry shorter than 12 keys is always all stars (it may be a PIN in the wrong field)."""
    if how == "last4" and len(entry) >= 12:
        return "*" * (len(entry) - 4) + entry[-4:]
    return "*" * len(entry)


def luhn_ok(number: str) -> bool:
    """ISO/IEC 7812-1 check digit (the Luhn algorithm) over a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class Session(OutwardNodes):
    """One call through one flow. See the module docstring for the theory of operation."""

    def __init__(self, flow: Flow, call: CallStarted, now: float) -> None:
        if call.started_at.tzinfo is None:
            raise ValueError("CallStarted.started_at must be timezone-aware (schedules use its "
                             "zone); pass datetime.now(ZoneInfo(zone)) from the runtime")
        self.flow = flow
        self.call = call
        self.language: str = flow.default_language
        self.phase = Phase.PROMPTING
        self.node = ""
        self._t0 = now
        self._vars: dict[str, str] = {}
        self._sensitive_vars: set[str] = set()
        self._buffer: list[str] = []
        self._timers: dict[str, float] = {}
        self._play_id = 0
        self._playing: int | None = None
        self._play_barge = True
        self._request_id = 0
        self._pending: int | None = None
        self._host_problem = ""  # the last host outcome that was not ok, for a person
        self._entry = ""
        self._confirming = False
        self._pending_value = ""
        self._recording_stopped = False
        self._no_input: Counter[str] = Counter()
        self._invalid: Counter[str] = Counter()
        self._visits: Counter[str] = Counter()
        self._errors = 0
        self._entries = 0
        self._error_limit = flow.limits.total_errors
        self._visit_limit = flow.limits.max_visits
        self._time_limit = flow.limits.max_seconds
        self._ivr_used = 0.0
        self._ivr_since: float | None = None
        self._call_escalated = False
        self._menu_stack: list[str] = []
        self._returns: list[str] = []
        older = flow.older_callers
        self.older = older is not None and bool(call.caller) and call.caller in older.numbers
        self._chose = False  # a selection was made: the older callers' key no longer counts
        self._agent_id: str | None = None
        self._started = False

    # --- public ---------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.phase is Phase.ENDED

    def budgets(self, now: float) -> dict[str, tuple[float, float]]:
        """The call-wide budgets as (used, limit): ``errors``, ``ivr_seconds``, ``visits``."""
        used = self._ivr_used + (now - self._ivr_since if self._ivr_since is not None else 0.0)
        return {"errors": (self._errors, self._error_limit),
                "ivr_seconds": (used, self._time_limit),
                "visits": (self._entries, self._visit_limit)}

    def next_deadline(self) -> float | None:
        return min(self._timers.values()) if self._timers else None

    def start(self, now: float) -> list:
        acts: list = []
        if self._started:
            acts.append(Trace("ignored", self.node, "start called twice", now))
            return acts
        self._started = True
        acts.append(Trace("start", "", f"call {self.call.call_id} from {self.call.caller} "
                          f"to {self.call.dialled} on port {self.call.port}", now))
        if self.older:
            acts.append(Trace("mode", "", "older caller: number on the list", now))
        self._resume_ivr_clock(now, acts)
        self._go(self.flow.resolve("", self.flow.start), now, acts)
        return acts

    def handle(self, event: object, now: float) -> list:
        acts: list = []
        if not self._started:
            acts.append(Trace("ignored", "", f"{type(event).__name__} before start", now))
            return acts
        handler = TABLE[self.phase].get(type(event), IGNORE)
        if handler == IGNORE:
            if self.phase is not Phase.ENDED:
                self._ignored(event, now, acts)
            return acts
        getattr(self, handler)(event, now, acts)
        return acts

    # --- plumbing ---------------------------------------------------------------------------

    def _ignored(self, event: object, now: float, acts: list, why: str = "") -> None:
        # A Digit's key is not traced: it may be part of a PIN typed at the wrong moment.
        what = type(event).__name__
        acts.append(Trace("ignored", self.node, f"{what} in {self.phase.value}"
                          + (f": {why}" if why else ""), now))

    def _arm(self, name: str, at: float, acts: list) -> None:
        self._timers[name] = at
        acts.append(StartTimer(name, at))

    def _cancel(self, name: str, acts: list) -> None:
        if self._timers.pop(name, None) is not None:
            acts.append(CancelTimer(name))

    def _scope(self) -> str:
        return self.node.split(":", 1)[0] if ":" in self.node else ""

    def _target(self, raw: str | None, now: float, acts: list, scope: str | None = None
                ) -> str | None:
        """The qualified node ``raw`` names from the current scope (pops a subflow return)."""
        scope = self._scope() if scope is None else scope
        if raw == RETURN and scope:
            if self._returns:
                return self._returns.pop()
            raw = None
        resolved = self.flow.resolve(scope, raw) if raw is not None else None
        if resolved is None:
            self._end(HangUp("flow_error"), f"no node {raw!r} from {self.node or 'start'}",
                      now, acts)
        return resolved

    def _go(self, target: str | None, now: float, acts: list) -> None:
        while target is not None and target != _STAY and self.phase is not Phase.ENDED:
            target = self._visit(target, now, acts)

    def _visit(self, name: str, now: float, acts: list) -> str | None:
        self._entries += 1
        if self._entries > self._visit_limit:
            return self._call_budget_spent("visits", now, acts)
        node = self.flow.node(name)
        self.node = name
        self._visits[name] += 1
        acts.append(Trace("enter", name, node.kind, now))
        return getattr(self, f"_enter_{node.kind}")(node, now, acts)

    def _end(self, terminal: HangUp | Transfer | None, why: str, now: float, acts: list
             ) -> None:
        if self._playing is not None and isinstance(terminal, HangUp):
            acts.append(StopPlayback(self._playing))
        self._playing = None
        for name in sorted(self._timers):
            acts.append(CancelTimer(name))
        self._timers.clear()
        self._flush("call ended", now, acts)
        acts.append(Trace("end", self.node, why, now))
        if terminal is not None:  # None: a transfer that waited for its outcome connected
            acts.append(terminal)
        self.phase = Phase.ENDED

    def _flush(self, why: str, now: float, acts: list) -> None:
        if self._buffer:
            # Dropped keys are masked: they may have been typed ahead for a PIN.
            acts.append(Trace("dropped", self.node, f"{len(self._buffer)} key(s) "
                              f"{'*' * len(self._buffer)}: {why}", now))
            self._buffer.clear()

    def _hold(self, key: str, now: float, acts: list) -> None:
        if len(self._buffer) >= BUFFER_LIMIT:
            acts.append(Trace("dropped", self.node, f"1 key *: type-ahead buffer full "
                              f"({BUFFER_LIMIT} keys)", now))
            return
        self._buffer.append(key)

    def _play(self, prompt: Prompt, barge_in: bool, now: float, acts: list,
              extra: tuple[str, ...] = (), sensitive: bool = False,
              tail: Prompt | None = None) -> None:
        items, secret = self._items(prompt, now, acts)
        after, secret_after = self._items(tail or [], now, acts)
        older = self.flow.older_callers
        if self.older and older.person_prompt and self.flow.keys.operator \
                and isinstance(self.flow.node(self.node), MenuNode):
            items = self._items(older.person_prompt, now, acts)[0] + items
        self._play_id += 1
        self._playing = self._play_id
        self._play_barge = barge_in
        acts.append(Play(self._play_id, items + extra + after, barge_in, self.language,
                         sensitive or secret or secret_after,
                         older.speed if self.older else 1.0))

    def _become_older(self, why: str, now: float, acts: list) -> None:
        if not self.older:
            self.older = True
            acts.append(Trace("mode", self.node, f"older caller: {why}", now))

    def _items(self, prompt: Prompt, now: float, acts: list) -> tuple[tuple[str, ...], bool]:
        out: list[str] = []
        sensitive = False
        for item in prompt:
            if not isinstance(item, Say):
                out.append(item)
                continue
            value = item.value if item.value is not None else self._vars.get(item.var or "")
            sensitive = sensitive or (item.var in self._sensitive_vars)
            try:
                if value is None:
                    raise SpokenValueError(f"variable {item.var!r} is not set")
                options = self.flow.defaults
                if item.say == "digits":
                    out += say_digits(value, self.language, yao_for_one=options.yao_for_one)
                elif item.say in ("number", "money"):
                    out += SAYERS[item.say](value, self.language,
                                            liang_before_bai=options.liang_before_bai)
                else:
                    out += SAYERS[item.say](value, self.language)
            except SpokenValueError as exc:
                acts.append(Trace("say_failed", self.node, f"{item.say}: {exc}", now))
        return tuple(out), sensitive

    # --- IVR clock (paused while the ACD or an outside number has the caller) -----------------

    def _resume_ivr_clock(self, now: float, acts: list) -> None:
        self._ivr_since = now
        self._arm("ivr_time", now + max(self._time_limit - self._ivr_used, 0.0), acts)

    def _pause_ivr_clock(self, now: float, acts: list) -> None:
        if self._ivr_since is not None:
            self._ivr_used += now - self._ivr_since
            self._ivr_since = None
        self._cancel("ivr_time", acts)

    # --- escalation ---------------------------------------------------------------------------

    def _budgets(self, node: MenuNode | CollectNode | SurveyNode) -> Budgets:
        return node.budgets or self.flow.defaults.budgets

    def _escalation(self, now: float, acts: list) -> str | None:
        node = self.flow.node(self.node) if self.node else None
        own = getattr(node, "escalate_to", None)
        if own:
            return self._target(own, now, acts)
        return self._target(self.flow.escalation_target(), now, acts, scope="")

    def _call_budget_spent(self, which: str, now: float, acts: list) -> str | None:
        """A call-wide budget is spent: escalate once with a grace allowance, then hang up."""
        self._leave_activity(now, acts)
        if self._call_escalated:
            self._end(HangUp(f"budget_{which}"), f"{which} budget spent again", now, acts)
            return None
        self._call_escalated = True
        self._error_limit = self._errors + self.flow.limits.grace_errors
        self._visit_limit = self._entries + self.flow.limits.grace_visits
        used = self._ivr_used + (now - self._ivr_since if self._ivr_since is not None else 0.0)
        self._time_limit = used + self.flow.limits.grace_seconds
        if self._ivr_since is not None:  # the clock runs (the caller is not with the ACD)
            self._ivr_used, self._ivr_since = used, now
            self._arm("ivr_time", now + self.flow.limits.grace_seconds, acts)
        acts.append(Trace("escalate", self.node, f"call {which} budget spent", now))
        self._flush("escalation", now, acts)
        return self._escalation(now, acts)

    def _leave_activity(self, now: float, acts: list) -> None:
        """Stop whatever the current node is doing before the call moves elsewhere."""
        if self._playing is not None:
            acts.append(StopPlayback(self._playing))
            self._playing = None
        self._cancel("digit", acts)
        self._cancel("host", acts)
        self._pending = None
        if self.phase is Phase.RECORDING and not self._recording_stopped:
            acts.append(StopRecording())
        self._entry = ""
        self._confirming = False

    # --- timers and hang-up (all live phases) -----------------------------------------------

    def _on_timer(self, event: TimerFired, now: float, acts: list) -> None:
        at = self._timers.get(event.name)
        if at is None or now < at:
            self._ignored(event, now, acts, f"timer {event.name!r} is not due")
            return
        del self._timers[event.name]
        if event.name == "ivr_time":
            self._go(self._call_budget_spent("time", now, acts), now, acts)
        elif event.name == "digit" and self.phase is Phase.AWAITING:
            self._go(self._digit_timeout(now, acts), now, acts)
        elif event.name == "host" and self.phase is Phase.HOST:
            acts.append(Trace("host", self.node, f"request {self._pending} timed out", now))
            self._host_problem = f"{self._host_node().endpoint}: timeout"
            self._pending = None
            self._go(self._target(self._host_node().on_timeout, now, acts), now, acts)
        else:
            self._ignored(event, now, acts, f"timer {event.name!r} has no use here")

    def _on_caller_gone(self, event: CallerHungUp, now: float, acts: list) -> None:
        if self.phase is Phase.RECORDING and not self._recording_stopped:
            acts.append(StopRecording())
        self._end(HangUp("caller_hung_up"), "caller hung up", now, acts)

    # --- input nodes: menu, collect (+ confirm step), survey ----------------------------------

    def _enter_menu(self, node: MenuNode, now: float, acts: list) -> str | None:
        if not self._menu_stack or self._menu_stack[-1] != self.node:
            self._menu_stack.append(self.node)
        first = self._visits[self.node] == 1
        prompt = node.prompt if first else (node.short_prompt or node.prompt)
        return self._begin_input(prompt, node.barge_in, now, acts)

    def _enter_collect(self, node: CollectNode, now: float, acts: list) -> str | None:
        first = self._visits[self.node] == 1
        prompt = node.prompt if first else (node.short_prompt or node.prompt)
        return self._begin_input(prompt, True, now, acts)

    def _enter_survey(self, node: SurveyNode, now: float, acts: list) -> str | None:
        return self._begin_input(node.prompt, True, now, acts)

    def _begin_input(self, prompt: Prompt, barge_in: bool, now: float, acts: list
                     ) -> str | None:
        self._entry = ""
        self._confirming = False
        if self._buffer:
            self.phase = Phase.AWAITING
            result = self._drain(now, acts)
            if result != _STAY or self._entry or self.phase is Phase.PROMPTING:
                return result
        self._play(prompt, barge_in, now, acts)
        self.phase = Phase.PROMPTING
        return _STAY

    def _on_input_digit(self, event: Digit, now: float, acts: list) -> None:
        older = self.flow.older_callers
        if older and event.key == older.key and not self.older and not self._chose \
                and not self._entry and isinstance(self.flow.node(self.node), MenuNode):
            # The older callers' key in the first menu: the menu again, slower.
            if self._playing is not None:
                acts.append(StopPlayback(self._playing))
                self._playing = None
            self._cancel("digit", acts)
            self._become_older("chose it by key", now, acts)
            self._play(self.flow.node(self.node).prompt, True, now, acts)
            self.phase = Phase.PROMPTING
            return
        if self.phase is Phase.PROMPTING:
            if not self._play_barge:
                self._hold(event.key, now, acts)
                return
            acts.append(StopPlayback(self._playing or 0))
            self._playing = None
            self.phase = Phase.AWAITING
        self._hold(event.key, now, acts)
        self._go(self._drain(now, acts), now, acts)

    def _on_input_played(self, event: PlaybackFinished, now: float, acts: list) -> None:
        if event.play_id != self._playing:
            self._ignored(event, now, acts, f"play {event.play_id} is not playing")
            return
        self._playing = None
        self.phase = Phase.AWAITING
        result = self._drain(now, acts) if self._buffer else _STAY
        if result == _STAY and self.phase is Phase.AWAITING and "digit" not in self._timers:
            self._arm("digit", now + self._first_digit_timeout(), acts)
        self._go(result, now, acts)

    def _drain(self, now: float, acts: list) -> str | None:
        """Feed buffered keys to the current input node until it decides or runs dry."""
        here = self.node
        while self._buffer and self.phase is Phase.AWAITING and self.node == here:
            key = self._buffer.pop(0)
            kind, value = self._feed(key)
            if kind == "more":
                self._arm("digit", now + self._inter_digit_timeout(), acts)
                continue
            result = self._decide(kind, value, now, acts)
            if result != _STAY or self.phase is Phase.PROMPTING:
                return result
        return _STAY

    def _digit_timeout(self, now: float, acts: list) -> str | None:
        if not self._entry:
            return self._fail("no_input", "no key pressed", now, acts)
        node = self.flow.node(self.node)
        if isinstance(node, CollectNode) and not self._confirming:
            return self._decide("complete", self._entry, now, acts)
        options = self._options()
        if self._entry in options:
            return self._decide("select", self._entry, now, acts)
        return self._decide("invalid", f"incomplete entry {self._entry!r}", now, acts)

    def _options(self) -> dict[str, str]:
        node = self.flow.node(self.node)
        if isinstance(node, MenuNode):
            return node.options
        if isinstance(node, SurveyNode):
            return SURVEY_OPTIONS
        return CONFIRM_OPTIONS

    def _globals(self) -> dict[str, str]:
        """Active global keys here: key -> 'operator' | 'back' | 'repeat'."""
        keys = self.flow.keys
        node = self.flow.node(self.node)
        if isinstance(node, SurveyNode):
            wanted = ("repeat",)
        elif isinstance(node, CollectNode) and not self._confirming:
            wanted = ("back",)
        else:
            wanted = ("operator", "back", "repeat")
        return {getattr(keys, name): name for name in wanted if getattr(keys, name)}

    def _feed(self, key: str) -> Outcome:
        node = self.flow.node(self.node)
        if isinstance(node, CollectNode) and not self._confirming:
            if key == node.terminator:
                return ("complete", self._entry)
            if key in DIGITS:
                self._entry += key
                if len(self._entry) >= node.max_length:
                    return ("complete", self._entry)
                return ("more", "")
            if key in self._globals():
                return ("global", self._globals()[key])
            return ("invalid", "a key that is not a digit")
        if not self._entry and key in self._globals():
            return ("global", self._globals()[key])
        entry = self._entry + key
        options = self._options()
        longer = any(k.startswith(entry) and k != entry for k in options)
        if entry in options and not longer:
            self._entry = entry
            return ("select", entry)
        if longer:
            self._entry = entry
            return ("more", "")
        return ("invalid", f"key {entry!r} is not an option")

    def _decide(self, kind: str, value: str, now: float, acts: list) -> str | None:
        self._cancel("digit", acts)
        node = self.flow.node(self.node)
        if kind == "global":
            return self._global(value, now, acts)
        if kind == "invalid":
            return self._fail("invalid", value, now, acts)
        if kind == "complete":
            return self._complete(node, value, now, acts)
        # A selection in a menu, survey or confirm step.
        self._chose = True
        self._invalid[self.node] = 0
        self._entry = ""
        if isinstance(node, MenuNode):
            acts.append(Trace("digits", self.node, value, now))
            return self._target(node.options[value], now, acts)
        if isinstance(node, SurveyNode):
            acts.append(Trace("survey", self.node, f"score {value}", now))
            acts.append(StoreSurvey(int(value), self._agent_id))
            return self._target(node.next, now, acts)
        assert isinstance(node, CollectNode)
        if CONFIRM_OPTIONS[value] == "reenter":
            acts.append(Trace("confirm", self.node, "caller chose to re-enter", now))
            self._confirming = False
            self._play(node.prompt, True, now, acts)
            self.phase = Phase.PROMPTING
            return _STAY
        acts.append(Trace("confirm", self.node, "confirmed", now))
        return self._store(node, self._pending_value, now, acts)

    def _complete(self, node: Node, entry: str, now: float, acts: list) -> str | None:
        assert isinstance(node, CollectNode)
        problem = self._check(node, entry)
        shown = mask(entry, node.mask) if node.sensitive else entry
        if problem:
            acts.append(Trace("digits", self.node, f"{shown} rejected", now))
            return self._fail("invalid", problem, now, acts)
        self._invalid[self.node] = 0
        self._entry = ""
        if not node.confirm:
            return self._store(node, entry, now, acts)
        acts.append(Trace("digits", self.node, f"{shown} read back", now))
        self._confirming = True
        self._pending_value = entry
        readback = say_digits(entry, self.language, yao_for_one=self.flow.defaults.yao_for_one)
        self._play(node.confirm_prompt or [], True, now, acts, extra=readback,
                   sensitive=node.sensitive, tail=node.confirm_options_prompt)
        self.phase = Phase.PROMPTING
        return _STAY

    def _check(self, node: CollectNode, entry: str) -> str:
        rule = node.validate_
        if len(entry) < node.min_length:
            return f"too short: {len(entry)} digits, at least {node.min_length}"
        if rule.regex is not None and not re.fullmatch(rule.regex, entry):
            return "does not match the required pattern"
        if rule.luhn and not luhn_ok(entry):
            return "fails the Luhn check digit"
        if rule.allowed is not None and entry not in rule.allowed:
            return "not one of the allowed values"
        return ""

    def _store(self, node: CollectNode, entry: str, now: float, acts: list) -> str | None:
        self._vars[node.var] = entry
        if node.sensitive:
            self._sensitive_vars.add(node.var)
        shown = mask(entry, node.mask) if node.sensitive else entry
        acts.append(Trace("digits", self.node, f"{node.var} = {shown}", now))
        self._confirming = False
        return self._target(node.next, now, acts)

    def _global(self, which: str, now: float, acts: list) -> str | None:
        acts.append(Trace("key", self.node, which, now))
        self._entry = ""
        node = self.flow.node(self.node)
        if which == "operator":
            self._flush("caller asked for a person", now, acts)
            return self._target(self.flow.operator, now, acts, scope="")
        if which == "back":
            if self._menu_stack and self._menu_stack[-1] == self.node:
                self._menu_stack.pop()
            if self._menu_stack:
                return self._menu_stack[-1]
        # repeat (or back with nowhere to go): the full prompt again, not counted as an error
        if isinstance(node, CollectNode) and self._confirming:
            readback = say_digits(self._pending_value, self.language,
                                  yao_for_one=self.flow.defaults.yao_for_one)
            self._play(node.confirm_prompt or [], True, now, acts, extra=readback,
                       sensitive=node.sensitive, tail=node.confirm_options_prompt)
            self.phase = Phase.PROMPTING
            return _STAY
        prompt = node.prompt if isinstance(node, MenuNode | CollectNode | SurveyNode) else []
        self._play(prompt, getattr(node, "barge_in", True), now, acts)
        self.phase = Phase.PROMPTING
        return _STAY

    def _fail(self, kind: str, reason: str, now: float, acts: list) -> str | None:
        node = self.flow.node(self.node)
        assert isinstance(node, MenuNode | CollectNode | SurveyNode)
        counter = self._no_input if kind == "no_input" else self._invalid
        counter[self.node] += 1
        acts.append(Trace(kind, self.node, f"{reason} ({kind} {counter[self.node]})", now))
        if kind == "invalid":
            self._flush("invalid entry", now, acts)
        self._entry = ""
        self._cancel("digit", acts)
        budget = getattr(self._budgets(node), kind)
        if self.older:
            budget += self.flow.older_callers.extra_repeats
        if isinstance(node, SurveyNode):
            # Survey failures never count against the call: the caller was already served.
            if counter[self.node] > budget:
                acts.append(Trace("survey", self.node, "no score given", now))
                return self._target(node.next, now, acts)
        else:
            self._errors += 1
            if self._errors > self._error_limit:
                return self._call_budget_spent("errors", now, acts)
            if counter[self.node] > budget:
                acts.append(Trace("escalate", self.node, f"{kind} budget {budget} spent", now))
                self._flush("escalation", now, acts)
                return self._escalation(now, acts)
        defaults = self.flow.defaults
        if kind == "no_input":
            notice = getattr(node, "no_input_prompt", None) or defaults.no_input_prompt or []
        else:
            notice = getattr(node, "invalid_prompt", None) or defaults.invalid_prompt or []
        if isinstance(node, CollectNode) and self._confirming:
            readback = say_digits(self._pending_value, self.language,
                                  yao_for_one=defaults.yao_for_one)
            self._play(notice + (node.confirm_prompt or []), True, now, acts, extra=readback,
                       sensitive=node.sensitive, tail=node.confirm_options_prompt)
        else:
            again = getattr(node, "short_prompt", None) or node.prompt
            self._play(notice + again, getattr(node, "barge_in", True), now, acts)
        self.phase = Phase.PROMPTING
        return _STAY

    def _first_digit_timeout(self) -> float:
        node = self.flow.node(self.node)
        own = getattr(node, "first_digit_timeout", None) or getattr(node, "timeout", None)
        return (own or self.flow.defaults.first_digit_timeout) * self._slower()

    def _inter_digit_timeout(self) -> float:
        own = getattr(self.flow.node(self.node), "inter_digit_timeout", None)
        return (own or self.flow.defaults.inter_digit_timeout) * self._slower()

    def _slower(self) -> float:
        return self.flow.older_callers.timeout_factor if self.older else 1.0


def describe_table() -> str:
    """The transition table as Markdown (docs/ivr.md includes this text; a test checks)."""
    events = [Digit, PlaybackFinished, TimerFired, HostReplied, QueueOutcome, AgentCallEnded,
              MessageRecorded, TransferOutcome, CallerHungUp]
    head = "| phase | " + " | ".join(e.__name__ for e in events) + " |"
    rule = "|---" * (len(events) + 1) + "|"
    rows = [f"| {phase.value} | " + " | ".join(
        "·" if TABLE[phase][e] == IGNORE else TABLE[phase][e].removeprefix("_on_")
        for e in events) + " |" for phase in Phase]
    return "\n".join([head, rule, *rows])
