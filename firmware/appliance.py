"""The composition root: one board, its media loop, the IVR and ACD engines, the records.

``Appliance(data_dir, board, clock, prompts, host, *, wait_for_host=False)`` wires:

* configuration: the data directory's ``ConfigStore`` (``open_config_store``; the default
  document on first run); every path in the directory comes from ``DataDir`` (``data``);
  ``config`` is the version in force. New calls take it; calls in progress keep theirs.
  Once a second of loop time the loop looks at the store's current version number (one small
  file); a new version is read and checked on a background thread (checking a document takes
  tens of milliseconds, more than a tick) and taken at the next look once it is ready.
  ``reload()`` does the same at once, synchronously (tests, start-up):
  flows, lines, prompts' texts, VIP numbers and agent codes apply to the next call at once.
  A changed ``acd`` section goes to ``Distributor.reconfigure`` (agents stay logged in,
  callers keep their places); what it refuses (queues added or removed, a strategy or the
  priority classes changed, a logged-in agent changed) applies at the next start, and a
  warning says so.
* the ``MediaLoop`` (this object is its handler), ``CallSession`` per trunk call,
  ``Station`` per FXS port, one ``Distributor`` whose ``next_deadline()`` is one timer on the
  loop's heap;
* records: a ``RecordWriter`` thread on ``records.db`` for call records, the ACD log
  (``Distributor.take_log()`` after every tick that produced entries) and agent state changes;
  a ``Recorder`` thread for WAV files; a ``RetentionKeeper`` thread that expires old
  records and recordings by the document's ``retention`` policy, at start and once a day.
  The loop never waits for any of them.
* call backs: the ACD's ``Callback`` decisions go to the ``Dialer`` (firmware/calls/callback.py),
  which dials out on a free trunk, detects the answer and bridges the reserved agent;
* ports out of service (``PortOutOfService``, ``LineState(present=False)``, an E1
  ``SpanAlarm``): what was up on the port ends at once, a station's agent is made not ready
  (``station_out_of_service``); the port takes nothing until it is back (``out_of_service``
  maps each such port to why);
* the bank host: ``host`` is a ``HostClient``; replies are polled every tick. On the virtual
  clock (``wait_for_host=True``) the loop waits for outstanding replies before moving time
  on, so a request takes no virtual time and a fast simulation never times out its own host.

``tick(now, due=None)`` runs one 20 ms block. ``drain()`` stops answering new calls;
``active_calls`` says how many are left; ``close(now)`` ends what is left (records written)
and stops the threads. ``counters`` holds what went wrong and how often (``illegal_acd``,
``call_errors``, ``records_refused``, ``records_trouble``, ``ports_out_of_service``,
``span_alarms``, ``polarity_reversals``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

from branchline.acd import (
    AgentNotReady,
    AgentStateChanged,
    Announce,
    Callback,
    CallLeftQueue,
    CancelOffer,
    Distributor,
    IllegalEvent,
    LeaveReason,
    Offer,
    Tick,
)
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document, open_config_store
from branchline.config.document.model import SIMULATOR
from branchline.config.store.versioned import ConfigStore
from branchline.dsp import CALL_PROGRESS_TONES, ToneSpec
from branchline.firmware.bankhost import ENDPOINTS as BANK_ENDPOINTS
from branchline.firmware.bankhost import BankHostSimulator
from branchline.firmware.calls.callback import Dialer
from branchline.firmware.calls.listen import Listeners
from branchline.firmware.calls.session import CallSession, ConfigInForce
from branchline.firmware.calls.sip_phones import SipPhones
from branchline.firmware.calls.stations import Station, StationState
from branchline.firmware.event_loop import EventLoop
from branchline.firmware.fleet import open_shipper
from branchline.firmware.host_client import HostClient
from branchline.firmware.media_loop import MediaLoop
from branchline.firmware.prompts.store import PromptStore
from branchline.firmware.records.cdr import acd_row
from branchline.firmware.records.database import (
    AgentStateChange,
    CallOpened,
    CallRecord,
    Records,
)
from branchline.firmware.records.reconcile import reconcile
from branchline.firmware.records.recorder import Recorder
from branchline.firmware.records.retention import RetentionKeeper, policy_of
from branchline.firmware.records.runs import RunLock
from branchline.firmware.records.writer import RecordWriter
from branchline.firmware.sip_board import TrunkPasswords, bind_outbound, sip_of, with_sip
from branchline.hw import SimBoard
from branchline.hw.ports import (
    CallerId,
    FarEndAnswered,
    FarEndHangup,
    HookFlash,
    LineState,
    OffHook,
    OnHook,
    PhoneConsult,
    PhoneConsultEnded,
    PhoneHold,
    PhoneTransfer,
    PolarityReversal,
    PortInService,
    PortOutOfService,
    Ring,
    SpanAlarm,
)
from branchline.hw.sim.event_board import EventSimBoard
from branchline.hw.sip.board_trunks import TransferEnded

__all__ = ["Appliance", "bank_host", "build_prompts", "open_sim", "scenario_file"]

log = logging.getLogger("branchline.appliance")

# Station feedback (our choice): one 150 ms beep at 950 Hz for an accepted code, three short
# ones for a refused code.
CONFIRM_BEEP = ToneSpec("confirm", (950.0,), -13.0, (150, 50))
ERROR_BEEP = ToneSpec("refused", (950.0,), -13.0, (80, 80, 80, 80, 80, 80))
_RELOAD_EVERY_TICKS = 50  # once a second of loop time
_ACD = "acd"


class Appliance:
    """See the module docstring."""

    def __init__(self, data_dir, board, clock, prompts, host, *, wait_for_host=False,
                 store: ConfigStore | None = None):
        self.data = DataDir.of(data_dir)
        self.data_dir = self.data.root
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.board = board
        self.clock = clock
        self.prompts = prompts
        self.host = host
        self.wait_for_host = wait_for_host
        self.store = store or open_config_store(self.data)
        self.config = self._load_current()
        document = self.config.document
        self._acd_section = document.acd
        self.acd = Distributor(document.acd.queues, document.acd.agents)
        # An event-mode board (simulate --media events) carries no audio: the event loop.
        loop = EventLoop if isinstance(board, EventSimBoard) else MediaLoop
        self.loop = loop(board, self, country=document.site.country)
        self.beep, self.error_beep = CONFIRM_BEEP, ERROR_BEEP
        self.busy_tone = CALL_PROGRESS_TONES[document.site.country]["busy"]
        self.epoch0 = clock.wall(0.0).timestamp()
        self.counters = collections.Counter()
        self.draining = False
        self.calls: dict[int, CallSession] = {}  # by trunk port, while the line is in use
        # The calls writing a recording or a message: after_render visits these (at most one
        # per talking agent or message), never every call, once a tick.
        self.recording: set[CallSession] = set()
        self.by_id: dict[str, CallSession] = {}  # every call until its record is written
        self.stations = {p.index: Station(self, p.index, p.name)
                         for p in board.ports if p.is_station}
        self._station_by_name = {s.name: s for s in self.stations.values()}
        self.out_of_service: dict[int, str] = {}  # port -> why (PortOutOfService, line cut)
        self.dialer = Dialer(self)
        self.trunk_passwords = TrunkPasswords.of(self.data, board, document)
        self.sip_phones = SipPhones(self, sip_of(board))  # a SIP phone's own buttons
        self.listeners = Listeners()  # the page listening to calls (firmware/calls/listen.py)
        # Watchers of call control's steps (firmware/calls/control.py; the CTI feed).
        self.control_listeners: list = []
        self._host_endpoint: dict[tuple[str, int], str] = {}
        self._host_outstanding = 0  # requests submitted and not yet answered
        self._boot = secrets.token_hex(3)  # start() makes it the run's locked identity
        self._run: RunLock | None = None
        self._serial = 0
        self._ticks = 0
        self._acd_deadline: float | None = None
        self.recorder = Recorder(self.data_dir)
        self.writer = RecordWriter(self.data.records_db, on_committed=self._committed,
                                   on_refused=self._refused, on_trouble=self._trouble)
        self.retention = RetentionKeeper(self.data_dir)
        # Records to the centre, when this branch has one (firmware/fleet/, docs/fleet.md).
        self.shipper = open_shipper(self.data, wall=lambda: self.wall_epoch(self.clock.now()))
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="config-load")
        self._loading: Future | None = None
        self._unloadable: int | None = None  # a version that failed to load: not tried again

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> None:
        # Alive (locked) before reconciling, so no other start takes this run's calls for lost.
        self._run = RunLock.take(self.data)
        self._boot = self._run.boot
        self._reconcile()
        self.writer.start()
        self.recorder.start()
        self.retention.start()
        if self.shipper is not None:
            self.shipper.start()

    def _reconcile(self) -> None:
        """Before any call: records for the calls the last run lost, its queue entries and
        agents closed (firmware/records/reconcile.py)."""
        with Records(self.data.records_db) as records:
            done = reconcile(records, self.data, own=self._boot)
        if done:
            self.counters["calls_reconciled"] += len(done.calls)
            log.warning("the last run stopped without writing everything: %d call record(s) "
                        "written now (%s), %d queue entr(ies) closed, %d agent(s) logged out",
                        len(done.calls), " ".join(done.calls) or "none", done.entries_closed,
                        len(done.agents_logged_out))

    def tick(self, now: float, due: float | None = None) -> None:
        self.loop.tick(now, due)
        self._ticks += 1
        if self._ticks % _RELOAD_EVERY_TICKS == 0:
            self._poll_config()
            if self.trunk_passwords is not None:
                self.trunk_passwords.check()
            wall = self.wall_epoch(now)
            if self.retention.due(wall):
                self.retention.request(wall, policy_of(self.config.document.retention))

    def drain(self) -> None:
        self.draining = True

    @property
    def active_calls(self) -> int:
        return len(self.calls) + self.dialer.active

    def close(self, now: float, timeout: float | None = 30.0) -> bool:
        """End every call still up (reason 'shutdown'), write every record, stop threads."""
        self.draining = True
        for call in list(self.calls.values()):
            call.guard(now, lambda c=call: c.release(now, "shutdown"))
        for call in list(self.by_id.values()):
            call.finish(now)
        self.dialer.close(now)
        self._store_acd_log()
        recorded = self.recorder.stop(timeout)
        written = self.writer.close(timeout)
        self.retention.stop(timeout)
        if self.shipper is not None:
            self.shipper.stop(timeout)
        self._loader.shutdown(wait=False, cancel_futures=True)
        self.host.close()
        if self._run is not None and written:
            self._run.release()  # every record is written: nothing of this run to reconcile
        return recorded and written

    def wall_epoch(self, now: float) -> float:
        return self.epoch0 + now

    # --- configuration --------------------------------------------------------------------

    def _load_current(self) -> ConfigInForce:
        version = self.store.current()
        document, report = check_document(version.text)
        if document is None:
            raise RuntimeError(f"config version {version.info.number} does not validate: "
                               f"{report.errors[0]}; roll back with `branchline config "
                               "rollback`")
        return ConfigInForce(version.info.number, document)

    def reload(self) -> bool:
        """Take a newly published version for new calls now; True if there was one."""
        number = self.store.current_number()
        if number is None or number == self.config.version:
            return False
        self._apply(self._load_current())
        return True

    def _poll_config(self) -> None:
        """The loop's once-a-second look: start loading a new version off the loop, or take
        the one loaded since the last look. A version that fails to load is logged and the
        one in force stays."""
        if self._loading is not None:
            if not self._loading.done():
                return
            loading, self._loading = self._loading, None
            try:
                loaded = loading.result()
            except Exception:  # whatever the loader met, the loop goes on with what it has
                self._unloadable = self.store.current_number()
                log.exception("config: the published version could not be loaded; "
                              "v%d stays in force", self.config.version)
                return
            if loaded.version != self.config.version:
                self._apply(loaded)
            return
        number = self.store.current_number()
        if number is not None and number not in (self.config.version, self._unloadable):
            self._loading = self._loader.submit(self._load_current)

    def wait_config_loaded(self, timeout: float | None = None) -> None:
        """Block until a version being loaded off the loop is ready (virtual-clock runs)."""
        if self._loading is not None:
            concurrent.futures.wait([self._loading], timeout)

    def _apply(self, loaded: ConfigInForce) -> None:
        self.config = loaded
        acd = self.config.document.acd
        if acd != self._acd_section:
            try:
                self.acd.reconfigure(acd.queues, acd.agents)
                self._acd_section = acd
            except ValueError as exc:
                log.warning("config v%d: the ACD keeps its queues and agents until the next "
                            "start: %s", self.config.version, exc)
        log.info("config v%d in force for new calls", self.config.version)

    # --- the loop's handler ---------------------------------------------------------------

    def on_input(self, now, events, keys, tones) -> None:
        for event in events:
            self._port_event(event, now)
        for key in keys:
            # A key counts when it is released (as Asterisk's applications act on DTMF end):
            # the next prompt then never starts over a key still held down.
            if key.end is None:
                continue
            channel = key.channel
            if channel in self.calls:
                self.calls[channel].digit(key.digit, now)
            elif channel in self.stations:
                self.stations[channel].digit(key.digit, now)
        for tone in tones:
            call = self.calls.get(tone.channel) or self.dialer.lines.get(tone.channel)
            if call is not None and getattr(call, "answered", True):
                call.caller_gone(now, tone.tone)

    def _port_event(self, event, now) -> None:
        port = event.port
        match event:
            case PortOutOfService():
                self._port_lost(port, event.reason, now)
            case PortInService():
                self._port_back(port, now)
            case LineState(present=False):
                self._port_lost(port, "line_cut", now)
            case LineState(present=True):
                if self.out_of_service.get(port) == "line_cut":
                    self._port_back(port, now)
            case SpanAlarm():
                self._span_alarm(event, now)
            case PolarityReversal() | FarEndAnswered():
                self.counters["polarity_reversals"] += isinstance(event, PolarityReversal)
                attempt = self.dialer.lines.get(port)
                if attempt is not None:  # answer supervision on lines that give it
                    attempt.guard(now, lambda: attempt.heard("answer_signal", now))
            case _ if port in self.out_of_service:
                return  # a port out of service raises nothing that counts
            case Ring():
                call = self.calls.get(port)
                if call is None:
                    if self.draining or port in self.dialer.lines:
                        return
                    call = self._new_call(port, now)
                call.ring(event.count, now)
            case CallerId():
                call = self.calls.get(port)
                if call is not None:
                    call.caller_id(event.number, now, event.number_absent)
            case FarEndHangup():
                call = self.calls.get(port) or self.dialer.lines.get(port)
                if call is not None:
                    call.caller_gone(now, "far_end_hangup")
            case OffHook():
                self.stations[port].hook_off(now)
            case OnHook():
                self.stations[port].hook_on(now)
            case HookFlash() if port in self.stations:
                self.stations[port].flash(now)
            case TransferEnded():
                call = self.calls.get(port)
                if call is not None:
                    call.guard(now, lambda: call.transfer_ended(event.status, now))
            case PhoneHold() | PhoneTransfer() | PhoneConsult() | PhoneConsultEnded():
                self.sip_phones.event(event, now)

    def _port_lost(self, port: int, reason: str, now: float) -> None:
        """A port stopped working: end what was up on it; it takes nothing until it is back."""
        if port in self.out_of_service:
            return
        self.out_of_service[port] = reason
        self.counters["ports_out_of_service"] += 1
        log.warning("port %s out of service: %s", self.board.ports[port].name, reason)
        call = self.calls.get(port)
        if call is not None:
            call.guard(now, lambda: call.line_lost(now, reason))
        attempt = self.dialer.lines.get(port)
        if attempt is not None:
            attempt.guard(now, lambda: attempt.release(now, f"line_lost:{reason}"))
        station = self.stations.get(port)
        if station is not None:
            station.out_of_service(now)

    def _port_back(self, port: int, now: float) -> None:
        if self.out_of_service.pop(port, None) is not None:
            log.info("port %s back in service", self.board.ports[port].name)
            station = self.stations.get(port)
            if station is not None:
                station.back_in_service()

    def _span_alarm(self, event: SpanAlarm, now: float) -> None:
        """An E1 span in alarm carries nothing: its timeslots are out of service until clear."""
        self.counters["span_alarms"] += bool(event.alarms)
        ports = [p.index for p in self.board.ports if p.span == event.span]
        why = f"span_alarm:{','.join(sorted(event.alarms))}"
        for port in ports:
            if event.alarms:
                self._port_lost(port, why, now)
            elif self.out_of_service.get(port, "").startswith("span_alarm"):
                self._port_back(port, now)

    def agent_out_of_service(self, agent_id: str, now: float) -> None:
        """The phone of a logged-in agent stopped working: not ready until they key ready."""
        self.acd_event(AgentNotReady(agent_id, "station_out_of_service"), now)

    def _new_call(self, port, now) -> CallSession:
        self._serial += 1
        call = CallSession(self, port, f"{self._boot}-{self._serial:06d}", self.config, now)
        self.calls[port] = call
        self.by_id[call.call_id] = call
        return call

    def on_timer(self, owner, name, now) -> None:
        if owner == _ACD:
            self._acd_deadline = None
            self.acd_event(Tick(), now)
        else:
            owner.timer(name, now)

    def before_render(self, now) -> None:
        replies = self.host.poll()
        if not replies and self.waiting_for_host:
            self.host.wait(5.0)
            replies = self.host.poll()
        self._host_outstanding -= len(replies)
        self.sip_phones.settle(now)
        for call_id, reply in replies:
            call = self.by_id.get(call_id)
            if call is not None:
                endpoint = self._host_endpoint.pop((call_id, reply.request_id), "")
                call.host_replied(reply, endpoint, now)
        self._store_acd_log()

    @property
    def waiting_for_host(self) -> bool:
        """On the virtual clock, a request waits for the bank host's reply (the next tick
        collects it)."""
        return self.wait_for_host and self._host_outstanding > 0

    def after_render(self, now, ended, tone_ended, rx) -> None:
        for channel in ended:
            call = self.calls.get(channel)
            if call is not None:
                call.playback_ended(now)
        if ended and self.dialer.legs:
            self.dialer.playback_ended(ended, now)
        if rx is None:  # the event loop carries no audio: nothing to record or listen to
            return
        for call in self.recording:
            call.record_frame(rx)
        self.dialer.record_frames(rx)
        if self.listeners:
            self.listeners.feed(self, rx)
        self.dialer.listen(rx, now)

    # --- services for calls and stations ---------------------------------------------------

    def submit_host(self, call: CallSession, request) -> None:
        self._host_endpoint[(call.call_id, request.request_id)] = request.endpoint
        self._host_outstanding += 1
        self.host.submit(request, call.call_id)

    def submit_record(self, record) -> None:
        self.writer.submit(record)
        self.by_id.pop(record.call_id, None)
        self.counters["calls_recorded"] += 1

    def call_over(self, call: CallSession, now: float) -> None:
        if self.calls.get(call.port) is call:
            del self.calls[call.port]
        self.recording.discard(call)

    def station_caller_gone(self, port: int | None, now: float) -> None:
        station = self.stations.get(port)
        if station is not None:
            station.caller_gone()

    def acd_event(self, event, now: float) -> bool:
        """Hand one event to the ACD and carry out its decisions; False if it was illegal."""
        try:
            decisions = self.acd.handle(event, now)
        except IllegalEvent as exc:
            self.counters["illegal_acd"] += 1
            log.warning("ACD refused %r: %s", event, exc)
            return False
        for decision in decisions:
            self._decide(decision, now)
        deadline = self.acd.next_deadline()
        if deadline is not None and deadline != self._acd_deadline:
            self._acd_deadline = deadline
            self.loop.timers.schedule(deadline, _ACD, "tick")
        return True

    def _decide(self, decision, now: float) -> None:
        call = self.by_id.get(getattr(decision, "call_id", ""))
        match decision:
            case Offer():
                station = self._station_by_name[decision.station]
                station.ring(decision.call_id, decision.agent_id)
                if call is not None:
                    call.offered(station.port, decision.agent_id)
            case CancelOffer() if self.dialer.owns(decision.call_id):
                self.dialer.cancel(decision.call_id, now)
            case CancelOffer():
                self._station_by_name[decision.station].cancel_ring()
                if call is not None:
                    call.offer_withdrawn(self._station_by_name[decision.station].port, now)
            case Announce():
                if call is not None:
                    call.guard(now, lambda: call.announce(decision.position,
                                                          decision.expected_wait_s, now))
            case CallLeftQueue() if decision.reason in (LeaveReason.CALLBACK,
                                                        LeaveReason.CALLBACK_FAILED):
                # The original call left the queue when it asked for the call back.
                self.dialer.left_queue(decision.call_id)
            case CallLeftQueue():
                if decision.reason == "answered" and call is not None:
                    self._connect(call, now)
                elif call is not None:
                    call.guard(now, lambda: call.left_queue(decision.reason, now))
            case AgentStateChanged():
                self._agent_changed(decision, now)
            case Callback():
                self.dialer.callback(decision.call_id, decision.agent_id, decision.number, now)

    def _connect(self, call: CallSession, now: float) -> None:
        station = self.stations[call.s.queueing.station]
        station.call = call
        station.state = StationState.TALKING
        call.guard(now, lambda: call.connected(now))

    def _agent_changed(self, change: AgentStateChanged, now: float) -> None:
        self.writer.submit(AgentStateChange(self.wall_epoch(now), change.agent_id,
                                            str(change.old), str(change.new), change.reason))
        if str(change.old) in ("talking", "wrap_up") and str(change.new) not in ("talking",
                                                                                 "wrap_up"):
            for call in list(self.by_id.values()):
                if call.waiting_for_wrap_up == change.agent_id:
                    call.wrap_up_ended(now)
            self.dialer.wrap_ups(change.agent_id, now)

    def _store_acd_log(self) -> None:
        for entry in self.acd.take_log():
            self.writer.submit(acd_row(entry, self.epoch0))

    def _committed(self, batch) -> None:
        # The writer thread's acknowledgement: these records are durable now.
        calls = [r.call_id for r in batch if isinstance(r, CallRecord)]
        if calls:
            log.info("records committed: calls %s", " ".join(calls))
        opened = [r.call_id for r in batch if isinstance(r, CallOpened)]
        if opened:
            log.info("records committed: answered calls %s", " ".join(opened))

    def _refused(self, record, error) -> None:
        self.counters["records_refused"] += 1
        log.error("record refused: %s", error)

    def _trouble(self, error) -> None:
        self.counters["records_trouble"] += 1
        log.error("records database trouble (will retry): %s", error)


# --- putting one together ---------------------------------------------------------------------


def current_document(store: ConfigStore):
    return check_document(store.current().text)[0]


def build_prompts(data_dir, store: ConfigStore, progress=None) -> PromptStore:
    """The prompt store of ``data_dir`` for the document in force: built (only what is
    missing) and loaded."""
    document = current_document(store)
    texts = {name: p.texts() for name, p in document.prompts.items()}
    speeds = [flow.older_callers.speed for flow in document.flows.values()
              if flow.older_callers is not None]
    prompts = PromptStore(data_dir, texts, document.site.languages, slow_speeds=speeds)
    report = prompts.build(progress)
    if not report.ok:
        log.warning("prompts: %d missing, %d failed to build", len(report.missing),
                    len(report.failed))
    prompts.preload()
    return prompts


def scenario_file(name: str) -> Path:
    """A scenario named in the document: a path, or a file shipped in config/defaults."""
    path = Path(name)
    if path.exists():
        return path
    shipped = resources.files("branchline.config") / "defaults" / name
    if not shipped.is_file():
        raise FileNotFoundError(f"scenario {name!r} is neither a file nor one of the shipped "
                                "scenarios in config/defaults (scenario_demo.yaml, "
                                "scenario_day.yaml, scenario_300.yaml); give a path with "
                                "--scenario")
    return Path(str(shipped))


def open_sim(data_dir, make_clock, *, scenario=None, wait_for_host=False, progress=None):
    """An Appliance on the simulated board the document describes, with its bank host.

    ``make_clock(zone)`` makes the clock; ``scenario`` overrides the document's. Returns
    ``(appliance, bank)``; ``bank`` is the started ``BankHostSimulator`` when the document's
    host is ``simulator`` (stop it after ``appliance.close``), else None.
    """
    data_dir = DataDir.of(data_dir)
    store = open_config_store(data_dir)
    document = current_document(store)
    if document.board.driver != "sim":
        raise ValueError(f"board driver {document.board.driver!r}: open_sim runs the simulated "
                         "board only; firmware.board_open.open_with_board opens any board")
    # A simulated board under `run` may run for weeks: its callers who are gone are counted
    # and let go (``simulate``, which reports every caller, makes its own board).
    board = SimBoard(trunks=document.board.trunks, stations=document.board.stations,
                     scenario=scenario_file(scenario or document.board.scenario),
                     keep_callers=False)
    prompts = build_prompts(data_dir, store, progress)
    host, bank = bank_host(document)
    clock = make_clock(ZoneInfo(document.site.timezone))
    board = with_sip(board, data_dir, document)  # the document's SIP board beside it
    app = Appliance(data_dir, board, clock, prompts, host, wait_for_host=wait_for_host,
                    store=store)
    bind_outbound(app)
    return app, bank


def bank_host(document) -> tuple[HostClient, BankHostSimulator | None]:
    """The client for the document's bank host, and the simulator started for it when the
    document's host is ``simulator`` (stop it after ``Appliance.close``), else None."""
    if document.host.base_url != SIMULATOR:
        endpoints = {name: e.path for name, e in document.host.endpoints.items()}
        return HostClient(document.host.base_url, endpoints), None
    bank = BankHostSimulator()
    return HostClient(bank.start(), dict(BANK_ENDPOINTS)), bank
