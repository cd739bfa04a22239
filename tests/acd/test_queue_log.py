"""The log in Asterisk's queue_log format, line for line."""

from branchline.acd import (
    AgentLogout,
    AgentNotReady,
    AgentReady,
    CallArrived,
    CallbackRequested,
    CallbackResult,
    CallEnded,
    CallerLeft,
    OfferAnswered,
    OfferNoAnswer,
    QueueModel,
)
from branchline.acd.queue_log import queue_log_lines

EPOCH = 1_700_000_000


def test_a_short_shift_in_queue_log_lines(make_desk, make_agent):
    queue = QueueModel(name="cards", wrap_up_s=0, announce={"every_s": 0}, max_wait_s=600,
                       callback={"enabled": True, "key": "1"})
    desk = make_desk([queue], [make_agent("a", "cards")])
    desk.ready(0, "a")
    for t, event in [
        (10, CallArrived("c1", "cards", data={"caller": "13900000001"})),
        (14, OfferNoAnswer("c1", "a")),
        (20, AgentReady("a")),
        (23, OfferAnswered("c1", "a")),
        (83, CallEnded("c1", by_caller=False)),
        (90, AgentNotReady("a", "meal")),
        (100, CallArrived("c2", "cards")),
        (130, CallerLeft("c2")),
        (140, CallArrived("c3", "cards")),
        (150, CallbackRequested("c3", "13900000003")),
        (160, AgentLogout("a")),
    ]:
        desk.at(t, event)
    lines = queue_log_lines(desk.log, {"a": ["cards"]}, epoch_offset=EPOCH)
    assert [line.removeprefix("1700000") for line in lines] == [
        "000|NONE|cards|a|ADDMEMBER",
        "000|NONE|cards|a|PAUSE|logged in",
        "000|NONE|cards|a|UNPAUSE|",
        "010|c1|cards|NONE|ENTERQUEUE||13900000001",
        "014|c1|cards|a|RINGNOANSWER|4000",
        "014|NONE|cards|a|PAUSE|no answer",
        "020|NONE|cards|a|UNPAUSE|",
        "023|c1|cards|a|CONNECT|13|c1|3",
        "083|c1|cards|a|COMPLETEAGENT|13|60|1",
        "090|NONE|cards|a|PAUSE|meal",
        "100|c2|cards|NONE|ENTERQUEUE||",
        "130|c2|cards|NONE|ABANDON|1|1|30",
        "140|c3|cards|NONE|ENTERQUEUE||",
        "150|c3|cards|NONE|EXITWITHKEY|1|1|1|10",
        "160|NONE|cards|a|REMOVEMEMBER",
    ]


def test_timeouts_empty_queues_and_call_backs(make_desk, make_agent):
    cards = QueueModel(name="cards", announce={"every_s": 0}, max_wait_s=60,
                       overflow_target="voicemail")
    loans = QueueModel(name="loans", announce={"every_s": 0}, when_no_agents="reject",
                       wrap_up_s=0, callback={"enabled": True, "key": "5"})
    desk = make_desk([cards, loans], [make_agent("a", "loans")])
    desk.at(0, CallArrived("t1", "cards"))
    desk.at(61, CallArrived("e1", "loans"))  # nobody logged in: refused at the door
    desk.ready(62, "a")
    desk.at(63, AgentNotReady("a", "break"))
    desk.at(64, CallArrived("e2", "loans"))
    desk.at(65, CallbackRequested("e2", "777"))
    desk.at(66, AgentReady("a"))  # the call back is dialled with a reserved
    desk.at(70, CallbackResult("e2", answered=True))
    desk.at(90, CallEnded("e2"))
    desk.at(91, AgentNotReady("a", "break"))
    desk.at(92, CallArrived("e3", "loans"))
    desk.at(93, AgentLogout("a"))  # the last agent leaves: e3 exits empty
    lines = [line for line in queue_log_lines(desk.log, {"a": ["loans"]})
             if "|NONE|loans|a|" not in line]
    assert lines == [
        "0|t1|cards|NONE|ENTERQUEUE||",
        "60|t1|cards|NONE|EXITWITHTIMEOUT|1|1|60",
        "61|e1|loans|NONE|JOINEMPTY",
        "64|e2|loans|NONE|ENTERQUEUE||",
        "65|e2|loans|NONE|EXITWITHKEY|5|1|1|1",
        "92|e3|loans|NONE|ENTERQUEUE||",
        "93|e3|loans|NONE|EXITEMPTY|1|1|1",
    ]
