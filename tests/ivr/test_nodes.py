"""Every node kind, table-driven: a flow, what the caller and the outside world do, and the
path and ending that must follow."""

import datetime as dt

import pytest
from ivr_harness import SHANGHAI, IvrHarness, luhn_complete, make_call, tiny_flow

from branchline.ivr import (
    CallerHungUp,
    Digit,
    Enqueue,
    HangUp,
    HostRequest,
    Play,
    PlaybackFinished,
    QueueOutcome,
    RecordMessage,
    Session,
    StopRecording,
    StoreSurvey,
    Trace,
    Transfer,
)

CARD = luhn_complete("622588013765123")

COLLECT = {"kind": "collect", "var": "code", "prompt": "enter", "min_length": 4,
           "max_length": 6, "next": "said"}
SAID = {"kind": "play", "items": [{"say": "digits", "var": "code"}], "next": "bye"}


def run(nodes, keys=(), *, host=None, queue=None, call=None, **top):
    h = IvrHarness(tiny_flow(nodes, **top), **({"host": host} if host else {}),
                   **({"queue": queue} if queue else {}), **({"call": call} if call else {}))
    h.start()
    for at, text in keys:
        h.keys(text, at=at)
    h.run()
    return h


CASES = {
    "menu single key": (
        {"m": {"kind": "menu", "prompt": "m", "options": {"1": "bye"}}},
        [(0.5, "1")], ["m", "bye"], HangUp("bye")),
    "menu multi-key direct dial": (
        {"m": {"kind": "menu", "prompt": "m", "options": {"21": "bye", "22": "agent"}}},
        [(0.5, "22")], ["m", "agent"], None),
    "collect with terminator": (
        {"c": COLLECT, "said": SAID}, [(0.5, "1234#")], ["c", "said", "bye"], HangUp("bye")),
    "collect ends at max length": (
        {"c": COLLECT, "said": SAID}, [(0.5, "123456")], ["c", "said", "bye"], HangUp("bye")),
    "collect ends at inter-digit timeout": (
        {"c": COLLECT, "said": SAID}, [(0.5, "12345")], ["c", "said", "bye"], HangUp("bye")),
    "collect too short escalates after its budget": (
        {"c": {**COLLECT, "budgets": {"invalid": 0}}, "said": SAID}, [(0.5, "12#")],
        ["c", "agent"], None),
    "collect regex": (
        {"c": {**COLLECT, "validate": {"regex": "9.*"}, "budgets": {"invalid": 0}},
         "said": SAID}, [(0.5, "1234#")], ["c", "agent"], None),
    "collect allowed values": (
        {"c": {**COLLECT, "validate": {"allowed": ["1234"]}}, "said": SAID},
        [(0.5, "1234#")], ["c", "said", "bye"], HangUp("bye")),
    "collect luhn": (
        {"c": {**COLLECT, "min_length": 16, "max_length": 19, "validate": {"luhn": True}},
         "said": SAID}, [(0.5, CARD + "#")], ["c", "said", "bye"], HangUp("bye")),
    "collect back key goes to the previous menu": (
        {"m": {"kind": "menu", "prompt": "m", "options": {"1": "c", "2": "bye"}},
         "c": COLLECT, "said": SAID}, [(0.5, "1"), (1.0, "*"), (1.5, "2")],
        ["m", "c", "m", "bye"], HangUp("bye")),
    "play then next": (
        {"p": {"kind": "play", "items": ["a", "b"], "next": "bye"}}, [], ["p", "bye"],
        HangUp("bye")),
    "switch on caller attribute": (
        {"s": {"kind": "switch", "default": "bye",
               "cases": [{"when": {"var": "caller.number", "prefix": "138"}, "goto": "agent"}]}},
        [], ["s", "agent"], None),
    "switch any/not": (
        {"s": {"kind": "switch", "default": "bye",
               "cases": [{"when": {"any": [{"var": "caller.vip", "eq": True},
                                           {"not": {"var": "caller.errors", "lt": 1}}]},
                          "goto": "agent"}]}},
        [], ["s", "bye"], HangUp("bye")),
    "language sets the prompt language": (
        {"l": {"kind": "language", "set": "en", "next": "p"},
         "p": {"kind": "play", "items": "hello", "next": "bye"}}, [], ["l", "p", "bye"],
        HangUp("bye")),
    "transfer": (
        {"t": {"kind": "transfer", "target": "8001"}}, [], ["t"], Transfer("8001")),
    "transfer with a prompt": (
        {"t": {"kind": "transfer", "target": "8001", "prompt": "connecting"}}, [], ["t"],
        Transfer("8001")),
    "hangup with goodbye": (
        {"h": {"kind": "hangup", "prompt": "goodbye", "reason": "done"}}, [], ["h"],
        HangUp("done")),
    "subflow returns to its caller": (
        {"call": {"kind": "subflow", "flow": "sub", "next": "bye"}}, [], ["call", "sub:p",
                                                                          "bye"],
        HangUp("bye")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_node_kind(name):
    nodes, keys, path, terminal = CASES[name]
    top = {}
    if name.startswith("subflow"):
        top["subflows"] = {"sub": {"start": "p", "nodes": {
            "p": {"kind": "play", "items": "x", "next": "return"}}}}
    h = run(nodes, keys, **top)
    assert h.path() == path
    if terminal is not None:
        assert h.terminal == terminal
    else:
        assert h.of(Enqueue)


def test_language_node_changes_play_language():
    h = run({"l": {"kind": "language", "set": "yue", "next": "p"},
             "p": {"kind": "play", "items": [{"say": "money", "value": "22000"}],
                   "next": "bye"}})
    play = h.of(Play)[0]
    assert play.language == "yue"
    assert play.items == ("num/2_liang", "num/10^4", "num/2_liang", "num/1000", "money/yuan",
                          "money/zheng")


def test_collect_confirm_and_reenter_and_masking():
    nodes = {"c": {**COLLECT, "min_length": 16, "max_length": 19, "sensitive": True,
                   "mask": "last4", "confirm": True, "confirm_prompt": "you_entered",
                   "confirm_options_prompt": "press_1_or_2"},
             "said": {"kind": "play", "items": "ok", "next": "bye"}}
    h = IvrHarness(tiny_flow(nodes))
    h.start()
    h.keys(CARD + "#", at=0.5, gap=0.1)
    h.keys("2", at=5.0)                    # re-enter
    h.keys(CARD + "#", at=6.0, gap=0.1)
    h.keys("1", at=11.0)                   # confirm
    h.run()
    assert h.path() == ["c", "said", "bye"]
    readback = [p for p in h.of(Play) if p.sensitive]
    assert len(readback) == 2
    assert readback[0].items[0] == "you_entered" and readback[0].items[-1] == "press_1_or_2"
    assert "<masked>" in repr(readback[0]) and "num/" not in repr(readback[0])
    details = [t.detail for t in h.traces if t.node == "c" and t.what in ("digits", "confirm")]
    shown = "*" * 12 + CARD[-4:]
    assert details == [f"{shown} read back", "caller chose to re-enter",
                       f"{shown} read back", "confirmed", f"code = {shown}"]


def test_host_request_reply_and_masked_body():
    nodes = {"pin": {"kind": "collect", "var": "pin", "prompt": "p", "min_length": 6,
                     "max_length": 6, "sensitive": True, "next": "ask"},
             "ask": {"kind": "host", "endpoint": "balance", "timeout": 4,
                     "body": {"pin": "pin", "caller": "caller.number"},
                     "results": {"balance": "balance"},
                     "on_ok": "say", "on_error": "bye", "on_timeout": "agent"},
             "say": {"kind": "play", "items": [{"say": "money", "var": "balance"}],
                     "next": "bye"}}
    h = run(nodes, [(0.5, "975312")])
    request = h.of(HostRequest)[0]
    assert request.body == {"pin": "975312", "caller": "13800138000"}
    assert request.sensitive_fields == frozenset({"pin"})
    assert "975312" not in repr(request)
    assert h.path() == ["pin", "ask", "say", "bye"]
    assert h.of(Play)[-1].items == ("num/1", "num/1000", "num/2_liang", "num/100", "num/3",
                                    "num/10", "num/4", "money/yuan", "num/5", "money/jiao",
                                    "num/6", "money/fen")


@pytest.mark.parametrize(("answer", "path"), [
    ((0.5, "error", {"code": "bad_pin"}), ["ask", "bye"]),
    ((0.5, "timeout", {}), ["ask", "agent"]),
    (None, ["ask", "agent"]),                               # no reply: our own timer
    ((9.0, "ok", {"balance": "1.00"}), ["ask", "agent"]),   # too late: the timer won
    ((0.5, "ok", {"other": "x"}), ["ask", "agent"]),        # reply lacks a result field
    ((0.5, "failed", {"code": "http_503"}), ["ask", "agent"]),  # the host failed
    ((0.5, "error", {"code": "no_card"}), ["ask", "gone"]),     # on_refused
])
def test_host_outcomes(answer, path):
    nodes = {"ask": {"kind": "host", "endpoint": "balance", "timeout": 4,
                     "results": {"balance": "balance"}, "on_ok": "bye",
                     "on_refused": {"no_card": "gone"}, "on_error": "bye",
                     "on_timeout": "agent"},
             "gone": {"kind": "hangup", "reason": "no_card"}}
    h = run(nodes, host=lambda request: answer)
    assert h.path() == path


@pytest.mark.parametrize(("outcomes", "path", "terminal"), [
    ([(1.0, QueueOutcome("answered", "a7")), (9.0, "ended")], ["q", "rate", "bye"],
     HangUp("bye")),
    ([(1.0, QueueOutcome("overflow"))], ["q", "full"], HangUp("full")),
    ([(1.0, QueueOutcome("callback"))], ["q", "later"], HangUp("later")),
    ([(1.0, QueueOutcome("closed"))], ["q"], HangUp("queue_closed")),
    ([(1.0, QueueOutcome("abandoned"))], ["q"], HangUp("abandoned")),
])
def test_queue_outcomes(outcomes, path, terminal):
    from branchline.ivr import AgentCallEnded

    script = [(d, AgentCallEnded() if e == "ended" else e) for d, e in outcomes]
    nodes = {"q": {"kind": "queue", "queue": "general", "priority": 3, "skills": ["cards"],
                   "after_call": "rate", "on_overflow": "full", "on_callback": "later"},
             "rate": {"kind": "survey", "prompt": "rate", "next": "bye"},
             "full": {"kind": "hangup", "reason": "full"},
             "later": {"kind": "hangup", "reason": "later"}}
    h = IvrHarness(tiny_flow(nodes), queue=lambda e: script)
    h.start()
    h.keys("4", at=12.0)
    h.run()
    assert h.path() == path
    assert h.terminal == terminal
    assert h.of(Enqueue)[0] == Enqueue("general", 3, ("cards", "zh"),
                                       {"call_id": "c1", "caller": "13800138000",
                                        "language": "zh", "vip": "false"})
    if path[-1] == "bye":
        assert h.of(StoreSurvey) == [StoreSurvey(4, "a7")]


def test_message_records_and_hash_finishes():
    nodes = {"msg": {"kind": "message", "prompt": "after_the_tone", "max_seconds": 30,
                     "next": "bye"}}
    h = IvrHarness(tiny_flow(nodes), message_seconds=30)
    h.start()
    h.keys("#", at=5.0)
    h.run()
    assert h.of(RecordMessage) == [RecordMessage(30, True, "13800138000")]
    assert h.of(StopRecording) == [StopRecording()]
    assert h.path() == ["msg", "bye"]


@pytest.mark.parametrize(("when", "branch"), [
    (dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI), "open"),        # Tuesday
    (dt.datetime(2026, 11, 24, 17, 0, tzinfo=SHANGHAI), "closed"),      # end is exclusive
    (dt.datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI), "closed"),      # Sunday
    (dt.datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI), "holiday"),      # National Day
    (dt.datetime(2026, 10, 10, 10, 0, tzinfo=SHANGHAI), "open"),        # make-up Saturday
    # 01:59 UTC is 09:59 in Shanghai: the call's own zone decides.
    (dt.datetime(2026, 11, 24, 1, 59, tzinfo=dt.UTC).astimezone(SHANGHAI), "open"),
])
def test_schedule(when, branch):
    nodes = {"s": {"kind": "schedule", "hours": {"tue": ["09:00-17:00"]},
                   "holidays": ["2026-10-01"], "workdays": {"2026-10-10": ["09:00-12:00"]},
                   "open": "o", "closed": "c", "holiday": "h"},
             "o": {"kind": "hangup", "reason": "open"},
             "c": {"kind": "hangup", "reason": "closed"},
             "h": {"kind": "hangup", "reason": "holiday"}}
    h = run(nodes, call=make_call(when=when))
    assert h.terminal == HangUp(branch)


def test_prefix_ambiguity_waits_the_inter_digit_timeout():
    nodes = {"m": {"kind": "menu", "prompt": "m", "options": {"1": "bye", "10": "agent"}}}
    h = run(nodes, [(0.5, "1")])
    assert h.path() == ["m", "bye"]
    assert [t.at for t in h.traces if t.what == "digits"] == [2.5]   # 0.5 + 2 s
    h = run(nodes, [(0.5, "10")])
    assert h.path() == ["m", "agent"]


def test_repeat_key_replays_the_long_prompt_without_an_error():
    nodes = {"m": {"kind": "menu", "prompt": "m", "short_prompt": "short",
                   "options": {"1": "bye"}}}
    h = run(nodes, [(0.5, "#"), (1.0, "1")])
    assert [p.items for p in h.of(Play)] == [("m",), ("m",)]
    assert not [t for t in h.traces if t.what in ("invalid", "no_input")]


def test_type_ahead_skips_prompts_the_caller_already_knows():
    nodes = {"m": {"kind": "menu", "prompt": "m", "options": {"1": "info"}},
             "info": {"kind": "play", "items": "long_notice", "next": "m2"},
             "m2": {"kind": "menu", "prompt": "m2", "options": {"2": "bye"}}}
    h = run(nodes, [(0.1, "12")])
    assert h.path() == ["m", "info", "m2", "bye"]
    # The 2 interrupts the notice and is kept for m2, whose prompt never plays.
    assert [p.items for p in h.of(Play)] == [("m",), ("long_notice",)]
    # Keys held behind a prompt without barge-in are all in the buffer when it ends: the
    # notice is skipped altogether.
    nodes["m"]["barge_in"] = False
    h = run(nodes, [(0.1, "12")])
    assert h.path() == ["m", "info", "m2", "bye"]
    assert [p.items for p in h.of(Play)] == [("m",)]
    assert Trace("skipped", "info", "caller typed ahead", 1.0) in h.traces


def test_barge_in_off_holds_keys_until_the_prompt_ends():
    nodes = {"m": {"kind": "menu", "prompt": "m", "options": {"1": "bye"}, "barge_in": False}}
    h = run(nodes, [(0.2, "1")])
    assert [t.at for t in h.traces if t.what == "digits"] == [1.0]   # after the 1 s prompt


def test_illegal_events_are_ignored_and_traced():
    session = Session(tiny_flow({"m": {"kind": "menu", "prompt": "m",
                                       "options": {"1": "bye"}}}), make_call(), 0.0)
    session.start(0.0)
    assert session.handle(PlaybackFinished(99), 0.5) == [
        Trace("ignored", "m", "PlaybackFinished in prompting: play 99 is not playing", 0.5)]
    assert session.handle(QueueOutcome("answered"), 0.6) == [
        Trace("ignored", "m", "QueueOutcome in prompting", 0.6)]
    assert session.handle("garbage", 0.7) == [Trace("ignored", "m", "str in prompting", 0.7)]
    ended = session.handle(CallerHungUp(), 1.0)
    assert ended[-1] == HangUp("caller_hung_up")
    assert session.ended and session.next_deadline() is None
    assert session.handle(Digit("1"), 2.0) == []


def test_session_requires_an_aware_start_time():
    call = make_call(when=dt.datetime(2026, 11, 24, 10, 0))
    with pytest.raises(ValueError, match="must be timezone-aware"):
        Session(tiny_flow({"m": {"kind": "hangup"}}), call, 0.0)
