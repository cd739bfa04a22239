"""`simulate --media events` against the audio mode on the branch day (scenario_day.yaml).

Both modes run the same appliance, engines and records; the event mode moves keys, prompts
and hang-ups as events and skips the blocks where nothing happens. The comparison runs the
day's lunchtime peak (from 12:00, 95 calls an hour) for 15 minutes over three seeds in each
mode: the audio mode costs 35-60 s per run here, which keeps the test near two minutes.
The queue KPIs of the event mode, averaged over the seeds, must lie within the spread of the
audio mode's across the seeds; and since one seed draws the same callers in both modes, the
same callers must reach the queues (within one or two whose IVR timing went the other way).
"""

import shutil
from dataclasses import fields
from importlib import resources

import pytest
from runtime_harness import prompts_dir  # noqa: F401 - fixture

from branchline.acd.kpis import QueueKpis
from branchline.firmware.cli.simulate import simulate
from branchline.hw import parse_scenario
from branchline.hw.sim.event_board import EventSimBoard
from branchline.hw.sim.scenario import ScenarioError

SEEDS = (11, 12, 13)
HOURS = 0.25


def lunchtime():
    text = (resources.files("branchline.config") / "defaults" / "scenario_day.yaml").read_text()
    text = text.replace('day: {start: "09:00", end: "17:00"}',
                        'day: {start: "12:00", end: "17:00"}')
    return parse_scenario(text, "branch day from 12:00")


def queues_total(result):
    total = QueueKpis()
    for kpis in result.kpis.queues.values():
        for f in fields(QueueKpis):
            setattr(total, f.name, getattr(total, f.name) + getattr(kpis, f.name))
    return total


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prompts_dir):  # noqa: F811
    scenario = lunchtime()
    done = {}
    for media in ("audio", "events"):
        for seed in SEEDS:
            data = tmp_path_factory.mktemp(f"{media}-{seed}")
            shutil.copytree(prompts_dir / "prompts", data / "prompts")
            done[media, seed] = simulate(scenario, data, hours=HOURS, seed=seed, media=media)
    return done


def test_event_mode_kpis_lie_within_the_audio_modes_spread_across_seeds(runs):
    figures = {"service level": lambda k: k.service_level, "abandon rate": lambda k: k.abandon_rate,
               "ASA": lambda k: k.asa, "answered": lambda k: k.answered}
    for name, figure in figures.items():
        audio = [figure(queues_total(runs["audio", s])) for s in SEEDS]
        events = [figure(queues_total(runs["events", s])) for s in SEEDS]
        spread = max(audio) - min(audio)
        gap = abs(sum(events) / len(events) - sum(audio) / len(audio))
        assert gap <= spread, f"{name}: audio {audio}, events {events}"


def test_one_seed_brings_the_same_callers_to_the_queues_in_both_modes(runs):
    for seed in SEEDS:
        audio, events = runs["audio", seed], runs["events", seed]
        # Callers ringing during the drain differ (its length does); answered ones do not.
        assert abs(audio.sim_counters.answered - events.sim_counters.answered) <= 1, seed
        assert abs(queues_total(audio).offered - queues_total(events).offered) <= 2, seed
        assert abs(audio.calls - events.calls) <= 2, seed
        assert events.ticks * 10 < audio.ticks  # it skipped the blocks where nothing happened


def test_a_scenario_with_call_backs_is_refused_in_event_mode_with_the_remedy():
    scenario = lunchtime()
    goals = scenario.callers.goals
    asking = goals["agent"].model_copy(update={"steps": (
        *goals["agent"].steps[:1], goals["agent"].steps[1].model_copy(
            update={"wait_agent": False, "callback": "1"}))})
    scenario = scenario.model_copy(update={"callers": scenario.callers.model_copy(
        update={"goals": {**goals, "agent": asking}})})
    with pytest.raises(ScenarioError) as caught:
        EventSimBoard(scenario=scenario)
    assert "callers.goals.agent: callers ask for a call back, which the event mode cannot " \
        "dial out" in str(caught.value)
    assert "run this scenario with audio media" in str(caught.value)
