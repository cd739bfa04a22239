"""Call control from a SIP agent phone's own buttons, with baresip phones on the whole
appliance (sim board + SIP board, real time), all on 127.0.0.1, started and killed by the
test. Two phones (801 at desk1 for agent 1002, 802 at desk2 for agent 1003) and a caller
on the SIP trunk. baresip 1.0's commands: ``/hold``, ``/resume``, ``/transfer URI`` (a
REFER), ``/dial``, ``/line N``; it has no attended-transfer command, so the attended test
types the Refer-To with Replaces a phone would send (its own second call's dialog).
"""

import logging
from pathlib import Path
from urllib.parse import quote

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from sip_harness import free_port
from sip_peers import LOOPBACK, Baresip, LiveAppliance, Sipp, processes, tone_wav  # noqa: F401

from branchline.acd import AgentState
from branchline.config.data_dir import DataDir
from branchline.firmware.calls.conversation import Phase
from branchline.firmware.records.database import Records
from branchline.firmware.records.legs import call_legs

SCENARIOS = Path(__file__).parents[1] / "hw" / "sip" / "scenarios"
NUMBER = "075588880001"
CALLER = "13912345678"
A, B = "1002", "1003"
PASSWORDS = {"desk1": "quarry-heron-velvet-38", "desk2": "amber-falcon-tundra-51"}
EXTENSIONS = {"desk1": "801", "desk2": "802"}


@pytest.fixture
def carrier_port():
    """Where the carrier trunk sends calls (a SIPp callee when a test starts one there)."""
    return free_port()


@pytest.fixture
def live(tmp_path, prompts_dir, bank_url, carrier_port):  # noqa: F811 - fixtures
    def two_desks(document):
        agents = {a["id"]: a for a in document["acd"]["agents"]}
        document["acd"]["agents"] = [{**agents[A], "station": "desk1"},
                                     {**agents[B], "station": "desk2",
                                      "queues": agents[A]["queues"]}]
        document["call_control"] = {"music_on_hold": "main.long"}

    app = LiveAppliance(
        tmp_path / "data", prompts_dir, bank_url,
        sip={"listen": f"{LOOPBACK}:0", "channels": 2,
             "trunks": {"local": {"sources": [LOOPBACK]},
                        "carrier": {"address": f"{LOOPBACK}:{carrier_port}"}},
             "phones": {d: {"extension": e} for d, e in EXTENSIONS.items()},
             "transfer_targets": ["95566"],
             "phone_digest": ["MD5"]},  # baresip 1.0 gives up on a SHA-256 challenge
        edit=two_desks, secrets={f"phone:{d}": p for d, p in PASSWORDS.items()})
    yield app
    app.close()


class Desks:
    """The appliance, the two phones logged in and ready, and a caller talking to A."""

    def __init__(self, app, tmp_path, started, b_answers=True):
        self.app, self.acd = app, app.app.acd
        self.host, self.port = app.address
        self.phones = {}
        for (desk, ext), agent, hz in zip(EXTENSIONS.items(), (A, B), (1750.0, 1250.0),
                                          strict=True):
            mode = "auto" if agent == A or b_answers else "manual"
            phone = Baresip(tmp_path / desk,
                            f"<sip:{ext}@{self.host}:{self.port}>;auth_pass={PASSWORDS[desk]};"
                            f"answermode={mode};regint=600",
                            tone_wav(tmp_path / f"{desk}.wav", hz))
            started.append(phone)
            self.phones[agent] = phone
            assert app.until(lambda d=desk: app.sip.status()["phones"][d]), phone.output()
        self.caller = Baresip(tmp_path / "caller", f"<sip:{CALLER}@{LOOPBACK}>;regint=0",
                              tone_wav(tmp_path / "caller.wav", 620.0))
        started.append(self.caller)
        self.login(A)
        self.uri = lambda user: f"sip:{user}@{self.host}:{self.port}"
        assert app.until(lambda: "baresip is ready" in self.caller.output()), \
            self.caller.output()
        self.caller.type(f"/dial {self.uri(NUMBER)}\n")
        self.sip1 = app.port("sip1")
        assert app.until(lambda: app.app.loop.renderer.playing(self.sip1))
        self.caller.type("0")
        assert app.until(lambda: self.state(A) is AgentState.TALKING), self.out(A)
        self.login(B)

    def login(self, agent):
        phone = self.phones[agent]
        calls = phone.output().count("Call established")
        phone.type(f"/dial sip:100@{self.host}:{self.port}\n")
        assert self.app.until(lambda: phone.output().count("Call established") > calls), \
            phone.output()
        phone.type(f"*11{agent}#*12#")
        assert self.app.until(lambda: self.state(agent) is AgentState.READY), phone.output()
        phone.type("/hangup\n")
        station = self.app.app._station_by_name["desk1" if agent == A else "desk2"]
        assert self.app.until(lambda: not station.off_hook)

    def state(self, agent):
        return self.acd.agent_state(agent)

    def out(self, agent):
        return self.phones[agent].output()

    @property
    def control(self):
        call = self.app.app.calls.get(self.sip1)
        return None if call is None else call.control

    def sip_call(self, desk):
        """The user agent's call with the phone at ``desk`` (its first call)."""
        local = next(p.index for p in self.app.sip.ports if p.name == desk)
        call_id = self.app.sip._lines[local].call_id
        return None if call_id is None else self.app.sip.agent.calls[call_id]

    def second_call(self, desk):
        """The user agent's call for the phone's second (consult) call at ``desk``."""
        local = next(p.index for p in self.app.sip.ports if p.name == desk)
        second = self.app.sip.phone_control._second.get(local)
        return None if second is None else self.app.sip.agent.calls[second.call_id]

    def nothing_left(self):
        """No call, no SIP leg up on the board, both agents out of talking."""
        sip = self.app.sip
        return (not self.app.app.calls and all(line.call_id is None for line in sip._lines)
                and all(c.state == "ended" for c in sip.agent.calls.values())
                and self.state(A) is not AgentState.TALKING
                and self.state(B) is not AgentState.TALKING)

    def legs(self):
        records = self.app.records()
        (record,) = [r for r in records if r.caller == CALLER]
        with Records(DataDir(self.app.app.data_dir).records_db) as db:
            events = db.events(0.0, float("inf"), call_id=record.call_id)
        return record, [(leg.who, leg.how) for leg in call_legs(record, events)]


@pytest.fixture
def desks(live, tmp_path, processes):  # noqa: F811 - fixture
    return Desks(live, tmp_path, processes)


def test_hold_and_resume_by_reinvite_play_music_and_keep_the_agent_talking(desks):
    app, phone = desks.app, desks.phones[A]
    phone.type("/hold\n")
    assert app.until(lambda: desks.control.phase is Phase.HELD), phone.output()
    assert desks.state(A) is AgentState.TALKING
    assert app.app.loop.renderer.playing(desks.sip1)  # the hold prompt to the caller
    assert desks.sip_call("desk1").media.direction in ("recvonly", "inactive")
    phone.type("/resume\n")
    assert app.until(lambda: desks.control.phase is Phase.TALKING), phone.output()
    assert desks.sip_call("desk1").media.direction == "sendrecv"
    assert not app.app.loop.renderer.playing(desks.sip1)
    desks.caller.type("/hangup\n")
    assert app.until(desks.nothing_left), phone.output()


def test_a_refer_to_a_number_not_allowed_gets_403_and_a_log_line(desks, caplog):
    app, phone = desks.app, desks.phones[A]
    caplog.set_level(logging.INFO)
    phone.type(f"/transfer {desks.uri('13800000000')}\n")
    assert app.until(lambda: "REFER to '13800000000' refused (403)" in caplog.text)
    assert app.until(lambda: "403" in phone.output()), phone.output()
    assert desks.control.phase is Phase.TALKING and desks.state(A) is AgentState.TALKING
    phone.type("/hangup\n")
    assert app.until(lambda: app.app.calls.get(desks.sip1) is None
                     or desks.control is None or desks.control.conv.over)
    desks.caller.type("/hangup\n")
    assert app.until(desks.nothing_left)


def test_blind_transfer_by_refer_to_an_extension_gives_the_caller_to_the_colleague(desks):
    app, phone = desks.app, desks.phones[A]
    phone.type(f"/transfer {desks.uri('802')}\n")
    assert app.until(lambda: desks.state(B) is AgentState.TALKING), phone.output()
    assert app.until(lambda: desks.sip_call("desk1") is None), phone.output()
    assert desks.state(A) is not AgentState.TALKING
    assert desks.control.agent_id == B and desks.control.phase is Phase.TALKING
    desks.caller.type("/hangup\n")
    assert app.until(desks.nothing_left), desks.out(B)
    record, legs = desks.legs()
    assert record.agent_id == B
    assert legs == [(A, f"transferred:agent:{B}"), (B, "caller_hung_up")]


def test_a_refer_to_an_allowed_outside_number_hands_the_caller_to_the_carrier(
        desks, carrier_port, tmp_path, processes):  # noqa: F811 - fixture
    app, phone = desks.app, desks.phones[A]
    far = Sipp(["sipp", "-sf", str(SCENARIOS / "callee.xml"), "-i", LOOPBACK,
                "-p", str(carrier_port), "-mp", str(free_port()), "-rtp_echo", "-m", "1",
                "-nostdin", "-timeout", "60", "-timeout_error", "-trace_stat", "-stf",
                "stats.csv", "-trace_err", "-error_file", "errors.log"], tmp_path)
    processes.append(far)
    phone.type(f"/transfer {desks.uri('95566')}\n")  # in sip.transfer_targets
    call = app.app.calls[desks.sip1]
    assert app.until(lambda: call.s.outside is not None and
                     call.s.outside.connected is not None), far.output()[-3000:]
    assert app.until(lambda: desks.sip_call("desk1") is None), phone.output()
    assert desks.state(A) is not AgentState.TALKING
    desks.caller.type("/hangup\n")
    assert app.until(far.done), far.output()[-3000:]
    assert far.result() == (1, 0)  # answered, then our BYE when the caller left
    assert app.until(desks.nothing_left), phone.output()
    record, legs = desks.legs()
    assert record.agent_id == A
    assert legs[0] == (A, "transferred:outside:95566")


def test_keypad_codes_from_the_phone_transfer_as_on_an_analog_station(desks):
    # RFC 4733 keys never reach the caller, and baresip sends none while it holds: a SIP
    # phone keys the code while talking, and the code holds the caller first, as a flash.
    app, phone = desks.app, desks.phones[A]
    phone.type(f"*41{B}#")
    assert app.until(lambda: desks.state(B) is AgentState.TALKING), phone.output()
    assert app.until(lambda: desks.sip_call("desk1") is None), phone.output()
    desks.phones[B].type("/hangup\n")
    assert app.until(lambda: desks.state(B) is not AgentState.TALKING), desks.out(B)
    desks.caller.type("/hangup\n")  # in the survey, which follows the agent's hang-up
    assert app.until(desks.nothing_left), desks.out(B)
    _, legs = desks.legs()
    assert legs == [(A, f"transferred:agent:{B}"), (B, "agent_hung_up")]


def test_attended_transfer_by_refer_with_replaces_joins_the_caller_to_the_colleague(desks):
    app, phone = desks.app, desks.phones[A]
    phone.type("/hold\n")
    assert app.until(lambda: desks.control.phase is Phase.HELD), phone.output()
    phone.type(f"/dial {desks.uri('802')}\n")  # the colleague's extension: B answers
    assert app.until(lambda: desks.control.phase is Phase.CONSULTING), phone.output()
    assert desks.state(A) is AgentState.TALKING
    assert app.app.loop.renderer.playing(desks.sip1)  # the caller still hears the music
    # The phone's REFER on its first call, naming its second call's dialog (RFC 3891); the
    # tags as the phone sees them: ours is its to-tag.
    second = desks.second_call("desk1")
    replaces = quote(f"{second.call_id};to-tag={second.local_tag};"
                     f"from-tag={second.dialog.remote_tag}", safe="")
    phone.type("/line 1\n")
    phone.type(f"/transfer {desks.uri('802')}?Replaces={replaces}\n")
    assert app.until(lambda: desks.control.agent_id == B), phone.output()
    assert desks.control.phase is Phase.TALKING
    assert app.until(lambda: desks.sip_call("desk1") is None and
                     desks.second_call("desk1") is None), phone.output()
    assert desks.state(A) is not AgentState.TALKING and desks.state(B) is AgentState.TALKING
    assert not app.app.loop.renderer.playing(desks.sip1)
    desks.caller.type("/hangup\n")
    assert app.until(desks.nothing_left), desks.out(B)
    record, legs = desks.legs()
    assert record.agent_id == B
    assert legs == [(A, f"transferred:agent:{B}"), (B, "caller_hung_up")]


def _to_held(desks):
    desks.phones[A].type("/hold\n")
    assert desks.app.until(lambda: desks.control.phase is Phase.HELD), desks.out(A)


def _to_consulting(desks):
    _to_held(desks)
    desks.phones[A].type(f"/dial {desks.uri('802')}\n")
    assert desks.app.until(lambda: desks.control.phase is Phase.CONSULTING), desks.out(A)


HANG_UPS = {
    # (state, who hangs up): how to get there, who types what, and (the phase, its agent)
    # after, if the call goes on (None: the caller's call is over). baresip resumes its first
    # call when its second one ends, so the caller is back with A then.
    ("held", "caller"): (_to_held, "caller", "/hangup\n", None),
    ("held", "agent"): (_to_held, A, "/hangup\n", None),
    ("consulting", "caller"): (_to_consulting, "caller", "/hangup\n", None),
    ("consulting", "colleague"): (_to_consulting, B, "/hangup\n", (Phase.TALKING, A)),
    ("consulting", "agent's consult call"): (_to_consulting, A, "/hangup\n",
                                             (Phase.TALKING, A)),
    ("consulting", "agent's first call"): (_to_consulting, A, "/line 1\n/hangup\n",
                                           (Phase.TALKING, B)),
}


@pytest.mark.parametrize("case", list(HANG_UPS), ids=[" ".join(c) for c in HANG_UPS])
def test_whoever_hangs_up_leaves_no_half_open_leg_and_no_stuck_agent(desks, case):
    app = desks.app
    reach, who, keys, then = HANG_UPS[case]
    reach(desks)
    (desks.caller if who == "caller" else desks.phones[who]).type(keys)
    if then is None:
        assert app.until(lambda: desks.control is None or desks.control.conv.over), \
            desks.out(A)
    else:
        assert app.until(lambda: (desks.control.phase, desks.control.agent_id) == then
                         and desks.second_call("desk1") is None), \
            (desks.control.phase, desks.control.agent_id, desks.out(A)[-3000:])
        assert app.until(lambda: not app.app.loop.renderer.playing(desks.sip1))
        other = B if then[1] == A else A
        assert desks.state(then[1]) is AgentState.TALKING
        assert app.until(lambda: desks.state(other) is not AgentState.TALKING)
    if who != "caller":
        desks.caller.type("/hangup\n")
    assert app.until(desks.nothing_left), desks.out(A) + desks.out(B)
    assert app.until(lambda: all(not s.off_hook for s in app.app.stations.values()))


def _to_consult_ringing(desks):
    _to_held(desks)
    desks.phones[A].type(f"/dial {desks.uri('802')}\n")
    assert desks.app.until(lambda: desks.control.phase is Phase.CONSULT_RINGING), desks.out(A)
    assert desks.app.until(lambda: "Incoming call" in desks.out(B)), desks.out(B)


def _to_transfer_ringing(desks):
    desks.phones[A].type(f"/transfer {desks.uri('802')}\n")
    assert desks.app.until(lambda: desks.control.phase is Phase.TRANSFER_RINGING), \
        desks.out(A)
    assert desks.app.until(lambda: "Incoming call" in desks.out(B)), desks.out(B)


RINGING = {
    # (state, who hangs up): how to get there, who types what, and (the phase, its agent)
    # after (None: the caller's call is over); "accept": B picks up then.
    ("consult ringing", "caller"): (_to_consult_ringing, "caller", "/hangup\n", None),
    ("consult ringing", "agent's consult call"): (_to_consult_ringing, A, "/hangup\n",
                                                  (Phase.TALKING, A)),
    ("consult ringing", "agent's first call"): (_to_consult_ringing, A, "/line 1\n/hangup\n",
                                                "accept"),
    ("transfer ringing", "caller"): (_to_transfer_ringing, "caller", "/hangup\n", None),
}


@pytest.mark.parametrize("case", list(RINGING), ids=[" ".join(c) for c in RINGING])
def test_whoever_hangs_up_while_the_colleague_rings_leaves_nothing_behind(
        live, tmp_path, processes, case):  # noqa: F811 - fixture
    desks = Desks(live, tmp_path, processes, b_answers=False)
    app = desks.app
    reach, who, keys, then = RINGING[case]
    reach(desks)
    (desks.caller if who == "caller" else desks.phones[who]).type(keys)
    if then is None:
        assert app.until(lambda: desks.control is None or desks.control.conv.over), \
            desks.out(A)
        assert app.until(lambda: "Incoming call" in desks.out(B) and
                         desks.sip_call("desk2") is None), desks.out(B)
    elif then == "accept":  # the agent's hang-up while it rang handed the caller over
        assert app.until(lambda: desks.control.phase is Phase.TRANSFER_RINGING), desks.out(A)
        assert app.until(lambda: desks.state(A) is not AgentState.TALKING)
        desks.phones[B].type("/accept\n")
        assert app.until(lambda: (desks.control.phase, desks.control.agent_id)
                         == (Phase.TALKING, B)), desks.out(B)
    else:
        assert app.until(lambda: (desks.control.phase, desks.control.agent_id) == then
                         and desks.second_call("desk1") is None), desks.out(A)
        assert app.until(lambda: desks.sip_call("desk2") is None), desks.out(B)
        assert app.until(lambda: desks.state(B) is not AgentState.TALKING)
    if who != "caller":
        desks.caller.type("/hangup\n")
    assert app.until(desks.nothing_left), desks.out(A) + desks.out(B)
    assert app.until(lambda: all(not s.off_hook for s in app.app.stations.values()))
