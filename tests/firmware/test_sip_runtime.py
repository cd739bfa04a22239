"""The whole appliance with the simulated board and the SIP board in one media loop, on real
time, against SIP peers made of our own endpoint and RTP engine on 127.0.0.1: an agent's phone
registers with digest, calls in and keys its login and ready codes by RFC 4733; a caller on
the SIP trunk hears the IVR's prompt, is queued and reaches that phone; the agent hangs up;
the caller keys the survey score; the CDR is written as for an analog line."""

import time
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import yaml
from runtime_harness import bank_url, prompts_dir, scenario_text  # noqa: F401 - fixtures
from sip_harness import PEER_LIMIT

from branchline.acd import AgentState
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import load_document, open_config_store
from branchline.config.sip_secrets import SipSecrets
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS
from branchline.firmware.clock import MonotonicClock
from branchline.firmware.host_client import HostClient
from branchline.firmware.records.database import Records
from branchline.firmware.sip_board import bind_outbound, sip_of, with_sip
from branchline.hw import SimBoard, parse_scenario
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import CallAnswered, CallEnded, IncomingCall
from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.registration import Registration
from branchline.hw.sip.rtp import RtpEngine

PHONE_PASSWORD = "lantern-orchid-basalt-71"
CALLER = "13912345678"


class Peer:
    def __init__(self, trusted=()):
        self.ep = SipEndpoint(lambda h, p: UserAgent(
            h, p, trusted=trusted, outbound=OutboundPolicy(lambda n, p: True)))
        self.ua = self.ep.agent
        self.rtp = RtpEngine(1)
        self.media = self.rtp.open(0, host="127.0.0.1")
        self.seen = []
        self.heard = []  # received audio, one block per tick

    def step(self):
        self.ep.poll(0)
        while self.ua.events:
            self.seen.append(self.ua.events.popleft())
        self.rtp.receive()
        block = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
        self.rtp.read(block)
        self.heard.append(block[0].copy())
        self.rtp.write(np.zeros((1, BLOCK_SAMPLES), dtype=np.int16))

    def of(self, kind):
        return [e for e in self.seen if isinstance(e, kind)]

    def keys(self, digits):
        for digit in digits:
            self.rtp.send_digit(0, digit, 100)

    def close(self):
        self.rtp.close(0)
        self.ep.close()


def _document(text):
    document = yaml.safe_load(text)
    document["sip"] = {"listen": "127.0.0.1:0", "channels": 4,
                       "trunks": {"local": {"sources": ["127.0.0.1"]}},
                       "phones": {"desk1": {"extension": "801"}}}
    document["acd"]["agents"][0]["station"] = "desk1"
    return yaml.safe_dump(document, allow_unicode=True)


@pytest.fixture
def runtime(tmp_path, prompts_dir, bank_url):  # noqa: F811 - fixtures
    store = open_config_store(tmp_path)
    current = store.current()
    store.publish(_document(current.text), who="test", note="sip", base=current.info.number)
    SipSecrets(DataDir(tmp_path).sip_secrets).set("phone:desk1", PHONE_PASSWORD)
    quiet = parse_scenario(scenario_text(trunks=4, stations=3, rate=1, agents=[("1003", 2)]))
    document = load_document(store.current().text)
    board = with_sip(SimBoard(scenario=quiet), tmp_path, document)
    app = Appliance(tmp_path, board, MonotonicClock(ZoneInfo(document.site.timezone)),
                    build_prompts(prompts_dir, store), HostClient(bank_url, ENDPOINTS),
                    store=store)
    bind_outbound(app)
    app.start()
    peers = []
    run = Run(app, peers)
    yield run
    run.close()
    board.close()
    for peer in peers:
        peer.close()


class Run:
    def __init__(self, app, peers):
        self.app, self.peers = app, peers
        self.sip = sip_of(app.board)
        self.due = app.clock.now()
        self.closed = None

    def close(self):
        if self.closed is None:
            self.closed = self.app.close(self.app.clock.now())
        return self.closed

    def peer(self, trusted=()):
        self.peers.append(Peer(trusted))
        return self.peers[-1]

    def until(self, done):
        """Run the loop on its 20 ms boundaries (waiting on the peers' sockets between)."""
        end = time.monotonic() + PEER_LIMIT  # a bound on a broken exchange, not a speed check
        while not done():
            if time.monotonic() > end:
                return False
            now = self.app.clock.now()
            if now < self.due:
                self.peers[0].ep.poll(self.due - now)
                continue
            self.app.tick(now, due=self.due)
            for peer in self.peers:
                peer.step()
            self.due += BLOCK_SECONDS
        return True


def _rms(blocks):
    audio = np.concatenate(blocks).astype(np.float64) if blocks else np.zeros(1)
    return float(np.sqrt(np.mean(audio ** 2)))


def test_a_sip_caller_hears_the_ivr_reaches_the_agents_sip_phone_and_keys_the_survey(runtime):
    station = next(p.index for p in runtime.app.board.ports if p.name == "desk1")
    host, port = runtime.sip.address
    phone = runtime.peer(trusted={"127.0.0.1"})
    phone.ua.add_registration(Registration(
        "desk", "801", host, [(host, port, "udp")], DigestClient("801", PHONE_PASSWORD),
        f"sip:801@{phone.ep.address[0]}:{phone.ep.address[1]}"))
    phone.ep.send(phone.ua.register("desk", time.monotonic()))
    assert runtime.until(lambda: station not in runtime.app.out_of_service)

    # The agent lifts the phone (calls in), keys login and ready, and hangs up.
    login, out = phone.ua.invite("100", (host, port), time.monotonic(), from_user="801",
                                 media_address=phone.media,
                                 credentials=DigestClient("801", PHONE_PASSWORD))
    phone.ep.send(out)
    assert runtime.until(lambda: phone.of(CallAnswered))
    phone.keys("*111001#*12#")
    acd = runtime.app.acd
    assert runtime.until(lambda: acd.agent_state("1001") is AgentState.READY)
    phone.ep.send(phone.ua.hangup(login, time.monotonic()))

    # A caller on the trunk hears the language menu, keys 0 for a person, is offered to desk1.
    caller = runtime.peer()
    call, out = caller.ua.invite("075588880001", (host, port), time.monotonic(), from_user=CALLER,
                                 media_address=caller.media)
    caller.ep.send(out)
    assert runtime.until(lambda: caller.of(CallAnswered))
    sip1 = next(p.index for p in runtime.app.board.ports if p.name == "sip1")
    assert not runtime.app.loop.progress.listening(sip1)  # its BYE says when it hangs up
    assert runtime.until(lambda: len(caller.heard) > 100)
    assert _rms(caller.heard) > 300, "the caller heard no prompt"
    caller.keys("0")
    assert runtime.until(lambda: phone.of(IncomingCall))
    offer = phone.of(IncomingCall)[-1]
    assert offer.caller == "branchline"
    phone.ep.send(phone.ua.answer(offer.call_id, time.monotonic(), media_address=phone.media))
    assert runtime.until(lambda: acd.agent_state("1001") is AgentState.TALKING)
    phone.ep.send(phone.ua.hangup(offer.call_id, time.monotonic()))
    assert runtime.until(lambda: acd.agent_state("1001") is not AgentState.TALKING)

    # The survey: the caller keys a score, then hangs up.
    heard_before = len(caller.heard)
    assert runtime.until(lambda: len(caller.heard) > heard_before + 100)
    caller.keys("5")
    assert runtime.until(lambda: caller.of(CallEnded) or len(caller.heard) >
                         heard_before + 400)
    if not caller.of(CallEnded):
        caller.ep.send(caller.ua.hangup(call, time.monotonic()))
    assert runtime.until(lambda: not runtime.app.calls)
    assert runtime.close()
    with Records(DataDir(runtime.app.data_dir).records_db) as records:
        (record,) = [r for r in records.calls(0.0, float("inf")) if r.caller == CALLER]
    assert record.port == "sip1" and record.agent_id == "1001" and record.talk_seconds > 0
    assert record.survey_score == 5
    assert record.recording is not None
    assert record.quality is not None and record.quality.mos > 4  # loopback: no loss
