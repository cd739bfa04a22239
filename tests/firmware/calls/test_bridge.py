"""A call that only rang a station (the offer was withdrawn) must not cut that station's
audio when it ends: by then the station may be bridged to another call."""

from runtime_harness import (
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)


def test_ending_a_call_that_only_rang_a_station_leaves_that_stations_bridge(
        tmp_path, prompts_dir, bank_url):  # noqa: F811
    text = scenario_text(trunks=2, stations=1, rate=3600, end="09:05", prelude="[]",
                         goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
                         handle="{kind: fixed, value: 600}", answer_delay=1)
    h = RuntimeHarness(tmp_path / "d", text, prompts_dir=prompts_dir, bank_url=bank_url)
    station = next(p.index for p in h.board.ports if p.is_station)
    h.run_until(lambda: any(c.s.queueing and c.s.queueing.talk_started is not None
                            for c in h.app.calls.values())
                and any(c.s.in_acd and c.s.queueing.talk_started is None
                        for c in h.app.calls.values()), 300)
    talking = next(c for c in h.app.calls.values() if c.s.queueing.talk_started is not None)
    waiting = next(c for c in h.app.calls.values() if c.s.queueing.talk_started is None)
    mixer = h.app.loop.mixer
    assert mixer.heard_by(station) == [talking.port] and mixer.heard_by(talking.port) == [station]

    # What a withdrawn offer leaves behind: the station it rang, no bridge.
    waiting.s.queueing.station = station
    waiting.release(h.clock.now(), "test")
    h.step()

    assert mixer.heard_by(station) == [talking.port] and mixer.heard_by(talking.port) == [station]
    h.close()
