"""Fixtures for the ACD tests: `make_desk` (a Distributor driven on a virtual clock) and
`make_agent` (an AgentModel in a line)."""

import pytest

from branchline.acd import (
    AgentLogin,
    AgentModel,
    AgentReady,
    Distributor,
    Membership,
    QueueModel,
    Tick,
)


class Desk:
    """A Distributor on a virtual clock, remembering every decision (like h11's two peers, the
    test plays the runtime)."""

    def __init__(self, queues, agents, **kwargs):
        self.queues = queues
        self.acd = Distributor(queues, agents, **kwargs)
        self.now = 0.0
        self.decisions = []
        self.log = []

    def at(self, t, event):
        """Fire due timers up to t, then handle the event at t; returns that event's decisions."""
        self.run_until(t)
        self.now = t
        out = self.acd.handle(event, t)
        self.decisions += out
        self.log += self.acd.take_log()
        return out

    def run_until(self, t):
        out = []
        while (due := self.acd.next_deadline()) is not None and due <= t:
            self.now = due
            step = self.acd.handle(Tick(), due)
            out += step
        self.decisions += out
        self.log += self.acd.take_log()
        self.now = max(self.now, t)
        return out

    def ready(self, t, *agent_ids):
        out = []
        for a in agent_ids:
            out += self.at(t, AgentLogin(a))
            out += self.at(t, AgentReady(a))
        return out


def agent(agent_id, *queues, skills=None, penalty=0):
    return AgentModel(
        id=agent_id,
        name=agent_id.upper(),
        station=f"fxs-{agent_id}",
        skills=skills or {},
        queues=[Membership(queue=q, penalty=penalty) for q in queues],
    )


@pytest.fixture
def make_desk():
    return Desk


@pytest.fixture
def general():
    return QueueModel(name="general", wrap_up_s=0, announce={"every_s": 0})


@pytest.fixture
def make_agent():
    return agent
