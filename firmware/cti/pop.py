"""The screen pop: what an agent sees about a caller when the call is offered.

``screen_pop(call, station, now, history)`` reads a ``CallSession`` on the loop thread and
returns the ``offered`` event's data (``config.web.cti_events.POP_FIELDS``). Everything comes
from what the call already holds in memory; ``CallerHistory`` answers "earlier calls from this
number today" from memory too (today's call records, loaded once at start and followed as
the appliance submits new ones), so building a pop costs the loop no I/O.

What is never in a pop: a PIN or anything else the flow marks sensitive and masks in full
(it shows as the step ``typed`` with no value), a full card number (a card shows only as the
flow masked it, stars and the last four), a value the host returned (only its status and
error code, as the call records keep it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

__all__ = ["CallerHistory", "ivr_steps", "masked_card", "screen_pop"]

# A collect node's trace of a value the flow masked with last4: "card_number = ********1234".
_LAST4 = re.compile(r"^(\w+) = (\*{8,}[0-9]{4})$")
_HIDDEN = re.compile(r"^(\w+) = \*+$")
_MENU_KEY = re.compile(r"^[0-9*#]$")
# Traces that say nothing an agent needs.
_SKIP = frozenset({"start", "ignored", "dropped", "say_failed", "end"})


def masked_card(traces) -> str | None:
    """The last card-like value the flow stored, as masked (stars and last four), or None."""
    found = None
    for t in traces:
        if t.what == "digits":
            match = _LAST4.match(t.detail)
            if match:
                found = match.group(2)
    return found


def ivr_steps(traces) -> list[dict]:
    """The call's path as steps an agent reads: each node entered, what the caller did there.

    ``did`` is one of ``entered``, ``pressed`` (value: the key), ``typed`` (value: the masked
    entry, or '' when masked in full), ``operator`` (asked for a person), ``escalated``,
    ``host`` (value: what the host step traced), ``confirmed``, ``survey``."""
    steps: list[dict] = []
    for t in traces:
        if t.what in _SKIP:
            continue
        if t.what == "enter":
            steps.append({"node": t.node, "kind": t.detail, "did": "entered", "value": ""})
            continue
        kind = steps[-1]["kind"] if steps and steps[-1]["node"] == t.node else ""
        if t.what == "digits":
            last4, hidden = _LAST4.match(t.detail), _HIDDEN.match(t.detail)
            if last4:
                did, value = "typed", last4.group(2)
            elif hidden:
                did, value = "typed", ""
            elif _MENU_KEY.match(t.detail):
                did, value = "pressed", t.detail
            else:
                continue  # read back, rejected and the like: the next step says what stood
        elif t.what == "key":
            did, value = ("operator", "") if t.detail == "operator" else ("pressed", t.detail)
        elif t.what in ("escalate", "host", "confirm", "survey"):
            did = {"escalate": "escalated", "confirm": "confirmed"}.get(t.what, t.what)
            value = t.detail if t.what == "host" else ""
        else:
            continue
        steps.append({"node": t.node, "kind": kind, "did": did, "value": value})
    return steps


class CallerHistory:
    """Today's calls per caller number (loop thread): ``today(number, epoch)``."""

    def __init__(self, zone: dt.tzinfo, records=()):
        self.zone = zone
        self._day: dt.date | None = None
        self._calls: dict[str, list[dict]] = defaultdict(list)
        for record in records:
            self.add(record)

    def add(self, record) -> None:
        if not record.caller:
            return
        day = dt.datetime.fromtimestamp(record.started_at, self.zone).date()
        if self._day is None or day > self._day:
            self._day, self._calls = day, defaultdict(list)
        elif day < self._day:
            return
        self._calls[record.caller].append({
            "call_id": record.call_id, "time": record.started_at, "outcome": str(record.outcome),
            "queue": record.queue, "agent": record.agent_id})

    def today(self, number: str, epoch: float) -> list[dict]:
        day = dt.datetime.fromtimestamp(epoch, self.zone).date()
        if not number or day != self._day:
            return []
        return list(self._calls.get(number, ()))


def screen_pop(call, station: str, now: float, history: CallerHistory) -> dict:
    s = call.s
    q = s.queueing
    wall = call.app.wall_epoch(now)
    return {
        "caller": call.caller,
        "vip": bool(call.document.is_vip(call.caller)) if call.caller else False,
        "class": q.priority_class if q is not None else None,
        "language": s.language,
        "queue": q.queue if q is not None else "",
        "waited_s": round(now - q.entered, 1) if q is not None else 0.0,
        "path": ivr_steps(s.traces),
        "card": masked_card(s.traces),
        "host": [{"endpoint": endpoint, **{k: str(v) for k, v in result.items()}}
                 for endpoint, result in s.host.items()],
        "calls_today": history.today(call.caller, wall),
        "station": station,
    }
