"""Try it over HTTP: a simulated call through the caller's draft (admin only).

    POST   /api/tryit                 {flow?, caller_number?, language?, at?} -> state
    POST   /api/tryit/{id}/keys       {keys}                                 -> state
    POST   /api/tryit/{id}/advance    {seconds: number | "next"}             -> state
    DELETE /api/tryit/{id}                                                    (204)

The call runs ``tryit.TryIt`` on the flow of the caller's *draft* (what would be published, not
what is running); a draft with errors is refused with its issues, as publishing would be.
Trials live in memory per user: at most ``PER_USER`` each (starting one more ends the
oldest), ``MAX_TOTAL`` in all, and a trial idle for ``IDLE_S`` is forgotten. A host node's
request goes to ``link.host_base_url()`` + the endpoint's path over httpx with a short
timeout (``HOST_TIMEOUT_S``); its reply (or the failure, mapped as the runtime maps it:
timeout, unreachable, http_<status>, bad_reply) is shown and fed back to the call. With no
host configured the request answers ``error`` with code ``no_host``. The state is the
contract's: {id, node, path, playing, timers, budgets, events, outcome, ...}.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from branchline.config.document.loading import check_document
from branchline.config.web.auth import AdminUser
from branchline.config.web.errors import api_error, issues_from_report
from branchline.config.web.tryit import MAX_ADVANCE, QueueClasses, TryIt, TryItError
from branchline.ivr import CallStarted

__all__ = ["HOST_TIMEOUT_S", "IDLE_S", "MAX_TOTAL", "PER_USER", "Trials", "router"]

router = APIRouter(tags=["try it"])

PER_USER = 3
MAX_TOTAL = 30
IDLE_S = 15 * 60.0
HOST_TIMEOUT_S = 3.0   # our choice: an admin waits for the page, not the host's own timeout


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow: str | None = Field(None, description="a flow of your draft; default: the first")
    caller_number: str = Field("13800138000", pattern=r"^\+?[0-9]{3,20}$")
    language: Literal["zh", "yue", "en"] | None = Field(
        None, description="start in this language instead of the flow's default")
    at: dt.datetime | None = Field(None, description="the call's local time (schedules); "
                                                     "default now")

    @field_validator("at")
    @classmethod
    def _sane_year(cls, at: dt.datetime | None) -> dt.datetime | None:
        if at is not None and not 2000 <= at.year <= 2100:
            raise ValueError(f"year {at.year} is out of range; give a date between 2000 and "
                             "2100 (the call's local time)")
        return at


class KeysIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: str = Field(min_length=1, max_length=32, pattern=r"^[0-9*#A-D]+$")


class AdvanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: Annotated[float, Field(gt=0, le=MAX_ADVANCE)] | Literal["next"]


@dataclass(slots=True)
class _Entry:
    user: str
    trial: TryIt
    used: float
    endpoints: dict[str, str]
    lock: threading.Lock


class Trials:
    """The trials in memory, per user, bounded in count and idle time (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def add(self, user: str, trial_for: Callable[[str], TryIt],
            endpoints: dict[str, str]) -> _Entry:
        with self._lock:
            self._expire()
            mine = sorted((e for e in self._entries.values() if e.user == user),
                          key=lambda e: e.used)
            for old in mine[: max(len(mine) - PER_USER + 1, 0)]:
                del self._entries[old.trial.id]
            if len(self._entries) >= MAX_TOTAL:
                raise api_error(429, "too_many_trials",
                                f"{MAX_TOTAL} try-it calls are open on this appliance; end "
                                "one (or wait a quarter of an hour) and start again")
            trial = trial_for(f"try{next(self._ids)}")
            entry = _Entry(user, trial, self.clock(), endpoints, threading.Lock())
            self._entries[trial.id] = entry
            return entry

    def get(self, user: str, trial_id: str) -> _Entry:
        with self._lock:
            self._expire()
            entry = self._entries.get(trial_id)
            if entry is None or entry.user != user:
                raise api_error(404, "no_such_trial",
                                f"no try-it call {trial_id!r} of yours is open (they end after "
                                f"{IDLE_S / 60:.0f} idle minutes); start one with POST "
                                "/api/tryit")
            entry.used = self.clock()
            return entry

    def remove(self, user: str, trial_id: str) -> None:
        self.get(user, trial_id)
        with self._lock:
            self._entries.pop(trial_id, None)

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, e in self._entries.items() if now - e.used > IDLE_S]:
            del self._entries[key]


_MAKING = threading.Lock()


def _trials(request: Request) -> Trials:
    """The app's trials, made on first use (the app factory knows nothing of try-it)."""
    state = request.app.state
    with _MAKING:
        if not hasattr(state, "tryit_trials"):
            state.tryit_trials = Trials()
        return state.tryit_trials


def _state(request: Request, entry: _Entry) -> dict[str, Any]:
    """Answer pending host requests, then the trial's state."""
    trial = entry.trial
    while (pending := trial.pending_host) is not None:
        status, data = _ask_host(request.app.state.link.host_base_url(),
                                 entry.endpoints.get(pending.endpoint), dict(pending.body))
        trial.host_reply(pending.request_id, status, data)
    return trial.state()


def _ask_host(base: str | None, path: str | None, body: dict[str, str]
              ) -> tuple[str, dict[str, Any]]:
    # the runtime's HostClient mapping: only the host's own refusal is "error"
    if not base:
        return "failed", {"code": "no_host"}
    if path is None:
        return "failed", {"code": "unknown_endpoint"}
    try:
        response = httpx.post(base.rstrip("/") + path, json=body, timeout=HOST_TIMEOUT_S)
    except httpx.TimeoutException:
        return "timeout", {}
    except httpx.HTTPError:
        return "failed", {"code": "unreachable"}
    if not response.is_success:
        return "failed", {"code": f"http_{response.status_code}"}
    try:
        reply = response.json()
    except ValueError:
        return "failed", {"code": "bad_reply"}
    if isinstance(reply, dict) and reply.get("status") == "ok" \
            and isinstance(reply.get("data"), dict):
        return "ok", reply["data"]
    if isinstance(reply, dict) and reply.get("status") == "error" \
            and isinstance(reply.get("code"), str):
        return "error", {"code": reply["code"]}
    return "failed", {"code": "bad_reply"}


def _audio(link: Any) -> set[tuple[str, str]]:
    return {(p["name"], p["language"]) for p in link.prompt_list()
            if isinstance(p, dict) and "name" in p and "language" in p}


@router.post("/api/tryit", summary="Start a try-it call on your draft")
def start(body: StartIn, request: Request, user: AdminUser) -> dict[str, Any]:
    store = request.app.state.store
    document, report = check_document(store.draft(user.name).text)
    if document is None:
        raise api_error(422, "draft_invalid",
                        "your draft has errors; fix them (the flow page shows each on its "
                        "node) and try again: try-it runs the draft as it would be published",
                        issues=issues_from_report(report))
    name = body.flow or next(iter(document.flows))
    if name not in document.flows:
        raise api_error(404, "no_such_flow", f"your draft has no flow {name!r}; the flows are "
                        + ", ".join(document.flows))
    flow = document.flows[name]
    if body.language is not None:
        if body.language not in flow.languages:
            raise api_error(422, "bad_language",
                            f"flow {name!r} offers {', '.join(flow.languages)}, not "
                            f"{body.language!r}")
        flow = flow.model_copy(update={"default_language": body.language})
    zone = ZoneInfo(document.site.timezone)
    at = body.at or dt.datetime.now(zone)
    at = at.replace(tzinfo=zone) if at.tzinfo is None else at.astimezone(zone)
    port, line = next(((p, li) for p, li in document.lines.items() if li.flow == name),
                      ("fxo1", None))
    queues = {q.name: QueueClasses(tuple((c.name, c.priority) for c in q.classes),
                                   q.default_class) for q in document.acd.queues}
    durations: dict[str, dict[str, float]] = {}
    for p in request.app.state.link.prompt_list():
        if p.get("source") == "recorded" and p.get("duration_s"):
            durations.setdefault(p["name"], {})[p["language"]] = float(p["duration_s"])
    catalog = document.prompt_catalog(durations)
    audio = _audio(request.app.state.link)

    def trial_for(trial_id: str) -> TryIt:
        call = CallStarted(trial_id, body.caller_number, line.number if line else "",
                           port, document.is_vip(body.caller_number), at)
        return TryIt(trial_id, flow, catalog, call, audio=audio, queues=queues)

    entry = _trials(request).add(user.name, trial_for,
                                 {n: e.path for n, e in document.host.endpoints.items()})
    with entry.lock:
        entry.trial.start()
        return _state(request, entry)


@router.post("/api/tryit/{trial_id}/keys", summary="Press keys in a try-it call")
def keys(trial_id: str, body: KeysIn, request: Request, user: AdminUser) -> dict[str, Any]:
    entry = _trials(request).get(user.name, trial_id)
    with entry.lock:
        try:
            entry.trial.keys(body.keys)
        except TryItError as exc:
            raise api_error(409, "tryit_refused", str(exc)) from None
        return _state(request, entry)


@router.post("/api/tryit/{trial_id}/advance",
             summary="Let virtual time pass in a try-it call (seconds, or \"next\")")
def advance(trial_id: str, body: AdvanceIn, request: Request,
            user: AdminUser) -> dict[str, Any]:
    entry = _trials(request).get(user.name, trial_id)
    with entry.lock:
        try:
            entry.trial.advance(None if body.seconds == "next" else float(body.seconds))
        except TryItError as exc:
            raise api_error(409, "tryit_refused", str(exc)) from None
        return _state(request, entry)


@router.delete("/api/tryit/{trial_id}", status_code=204, summary="End a try-it call")
def end(trial_id: str, request: Request, user: AdminUser) -> Response:
    _trials(request).remove(user.name, trial_id)
    return Response(status_code=204)
