"""Kamailio as the carrier in front of the whole appliance (sim board + SIP board, real time),
on 127.0.0.1: the appliance's trunk registers to it with digest (the password set through the
SIP secrets file) and the SIP board's status says ``registered``; a SIPp caller then calls
the trunk's number through Kamailio, which routes it to the registered contact, and keys its
way into the IVR by RFC 4733 (tests/support/rtp_pcap.py). Kamailio must stop cleanly.
"""

from pathlib import Path

import pytest
from rtp_pcap import write_keys_pcap
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from sip_peers import LOOPBACK, Kamailio, LiveAppliance, processes, sipp  # noqa: F401

SCENARIOS = Path(__file__).parents[1] / "hw" / "sip" / "scenarios"
NUMBER = "075588880001"  # the trunk's account at the carrier, and the lines' number
PASSWORD = "ferry-lichen-cobalt-64"


@pytest.fixture
def kamailio(tmp_path):
    carrier = Kamailio(tmp_path, NUMBER, PASSWORD)
    yield carrier
    code = carrier.stop()
    assert code == 0, carrier.output()[-3000:]


def test_the_trunk_registers_to_kamailio_and_a_call_through_it_reaches_the_ivr(
        tmp_path, prompts_dir, bank_url, kamailio, processes):  # noqa: F811 - fixtures
    def straight_to_the_main_menu(document):
        document["flows"]["bank"]["nodes"]["set_en"]["next"] = "main_menu"

    trunk = {"address": f"{LOOPBACK}:{kamailio.port}", "registers": True, "user": NUMBER,
             "sources": [LOOPBACK]}
    app = LiveAppliance(tmp_path / "data", prompts_dir, bank_url,
                        sip={"listen": f"{LOOPBACK}:0", "channels": 2,
                             "trunks": {"carrier": trunk}},
                        edit=straight_to_the_main_menu, secrets={"trunk:carrier": PASSWORD})
    try:
        status = app.sip.status
        assert app.until(
            lambda: status()["trunks"]["carrier"].state not in ("idle", "registering"))
        assert status()["trunks"]["carrier"].state == "registered", kamailio.output()[-3000:]

        write_keys_pcap(tmp_path / "keys.pcap", "32", gap=1.5)
        caller = sipp(SCENARIOS / "caller_keys_rfc4733.xml", f"{LOOPBACK}:{kamailio.port}",
                      tmp_path, "-s", NUMBER, "-m", "1")
        processes.append(caller)
        assert app.until(caller.done), caller.output()[-3000:]
        assert caller.result() == (1, 0)
        assert app.until(lambda: not app.app.calls)
        (record,) = app.records()
    finally:
        app.close()
    assert record.port == "sip1" and record.caller == "13800138000"
    assert [(s.node, s.detail) for s in record.ivr_path if s.what == "digits"] == \
        [("language_menu", "3"), ("main_menu", "2")]
