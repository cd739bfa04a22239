"""Distributor.reconfigure: a new configuration while calls wait and agents work.

What can change at once changes (queue settings, agents added, logged-out agents changed or
removed); what would disturb callers already waiting or agents at work is refused with a
ValueError that changes nothing."""

import pytest

from branchline.acd import CallArrived, CallEnded, Offer, OfferAnswered, QueueModel


def _waiting_desk(make_desk, make_agent, general):
    desk = make_desk([general], [make_agent("a1", "general"), make_agent("a2", "general")])
    desk.ready(0.0, "a1")
    desk.at(1.0, CallArrived("c1", "general"))  # offered to a1
    desk.at(2.0, CallArrived("c2", "general"))  # waits
    return desk


def test_queue_settings_apply_and_callers_keep_their_places(make_desk, make_agent, general):
    desk = _waiting_desk(make_desk, make_agent, general)
    longer = general.model_copy(update={"wrap_up_s": 30.0, "ring_timeout_s": 20.0})
    desk.acd.reconfigure([longer], [make_agent("a1", "general"), make_agent("a2", "general")])
    assert desk.acd.waiting("general") == 2
    desk.at(3.0, OfferAnswered("c1", "a1"))
    desk.at(10.0, CallEnded("c1"))
    assert str(desk.acd.agent_state("a1")) == "wrap_up"
    desk.run_until(39.0)
    assert str(desk.acd.agent_state("a1")) == "wrap_up"  # the new 30 s wrap-up
    out = desk.run_until(40.5)
    assert Offer("c2", "a1", "fxs-a1") in out  # c2 kept its place and gets the agent


def test_a_new_agent_takes_waiting_calls(make_desk, make_agent, general):
    desk = _waiting_desk(make_desk, make_agent, general)
    agents = [make_agent("a1", "general"), make_agent("a2", "general"),
              make_agent("a3", "general")]
    desk.acd.reconfigure([general], agents)
    out = desk.ready(5.0, "a3")
    assert Offer("c2", "a3", "fxs-a3") in out


def test_logged_out_agents_change_and_leave(make_desk, make_agent, general):
    vip = QueueModel(name="vip", wrap_up_s=0, announce={"every_s": 0})
    desk = make_desk([general, vip], [make_agent("a1", "general"), make_agent("a2", "general")])
    desk.acd.reconfigure([general, vip], [make_agent("a2", "vip")])
    desk.at(1.0, CallArrived("c1", "general"))
    desk.ready(2.0, "a1", "a2")  # a1 is in no queue now: never offered a call
    assert desk.acd.waiting("general") == 1
    out = desk.at(3.0, CallArrived("v1", "vip"))
    assert Offer("v1", "a2", "fxs-a2") in out


@pytest.mark.parametrize(("change", "message"), [
    (lambda g, a: ([g, QueueModel(name="loans")], a), "queues added"),
    (lambda g, a: ([g.model_copy(update={"strategy": "round_robin"})], a), "strategy"),
    (lambda g, a: ([g], a[1:]), "'a1' is logged in and would be removed"),
    (lambda g, a: ([g], [a[0].model_copy(update={"skills": {"en": 5}}), a[1]]),
     "'a1' is logged in and would change"),
])
def test_refused_changes_change_nothing(make_desk, make_agent, general, change, message):
    desk = _waiting_desk(make_desk, make_agent, general)
    agents = [make_agent("a1", "general"), make_agent("a2", "general")]
    queues, new_agents = change(general, agents)
    with pytest.raises(ValueError, match=message):
        desk.acd.reconfigure(queues, new_agents)
    desk.at(3.0, OfferAnswered("c1", "a1"))
    assert desk.acd.waiting("general") == 1
    assert str(desk.acd.agent_state("a1")) == "talking"
