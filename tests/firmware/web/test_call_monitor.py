"""Whisper, barge and take-over from the page: POST /api/calls/{id}/monitor acts from the
supervisor's own station, as the keypad codes do there.

A caller (300 Hz) talks to agent 1001 at a phone in the test's hands (550 Hz); supervisor
wang's phone (2000 Hz) is the station call_control.supervisors gives their web account. Who
hears whom is read off the blocks the appliance sends each phone (tests/support/
station_driver.py); refusals say what would be right; every session is audited.
"""

import re
import threading

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 - fixtures
from supervised_call import AGENT_HZ, CALLER_HZ, SUPERVISOR_HZ, SupervisedCall

from branchline.acd import AgentState
from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import Records


class Floor(SupervisedCall):
    def act(self, client, action, call_id=None):
        """POST the action on a request thread while the loop runs here (it answers from the
        loop); the reply."""
        replies = []
        url = f"/api/calls/{call_id or self.call.call_id}/monitor"
        sender = threading.Thread(
            target=lambda: replies.append(client.post(url, json={"action": action})))
        sender.start()
        for _ in range(50 * 60):
            if not sender.is_alive():
                break
            self.h.step()
            sender.join(0.002)
        sender.join(10)
        assert not sender.is_alive(), "the request never answered"
        self.h.run(0.2)
        return replies[0]

    def audit(self, who):
        with Records(DataDir(self.h.data_dir).records_db) as records:
            return [e.what for e in records.audit() if e.who == who]


@pytest.fixture
def floor(tmp_path, prompts_dir, bank_url):  # noqa: F811
    f = Floor(tmp_path, prompts_dir, bank_url)
    yield f
    f.close()


def test_whisper_barge_and_take_over_from_the_page(floor):
    wang = floor.h.client("supervisor", name="wang")
    S, A, trunk = floor.S, floor.A, floor.trunk
    floor.board.off_hook(S)
    floor.h.run(0.2)
    reply = floor.act(wang, "whisper")
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"call_id": floor.call.call_id, "action": "whisper",
                            "station": "fxs4"}
    assert floor.hears(A) == {CALLER_HZ, SUPERVISOR_HZ}
    assert floor.hears(trunk) == {AGENT_HZ}  # the caller never hears a whisper
    assert floor.hears(S) == {CALLER_HZ, AGENT_HZ}
    assert floor.act(wang, "barge").status_code == 200
    assert floor.hears(trunk) == {AGENT_HZ, SUPERVISOR_HZ}
    assert floor.hears(A) == {CALLER_HZ, SUPERVISOR_HZ}
    assert floor.act(wang, "take_over").status_code == 200
    assert floor.hears(trunk) == {SUPERVISOR_HZ} and floor.hears(S) == {CALLER_HZ}
    assert floor.hears(A) == set()
    assert floor.h.app.acd.agent_state("1001") is AgentState.WRAP_UP
    call = floor.call.call_id
    audit = floor.audit("wang")
    assert [what for what in audit if "(page)" in what] == [
        f"call {call}: whisper (page) agent 1001 from fxs4",
        f"call {call}: barge (page) agent 1001 from fxs4",
        f"call {call}: take over (page) agent 1001 from fxs4"]
    sessions = [re.fullmatch(rf"call {call}: (\w+) agent 1001 from fxs4, ([0-9.]+) s", what)
                for what in audit if what.endswith(" s")]
    assert [m[1] for m in sessions] == ["whisper", "barge"]
    assert all(float(m[2]) >= 0.2 for m in sessions)  # each mode held at least 0.2 s
    assert f"call {call}: took over from agent 1001" in audit
    floor.h.run(1.0)  # the wallboard shows the call without an agent now
    out = floor.act(wang, "leave")
    assert out.status_code == 422
    assert out.json()["error"]["message"] == (
        f"your phone at fxs4 has call {call} (taken over): hang it up to end the call")
    assert floor.hears(trunk) == {SUPERVISOR_HZ}


def test_leave_drops_the_phone_out_of_the_call(floor):
    wang = floor.h.client("supervisor", name="wang")
    floor.board.off_hook(floor.S)
    floor.h.run(0.2)
    assert floor.act(wang, "barge").status_code == 200
    assert floor.hears(floor.trunk) == {AGENT_HZ, SUPERVISOR_HZ}
    assert floor.act(wang, "leave").status_code == 200
    assert floor.hears(floor.trunk) == {AGENT_HZ} and floor.hears(floor.A) == {CALLER_HZ}
    assert floor.hears(floor.S) == set()  # busy tone until the phone is hung up
    again = floor.act(wang, "leave")
    assert again.status_code == 422
    assert again.json()["error"]["message"] == (
        f"your phone at fxs4 is not in call {floor.call.call_id}")


def test_refusals_say_what_would_be_right_and_change_nothing(floor):
    wang = floor.h.client("supervisor", name="wang")
    on_hook = floor.act(wang, "whisper")
    assert on_hook.status_code == 422
    assert on_hook.json()["error"] == {
        "code": "phone_on_hook",
        "message": "pick up your phone at fxs4 (dial tone), then press the button again"}
    no_phone = floor.act(floor.h.client("supervisor", name="zhao"), "barge")
    assert no_phone.status_code == 422
    assert no_phone.json()["error"]["code"] == "not_allowed"  # not in call_control at all
    not_allowed = floor.act(floor.h.client("supervisor", name="li"), "barge")
    assert not_allowed.status_code == 422
    assert "call_control.supervisors" in not_allowed.json()["error"]["message"]
    admin = floor.act(floor.h.client(), "barge")  # may monitor any call, but has no phone
    assert admin.status_code == 422
    assert admin.json()["error"]["code"] == "no_station"
    assert "call_control.supervisors" in admin.json()["error"]["message"]
    assert floor.act(wang, "listen").status_code == 422  # the browser listens, not the phone
    assert floor.act(wang, "barge", call_id="nope").status_code == 404
    viewer = floor.h.client("viewer").post(f"/api/calls/{floor.call.call_id}/monitor",
                                           json={"action": "barge"})
    assert viewer.status_code == 403
    assert floor.hears(floor.trunk) == {AGENT_HZ} and floor.hears(floor.A) == {CALLER_HZ}
    with Records(DataDir(floor.h.data_dir).records_db) as records:
        assert not [e for e in records.audit() if "(page)" in e.what]


def test_a_request_the_loop_does_not_take_within_a_second_is_withdrawn(floor):
    wang = floor.h.client("supervisor", name="wang")
    floor.board.off_hook(floor.S)
    floor.h.run(0.2)
    # Nobody steps the loop while this request waits: it is refused after a second...
    reply = wang.post(f"/api/calls/{floor.call.call_id}/monitor", json={"action": "barge"})
    assert reply.status_code == 422
    assert reply.json()["error"] == {
        "code": "busy",
        "message": "the appliance did not take the request within a second; try again"}
    floor.h.run(0.2)
    # ...and never applied late.
    assert floor.S not in floor.call.control.conv.monitors
    assert floor.hears(floor.trunk) == {AGENT_HZ} and floor.hears(floor.A) == {CALLER_HZ}
