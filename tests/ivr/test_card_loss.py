"""Issue 18, point 6: a lost card reported through the sample flow, with and without a
caller ID, refused by the bank, and with the bank's system failing (that goes to a person)."""

import pytest
from ivr_harness import IvrHarness, make_call

from branchline.ivr import Enqueue, HangUp, HostRequest, Play, sample_flow, sample_prompts

CARD = "6222021234567894"
LOSS_KEYS = "12" + CARD + "#1"  # Mandarin, lost card, the card number, confirm it


def report_loss(host, call=None):
    h = IvrHarness(sample_flow(), prompts=sample_prompts(), host=host,
                   **({"call": call} if call else {}))
    h.start()
    h.keys(LOSS_KEYS, at=1.0)
    h.run(until=200.0)
    return h


def reference(request):
    return 0.5, "ok", {"reference": "20261124001"}


def prompts_heard(h):
    return [item for play in h.of(Play) for item in play.items if "/" not in item]


@pytest.mark.parametrize(("call", "who"), [
    (make_call(caller="", caller_absent="P"), {"caller_absent": "P"}),     # withheld
    (make_call(caller="", caller_absent="O"), {"caller_absent": "O"}),     # unavailable
    (make_call(caller="", caller_absent="none"), {"caller_absent": "none"}),  # no caller ID
    (make_call(caller="13800138000"), {"caller": "13800138000"}),
])
def test_the_request_names_the_caller_or_why_there_is_none(call, who):
    h = report_loss(reference, call)
    (request,) = h.of(HostRequest)
    assert request.endpoint == "card_loss"
    assert request.body == {"card_number": CARD, **who}
    assert "loss.reported" in prompts_heard(h)


@pytest.mark.parametrize(("code", "node", "prompt"), [
    ("no_card", "loss_no_card", "loss.no_card"),
    ("already_blocked", "loss_already_blocked", "loss.already_blocked"),
])
def test_a_refusal_says_what_the_bank_refused(code, node, prompt):
    h = report_loss(lambda request: (0.5, "error", {"code": code}))
    assert h.path()[h.path().index("loss_request") + 1] == node
    heard = prompts_heard(h)
    assert prompt in heard
    assert "host.refused" not in heard and "host.failed" not in heard


def test_an_unknown_refusal_goes_to_a_person():
    h = report_loss(lambda request: (0.5, "error", {"code": "frozen"}))
    assert "loss.refused" in prompts_heard(h)
    (enqueue,) = h.of(Enqueue)
    assert enqueue.data["host_problem"] == "card_loss: error frozen"


@pytest.mark.parametrize(("answer", "problem"), [
    ((0.5, "failed", {"code": "unreachable"}), "card_loss: failed unreachable"),
    ((0.5, "failed", {"code": "http_503"}), "card_loss: failed http_503"),
    ((0.5, "failed", {"code": "bad_reply"}), "card_loss: failed bad_reply"),
    ((0.5, "ok", {"nothing": "useful"}), "card_loss: failed bad_reply"),
    ((0.5, "timeout", {}), "card_loss: timeout"),
    (None, "card_loss: timeout"),                     # no reply: the session's own timer
])
def test_a_host_failure_goes_to_a_person_with_the_reason(answer, problem):
    h = report_loss(lambda request: answer)
    heard = prompts_heard(h)
    assert "host.failed" in heard
    assert "host.refused" not in heard and "loss.refused" not in heard
    (enqueue,) = h.of(Enqueue)
    assert enqueue.queue == "general"
    assert enqueue.data["host_problem"] == problem
    assert h.terminal == HangUp("served")  # the default queue script: an agent took it
