"""Configuration errors a person can act on: the path, the problem, the fix."""

import pytest
from pydantic import ValidationError

from branchline.acd import AcdConfig, AgentModel, Distributor, Membership, QueueModel


def _error(**kwargs):
    with pytest.raises(ValidationError) as info:
        AcdConfig(**kwargs)
    return str(info.value)


def test_an_agent_in_a_queue_that_does_not_exist():
    text = _error(queues=[QueueModel(name="cards"), QueueModel(name="general")],
                  agents=[AgentModel(id="a1", name="Li", station="fxs1",
                                     queues=[Membership(queue="loans")])])
    assert "agents[0].queues[0].queue: 'loans' is not a queue; use one of 'cards', 'general'" \
        in text


def test_duplicate_ids_stations_and_queues_name_both_places():
    text = _error(
        queues=[QueueModel(name="q"), QueueModel(name="q")],
        agents=[AgentModel(id="a", name="A", station="s1"),
                AgentModel(id="a", name="B", station="s1")],
    )
    assert "queues[1].name: 'q' is used twice" in text
    assert "agents[1].id: 'a' is already agents[0]" in text
    assert "agents[1].station: 's1' is already the station of agents[0]" in text


def test_overflow_to_a_missing_queue():
    text = _error(queues=[QueueModel(name="q", overflow_target="queue:nope")])
    assert "queues[0].overflow_target: 'queue:nope' names no queue; use one of 'q'" in text


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: AgentModel(id="a", name="A", station="s", skills={"mandarin": 11}),
         "skill 'mandarin' has level 11; levels run from 1 (basic) to 10"),
        (lambda: AgentModel(id="a", name="A", station="s", skills={"Min Nan": 3}),
         "skill 'Min Nan' must be lower-case letters"),
        (lambda: QueueModel(name="q", default_class="gold"),
         "default_class: 'gold' is not one of the classes ['vip', 'normal']; name one of them"),
        (lambda: QueueModel(name="q", when_no_agents="overflow"),
         "when_no_agents: 'overflow' needs overflow_target; set it or choose 'wait'"),
    ],
)
def test_field_errors(build, message):
    with pytest.raises(ValidationError) as info:
        build()
    assert message in str(info.value)


def test_the_distributor_refuses_a_broken_configuration():
    with pytest.raises(ValidationError, match="is not a queue"):
        Distributor([QueueModel(name="q")],
                    [AgentModel(id="a", name="A", station="s", queues=[{"queue": "x"}])])


def test_the_bank_defaults():
    q = QueueModel(name="q")
    vip, normal = q.classes
    assert (vip.service_level_s, vip.service_level_pct) == (10, 90)
    assert (normal.service_level_s, normal.service_level_pct) == (20, 80)
    assert q.strategy == "longest_idle"
