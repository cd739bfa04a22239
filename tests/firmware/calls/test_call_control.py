"""Call control end to end on the simulated board: hold, consult, conference, transfers and
supervisors, keyed at analog stations (hook flash + codes), every party a tone of its own.

The appliance runs whole on the virtual clock; a virtual caller walks the IVR to the queue,
then the test's phones (tests/support/station_driver.py) do what agents and a supervisor do.
Who hears whom is read off the blocks the appliance sends each phone.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema_rs
import pytest
from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)
from station_driver import DrivenPhones

from branchline.acd import AgentState
from branchline.config.data_dir import DataDir
from branchline.config.web.cti_events import JSON_SCHEMA, SIGNATURE_HEADER, verify
from branchline.firmware.calls.conversation import Phase
from branchline.firmware.cti.feed import CtiFeed
from branchline.firmware.cti.pop import CallerHistory
from branchline.firmware.cti.webhooks import WebhookSender, WebhookTarget
from branchline.firmware.records.database import Records
from branchline.firmware.records.holds import holds_of
from branchline.firmware.records.legs import call_legs

CALLER_HZ, A_HZ, B_HZ, S_HZ = 300.0, 550.0, 1100.0, 2000.0
HOOK_SECRET = bytes(range(32))
LEVEL = 2283  # -20 dBm0 peak


class Desk:
    """One call on the board, agents 1001 (A) and 1002 (B) ready, supervisor wang at S."""

    def __init__(self, tmp_path, prompts, bank, supervisors=None):
        text = scenario_text(trunks=1, stations=4, rate=3600, end="09:30", prelude="[]",
                             goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
                             agents=[("1001", 0), ("1002", 1), ("1003", 2)],
                             shift=("20:00", "21:00"), queue_patience=3000)

        def edit(doc):
            doc["call_control"] = {
                "music_on_hold": "main.long",
                "queues": {"1": "general"},
                "supervisors": supervisors or [{"user": "wang", "station": "fxs4"}],
            }

        self.h = RuntimeHarness(tmp_path / "data", text, prompts_dir=prompts,
                                bank_url=bank, edit_document=edit)
        self.board = DrivenPhones(self.h.board)
        self.h.app.board = self.h.app.loop.board = self.h.board = self.board
        # This board returns no echo, and the canceller is not what is tested here: on steady
        # test tones in both directions it adapts to their correlation and puts a trace of the
        # far end back into rx (see the report of this change).
        self.h.app.loop.echo = None
        self.trunk = 0
        self.A, self.B, self.C, self.S = [p.index for p in self.h.board.ports if p.is_station]
        self.login(self.A, "1001")
        self.login(self.B, "1002")

    @property
    def app(self):
        return self.h.app

    def run(self, seconds):
        self.h.run(seconds)

    def key(self, port, digits):
        self.board.keys(port, digits)
        self.h.run_until(lambda: self.board.keys_sent(port), 10)
        self.run(0.3)

    def key_at(self, port, digits):
        """Keys at a phone on hook: off hook, the code, on hook."""
        self.board.off_hook(port)
        self.run(0.2)
        self.key(port, digits)
        self.board.on_hook(port)
        self.run(0.2)

    def login(self, port, agent):
        self.board.off_hook(port)
        self.run(0.2)
        self.key(port, f"*11{agent}#")
        self.key(port, "*12#")
        self.board.on_hook(port)
        self.run(0.2)
        assert self.state(agent) is AgentState.READY

    def state(self, agent):
        return self.app.acd.agent_state(agent)

    def answer_first_call(self):
        self.h.run_until(lambda: self.A in self.board.rings, 120)
        self.board.off_hook(self.A)
        self.run(0.2)
        [self.call] = self.app.calls.values()
        self.app.drain()  # this call only: later callers ring unanswered
        self.board.voice(self.trunk, CALLER_HZ)
        self.board.voice(self.A, A_HZ)
        self.board.voice(self.B, B_HZ)
        self.board.voice(self.S, S_HZ)
        self.run(0.2)

    def hears(self, port):
        return set(self.board.heard(port))

    def consult_b(self):
        self.board.flash(self.A)
        self.run(0.2)
        self.key(self.A, "*211002#")
        assert self.B in self.board.rings
        self.board.off_hook(self.B)
        self.run(0.2)

    def records(self):
        return self.h.close()

    def audit(self):
        with Records(DataDir(self.h.data_dir).records_db) as records:
            return records.audit()

    def legs(self, record):
        with Records(DataDir(self.h.data_dir).records_db) as records:
            events = records.events(0.0, float("inf"), call_id=record.call_id)
        return [(leg.who, leg.how) for leg in call_legs(record, events)]


@pytest.fixture
def desk(tmp_path, prompts_dir, bank_url):  # noqa: F811
    d = Desk(tmp_path, prompts_dir, bank_url)
    d.answer_first_call()
    return d


def test_a_call_is_a_two_way_bridge_and_nothing_else(desk):
    assert desk.board.heard(desk.trunk) == {A_HZ: pytest.approx(LEVEL, rel=0.02)}
    assert desk.hears(desk.A) == {CALLER_HZ}
    assert desk.hears(desk.B) == set() and desk.hears(desk.S) == set()


def test_hold_plays_music_to_the_caller_and_dial_tone_to_the_agent(desk):
    desk.board.flash(desk.A)
    desk.run(1.0)
    assert desk.call.control.phase is Phase.HELD
    assert desk.hears(desk.trunk) == set() and desk.hears(desk.A) == set()
    music = desk.board.last[desk.trunk].astype(float)
    assert (music ** 2).mean() ** 0.5 > 100  # the hold prompt is playing
    desk.board.flash(desk.A)
    desk.run(0.2)
    assert desk.hears(desk.trunk) == {A_HZ} and desk.hears(desk.A) == {CALLER_HZ}
    assert desk.call.control.hold_s == pytest.approx(1.0)  # flash to flash
    assert desk.state("1001") is AgentState.TALKING  # on hold is still talking


def test_consult_conference_then_the_agent_hangs_up_and_the_colleague_keeps_the_caller(desk):
    desk.consult_b()
    assert desk.call.control.phase is Phase.CONSULTING
    assert desk.hears(desk.A) == {B_HZ} and desk.hears(desk.B) == {A_HZ}
    assert desk.hears(desk.trunk) == set()  # the caller hears the music, not the consultation
    assert desk.state("1002") is AgentState.TALKING and desk.state("1001") is AgentState.TALKING
    desk.key(desk.A, "*3#")
    assert desk.hears(desk.trunk) == {A_HZ, B_HZ}
    assert desk.hears(desk.A) == {CALLER_HZ, B_HZ} and desk.hears(desk.B) == {CALLER_HZ, A_HZ}
    desk.board.on_hook(desk.A)
    desk.run(0.2)
    assert desk.hears(desk.trunk) == {B_HZ} and desk.hears(desk.B) == {CALLER_HZ}
    assert desk.state("1001") is AgentState.WRAP_UP and desk.state("1002") is AgentState.TALKING
    desk.board.on_hook(desk.B)
    desk.run(1.0)
    [cdr] = [r for r in desk.records() if r.call_id == desk.call.call_id]
    assert cdr.agent_id == "1002"  # the last agent: the survey and the record are theirs
    assert desk.legs(cdr) == [("1001", "transferred:agent:1002"), ("1002", "agent_hung_up")]
    assert desk.app.counters["illegal_acd"] == 0 and desk.app.counters["call_errors"] == 0


def test_supervisor_listens_whispers_barges_and_takes_over(desk):
    S = desk.S
    desk.board.off_hook(S)
    desk.run(0.2)
    desk.key(S, "*511001#")
    assert desk.hears(S) == {CALLER_HZ, A_HZ}
    assert desk.hears(desk.trunk) == {A_HZ} and desk.hears(desk.A) == {CALLER_HZ}
    desk.key(S, "*521001#")
    assert desk.hears(desk.A) == {CALLER_HZ, S_HZ} and desk.hears(desk.trunk) == {A_HZ}
    desk.key(S, "*531001#")
    assert desk.hears(desk.trunk) == {A_HZ, S_HZ} and desk.hears(desk.A) == {CALLER_HZ, S_HZ}
    assert desk.hears(S) == {CALLER_HZ, A_HZ}
    desk.key(S, "*541001#")
    assert desk.hears(desk.trunk) == {S_HZ} and desk.hears(S) == {CALLER_HZ}
    assert desk.hears(desk.A) == set()  # busy tone now: the agent is out of the call
    assert desk.state("1001") is AgentState.WRAP_UP
    desk.board.on_hook(S)
    desk.run(1.0)
    [cdr] = [r for r in desk.records() if r.call_id == desk.call.call_id]
    assert cdr.agent_id == "supervisor:wang"
    assert desk.legs(cdr) == [("1001", "transferred:supervisor:wang"),
                              ("supervisor:wang", "ended")]
    audit = [e.what for e in desk.audit() if e.who == "wang"]
    call = desk.call.call_id
    monitored = [re.fullmatch(rf"call {call}: (\w+) agent 1001 from fxs4, ([0-9.]+) s", what)
                 for what in audit[:3]]
    assert [m[1] for m in monitored] == ["listen", "whisper", "barge"]
    assert all(float(m[2]) >= 0.5 for m in monitored)  # each mode held for two key codes
    assert audit[3:] == [f"call {call}: took over from agent 1001"]


def test_only_a_configured_supervisor_may_monitor(desk):
    desk.board.off_hook(desk.C)  # no supervisor sits at fxs3
    desk.run(0.2)
    desk.key(desk.C, "*511001#")
    assert desk.hears(desk.C) == set()
    assert not desk.call.control.conv.monitors


def test_blind_transfer_to_a_queue_keeps_the_call_and_its_class(desk):
    desk.board.flash(desk.A)
    desk.run(0.2)
    desk.key(desk.A, "*421#")
    assert desk.state("1001") is AgentState.WRAP_UP
    # B is ready: the ACD offers the call to B at once.
    assert desk.B in desk.board.rings
    desk.board.off_hook(desk.B)
    desk.run(0.2)
    assert desk.hears(desk.trunk) == {B_HZ} and desk.hears(desk.B) == {CALLER_HZ}
    desk.board.on_hook(desk.B)
    desk.run(1.0)
    [cdr] = [r for r in desk.records() if r.call_id == desk.call.call_id]
    assert cdr.agent_id == "1002" and cdr.queue == "general"
    assert desk.legs(cdr) == [("1001", "transferred:queue:general"), ("1002", "agent_hung_up")]
    kpis = desk.app.acd.kpis(desk.h.clock.now()).queues["general"]
    assert kpis.answered == 1 and kpis.completed == 1


def test_blind_transfer_to_an_agent(desk):
    desk.board.flash(desk.A)
    desk.run(0.2)
    desk.key(desk.A, "*411002#")
    assert desk.B in desk.board.rings
    assert desk.state("1001") is AgentState.WRAP_UP and desk.state("1002") is AgentState.RESERVED
    desk.board.off_hook(desk.B)
    desk.run(0.2)
    assert desk.hears(desk.trunk) == {B_HZ} and desk.hears(desk.B) == {CALLER_HZ}
    assert desk.state("1002") is AgentState.TALKING


# --- no half-open leg: every party hangs up in every state ---------------------------------

def _held(d):
    d.board.flash(d.A)
    d.run(0.3)


def _consult_ringing(d):
    _held(d)
    d.key(d.A, "*211002#")


def _conference(d):
    d.consult_b()
    d.key(d.A, "*3#")


def _transfer_ringing(d):
    _held(d)
    d.key(d.A, "*411002#")


def _monitor(code):
    def setup(d):
        d.board.off_hook(d.S)
        d.run(0.2)
        d.key(d.S, f"*5{code}1001#")
    return setup


STATES = {
    "talking": (lambda d: None, ("caller", "agent")),
    "held": (_held, ("caller", "agent")),
    "consult_ringing": (_consult_ringing, ("caller", "agent")),
    "consulting": (Desk.consult_b, ("caller", "agent", "colleague")),
    "conference": (_conference, ("caller", "agent", "colleague")),
    "transfer_ringing": (_transfer_ringing, ("caller",)),
    "listen": (_monitor(1), ("caller", "agent", "supervisor")),
    "whisper": (_monitor(2), ("caller", "agent", "supervisor")),
    "barge": (_monitor(3), ("caller", "agent", "supervisor")),
    "taken_over": (_monitor(4), ("caller", "supervisor")),
}
PAIRS = [(state, who) for state, (_, hangers) in STATES.items() for who in hangers]


@pytest.mark.parametrize(("state", "who"), PAIRS)
def test_any_hang_up_in_any_state_leaves_nothing_half_open(desk, state, who):
    STATES[state][0](desk)
    app, board = desk.app, desk.board
    port = {"caller": desk.trunk, "agent": desk.A, "colleague": desk.B, "supervisor": desk.S}[who]
    if who == "caller":
        board.silence(desk.trunk)
        desk.h.hang_up_caller(desk.trunk)
        desk.run(4.0)  # the exchange's busy tone, recognised by its cadence
    else:
        board.on_hook(port)
        desk.run(0.5)
    # Nobody hears, or is heard by, the phone that left.
    assert all(port not in (p.to, p.source) for p in app.loop.mixer.paths())
    # Every phone still off hook is in the call with someone, or hears busy tone: no station
    # talks in a call that is over, and no path stays with a party who is not in the call.
    for station in app.stations.values():
        if station.state.value == "talking":
            control = station.call.control
            assert control is not None and control.involves(station.port), station
    for path in app.loop.mixer.paths():
        call = next(c for c in app.by_id.values() if c.control and c.control.involves(path.to))
        assert call.control.involves(path.source)

    for phone in (desk.A, desk.B, desk.S):
        board.on_hook(phone)
    board.silence(desk.trunk)
    desk.run(0.5)
    if not desk.call.over:  # a caller handed to a colleague or a queue is still there
        desk.h.hang_up_caller(desk.trunk)
    desk.h.run_until(lambda: not app.calls, 300)
    desk.run(15.0)  # wrap-ups run out
    assert app.loop.mixer.owners() == []
    assert app.by_id == {}
    for agent in ("1001", "1002"):
        assert desk.state(agent) in (AgentState.READY, AgentState.NOT_READY), agent
    assert app.counters["illegal_acd"] == 0 and app.counters["call_errors"] == 0
    records = [r for r in desk.records() if r.call_id == desk.call.call_id]
    assert len(records) == 1


# --- hold time, CTI events, music for a re-queued caller -------------------------------------

def _feed(d):
    return CtiFeed(d.app, CallerHistory(d.h.clock.wall(0.0).tzinfo))


class _Hooks:
    """A webhook receiver on 127.0.0.1 (a real HTTP server) keeping every body it got."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.changed = threading.Condition()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                assert verify(HOOK_SECRET, self.headers[SIGNATURE_HEADER], body, time.time())
                with hooks.changed:
                    hooks.bodies.append(body)
                    hooks.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count):
        with self.changed:  # bounded: deliveries take milliseconds, the machine may be loaded
            assert self.changed.wait_for(lambda: len(self.bodies) >= count, 30.0)
        return [json.loads(b) for b in self.bodies]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _events(feed, call_id):
    wanted = ("held", "retrieved", "transferred", "conferenced", "answered", "ended")
    return [(e.type, e.agent) for e in feed.since(0)[0]
            if e.type in wanted and json.loads(e.text)["call_id"] == call_id]


def test_hold_time_is_in_the_record_per_hold_and_per_leg(desk):
    desk.board.flash(desk.A)  # hold 1: 1.5 s
    desk.run(1.5)
    desk.board.flash(desk.A)
    desk.run(1.0)
    desk.consult_b()  # hold 2: from the flash to the complete (ringing, consulting)
    desk.run(2.0)
    desk.key(desk.A, "*4#")
    desk.run(1.0)
    desk.board.flash(desk.B)  # hold 3, B's: 0.5 s, then B hangs up with the caller held
    desk.run(0.5)
    desk.board.on_hook(desk.B)
    desk.run(1.0)
    [cdr] = [r for r in desk.records() if r.call_id == desk.call.call_id]
    with Records(DataDir(desk.h.data_dir).records_db) as records:
        holds = holds_of(records, cdr.call_id)
        legs = call_legs(cdr, records.events(0.0, float("inf"), call_id=cdr.call_id), holds)
    assert [h.agent for h in holds] == ["1001", "1001", "1002"]
    assert holds[0].seconds == pytest.approx(1.5) and holds[2].seconds == pytest.approx(0.5)
    assert holds[1].seconds > 2.0  # keyed, rang, consulted: all on hold for the caller
    assert cdr.hold_seconds == pytest.approx(sum(h.seconds for h in holds), abs=1e-3)
    assert [(leg.who, leg.hold_s) for leg in legs] == [
        ("1001", pytest.approx(holds[0].seconds + holds[1].seconds, abs=1e-3)),
        ("1002", pytest.approx(0.5, abs=1e-3))]
    assert cdr.agent_id == "1002" and cdr.outcome == "answered"  # the survey's agent: the last


def test_cti_carries_held_retrieved_and_conferenced_in_order_each_once(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    d = Desk(tmp_path, prompts_dir, bank_url)
    feed = _feed(d)
    hooks = _Hooks()
    sender = WebhookSender(lambda scopes, event: True)
    sender.set_targets([WebhookTarget("crm", hooks.url, HOOK_SECRET, frozenset({"all"}))])
    feed.listeners.append(sender.offer)
    d.answer_first_call()
    call_id = d.call.call_id
    d.board.flash(d.A)  # hold, resume by flash
    d.run(1.0)
    d.board.flash(d.A)
    d.run(0.5)
    d.consult_b()  # held again, consult, conference, the agent leaves
    d.key(d.A, "*3#")
    d.board.on_hook(d.A)
    d.run(0.5)
    desk_b = feed.desk("1002")["call"]["control"]
    assert desk_b["phase"] == "talking" and desk_b["agent"] == "1002"
    d.board.flash(d.B)  # B holds; the caller hangs up on hold
    d.run(0.5)
    assert feed.desk("1002")["call"]["control"]["held"] is True
    d.board.silence(d.trunk)
    d.h.hang_up_caller(d.trunk)
    d.run(4.0)
    assert _events(feed, call_id) == [
        ("answered", "1001"),
        ("held", "1001"), ("retrieved", "1001"),
        ("held", "1001"), ("answered", "1002"), ("retrieved", "1001"),  # into the conference
        ("conferenced", "1001"),
        ("transferred", "1001"), ("ended", "1001"),
        ("held", "1002"), ("ended", "1002")]  # the caller left while held: no retrieved
    retrieved = [json.loads(e.text)["data"] for e in feed.since(0)[0] if e.type == "retrieved"]
    assert retrieved[0]["held_s"] == pytest.approx(1.0, abs=0.05)
    seqs = [e.seq for e in feed.since(0)[0]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert d.app.counters["cti_errors"] == 0
    validator = jsonschema_rs.validator_for(JSON_SCHEMA)
    for event in feed.since(0)[0]:
        validator.validate(json.loads(event.text))
    try:  # the webhook gets the same events, in the same order, each once
        got = hooks.wait_for(len(seqs))
    finally:
        sender.close()
        hooks.close()
    assert [e["seq"] for e in got] == seqs
    assert [(e["type"], e["agent"]) for e in got if e["call_id"] == call_id and e["type"] in (
        "held", "retrieved", "conferenced")] == [
        (t, a) for t, a in _events(feed, call_id) if t in ("held", "retrieved", "conferenced")]


def test_a_caller_transferred_to_a_queue_hears_music_while_waiting(desk):
    desk.key_at(desk.B, "*131#")  # B not ready: the call waits in the queue
    desk.board.flash(desk.A)
    desk.run(0.2)
    desk.key(desk.A, "*421#")
    assert desk.state("1001") is AgentState.WRAP_UP
    assert desk.call.s.queueing.agent_id is None  # waiting, no agent rung
    levels = []
    for _ in range(40):  # 20 s: longer than the music prompt, so it loops
        desk.run(0.5)
        levels.append(float((desk.board.last[desk.trunk].astype(float) ** 2).mean() ** 0.5))
    assert sum(level > 100 for level in levels) >= 30, levels  # music, not silence
    assert desk.hears(desk.trunk) == set()  # and no agent's voice
    desk.key_at(desk.B, "*12#")  # B ready: offered, answered, the music stops
    desk.h.run_until(lambda: desk.B in desk.board.rings, 10)
    desk.board.off_hook(desk.B)
    desk.run(0.5)
    assert desk.hears(desk.trunk) == {B_HZ}
