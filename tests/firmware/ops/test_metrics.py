"""Metrics: the exposition text parses, the values are the recorded ones, HTTP on loopback;
then metrics and logs of a real call on a real Appliance."""

import io
import logging
import re

import pytest
from runtime_harness import (
    CARD,
    PIN,
    RuntimeHarness,
    bank_url,  # noqa: F401 - fixture
    prompts_dir,  # noqa: F401 - fixture
    scenario_text,
)

from branchline.firmware.media_loop import TickStats
from branchline.firmware.ops.logs import configure_logging
from branchline.firmware.ops.metrics import (
    TICK_BUCKETS_S,
    ApplianceMetrics,
    RuntimeSnapshot,
    _tick_buckets,
    parse_listen,
    render_exposition,
)

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')


def parse(text):
    """A strict reader of the text format 0.0.4: {(name, labels): value}, and the types."""
    assert text.endswith("\n")
    samples, types, helps = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helps, f"second HELP for {name}"
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram"}
            types[name] = kind
        else:
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name, body, value = m.groups()
            labels = ()
            if body:
                pairs = _LABEL.findall(body)
                assert ",".join(f'{k}="{v}"' for k, v in pairs) == body, line
                labels = tuple(sorted(pairs))
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            assert family in types or name in types, f"{name} has no TYPE"
            samples[(name, labels)] = float(value)
    assert helps == set(types)
    return samples, types


SNAPSHOT = RuntimeSnapshot(
    taken_at=12.0, ticks=1000, late_ticks=3, tick_buckets=(10, 100, 500, 900, 990, 998, 999, 999),
    tick_seconds_sum=0.7, active_calls=4, waiting={"general": 2, 'odd"name': 1},
    agents={"ready": 2, "talking": 3}, calls_by_outcome={"answered": 7, "self-served": 5},
    errors={"acd_illegal_event": 1}, records_pending=2, draining=True, config_version=3)


def test_exposition_parses_and_holds_the_values():
    samples, types = parse(render_exposition(SNAPSHOT))
    assert types["branchline_tick_duration_seconds"] == "histogram"
    assert types["branchline_calls_total"] == "counter"
    assert samples[("branchline_late_ticks_total", ())] == 3
    assert samples[("branchline_active_calls", ())] == 4
    assert samples[("branchline_queue_waiting_calls", (("queue", "general"),))] == 2
    assert samples[("branchline_queue_waiting_calls", (("queue", 'odd\\"name'),))] == 1
    assert samples[("branchline_agents", (("state", "talking"),))] == 3
    assert samples[("branchline_agents", (("state", "wrap_up"),))] == 0  # every state shown
    assert samples[("branchline_calls_total", (("outcome", "self-served"),))] == 5
    assert samples[("branchline_errors_total", (("kind", "acd_illegal_event"),))] == 1
    assert samples[("branchline_errors_total", (("kind", "call_exception"),))] == 0
    assert samples[("branchline_records_pending", ())] == 2
    assert samples[("branchline_draining", ())] == 1
    assert samples[("branchline_config_version", ())] == 3
    buckets = [samples[("branchline_tick_duration_seconds_bucket", (("le", repr(e)),))]
               for e in TICK_BUCKETS_S]
    assert buckets == [10, 100, 500, 900, 990, 998, 999, 999]
    assert samples[("branchline_tick_duration_seconds_bucket", (("le", "+Inf"),))] == 1000
    assert samples[("branchline_tick_duration_seconds_count", ())] == 1000
    assert samples[("branchline_tick_duration_seconds_sum", ())] == 0.7


def test_tick_histogram_from_the_media_loop_stats():
    stats = TickStats()
    durations = [0.00007, 0.0003, 0.0003, 0.0012, 0.004, 0.019, 0.035]
    for d in durations:
        stats.add(d, late=False)
    buckets, total = _tick_buckets(stats.histogram, stats.longest_s)
    exact = [sum(d <= edge for d in durations) for edge in TICK_BUCKETS_S]
    assert list(buckets) == exact == [1, 1, 3, 3, 4, 5, 5, 6]
    assert total == pytest.approx(sum(durations), abs=25e-6 * len(durations))


def test_health_follows_the_loop():
    t = [100.0]
    metrics = ApplianceMetrics(clock=lambda: t[0], stale_after_s=5.0)
    assert metrics.health() == (False, "starting: the media loop has not reported yet")
    metrics.update(RuntimeSnapshot(taken_at=1.0))
    assert metrics.health() == (True, "ok")
    t[0] = 106.5
    assert metrics.health() == (False, "stalled: the media loop last reported 6.5 s ago")


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9108", ("127.0.0.1", 9108)),
    ("[::1]:0", ("::1", 0)),
    ("localhost:80", ("localhost", 80)),
])
def test_parse_listen(text, expected):
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9108", ":9108", "host:", "host:99999", "host:http"])
def test_parse_listen_refuses(text):
    with pytest.raises(ValueError, match="expected HOST:PORT with a port 0-65535"):
        parse_listen(text)


@pytest.fixture
def captured_logs():
    logger = logging.getLogger("branchline")
    level, propagate = logger.level, logger.propagate
    stream = io.StringIO()
    handler = configure_logging("kv", "DEBUG", stream)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def test_metrics_and_logs_of_a_real_call(tmp_path, prompts_dir, bank_url, captured_logs):  # noqa: F811
    h = RuntimeHarness(tmp_path, scenario_text(), prompts_dir=prompts_dir, bank_url=bank_url)
    metrics = ApplianceMetrics()
    metrics.attach(h.app)
    try:
        h.run_until(lambda: h.app.active_calls == 1, limit=120)
        assert metrics.sample(h.app, h.clock.now())
        during, _ = parse(metrics.render())
        h.run_until(lambda: h.app.counters["calls_recorded"] >= 1, limit=600)
        now = h.clock.now()
        assert metrics.sample(h.app, now)
        assert not metrics.sample(h.app, now + 0.5)  # at most once a second
        after, _ = parse(metrics.render())
        ticks = h.app.loop.stats.ticks
    finally:
        records = h.close()
    assert during[("branchline_active_calls", ())] == 1
    assert after[("branchline_ticks_total", ())] == ticks
    assert after[("branchline_late_ticks_total", ())] == 0  # a virtual clock is never late
    assert after[("branchline_tick_duration_seconds_count", ())] == after[
        ("branchline_ticks_total", ())]
    outcome = str(records[0].outcome)
    assert after[("branchline_calls_total", (("outcome", outcome),))] == 1
    agents = {dict(k[1])["state"]: v for k, v in after.items() if k[0] == "branchline_agents"}
    assert sum(agents.values()) == len(h.app.config.document.acd.agents)
    waiting = {dict(k[1])["queue"] for k in after if k[0] == "branchline_queue_waiting_calls"}
    assert waiting == {q.name for q in h.app.config.document.acd.queues}
    assert after[("branchline_config_version", ())] == h.app.config.version

    logged = captured_logs.getvalue()
    assert records[0].call_id in logged
    assert CARD not in logged and f"pin={PIN}" not in logged
