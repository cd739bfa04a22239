"""Random flows: the validator never raises, and a flow it passes always lets a random
caller's call end (the visit, error and time budgets hold even for odd graphs, and through
transfers that fail back into the flow)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ivr_harness import IvrHarness

from branchline.ivr import Flow, PromptCatalog, QueueOutcome, TransferOutcome, validate_flow

NAMES = [f"n{i}" for i in range(7)]
CATALOG = PromptCatalog({name: {"zh": "请按键"} for name in ("p", "bad", "silent")})


@st.composite
def flows(draw):
    count = draw(st.integers(2, 7))
    names = NAMES[:count]
    # The first target of node i is node i + 1, so most nodes are reachable; the others
    # are anywhere, which makes loops of every shape.
    target = st.sampled_from([*names, "agent", "bye"])
    nodes = {}
    for i, name in enumerate(names):
        chain = names[i + 1] if i + 1 < count else "bye"
        kind = draw(st.sampled_from(["menu", "menu", "play", "collect", "switch", "host",
                                     "transfer"]))
        if kind == "menu":
            keys = draw(st.lists(st.sampled_from(["1", "2", "3", "12", "9"]), min_size=1,
                                 max_size=3, unique=True))
            nodes[name] = {"kind": "menu", "prompt": "p",
                           "options": {k: chain if j == 0 else draw(target)
                                       for j, k in enumerate(keys)}}
        elif kind == "play":
            nodes[name] = {"kind": "play", "items": "p", "next": draw(st.sampled_from(
                [chain, *names[i + 1:], "bye"]))}
        elif kind == "collect":
            nodes[name] = {"kind": "collect", "var": "v", "prompt": "p", "max_length": 4,
                           "next": chain}
        elif kind == "switch":
            nodes[name] = {"kind": "switch", "default": chain,
                           "cases": [{"when": {"var": "caller.errors", "ge": 1},
                                      "goto": draw(target)}]}
        elif kind == "transfer":
            nodes[name] = {"kind": "transfer", "target": "95566",
                           "on_failure": draw(st.one_of(st.none(), target))}
        else:
            nodes[name] = {"kind": "host", "endpoint": "balance", "on_ok": chain,
                           "on_error": draw(target), "on_timeout": draw(target)}
    nodes["agent"] = {"kind": "queue", "queue": "general", "on_closed": draw(target)}
    nodes["bye"] = {"kind": "hangup"}
    return Flow.model_validate({
        "flow": "random", "start": "n0", "operator": "agent",
        "defaults": {"invalid_prompt": "bad", "no_input_prompt": "silent"}, "nodes": nodes})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=flows(), keys=st.lists(st.tuples(st.floats(0, 120), st.sampled_from("0123*#9")),
                                   max_size=30),
       transfer=st.sampled_from(["failed", "connected"]))
def test_validated_random_flows_always_end(flow, keys, transfer):
    report = validate_flow(flow, queues={"general"}, endpoints={"balance"}, prompts=CATALOG)
    if not report.ok:
        return
    h = IvrHarness(flow, queue=lambda e: [(2.0, QueueOutcome("closed"))],
                   host=lambda r: (0.5, "ok", {}),
                   transfer=lambda t: [(3.0, TransferOutcome(transfer, "test"))])
    h.start()
    for at, key in keys:
        h.keys(key, at=at)
    h.run()
    connected = any(t.what == "transfer" and t.detail.endswith(": connected (test)")
                    for t in h.traces)
    assert h.session.ended and len(h.terminals) == (0 if connected else 1)
    limits = flow.limits
    assert len(h.path()) <= limits.max_visits + limits.grace_visits
