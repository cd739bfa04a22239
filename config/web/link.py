"""What the web service asks of the running appliance: the ``ApplianceLink`` protocol.

``config.web`` never imports ``branchline.firmware`` (DESIGN: the web service gets live data
through an interface the runtime hands in). The runtime's implementation is
``branchline.firmware.web.link.RuntimeLink``; ``create_app(store, link, ...)`` takes any object
with these methods. Every method may be called from any thread (the web server's threads); the
media loop runs in another one, so an implementation hands commands to the loop and reads
what the loop published, never the loop's own objects.

Shapes (JSON-able dicts; times are UTC epoch seconds, durations seconds):

``snapshot()``, taken by the loop at most once a second::

    {"seq": 17, "time": 1732350000.0, "config_version": 3,
     "calls": [{"call_id", "port", "caller", "state", "node", "queue", "class",
                "waiting_s", "agent"}],
     "queues": [{"name", "waiting": {class: n}, "oldest_wait_s", "service_level_today",
                 "target": {class: {"percent", "seconds"}}, "answered_today",
                 "abandoned_today"}],
     "agents": [{"id", "name", "station", "state", "reason", "since_s", "calls_today"}],
     "board": {"driver", "ports": [{"index", "name", "kind", "state"}]}}

``agent_desk(agent_id)``, an agent's desktop (loop-published, current within a tick)::

    {"agent", "name", "state", "reason", "since" (epoch), "station", "seq",
     "call": null | {"call_id", "phase": offered|talking|wrap_up|done, "pop" (the CTI
             ``offered`` data), "answered_at", "disposition": null | {"code", "notes"},
             "control": null | {"phase": talking|held|consult_ringing|consulting|
                                conference|transfer_ringing, "agent" (in control), "held",
                                "held_since", "hold_s", "colleague"}},
     "notice": null | {"action", "message", "time"} (the last call-control step the loop
             refused), "stations": [free station names], "reasons": [...],
     "dispositions": {code: label},
     "targets": {"agents": [{"id", "name", "state"}], "queues": [...],
                 "outside": {digit: number}}}

``call_control(agent_id, action, target, who)`` asks for one of ``CALL_ACTIONS`` on the call
the agent has (docs/call-control.md): checked now against the desk (NotFound, Refused with
the fix), audited, applied at the loop's next tick like the keypad's codes; a step the loop
then refuses (the colleague's phone went off hook meanwhile) shows as the desk's ``notice``.

``cti_events(after)`` gives the CTI events (``config.web.cti_events``) after seq ``after`` as
``{"stream", "last", "gap", "events": [(seq, type, agent, queue, json text)]}``.

A call's ``state`` is one of ``ringing`` (not answered yet), ``ivr`` (in the flow, the
survey after an agent included), ``queued``, ``offered`` (an agent's phone rings) or
``talking``; ``seq`` grows by one per snapshot.

Exceptions (what the routers turn into the error shape of ``config.web.errors``)::

    LinkError                  base
    ├── NotFound (LookupError) no such agent / prompt / recording: 404
    └── Refused (ValueError)   the request is wrong: bad action for the agent's state, bad
        │                      prompt name or language, unknown upload type: 422 or 409
        └── TooLarge           an upload over its size limit: 413

Each carries ``code`` (a short machine name such as ``illegal_action``) and a message that
says where, what is wrong and what would be right.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "AGENT_ACTIONS",
    "CALL_ACTIONS",
    "EXPORT_KINDS",
    "MAX_PROMPT_UPLOAD",
    "AgentAction",
    "ApplianceLink",
    "CallAction",
    "ExportKind",
    "LinkError",
    "NotFound",
    "Refused",
    "TooLarge",
]

AgentAction = Literal["login", "ready", "not_ready", "end_wrapup", "logout"]
CallAction = Literal["hold", "retrieve", "consult", "cancel", "complete", "conference",
                     "transfer_agent", "transfer_queue", "transfer_outside"]
CALL_ACTIONS: tuple[str, ...] = ("hold", "retrieve", "consult", "cancel", "complete",
                                 "conference", "transfer_agent", "transfer_queue",
                                 "transfer_outside")
AGENT_ACTIONS: tuple[str, ...] = ("login", "ready", "not_ready", "end_wrapup", "logout")
ExportKind = Literal["calls", "intervals", "agents"]
EXPORT_KINDS: tuple[str, ...] = ("calls", "intervals", "agents")
# An uploaded prompt recording (our choice: five minutes of 16-bit 16 kHz mono WAV is 9.6 MB).
MAX_PROMPT_UPLOAD = 10 * 1024 * 1024


class LinkError(Exception):
    """Base of the link's errors; ``code`` names the problem for the API's error shape."""

    code = "link_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class NotFound(LinkError, LookupError):
    code = "not_found"


class Refused(LinkError, ValueError):
    code = "refused"


class TooLarge(Refused):
    code = "too_large"


@runtime_checkable
class ApplianceLink(Protocol):
    """The running appliance as the web service sees it (see the module docstring)."""

    # --- live -------------------------------------------------------------------------------
    def snapshot(self) -> dict: ...

    def agent_command(self, agent_id: str, action: AgentAction, reason: str | None,
                      who: str) -> None:
        """Checked now (NotFound, Refused), applied by the loop at its next tick, audited."""

    # --- the agent desktop and CTI (docs/agent-desktop.md, docs/cti.md) ----------------------
    def agent_desk(self, agent_id: str) -> dict: ...

    def agent_login(self, agent_id: str, station: str | None, who: str) -> None:
        """Log the agent in at ``station`` (None: the configured one); checked now (NotFound,
        Refused: unknown or taken station, already logged in elsewhere), applied at the next
        tick, audited."""

    def disposition(self, agent_id: str, call_id: str, code: str, notes: str,
                    who: str) -> None:
        """Store the call's wrap-up code and notes (committed before it returns), audited;
        Refused for a call the agent did not answer, an unknown code, a card number."""

    def call_control(self, agent_id: str, action: CallAction, target: str | None,
                     who: str) -> None:
        """Hold, retrieve, consult, transfer... the agent's call (see the module docstring)."""

    def cti_events(self, after: int) -> dict: ...

    def cti_agent_queues(self) -> dict[str, list[str]]:
        """Each configured agent's queues (what a queue scope covers)."""

    def cti_webhooks(self, targets: list[dict]) -> None:
        """Deliver to these webhooks from now on: ``{"name", "url", "secret": bytes,
        "scopes": [...]}`` each."""

    # --- reports ----------------------------------------------------------------------------
    def kpis(self, start_epoch: float, end_epoch: float, interval_s: int | None) -> dict: ...

    def export_csv(self, kind: ExportKind, start: float, end: float) -> str: ...

    def queue_log(self, start: float, end: float) -> str: ...

    # The menus from the callers' side (docs/ivr-insight.md): ``dialled`` are the flow's lines;
    # ``mode`` "older" / "standard" keeps one caller mode's calls (None: all).
    def menus(self, version: int, dialled: list[str], start: float, end: float,
              window_s: float, repeat_s: float, mode: str | None = None) -> dict: ...

    def menus_csv(self, version: int, dialled: list[str], start: float, end: float,
                  mode: str | None = None) -> str: ...

    def compare_menus(self, before: tuple[int, list[str]], after: tuple[int, list[str]],
                      start: float, end: float, mode: str | None = None) -> dict: ...

    # --- workforce planning (docs/planning.md; firmware/web/planning.py has the shapes) --------
    def planning(self, day: str, queue: str | None) -> dict:
        """The day's plan per interval (one queue or all), its shifts, the last check, and
        for a day that has begun what happened and adherence. Refused: bad day or queue."""

    def save_roster_day(self, day: str, shifts: list[dict], base: int | None, note: str,
                        who: str) -> dict:
        """The day's shifts as a new roster version, audited; Refused with ``issues`` (the
        day's rows) for bad shifts, code ``conflict`` when ``base`` is stale."""

    def check_roster(self, day: str, who: str) -> dict:
        """The roster in force simulated on the day in event mode (a worker process), kept
        for the page and audited; Refused without a roster or shifts that day."""

    # --- system -----------------------------------------------------------------------------
    def board_status(self) -> dict: ...

    def sip_status(self) -> dict | None:
        """The SIP trunks' registrations and the phones' bindings, None without SIP::

            {"trunks": [{"name", "registers", "address", "state", "reason", "registrar",
                         "expires", "next_attempt", "password_set"}],
             "phones": [{"station", "extension", "password_set",
                         "bindings": [{"address", "transport", "user_agent", "last_seen",
                                       "expires"}]}]}
        """

    def sip_password(self, account: str, password: str | None, who: str) -> str | None:
        """Set ``account``'s (``trunk:<name>``, ``phone:<station>``) SIP password, or generate
        one (``password`` None) and return it, the only time it is shown. Audited without it.
        NotFound for an account the configuration lacks; Refused ``weak_password``."""

    def fleet_status(self) -> dict | None:
        """How far this branch's records are from the centre (docs/fleet.md): connected,
        lag_s, unshipped, last_error; None when the branch ships to no centre."""
        ...

    def selftest(self) -> dict: ...

    def log_tail(self, lines: int) -> str: ...

    def firmware_version(self) -> str: ...

    def host_base_url(self) -> str | None: ...

    # --- audit ------------------------------------------------------------------------------
    def audit(self, who: str, what: str, diff: str) -> None:
        """Stored (committed) before it returns."""

    def audit_entries(self, since_epoch: float) -> list[dict]: ...

    # --- call control -----------------------------------------------------------------------
    def listen(self, call_id: str, who: str, admin: bool) -> Any:
        """A tap on a call's voices (``take()`` -> int16 LE bytes at 8 kHz, ``ended``);
        NotFound / Refused as docs/call-control.md says."""

    def end_listen(self, tap: Any) -> None:
        """End a tap; audited with its duration."""

    def monitor(self, call_id: str, action: str, who: str, admin: bool) -> dict:
        """Whisper, barge, take over or leave a call from ``who``'s own phone (the station
        ``call_control.supervisors`` gives them), applied by the loop before it returns;
        NotFound / Refused (no station, phone on hook, not allowed...) with the fix."""

    # --- prompts ----------------------------------------------------------------------------
    def prompt_list(self) -> list[dict]: ...

    def prompt_audio(self, name: str, language: str) -> bytes: ...

    # A speech unit's WAV (num/2, money/yuan): Try it plays spoken amounts and dates from them.
    def unit_audio(self, unit: str, language: str) -> bytes: ...

    def store_prompt(self, name: str, language: str, data: bytes, who: str) -> dict: ...

    def synthesise_prompt(self, name: str, language: str, text: str, who: str) -> dict: ...

    # --- backup (config/web/backup.py) ------------------------------------------------------
    def recorded_prompt_files(self) -> dict[str, bytes]:
        """Recorded prompts as ``{"<language>/<name>.<wav|flac>": bytes}``."""

    def restore_prompt_files(self, files: Mapping[str, bytes], who: str, *,
                             check_only: bool = False) -> list[str]:
        """Install recorded prompts (keys as ``recorded_prompt_files`` gives them); the
        names (``<lang>/<name>``). Every file is checked before any is written;
        ``check_only`` checks and writes nothing."""
