"""``RuntimeLink``: the web service's ``ApplianceLink`` over a running ``Appliance``.

Threads. The media loop owns the appliance; web threads never change it and read only what
does not change under them (the configuration in force, an immutable document; the prompt
store's files and manifest). Between them:

* commands (an agent's state set from the web, new prompt audio) go on a queue; ``pump(now)``,
  which the run loop calls after every tick (as it calls ``ApplianceMetrics.sample``), applies
  them on the loop thread: the same ACD events as the keypad codes (``firmware/calls/stations.py``),
  without the beeps (the agent's phone hears nothing);
* the agent desktop and the CTI (docs/agent-desktop.md, docs/cti.md): a ``CtiFeed`` follows
  the ACD on the loop thread (events, each agent's desk, firmware/cti/feed.py) and hands every
  event to the ``WebhookSender``'s threads; web threads read what it published; a
  disposition is written to records.db by the web thread, its event emitted at the next pump;
* ``pump`` also publishes a snapshot (``LiveBoard.snapshot``) at most once a second of loop
  time; ``snapshot()`` returns the latest one (one reference swap: no lock on either side;
  its ``seq`` tells a reader whether it is new).

Heavy work (reports, decoding and synthesising prompts) runs in ``worker`` (a
``config.web.worker.Worker``, child processes with limits), which hands back data; what
changes the loop's objects still goes through the queue above. Everything else reads files
the loop never writes into: reports and the audit log from the
records database (own connections, WAL), prompts from the prompt store's folders, the log from
an in-memory ring. Audit entries are written by the calling thread and committed before
``audit`` returns.

    link = RuntimeLink(app, host_url=bank_url)
    app.start(); ... every tick: app.tick(now); link.pump(now)
    link.close()    # detaches the log ring
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from branchline import __version__
from branchline.acd import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    IllegalEvent,
    WrapUpEnded,
)
from branchline.acd.agent_states import ILLEGAL, TABLE, AgentState, Trigger
from branchline.config.document.model import SIMULATOR
from branchline.config.web.integrations import covers
from branchline.config.web.link import AGENT_ACTIONS, NotFound, Refused
from branchline.config.web.worker import Worker
from branchline.firmware.cti.feed import CtiFeed
from branchline.firmware.cti.pop import CallerHistory
from branchline.firmware.cti.webhooks import WebhookSender, WebhookTarget
from branchline.firmware.records.database import AuditEntry, Records
from branchline.firmware.records.dispositions import Disposition
from branchline.firmware.records.errors import SensitiveDataRefused
from branchline.firmware.web.call_monitor import MonitorRequest, request_monitor
from branchline.firmware.web.desk_control import ControlCommand
from branchline.firmware.web.desk_control import check as check_control
from branchline.firmware.web.desk_control import targets as control_targets
from branchline.firmware.web.insight import MenuReports
from branchline.firmware.web.listen import close_listen, open_listen
from branchline.firmware.web.live import LiveBoard
from branchline.firmware.web.logs import LogRing
from branchline.firmware.web.planning import WebPlanning
from branchline.firmware.web.prompts import WebPrompts
from branchline.firmware.web.reports import Reports
from branchline.firmware.web.sip import WebSip

__all__ = ["AgentCommand", "InstallPrompt", "RuntimeLink"]

log = logging.getLogger("branchline.web")

_SNAPSHOT_EVERY_S = 1.0
_TRIGGERS = {"login": Trigger.LOGIN, "ready": Trigger.READY, "not_ready": Trigger.NOT_READY,
             "end_wrapup": Trigger.WRAP_END, "logout": Trigger.LOGOUT}


@dataclass(frozen=True, slots=True)
class AgentCommand:
    agent_id: str
    action: str
    reason: str
    who: str
    station: str = ""  # login: where the agent sits (the desktop's choice); "": configured


@dataclass(frozen=True, slots=True)
class Disposed:
    agent_id: str
    call_id: str
    code: str
    notes: str


@dataclass(frozen=True, slots=True)
class InstallPrompt:
    name: str
    language: str
    audio: np.ndarray
    entry: Mapping[str, Any]


class RuntimeLink:
    """See the module docstring."""

    def __init__(self, app, *, host_url: str | None = None,
                 every_s: float = _SNAPSHOT_EVERY_S, worker: Worker | None = None):
        self.app = app
        self.worker = worker or Worker()
        self.every_s = every_s
        self._host_url = host_url
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._board = LiveBoard(app)
        self._seq = 0
        self._next = -float("inf")
        self._snapshot: dict = self._board.snapshot(app.clock.now(), 0)
        self._logs = LogRing().install()
        zone = app.clock.wall(0.0).tzinfo
        self._reports = Reports(app.data.records_db, self._document, zone,
                                self._now_epoch, self.worker)
        self._menus = MenuReports(app.data.records_db, zone, self.worker)
        self._prompts = WebPrompts(app.prompts, self._document, self._queue_prompt,
                                   self.worker)
        self.cti = CtiFeed(app, CallerHistory(zone, self._calls_today(zone)))
        self._agent_queues: tuple[object, dict[str, list[str]]] = (None, {})
        self.webhooks = WebhookSender(
            lambda scopes, e: covers(scopes, e.agent, e.queue, self.cti_agent_queues()))
        self.cti.listeners.append(self.webhooks.offer)
        self._sip = WebSip(app, self.audit)
        self.planning_work = WebPlanning(
            app.data, self._document, app.prompts.root,
            lambda: app.clock.wall(app.clock.now()).date(), self.audit, self.worker)

    def close(self) -> None:
        self._logs.remove()
        self.planning_work.close()
        self.webhooks.close()

    def _calls_today(self, zone) -> list:
        midnight = dt.datetime.combine(self.app.clock.wall(self.app.clock.now()).date(),
                                       dt.time(), zone).timestamp()
        with Records(self.app.data.records_db) as records:
            return list(records.iter_calls(midnight))

    def _document(self):
        return self.app.config.document  # one reference read; documents are immutable

    def _now_epoch(self) -> float:
        return self.app.wall_epoch(self.app.clock.now())

    # --- the loop's side ------------------------------------------------------------------

    def pump(self, now: float) -> None:
        """Apply queued commands; publish a snapshot if one is due (loop thread, every tick)."""
        commands = self._commands
        while not commands.empty():
            command = commands.get_nowait()
            if isinstance(command, AgentCommand):
                self._apply_agent(command, now)
            elif isinstance(command, Disposed):
                self.cti.disposed(command.agent_id, command.call_id, command.code,
                                  command.notes, now)
            elif isinstance(command, ControlCommand):
                command.apply(self.app, self.cti, now)
            elif isinstance(command, MonitorRequest):
                command.apply(self.app, now)
            else:
                self._apply_prompt(command)
        if now >= self._next:
            self._next = now + self.every_s
            self._seq += 1
            self._snapshot = self._board.snapshot(now, self._seq)
            self._sip.publish()

    def _apply_agent(self, command: AgentCommand, now: float) -> None:
        app = self.app
        agent_id = command.agent_id
        seat = command.station or (_station_of(app, agent_id) if command.action == "login"
                                   else _seat_of(app, agent_id))
        station = next((s for s in app.stations.values() if s.name == seat), None)
        event = {
            "login": lambda: AgentLogin(agent_id, command.station),
            "ready": lambda: AgentReady(agent_id),
            "not_ready": lambda: AgentNotReady(agent_id, command.reason),
            "end_wrapup": lambda: WrapUpEnded(agent_id),
            "logout": lambda: AgentLogout(agent_id),
        }[command.action]()
        accepted = app.acd_event(event, now)
        log.info("web: %s set agent %s %s: %s", command.who, agent_id, command.action,
                 "ok" if accepted else "refused by the ACD")
        # The station acts for the agent logged in at it, as after a keypad login.
        if accepted and station is not None:
            if command.action == "login":
                station.agent_id = agent_id
            elif command.action == "logout" and station.agent_id == agent_id:
                station.agent_id = None

    def _apply_prompt(self, command: InstallPrompt) -> None:
        # Memory only (the files are written already): the next Play of it uses the new audio.
        self.app.prompts.install(command.name, command.language, command.audio, command.entry)

    def _queue_prompt(self, name: str, language: str, audio: np.ndarray, entry: dict) -> None:
        self._commands.put(InstallPrompt(name, language, audio, entry))

    # --- live -----------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return self._snapshot

    def agent_command(self, agent_id: str, action: str, reason: str | None, who: str) -> None:
        document = self._document()
        agent = document.agent(agent_id)
        if agent is None:
            known = ", ".join(a.id for a in document.acd.agents) or "(none)"
            raise NotFound(f"agent {agent_id!r} is not configured; agents are: {known}",
                           code="unknown_agent")
        if action not in AGENT_ACTIONS:
            raise Refused(f"agent {agent_id}: action {action!r}; use one of "
                          f"{', '.join(AGENT_ACTIONS)}", code="bad_action")
        reasons = sorted(document.agent_codes.reasons.values())
        if action == "not_ready":
            reason = reason or "break"
            if reason not in reasons:
                raise Refused(f"agent {agent_id}: not-ready reason {reason!r}; use one of "
                              f"{', '.join(reasons)} (agent_codes.reasons)",
                              code="bad_reason")
        elif reason:
            raise Refused(f"agent {agent_id}: a reason goes with not_ready only, not with "
                          f"{action}", code="bad_reason")
        state = self._agent_state(agent_id)
        if state is not None and TABLE[state, _TRIGGERS[action]] is ILLEGAL:
            raise Refused(f"agent {agent_id} is {state.value}: {action} is not possible now"
                          f"{_hint(state)}", code="illegal_action")
        self.audit(who, f"agent {agent_id}: {action}" + (f" ({reason})" if reason else ""), "")
        self._commands.put(AgentCommand(agent_id, action, reason or "", who))

    def _agent_state(self, agent_id: str) -> AgentState | None:
        desk = self.cti.desk(agent_id)  # the loop's latest; the snapshot may be a second old
        if desk is not None:
            return AgentState(desk["state"])
        for row in self._snapshot["agents"]:
            if row["id"] == agent_id:
                return AgentState(row["state"])
        return None

    # --- the agent desktop and CTI ----------------------------------------------------------

    def agent_desk(self, agent_id: str) -> dict:
        document = self._document()
        agent = self._agent(document, agent_id)
        desk = self.cti.desk(agent_id)
        if desk is None:  # configured since the start: the ACD takes it at the next start
            row = next((r for r in self._snapshot["agents"] if r["id"] == agent_id), {})
            desk = {"agent": agent_id, "state": row.get("state", "logged_out"), "reason": "",
                    "since": self._now_epoch(), "station": agent.station, "seq": 0,
                    "call": None, "notice": None}
        taken = {s.name: s.agent_id for s in self.app.stations.values()}
        return {**desk, "name": agent.name, "home_station": agent.station,
                "stations": [name for name, who in taken.items() if who in (None, agent_id)],
                "reasons": sorted(document.agent_codes.reasons.values()),
                "dispositions": dict(document.agent_codes.dispositions),
                "targets": control_targets(self, document, agent_id)}

    def call_control(self, agent_id: str, action: str, target: str | None, who: str) -> None:
        self._commands.put(check_control(self, agent_id, action, target, who))

    def agent_login(self, agent_id: str, station: str | None, who: str) -> None:
        document = self._document()
        agent = self._agent(document, agent_id)
        seat = station or agent.station
        stations = {s.name: s.agent_id for s in self.app.stations.values()}
        if seat not in stations:
            raise Refused(f"agent {agent_id}: station {seat!r} is not a station of this "
                          f"board; choose one of {', '.join(stations) or '(none)'}",
                          code="unknown_station")
        if stations[seat] not in (None, agent_id):
            raise Refused(f"agent {agent_id}: station {seat} is in use by agent "
                          f"{stations[seat]}; choose another station", code="station_taken")
        state = self._agent_state(agent_id)
        if state is not None and state is not AgentState.LOGGED_OUT:
            raise Refused(f"agent {agent_id} is logged in already ({state.value}, station "
                          f"{_seat_of(self.app, agent_id)}); log out first to change station",
                          code="illegal_action")
        self.audit(who, f"agent {agent_id}: login at station {seat}", "")
        self._commands.put(AgentCommand(agent_id, "login", "", who, seat))

    def disposition(self, agent_id: str, call_id: str, code: str, notes: str,
                    who: str) -> None:
        document = self._document()
        self._agent(document, agent_id)
        codes = document.agent_codes.dispositions
        if code not in codes:
            raise Refused(f"wrap-up code {code!r} is not configured; use one of "
                          f"{', '.join(codes)} (agent_codes.dispositions)", code="bad_code")
        if self.cti.answered_by(call_id) != agent_id:
            raise Refused(f"call {call_id!r} was not answered by agent {agent_id} since the "
                          "appliance started; give the disposition of a call you answered",
                          code="not_your_call")
        try:
            with Records(self.app.data.records_db) as records:
                records.add_disposition(Disposition(self._now_epoch(), agent_id, call_id, code,
                                                    notes))
        except SensitiveDataRefused:
            raise Refused("the notes hold what looks like a full card number; nothing was "
                          "stored. Write at most the last four digits (e.g. card ending 1234)",
                          code="card_number") from None
        self.audit(who, f"call {call_id}: disposition {code} by agent {agent_id}",
                   f"notes: {len(notes)} characters")
        self._commands.put(Disposed(agent_id, call_id, code, notes))

    def cti_events(self, after: int) -> dict:
        events, gap = self.cti.since(after)
        return {"stream": self.cti.stream, "last": self.cti.last_seq, "gap": gap,
                "events": events}

    def cti_agent_queues(self) -> dict[str, list[str]]:
        document = self._document()
        cached, queues = self._agent_queues
        if cached is not document:
            queues = {a.id: [m.queue for m in a.queues] for a in document.acd.agents}
            self._agent_queues = (document, queues)
        return queues

    def cti_webhooks(self, targets: list[dict]) -> None:
        self.webhooks.set_targets(WebhookTarget(t["name"], t["url"], t["secret"],
                                                frozenset(t["scopes"])) for t in targets)

    @staticmethod
    def _agent(document, agent_id: str):
        agent = document.agent(agent_id)
        if agent is None:
            known = ", ".join(a.id for a in document.acd.agents) or "(none)"
            raise NotFound(f"agent {agent_id!r} is not configured; agents are: {known}",
                           code="unknown_agent")
        return agent

    # --- reports --------------------------------------------------------------------------

    def kpis(self, start_epoch: float, end_epoch: float, interval_s: int | None) -> dict:
        return self._reports.kpis(start_epoch, end_epoch, interval_s)

    def export_csv(self, kind: str, start: float, end: float) -> str:
        return self._reports.export_csv(kind, start, end)

    def queue_log(self, start: float, end: float) -> str:
        return self._reports.queue_log(start, end)

    def menus(self, version, dialled, start, end, window_s, repeat_s, mode=None) -> dict:
        return self._menus.menus(version, dialled, start, end, window_s, repeat_s, mode)

    def menus_csv(self, version, dialled, start, end, mode=None) -> str:
        return self._menus.menus_csv(version, dialled, start, end, mode)

    def compare_menus(self, before, after, start, end, mode=None) -> dict:
        return self._menus.compare(before, after, start, end, mode)

    # --- workforce planning ---------------------------------------------------------------

    def planning(self, day: str, queue: str | None) -> dict:
        return self.planning_work.view(day, queue)

    def save_roster_day(self, day, shifts, base, note, who) -> dict:
        return self.planning_work.save_day(day, shifts, base, note, who)

    def check_roster(self, day: str, who: str) -> dict:
        return self.planning_work.check(day, who)

    # --- system ---------------------------------------------------------------------------

    def board_status(self) -> dict:
        snapshot = self._snapshot
        board = dict(snapshot["board"])
        board.update(time=snapshot["time"], config_version=snapshot["config_version"],
                     active_calls=len(snapshot["calls"]), firmware=__version__)
        return board

    def sip_status(self) -> dict | None:
        return self._sip.status()

    def sip_password(self, account: str, password: str | None, who: str) -> str | None:
        return self._sip.set_password(account, password, who)

    def fleet_status(self) -> dict | None:
        shipper = self.app.shipper
        if shipper is None:
            return None
        s = shipper.status()  # a frozen value the shipper thread swaps whole
        return {"connected": s.connected, "lag_s": s.lag_s, "unshipped": s.unshipped,
                "last_error": s.last_error}

    def selftest(self) -> dict:
        """Every port's receive chain (DTMF and busy tone), as ``branchline selftest`` runs it:
        on DSP objects of its own, so the live loop is not disturbed."""
        from branchline.firmware.cli.main import run_selftest

        ports = self.app.board.ports
        started = time.perf_counter()
        checks = run_selftest(len(ports))
        results = [{"index": p.index, "name": p.name, "sent": c.sent, "heard": c.heard,
                    "busy_tone": c.busy, "ok": c.ok} for p, c in zip(ports, checks, strict=True)]
        return {"ok": all(r["ok"] for r in results), "ports": results,
                "seconds": round(time.perf_counter() - started, 3)}

    def log_tail(self, lines: int) -> str:
        return self._logs.tail(lines)

    def firmware_version(self) -> str:
        return __version__

    def host_base_url(self) -> str | None:
        if self._host_url is not None:
            return self._host_url
        url = self._document().host.base_url
        return None if url == SIMULATOR else url

    # --- audit ----------------------------------------------------------------------------

    def listen(self, call_id: str, who: str, admin: bool):
        return open_listen(self, call_id, who, admin)

    def end_listen(self, tap) -> None:
        close_listen(self, tap)

    def monitor(self, call_id: str, action: str, who: str, admin: bool) -> dict:
        return request_monitor(self, call_id, action, who, admin)

    def audit(self, who: str, what: str, diff: str) -> None:
        entry = AuditEntry(self._now_epoch(), who, what, diff)
        with Records(self.app.data.records_db) as records:
            records.add_audit(entry)

    def audit_entries(self, since_epoch: float) -> list[dict]:
        with Records(self.app.data.records_db) as records:
            return [{"time": e.at, "who": e.who, "what": e.what, "diff": e.diff}
                    for e in records.iter_audit(since_epoch)]

    # --- prompts --------------------------------------------------------------------------

    def prompt_list(self) -> list[dict]:
        return self._prompts.list()

    def prompt_audio(self, name: str, language: str) -> bytes:
        return self._prompts.audio(name, language)

    def unit_audio(self, unit: str, language: str) -> bytes:
        return self._prompts.unit_audio(unit, language)

    def store_prompt(self, name: str, language: str, data: bytes, who: str) -> dict:
        result = self._prompts.upload(name, language, data)
        self.audit(who, f"prompt {name} ({language}): recording uploaded",
                   f"{len(data)} bytes -> {result['duration_s']} s at 8 kHz")
        return result

    def synthesise_prompt(self, name: str, language: str, text: str, who: str) -> dict:
        result = self._prompts.synthesise(name, language, text)
        self.audit(who, f"prompt {name} ({language}): synthesised", text)
        return result

    def recorded_prompt_files(self) -> dict[str, bytes]:
        return self._prompts.recorded_files()

    def restore_prompt_files(self, files: Mapping[str, bytes], who: str, *,
                             check_only: bool = False) -> list[str]:
        restored = self._prompts.restore_files(files, check_only=check_only)
        if restored and not check_only:
            self.audit(who, f"prompts restored from a backup: {len(restored)}",
                       "\n".join(restored))
        return restored


def _station_of(app, agent_id: str) -> str | None:
    agent = app.config.document.agent(agent_id)
    return agent.station if agent is not None else None


def _seat_of(app, agent_id: str) -> str | None:
    try:
        return app.acd.agent_station(agent_id)
    except IllegalEvent:
        return None


def _hint(state: AgentState) -> str:
    return "; log the agent in first" if state is AgentState.LOGGED_OUT else ""
