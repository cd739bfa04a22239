"""Prometheus metrics of the running appliance.

Written by hand in the text exposition format 0.0.4 (one ``# HELP`` and ``# TYPE`` per family,
``name{label="value"} number`` per sample, histograms as cumulative ``_bucket{le=...}`` with
``_sum`` and ``_count``): a dozen families do not justify a dependency on the appliance.

Threads. The media loop owns the appliance; the HTTP thread must never read it. So the loop
takes a ``RuntimeSnapshot`` (a frozen value) at most once a second and hands it over with
``ApplianceMetrics.sample(app, now)``; ``render()`` formats the latest snapshot from any thread
(swapping one reference is atomic, no lock is needed).

Integration (the run loop in ``firmware/cli/main.py``)::

    metrics = ApplianceMetrics()
    metrics.attach(app)                         # counts call outcomes as records are submitted
    every tick:  metrics.sample(app, now)      # cheap: does the work once a second

The web service (firmware/web/serve.py) serves ``metrics.render`` at ``/metrics`` and
``metrics.health`` at ``/healthz`` on the ``--listen`` port.

Families (docs/operations.md explains each):

=========================================  =========  ==========================================
``branchline_ticks_total``                 counter    media loop ticks run
``branchline_late_ticks_total``            counter    ticks started > 20 ms after they were due
``branchline_tick_duration_seconds``       histogram  time to run one tick
``branchline_active_calls``                gauge      trunk calls up now
``branchline_queue_waiting_calls{queue}``  gauge      callers in each queue
``branchline_agents{state}``               gauge      agents in each ACD state
``branchline_calls_total{outcome}``        counter    calls ended, by CDR outcome
``branchline_errors_total{kind}``          counter    calls ended by an exception, illegal ACD
                                                      events, records refused, database trouble
``branchline_records_pending``             gauge      records submitted, not yet committed
``branchline_draining``                    gauge      1 while draining
``branchline_config_version``              gauge      configuration version for new calls
``branchline_board_connected{board}``      gauge      1 while the board's link is up
``branchline_board_frames_total``          counter    frames the board link lost: ``kind`` bad
``{board,kind}``                                      (garbage, CRC, unparsable), lost (audio
                                                      concealed), late (audio dropped)
``branchline_board_heartbeats_missed_total``  counter  times the board went quiet past its
``{board}``                                           timeout
``branchline_board_reconnects_total{board}``  counter  times the serial port was reopened
``branchline_board_resets_total{board}``   counter    board restarts seen (reset, watchdog)
``branchline_board_ports_out_of_service``  gauge      the board's ports out of service now
``{board}``
``branchline_fleet_lag_seconds``           gauge      age of the oldest record not at the centre
``branchline_fleet_unshipped_records``     gauge      records not at the centre yet
``branchline_fleet_connected``, ``_shipped_records_total``, ``_failures_total``: the shipper
``branchline_sip_trunks{state}``           gauge      SIP trunks by registration state
``branchline_sip_phones{registered}``      gauge      phone accounts with / without a live binding
``branchline_sip_guard_total{kind}``       counter    scanner guard: auth_failures,
                                                      unknown_users, rate_limited,
                                                      blocked_requests, blocks
``branchline_sip_blocked_sources``         gauge      source addresses blocked now
``branchline_sip_outbound_refused_total``  counter    calls and transfers the outbound rule refused
``branchline_rtp_packets_total{kind}``     counter    RTP packets lost and late, every SIP call
=========================================  =========  ==========================================

Board families have a sample for each board that keeps fault counters (``board.counters``
and ``board.status()``, the serial driver's); the simulated board has none. SIP families are
there when the appliance has a SIP board (``sip_health``); taking them also logs each scanner
block begun since the last sample (the source and how long; the guard never sees a password).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from branchline.acd import AgentState, IllegalEvent
from branchline.firmware.fleet import ShipperStatus
from branchline.firmware.sip_board import sip_of

__all__ = [
    "TICK_BUCKETS_S",
    "ApplianceMetrics",
    "BoardHealth",
    "RuntimeSnapshot",
    "board_health",
    "parse_listen",
    "render_exposition",
    "sip_health",
    "snapshot_of",
]

log = logging.getLogger("branchline.metrics")
sip_log = logging.getLogger("branchline.sip")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Tick-duration buckets: the 20 ms block is the budget; 5 ms is the p99 the runtime aims at.
TICK_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02)
_LOOP_BIN_S = 50e-6  # the media loop's histogram bins (firmware/media_loop.py)
_ERROR_KINDS = {
    "call_errors": "call_exception",
    "illegal_acd": "acd_illegal_event",
    "records_refused": "record_refused",
    "records_trouble": "records_db_trouble",
}
_SAMPLE_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class BoardHealth:
    """One board's link faults, read from its driver's counters and status."""

    name: str
    connected: bool
    frames_bad: int = 0
    frames_lost: int = 0
    frames_late: int = 0
    heartbeats_missed: int = 0
    reconnects: int = 0
    resets: int = 0
    ports_out_of_service: int = 0


# The serial driver's counters (hw/serial/board.py, hw/protocol/endpoint.py, hw/serial/audio.py)
# that make up each board family.
_BAD_FRAMES = ("bad_cobs", "bad_crc", "short_frame", "long_frame", "bad_payload")


def board_health(board) -> BoardHealth | None:
    """The link health of a board whose driver keeps counters; None for one that does not."""
    status = getattr(board, "status", None)
    if status is None or not hasattr(board, "counters"):
        return None
    state = status()
    counts = state.get("counters") or board.counters
    ports = state.get("ports", [])
    return BoardHealth(
        name=str(state.get("name", "board0")),
        connected=bool(state.get("connected")),
        frames_bad=sum(counts.get(k, 0) for k in _BAD_FRAMES),
        frames_lost=counts.get("audio_lost", 0),
        frames_late=counts.get("audio_late", 0),
        heartbeats_missed=counts.get("heartbeat_timeouts", 0),
        reconnects=counts.get("reconnects", 0),
        resets=counts.get("board_resets", 0),
        ports_out_of_service=sum(not p.get("in_service", True) for p in ports),
    )


_REGISTRATION_STATES = ("idle", "registering", "registered", "refreshing", "retrying", "failed",
                        "unregistering")
_GUARD_KINDS = ("auth_failures", "unknown_users", "rate_limited", "blocked_requests", "blocks")


@dataclass(frozen=True, slots=True)
class SipHealth:
    """The SIP board's registrations, scanner guard, outbound refusals and RTP losses."""

    trunks: Mapping[str, int]  # registration state -> trunks in it
    phones_registered: int
    phones_unregistered: int
    guard: Mapping[str, int]
    blocked_sources: int
    outbound_refused: int
    rtp_lost: int
    rtp_late: int


def sip_health(board) -> SipHealth | None:
    """The health of the SIP board inside ``board`` (None without one); logs new blocks."""
    sip = sip_of(board)
    if sip is None:
        return None
    status = sip.status()
    guard = sip.guard
    while guard.started:
        sip_log.warning("SIP scanner guard: source %s blocked for %.0f s (%d authentication "
                        "failures or unknown-user requests within %.0f s)",
                        guard.started.popleft(), guard.block_for, guard.block_after,
                        guard.window)
    trunks = collections.Counter(r.state for r in status["trunks"].values())
    registered = sum(1 for bindings in status["phones"].values() if bindings)
    counters = status["counters"]
    return SipHealth(
        trunks={state: trunks.get(state, 0) for state in _REGISTRATION_STATES},
        phones_registered=registered, phones_unregistered=len(status["phones"]) - registered,
        guard={kind: status["guard"].get(kind, 0) for kind in _GUARD_KINDS},
        blocked_sources=status["guard"].get("blocked_sources", 0),
        outbound_refused=counters.get("outbound_refused", 0) + counters.get("dial_refused", 0)
        + counters.get("transfer_refused", 0),
        rtp_lost=status["rtp"]["lost"], rtp_late=status["rtp"]["late"])


@dataclass(frozen=True, slots=True)
class RuntimeSnapshot:
    """What the metrics show, taken by the loop thread at ``taken_at`` (loop time)."""

    taken_at: float
    ticks: int = 0
    late_ticks: int = 0
    tick_buckets: tuple[int, ...] = (0,) * len(TICK_BUCKETS_S)  # cumulative, per TICK_BUCKETS_S
    tick_seconds_sum: float = 0.0
    active_calls: int = 0
    waiting: Mapping[str, int] = field(default_factory=dict)
    agents: Mapping[str, int] = field(default_factory=dict)
    calls_by_outcome: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, int] = field(default_factory=dict)
    records_pending: int = 0
    draining: bool = False
    config_version: int = 0
    boards: tuple[BoardHealth, ...] = ()
    # The records shipper's status (firmware/fleet/), None when the branch has no centre.
    fleet: ShipperStatus | None = None
    sip: SipHealth | None = None  # None without a SIP board


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


class _Writer:
    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, **labels: str) -> None:
        if labels:
            body = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{body}}} {_number(value)}")
        else:
            self.lines.append(f"{name} {_number(value)}")


def render_exposition(s: RuntimeSnapshot) -> str:
    """The snapshot in the Prometheus text format 0.0.4."""
    w = _Writer()
    w.family("branchline_ticks_total", "counter", "Media loop ticks run.")
    w.sample("branchline_ticks_total", s.ticks)
    w.family("branchline_late_ticks_total", "counter",
             "Media loop ticks that started more than 20 ms after they were due.")
    w.sample("branchline_late_ticks_total", s.late_ticks)
    name = "branchline_tick_duration_seconds"
    w.family(name, "histogram", "Time to run one 20 ms media loop tick.")
    for edge, count in zip(TICK_BUCKETS_S, s.tick_buckets, strict=True):
        w.sample(f"{name}_bucket", count, le=repr(edge))
    w.sample(f"{name}_bucket", s.ticks, le="+Inf")
    w.sample(f"{name}_sum", s.tick_seconds_sum)
    w.sample(f"{name}_count", s.ticks)
    w.family("branchline_active_calls", "gauge", "Trunk calls up now.")
    w.sample("branchline_active_calls", s.active_calls)
    w.family("branchline_queue_waiting_calls", "gauge", "Callers in each queue now.")
    for queue, n in sorted(s.waiting.items()):
        w.sample("branchline_queue_waiting_calls", n, queue=queue)
    w.family("branchline_agents", "gauge", "Agents in each ACD state now.")
    for state in AgentState:
        w.sample("branchline_agents", s.agents.get(str(state), 0), state=str(state))
    w.family("branchline_calls_total", "counter", "Calls ended, by the outcome in their record.")
    for outcome, n in sorted(s.calls_by_outcome.items()):
        w.sample("branchline_calls_total", n, outcome=outcome)
    w.family("branchline_errors_total", "counter",
             "Things that went wrong: calls ended by an exception, illegal ACD events, "
             "records refused, records database trouble.")
    for kind in _ERROR_KINDS.values():
        w.sample("branchline_errors_total", s.errors.get(kind, 0), kind=kind)
    w.family("branchline_records_pending", "gauge", "Records submitted, not yet committed.")
    w.sample("branchline_records_pending", s.records_pending)
    w.family("branchline_draining", "gauge", "1 while the appliance drains before stopping.")
    w.sample("branchline_draining", s.draining)
    w.family("branchline_config_version", "gauge", "Configuration version new calls take.")
    w.sample("branchline_config_version", s.config_version)
    _render_boards(w, s.boards)
    if s.fleet is not None:
        _render_fleet(w, s.fleet)
    if s.sip is not None:
        _render_sip(w, s.sip)
    return "\n".join(w.lines) + "\n"


def _render_sip(w: _Writer, sip: SipHealth) -> None:
    w.family("branchline_sip_trunks", "gauge", "SIP trunks in each registration state.")
    for state, n in sip.trunks.items():
        w.sample("branchline_sip_trunks", n, state=state)
    w.family("branchline_sip_phones", "gauge",
             "SIP phone accounts with (registered=yes) and without a live registration.")
    w.sample("branchline_sip_phones", sip.phones_registered, registered="yes")
    w.sample("branchline_sip_phones", sip.phones_unregistered, registered="no")
    w.family("branchline_sip_guard_total", "counter",
             "Scanner guard: authentication failures, requests for unknown users, requests "
             "dropped while rate-limited or blocked, blocks begun.")
    for kind, n in sip.guard.items():
        w.sample("branchline_sip_guard_total", n, kind=kind)
    w.family("branchline_sip_blocked_sources", "gauge", "SIP source addresses blocked now.")
    w.sample("branchline_sip_blocked_sources", sip.blocked_sources)
    w.family("branchline_sip_outbound_refused_total", "counter",
             "Calls and transfers out that the outbound (toll-fraud) rule refused.")
    w.sample("branchline_sip_outbound_refused_total", sip.outbound_refused)
    w.family("branchline_rtp_packets_total", "counter", "RTP packets lost and late, all calls.")
    w.sample("branchline_rtp_packets_total", sip.rtp_lost, kind="lost")
    w.sample("branchline_rtp_packets_total", sip.rtp_late, kind="late")


def _render_fleet(w: _Writer, f: ShipperStatus) -> None:
    w.family("branchline_fleet_connected", "gauge", "1 while the shipper holds a connection "
             "to the centre.")
    w.sample("branchline_fleet_connected", f.connected)
    if f.lag_s is not None:
        w.family("branchline_fleet_lag_seconds", "gauge", "Age of the oldest record not yet "
                 "at the centre (0 when all are there).")
        w.sample("branchline_fleet_lag_seconds", f.lag_s)
        w.family("branchline_fleet_unshipped_records", "gauge",
                 "Records not yet at the centre.")
        w.sample("branchline_fleet_unshipped_records", f.unshipped or 0)
    w.family("branchline_fleet_shipped_records_total", "counter",
             "Records this run shipped to the centre.")
    w.sample("branchline_fleet_shipped_records_total", f.shipped_total)
    w.family("branchline_fleet_failures_total", "counter",
             "Times the centre could not be reached or refused.")
    w.sample("branchline_fleet_failures_total", f.failures_total)


def _render_boards(w: _Writer, boards: tuple[BoardHealth, ...]) -> None:
    w.family("branchline_board_connected", "gauge", "1 while the board's link is up.")
    for b in boards:
        w.sample("branchline_board_connected", b.connected, board=b.name)
    name = "branchline_board_frames_total"
    w.family(name, "counter", "Frames the board link lost: bad (garbage, CRC errors, "
             "unparsable), lost (audio concealed), late (audio dropped).")
    for b in boards:
        for kind, n in (("bad", b.frames_bad), ("lost", b.frames_lost),
                        ("late", b.frames_late)):
            w.sample(name, n, board=b.name, kind=kind)
    for name, attribute, help_text, kind in (
        ("branchline_board_heartbeats_missed_total", "heartbeats_missed",
         "Times the board went quiet for longer than its timeout.", "counter"),
        ("branchline_board_reconnects_total", "reconnects",
         "Times the board's serial port failed and was reopened.", "counter"),
        ("branchline_board_resets_total", "resets",
         "Board restarts seen (reset, watchdog, power).", "counter"),
        ("branchline_board_ports_out_of_service", "ports_out_of_service",
         "The board's ports out of service now.", "gauge"),
    ):
        w.family(name, kind, help_text)
        for b in boards:
            w.sample(name, getattr(b, attribute), board=b.name)


def _tick_buckets(histogram, longest_s: float) -> tuple[tuple[int, ...], float]:
    """Cumulative counts at TICK_BUCKETS_S from the loop's 50 us bins, and the estimated sum.

    The sum takes each tick at its bin's centre (the overflow bin at the longest tick seen):
    within 25 us per tick, which is what a dashboard's mean needs.
    """
    counts = [int(c) for c in histogram]
    cumulative = list(_running(counts))
    buckets = tuple(cumulative[round(edge / _LOOP_BIN_S) - 1] for edge in TICK_BUCKETS_S)
    last = len(counts) - 1
    total = sum(c * (i + 0.5) * _LOOP_BIN_S for i, c in enumerate(counts[:last]))
    return buckets, total + counts[last] * longest_s


def _running(values):
    total = 0
    for v in values:
        total += v
        yield total


def snapshot_of(app, now: float, outcomes: Mapping[str, int]) -> RuntimeSnapshot:
    """Read a running ``Appliance`` (loop thread only) into a snapshot."""
    stats = app.loop.stats
    buckets, seconds = _tick_buckets(stats.histogram, stats.longest_s)
    acd_config = app.config.document.acd
    waiting = {}
    for queue in acd_config.queues:
        try:
            waiting[queue.name] = app.acd.waiting(queue.name)
        except IllegalEvent:
            continue  # added by a config the ACD has not taken yet (see Appliance.reload)
    agents = collections.Counter()
    for agent in acd_config.agents:
        try:
            agents[str(app.acd.agent_state(agent.id))] += 1
        except IllegalEvent:
            continue
    errors = {kind: app.counters.get(key, 0) for key, kind in _ERROR_KINDS.items()}
    health = board_health(app.board)
    return RuntimeSnapshot(
        taken_at=now, ticks=stats.ticks, late_ticks=stats.late, tick_buckets=buckets,
        tick_seconds_sum=seconds, active_calls=app.active_calls, waiting=waiting,
        agents=dict(agents), calls_by_outcome=dict(outcomes), errors=errors,
        records_pending=app.writer.pending, draining=app.draining,
        config_version=app.config.version, boards=() if health is None else (health,),
        fleet=None if getattr(app, "shipper", None) is None else app.shipper.status(),
        sip=sip_health(app.board))


class ApplianceMetrics:
    """The latest snapshot, and the outcome counts gathered between snapshots."""

    def __init__(self, *, every_s: float = _SAMPLE_EVERY_S,
                 clock: Callable[[], float] = time.monotonic, stale_after_s: float = 5.0):
        self.every_s = every_s
        self.stale_after_s = stale_after_s
        self._clock = clock
        self._outcomes: collections.Counter[str] = collections.Counter()
        self._snapshot: RuntimeSnapshot | None = None
        self._sampled_at: float | None = None  # on `clock`, for /healthz
        self._next = -float("inf")

    def attach(self, app) -> None:
        """Count each call's outcome as the appliance submits its record."""
        submit = app.submit_record

        def counted(record):
            self.record_outcome(str(record.outcome))
            return submit(record)

        app.submit_record = counted

    def record_outcome(self, outcome: str) -> None:
        self._outcomes[outcome] += 1

    def sample(self, app, now: float) -> bool:
        """Take a snapshot if a second of loop time has passed; True if it did."""
        if now < self._next:
            return False
        self._next = now + self.every_s
        self.update(snapshot_of(app, now, self._outcomes))
        return True

    def update(self, snapshot: RuntimeSnapshot) -> None:
        self._snapshot = snapshot
        self._sampled_at = self._clock()

    def render(self) -> str:
        snapshot = self._snapshot
        return render_exposition(snapshot if snapshot is not None else RuntimeSnapshot(0.0))

    def health(self) -> tuple[bool, str]:
        """(healthy, reason): healthy while the loop has sampled within ``stale_after_s``."""
        if self._sampled_at is None:
            return False, "starting: the media loop has not reported yet"
        age = self._clock() - self._sampled_at
        if age > self.stale_after_s:
            return False, f"stalled: the media loop last reported {age:.1f} s ago"
        if self._snapshot is not None and self._snapshot.draining:
            return True, "draining"
        return True, "ok"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"--listen {text!r}: expected HOST:PORT with a port 0-65535, "
                         "e.g. 127.0.0.1:9108 or [::1]:9108")
    return host.strip("[]"), int(port)
