"""A trunk's password changed while the appliance runs, by the real command
(``branchline sip password trunk:carrier``, a separate process on the same data directory),
is taken without a restart: the trunk, refused by Kamailio with the old password, registers
again with the new one (Kamailio as the carrier on 127.0.0.1, tests/hw/sip/kamailio/).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from sip_peers import LOOPBACK, Kamailio, LiveAppliance

NUMBER = "075588880001"
PASSWORD = "ferry-lichen-cobalt-64"
OLD = "quartz-meadow-harbor-19"  # what the carrier no longer takes
BRANCHLINE = Path(sys.executable).with_name("branchline")


@pytest.fixture
def kamailio(tmp_path):
    carrier = Kamailio(tmp_path, NUMBER, PASSWORD)
    yield carrier
    assert carrier.stop() == 0, carrier.output()[-3000:]


def test_a_new_trunk_password_registers_the_running_trunk_again(
        tmp_path, prompts_dir, bank_url, kamailio, caplog):  # noqa: F811 - fixtures
    trunk = {"address": f"{LOOPBACK}:{kamailio.port}", "registers": True, "user": NUMBER}
    data = tmp_path / "data"
    app = LiveAppliance(data, prompts_dir, bank_url,
                        sip={"listen": f"{LOOPBACK}:0", "channels": 1,
                             "trunks": {"carrier": trunk}},
                        secrets={"trunk:carrier": OLD})
    try:
        state = lambda: app.sip.status()["trunks"]["carrier"].state  # noqa: E731
        assert app.until(lambda: state() == "failed"), kamailio.output()[-3000:]
        done = subprocess.run([str(BRANCHLINE), "sip", "password", "trunk:carrier",
                               "--data", str(data)], input=PASSWORD + "\n", text=True,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert app.until(lambda: state() == "registered"), kamailio.output()[-3000:]
        assert app.sip.counters.get("trunk_credentials_changed") == 1
    finally:
        app.close()
    assert PASSWORD not in caplog.text and PASSWORD not in done.stderr + done.stdout
