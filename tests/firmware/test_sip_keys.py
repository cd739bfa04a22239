"""SIPp callers keying through the whole appliance (sim board + SIP board, real time), on
127.0.0.1: by RFC 4733 from a pcap written here (tests/support/rtp_pcap.py, played by SIPp's
``play_pcap_audio``), and in-band from an A-law WAV (``rtp_stream``) to a trunk whose DTMF
mode is ``inband``. Either way the keys choose English and then the main menu's card loss,
and the call's record shows both choices.
"""

from pathlib import Path

import pytest
import soundfile
from rtp_pcap import write_keys_pcap
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from signals import dtmf_sequence, to_int16
from sip_peers import LOOPBACK, LiveAppliance, processes, sipp  # noqa: F401 - fixture

SCENARIOS = Path(__file__).parents[1] / "hw" / "sip" / "scenarios"
NUMBER = "075588880001"
KEYS = "32"  # English, then card loss


def straight_to_the_main_menu(document):
    # English goes to the main menu at any hour, so the keys do not depend on the clock.
    document["flows"]["bank"]["nodes"]["set_en"]["next"] = "main_menu"


@pytest.mark.parametrize("dtmf", ["rfc4733", "inband"])
def test_sipp_keys_choose_the_language_and_the_menu(tmp_path, prompts_dir, bank_url,  # noqa: F811
                                                    processes, dtmf):  # noqa: F811
    if dtmf == "rfc4733":
        write_keys_pcap(tmp_path / "keys.pcap", KEYS, gap=1.5)
    else:
        audio, _ = dtmf_sequence(KEYS, 0.1, 1.5, lead_seconds=1.0)
        soundfile.write(tmp_path / "keys.wav", to_int16(audio), 8000, subtype="ALAW")
    app = LiveAppliance(tmp_path / "data", prompts_dir, bank_url,
                        sip={"listen": f"{LOOPBACK}:0", "channels": 2,
                             "trunks": {"local": {"sources": [LOOPBACK], "dtmf": dtmf}}},
                        edit=straight_to_the_main_menu)
    try:
        peer = sipp(SCENARIOS / f"caller_keys_{dtmf}.xml", "{}:{}".format(*app.address),
                    tmp_path, "-s", NUMBER, "-m", "1")
        processes.append(peer)
        assert app.until(peer.done), peer.output()[-3000:]
        assert peer.result() == (1, 0)
        assert app.until(lambda: not app.app.calls)
        (record,) = app.records()
    finally:
        app.close()
    assert record.language == "en"
    assert [(s.node, s.detail) for s in record.ivr_path if s.what == "digits"] == \
        [("language_menu", "3"), ("main_menu", "2")]
    assert record.ivr_path[-1].node == "card_entry:card"
