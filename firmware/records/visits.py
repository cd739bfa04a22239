"""A call's IVR path cut into node visits: one ``ivr_visits`` row per node entered.

    visits(call_id, path) -> tuple[Visit, ...]     # path: the CallRecord's ivr_path

A visit runs from an ``enter`` step to the next one, or to the end of the path. Its ``exit``
says how the caller left the node; the last step that decides it wins, and the caller
hanging up overrides everything except an agent having answered:

| exit | when |
|---|---|
| ``key:K`` | a menu option K was chosen |
| ``operator``, ``back`` | the flow's global key (``repeat`` stays in the node) |
| ``entered`` | a collect stored its entry |
| ``score``, ``no_score`` | a survey was answered, or gave up |
| ``ok``, ``error``, ``failed``, ``timeout`` | the bank host's answer |
| ``case:N``, ``default`` | a switch's case (N from 1, as the diagram numbers them) |
| ``open``, ``closed``, ``holiday`` | a schedule |
| ``answered``, ``overflow``, ``callback``, ``closed`` | a queue's outcome |
| ``failed`` | a transfer node's number did not take the call: on to its ``on_failure`` |
| ``escalated`` | a node's or the call's failure budget was spent |
| ``hung_up`` | the caller hung up (or left the queue) here |
| ``ended`` | the flow ended the call here (hang-up or transfer node, budget spent twice) |
| ``next`` | anything else that moves on (play, language, subflow, message) |

``seconds`` is the time from entering the node to the next visit (or the path's last step);
``first`` marks the call's first visit of that node (so a funnel counts calls as well as
visits); ``to_person`` marks the one visit after which the call first reached a person (the
next node is a queue or a transfer): the node and exit that sent the caller there.

``store_call`` writes one call's rows: its visits, the hourly and (records schema v9) daily
sums and its ``ivr_calls`` row, each marked ``older`` (v7) when the older callers' mode was on
at any moment of the call (a ``mode`` step in its path), so every report can be had per
mode. An ``ivr_calls`` row also keeps how many seconds later its number called again
(``next_call_s``) and next reached a person (``next_person_s``), looking at most
``NEXT_HORIZON_S`` ahead; the calls before it within that horizon are updated when it is
written, so containment and repeats within any window up to a week are a plain sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ADD_DAY",
    "ADD_DAY_TIME",
    "ADD_HOUR",
    "ADD_HOUR_TIME",
    "INSERT_CALL_PATH",
    "INSERT_VISIT",
    "NEXT_HORIZON_S",
    "PERSON_KINDS",
    "Visit",
    "call_path_row",
    "hour_row",
    "hour_time_row",
    "older_mode",
    "store_call",
    "visit_rows",
    "visits",
]

PERSON_KINDS = frozenset({"queue", "transfer"})
_HUNG_UP = frozenset({"caller hung up", "caller left the queue"})

NEXT_HORIZON_S = 7 * 86400.0  # the longest containment or repeat window a report may ask

# The row functions below give the columns up to to_person / person; ``store_call`` adds
# ``older`` (and the next-call times), which schema v7 added.
INSERT_VISIT = (
    "INSERT INTO ivr_visits (config_version, started_epoch, call_id, step, dialled, node, "
    "kind, seconds, exit, next_node, no_input, invalid, first, to_person, older) "
    "VALUES (" + ", ".join("?" * 15) + ")"
)



def _add_sums(table: str, period: str) -> str:
    return (
        f"INSERT INTO {table} (config_version, {period}, dialled, node, kind, exit, next_node, "
        "visits, first, timed_out, invalid, to_person, older) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET visits = visits + 1, first = first + excluded.first, "
        "timed_out = timed_out + excluded.timed_out, invalid = invalid + excluded.invalid, "
        "to_person = to_person + excluded.to_person"
    )


def _add_times(table: str, period: str) -> str:
    return (f"INSERT INTO {table} (config_version, {period}, dialled, node, seconds, older, "
            "visits) VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET visits = visits + 1")


# The sums per UTC hour (hour = floor(epoch / 3600)) and, since schema v9, per UTC day
# (day = floor(hour / 24)): a year's funnel reads the days, the hours at either end.
ADD_HOUR = _add_sums("ivr_hours", "hour")
ADD_HOUR_TIME = _add_times("ivr_hour_times", "hour")
ADD_DAY = _add_sums("ivr_days", "day")
ADD_DAY_TIME = _add_times("ivr_day_times", "day")

INSERT_CALL_PATH = (
    "INSERT INTO ivr_calls (caller, started_epoch, call_id, config_version, dialled, path, "
    "served, person, older, next_call_s, next_person_s) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The same number's later calls, as RANGE BETWEEN 0.001 FOLLOWING AND NEXT_HORIZON_S
# FOLLOWING would frame them (?1 the call's start, ?2 its caller).
_NEXT_OF_NEW = (
    "SELECT min(started_epoch) - ?1, min(CASE WHEN person THEN started_epoch END) - ?1 "
    "FROM ivr_calls WHERE caller = ?2 AND started_epoch >= ?1 + 0.001 "
    f"AND started_epoch <= ?1 + {NEXT_HORIZON_S!r}"
)
# The earlier calls of the number that this one (?1 its start, ?3 1 when it reached a
# person) follows within the horizon.
_LINK_EARLIER = (
    "UPDATE ivr_calls SET "
    "next_call_s = CASE WHEN next_call_s IS NULL OR next_call_s > ?1 - started_epoch "
    "THEN ?1 - started_epoch ELSE next_call_s END, "
    "next_person_s = CASE WHEN ?3 AND (next_person_s IS NULL "
    "OR next_person_s > ?1 - started_epoch) THEN ?1 - started_epoch ELSE next_person_s END "
    f"WHERE caller = ?2 AND started_epoch >= ?1 - {NEXT_HORIZON_S + 1!r} "
    "AND started_epoch < ?1 AND ?1 >= started_epoch + 0.001 "
    f"AND ?1 <= started_epoch + {NEXT_HORIZON_S!r}"
)


@dataclass(frozen=True, slots=True)
class Visit:
    step: int
    node: str
    kind: str
    seconds: float
    exit: str
    next_node: str
    no_input: int
    invalid: int
    first: bool
    to_person: bool


def _decision(kind: str, what: str, detail: str) -> str | None:
    """The exit one step decides, or None when the step leaves the caller where they are."""
    if what == "escalate":
        return "escalated"
    if what == "key":
        return detail if detail in ("operator", "back") else None
    if what == "digits":
        if kind == "menu":
            return f"key:{detail}"
        return "entered" if " = " in detail else None
    if what == "survey":
        return "score" if detail.startswith("score") else "no_score"
    if what == "host":
        if detail.endswith("timed out"):
            return "timeout"
        status = detail.partition(": ")[2].split(" ", 1)[0]
        return status if status in ("ok", "error", "failed", "timeout") else None
    if what == "switch":
        if detail.startswith("case "):
            return f"case:{int(detail.split()[1]) + 1}"
        return "default"
    if what == "schedule":
        return detail.rpartition(" ")[2]
    if what in ("queue", "transfer"):
        return detail.partition(": ")[2].split(" ", 1)[0] or None
    return None


def visits(path: Sequence) -> tuple[Visit, ...]:
    """The node visits of one call's IVR path (``TraceStep``s, or dicts with the same keys)."""
    steps = [s if isinstance(s, dict) else
             {"at": s.at, "what": s.what, "node": s.node, "detail": s.detail} for s in path]
    opened = [i for i, s in enumerate(steps) if s["what"] == "enter"]
    out: list[Visit] = []
    seen: set[str] = set()
    sent_to_person = False
    for n, i in enumerate(opened):
        enter = steps[i]
        stop = opened[n + 1] if n + 1 < len(opened) else len(steps)
        kind, node = enter["detail"], enter["node"]
        exit_, answered, no_input, invalid = "next", False, 0, 0
        for s in steps[i + 1:stop]:
            what = s["what"]
            if what == "no_input":
                no_input += 1
            elif what == "invalid":
                invalid += 1
            elif what == "end":
                if s["detail"] in _HUNG_UP and not answered:
                    exit_ = "hung_up"
                elif not answered:
                    exit_ = "ended"
            else:
                decided = _decision(kind, what, s["detail"])
                if decided is not None:
                    exit_ = decided
                    answered = answered or (what == "queue" and decided == "answered")
        following = steps[opened[n + 1]] if n + 1 < len(opened) else None
        until = following["at"] if following else steps[stop - 1]["at"]
        to_person = (following is not None and following["detail"] in PERSON_KINDS
                     and not sent_to_person)
        sent_to_person = sent_to_person or to_person
        out.append(Visit(step=n, node=node, kind=kind,
                         seconds=round(max(until - enter["at"], 0.0), 3), exit=exit_,
                         next_node=following["node"] if following else "",
                         no_input=no_input, invalid=invalid, first=node not in seen,
                         to_person=to_person))
        seen.add(node)
    return tuple(out)


def visit_rows(config_version: int, started_epoch: float, call_id: str, dialled: str,
               path: Sequence) -> list[tuple]:
    """The ``INSERT_VISIT`` parameters of one call."""
    return [(config_version, started_epoch, call_id, v.step, dialled, v.node, v.kind,
             v.seconds, v.exit, v.next_node, v.no_input, v.invalid, int(v.first),
             int(v.to_person)) for v in visits(path)]


def hour_row(row: tuple) -> tuple:
    """The ``ADD_HOUR`` parameters of one ``visit_rows`` row."""
    (version, started, _, _, dialled, node, kind, _, exit_, next_node, no_input, invalid,
     first, to_person) = row
    return (version, int(started // 3600), dialled, node, kind, exit_, next_node, first,
            int(no_input > 0), int(invalid > 0), to_person)


def hour_time_row(row: tuple) -> tuple:
    """The ``ADD_HOUR_TIME`` parameters of one ``visit_rows`` row."""
    return (row[0], int(row[1] // 3600), row[4], row[5], int(row[7]))


def call_path_row(call_id: str, started_epoch: float, caller: str, config_version: int,
                  dialled: str, outcome: str, queue: str | None, rows: list[tuple]) -> tuple:
    """The ``INSERT_CALL_PATH`` parameters of one call: its path is the last play node it
    heard (where a bank flow answers: the balance, the loss reference, the hours; "" for
    none); served in the IVR = self-served and never queued; person = queued or transferred.
    """
    path = next((row[5] for row in reversed(rows) if row[6] == "play"), "")
    served = outcome == "self-served" and queue is None
    person = queue is not None or outcome == "transferred"
    return (caller, started_epoch, call_id, config_version, dialled, path, int(served),
            int(person))


def older_mode(path: Sequence) -> bool:
    """Whether the older callers' mode was on at some moment of the call."""
    return any((s["what"] if isinstance(s, dict) else s.what) == "mode" for s in path)


def store_call(db, call_id: str, started_epoch: float, caller: str, config_version: int,
               dialled: str, outcome: str, queue: str | None, path: Sequence) -> None:
    """Write one call's visits, hourly sums and ``ivr_calls`` row on the open connection
    ``db`` (inside the caller's transaction), and link the number's earlier calls to it."""
    rows = visit_rows(config_version, started_epoch, call_id, dialled, path)
    older = int(older_mode(path))
    db.executemany(INSERT_VISIT, [(*row, older) for row in rows])
    hours = [(*hour_row(row), older) for row in rows]
    times = [(*hour_time_row(row), older) for row in rows]
    db.executemany(ADD_HOUR, hours)
    db.executemany(ADD_HOUR_TIME, times)
    db.executemany(ADD_DAY, [(h[0], h[1] // 24, *h[2:]) for h in hours])
    db.executemany(ADD_DAY_TIME, [(t[0], t[1] // 24, *t[2:]) for t in times])
    call = call_path_row(call_id, started_epoch, caller, config_version, dialled, outcome,
                         queue, rows)
    later: tuple = (None, None)
    if caller:
        later = db.execute(_NEXT_OF_NEW, (started_epoch, caller)).fetchone()
        db.execute(_LINK_EARLIER, (started_epoch, caller, call[-1]))
    db.execute(INSERT_CALL_PATH, (*call, older, *later))
