"""sipsak registers an agent phone's account with our registrar on 127.0.0.1 (digest), and a
wrong password is refused and counted by the scanner guard.

sipsak 0.9.8 answers only the first WWW-Authenticate it gets and knows only MD5, so this
registrar offers MD5 alone (ours offers SHA-256 first by default).
"""

import pytest
from sip_harness import free_port, run_peer

from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import ScannerGuard
from branchline.hw.sip.registrar import PhoneRegistered, Registrar

ACCOUNTS = {"801": "station-801-pw"}


@pytest.fixture
def endpoint():
    registrar = Registrar("branchline", b"n" * 16, ACCOUNTS.get, guard=ScannerGuard(),
                          algorithms=("MD5",))
    ep = SipEndpoint(lambda host, port: UserAgent(host, port, registrar=registrar,
                                                  guard=registrar.guard))
    yield ep
    ep.close()


def _register(endpoint, tmp_path, password):
    host, port = endpoint.address
    local = free_port()
    return run_peer(["sipsak", "-U", "-vvv", "-x", "120", "-u", "801", "-a", password,
                     "-l", str(local), "-s", f"sip:801@{host}:{port}"], endpoint, tmp_path)


def test_sipsak_registers_with_digest(endpoint, tmp_path):
    code, output = _register(endpoint, tmp_path, "station-801-pw")
    assert code == 0 and "SIP/2.0 200 OK" in output, output[-3000:]
    events = [e for e in endpoint.agent.events if isinstance(e, PhoneRegistered)]
    assert events and events[0].binding.user == "801"
    assert events[0].binding.user_agent.startswith("sipsak")
    assert endpoint.agent.guard.counters["auth_failures"] == 0


def test_sipsak_with_a_wrong_password_is_refused(endpoint, tmp_path):
    code, output = _register(endpoint, tmp_path, "guessed-password")
    assert code != 0 and "SIP/2.0 403 Forbidden" in output, output[-3000:]
    assert endpoint.agent.registrar.bindings == {}
    assert endpoint.agent.guard.counters["auth_failures"] == 1
