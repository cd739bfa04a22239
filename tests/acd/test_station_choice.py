"""An agent may log in at a station other than the configured one (the agent desktop's
choice): offers ring there until logout; a station holds one logged-in agent."""

import pytest

from branchline.acd import (
    AgentLogin,
    AgentLogout,
    AgentReady,
    CallArrived,
    Distributor,
    IllegalEvent,
    Offer,
)
from branchline.acd.models import AgentModel, QueueModel


def _acd() -> Distributor:
    queue = QueueModel(name="general")
    agents = [AgentModel(id=a, name=a, station=s, queues=[{"queue": "general"}])
              for a, s in (("1001", "S0"), ("1002", "S1"))]
    return Distributor([queue], agents)


def test_an_offer_rings_the_station_chosen_at_login():
    acd = _acd()
    acd.handle(AgentLogin("1001", station="S7"), 0.0)
    acd.handle(AgentReady("1001"), 1.0)
    offers = [d for d in acd.handle(CallArrived("c1", "general"), 2.0) if isinstance(d, Offer)]
    assert offers == [Offer("c1", "1001", "S7")]
    assert acd.agent_station("1001") == "S7"


def test_logout_gives_the_configured_station_back():
    acd = _acd()
    acd.handle(AgentLogin("1001", station="S7"), 0.0)
    acd.handle(AgentLogout("1001"), 1.0)
    assert acd.agent_station("1001") == "S0"
    acd.handle(AgentLogin("1001"), 2.0)
    assert acd.agent_station("1001") == "S0"


def test_a_station_taken_by_a_logged_in_agent_is_refused_and_nothing_changes():
    acd = _acd()
    acd.handle(AgentLogin("1002"), 0.0)
    with pytest.raises(IllegalEvent, match="agent '1002' is logged in there; choose another"):
        acd.handle(AgentLogin("1001", station="S1"), 1.0)
    assert str(acd.agent_state("1001")) == "logged_out"
    assert acd.agent_station("1001") == "S0"
