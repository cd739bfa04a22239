"""The live view of a running appliance for the web: calls, queues, agents and ports.

``LiveBoard(app)`` follows the ACD's event log as the appliance takes it (it wraps
``app.acd.take_log``, the way ``ApplianceMetrics.attach`` wraps ``submit_record``): each entry
is folded in O(1) on the loop thread into

* the callers waiting per queue and priority class, and since when (ENTERQUEUE until CONNECT,
  ABANDON, EXITWITHTIMEOUT, EXITEMPTY or EXITWITHKEY, as ``ops_report.waiting_series`` counts);
* each agent's state, reason and since when (AGENTSTATE);
* today's figures per queue and calls answered per agent: a ``branchline.acd.KpiAccumulator``
  fed the day's queue events (the same fold as every other KPI of Branchline), started again
  at local midnight.

``snapshot(now)`` (loop thread only) reads that and the call sessions into the dict that
``config.web.link`` describes. It touches nothing per sample and nothing per agent beyond one
dict entry; ``bench/web.py`` measures it with 120 ports, 200 agents and 500 callers waiting.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from branchline.acd import IllegalEvent, QueueEventKind
from branchline.acd.kpis import KpiAccumulator
from branchline.firmware.ops.metrics import board_health

__all__ = ["LiveBoard"]

_LEAVE = frozenset({QueueEventKind.CONNECT, QueueEventKind.ABANDON,
                    QueueEventKind.EXITWITHTIMEOUT, QueueEventKind.EXITEMPTY,
                    QueueEventKind.EXITWITHKEY})
_DAY_S = 86400.0


@dataclass(slots=True)
class _Waiting:
    queue: str
    klass: str
    since: float


@dataclass(slots=True)
class _AgentNow:
    state: str = "logged_out"
    reason: str = ""
    since: float = 0.0


class LiveBoard:
    """Live calls, queues and agents of ``app`` (see the module docstring)."""

    def __init__(self, app):
        self.app = app
        self._waiting: dict[str, _Waiting] = {}
        self._agents: dict[str, _AgentNow] = {}
        self._day: object = None
        self._port_rows: tuple[int, list] | None = None
        self._today = self._new_day(0.0)
        take = app.acd.take_log

        def taken():
            entries = take()
            if entries:
                self.follow(entries)
            return entries

        app.acd.take_log = taken

    def _new_day(self, now: float) -> KpiAccumulator:
        self._day = self.app.clock.wall(now).date()
        return KpiAccumulator(self.app.config.document.acd.queues, interval_s=_DAY_S)

    # --- folding the log (loop thread) -------------------------------------------------------

    def follow(self, entries) -> None:
        for e in entries:
            kind = e.kind
            if kind is QueueEventKind.AGENTSTATE:
                agent = self._agents.setdefault(e.agent_id, _AgentNow())
                agent.state, agent.reason, agent.since = e.new_state, e.reason, e.time
                continue  # time in state is for reports, not for the wallboard's counters
            if kind is QueueEventKind.ENTERQUEUE:
                self._waiting[e.call_id] = _Waiting(e.queue, e.priority_class, e.time)
            elif kind in _LEAVE:
                self._waiting.pop(e.call_id, None)
            self._today.add(e)

    def _roll_day(self, now: float) -> None:
        if self.app.clock.wall(now).date() != self._day:
            self._today = self._new_day(now)

    # --- the snapshot (loop thread) ----------------------------------------------------------

    def snapshot(self, now: float, seq: int) -> dict:
        self._roll_day(now)
        app = self.app
        document = app.config.document
        today = self._today.report(now)
        return {
            "seq": seq,
            "time": app.wall_epoch(now),
            "config_version": app.config.version,
            "calls": [self._call(call, now) for call in app.calls.values()],
            "queues": self._queues(document, today, now),
            "agents": self._agent_rows(document, today, now),
            "board": self.board(),
        }

    def _call(self, call, now: float) -> dict:
        s = call.s
        q = s.queueing
        session = s.session
        state = "ringing" if s.answered_at is None else "ivr"
        waiting_s = 0.0
        if q is not None and q.talk_started is not None:
            # After the conversation the caller is back in the flow (the survey): "ivr".
            state = "talking" if q.talk_ended is None else "ivr"
        elif q is not None and q.left is None and s.in_acd:
            state = "offered" if q.ringing else "queued"
            waiting_s = now - q.entered
        return {
            "call_id": call.call_id,
            "port": call.port_name,
            "caller": call.caller,
            "state": state,
            "node": session.node if session is not None else "",
            "queue": q.queue if q is not None else None,
            "class": q.priority_class if q is not None else None,
            "waiting_s": round(waiting_s, 1),
            "agent": q.agent_id if q is not None else None,
        }

    def _queues(self, document, today, now: float) -> list[dict]:
        waiting: dict[str, dict[str, int]] = {}
        oldest: dict[str, float] = {}
        for w in self._waiting.values():
            per_class = waiting.setdefault(w.queue, {})
            per_class[w.klass] = per_class.get(w.klass, 0) + 1
            oldest[w.queue] = min(oldest.get(w.queue, now), w.since)
        rows = []
        for queue in document.acd.queues:
            k = today.queues.get(queue.name)
            rows.append({
                "name": queue.name,
                "waiting": {c.name: waiting.get(queue.name, {}).get(c.name, 0)
                            for c in queue.classes},
                "oldest_wait_s": round(now - oldest.get(queue.name, now), 1),
                "service_level_today": k.service_level if k is not None else None,
                "target": {c.name: {"percent": c.service_level_pct,
                                    "seconds": c.service_level_s} for c in queue.classes},
                "answered_today": k.answered if k is not None else 0,
                "abandoned_today": (k.abandoned + k.short_abandoned) if k is not None else 0,
            })
        return rows

    def _agent_rows(self, document, today, now: float) -> list[dict]:
        rows = []
        for agent in document.acd.agents:
            seen = self._agents.get(agent.id, _AgentNow())
            try:
                state = str(self.app.acd.agent_state(agent.id))
            except IllegalEvent:
                state = seen.state  # not in the ACD until the next start (Appliance.reload)
            k = today.agents.get(agent.id)
            rows.append({
                "id": agent.id,
                "name": agent.name,
                "station": agent.station,
                "state": state,
                "reason": seen.reason if state == "not_ready" else "",
                "since_s": round(now - seen.since, 1),
                "calls_today": k.answered if k is not None else 0,
            })
        return rows

    def board(self) -> dict:
        """Ports and what is on each (loop thread, or a thread that accepts a racy read)."""
        app = self.app
        ports = []
        for index, name, kind, line in self._ports():
            if kind == "station":
                station = app.stations.get(index)
                agent = station.agent_id if station is not None else None
                state = station.state.value if station is not None else "idle"
                detail = f"agent {agent}" if agent else ""
            else:
                call = app.calls.get(index)
                state = "idle" if call is None else ("ringing" if not call.answered else "busy")
                detail = line
            ports.append({"index": index, "name": name, "kind": kind, "state": state,
                          "detail": detail})
        health = board_health(app.board)  # the serial driver's link faults; None on sim
        return {"driver": app.config.document.board.driver, "ports": ports,
                "link": asdict(health) if health is not None else None}

    def _ports(self) -> list[tuple[int, str, str, str]]:
        """(index, name, kind, line) per port; the lines change only with the config."""
        version = self.app.config.version
        if self._port_rows is None or self._port_rows[0] != version:
            document = self.app.config.document
            rows = []
            for port in self.app.board.ports:
                line = None if port.is_station else document.line_for(port.name)
                rows.append((port.index, port.name,
                             "station" if port.is_station else "trunk",
                             f"line {line.number} -> {line.flow}" if line is not None
                             else "" if port.is_station else "unused"))
            self._port_rows = (version, rows)
        return self._port_rows[1]
