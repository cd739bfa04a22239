"""The ACD's event log: one flat, frozen record per queue event, with its time.

The engine appends a `QueueEvent` for everything that matters to reporting; the runtime takes
them with `Distributor.take_log()` and stores them (one SQLite row each). KPIs can be recomputed
from the stored log alone (`branchline.acd.kpis.kpis_from_log`), and `branchline.acd.queue_log`
writes it in Asterisk's queue_log format. Unused fields keep their defaults.
"""

from dataclasses import dataclass
from enum import StrEnum


class QueueEventKind(StrEnum):
    ENTERQUEUE = "ENTERQUEUE"  # call entered; position, detail = caller number
    CONNECT = "CONNECT"  # agent answered; wait_s, ring_s
    COMPLETECALLER = "COMPLETECALLER"  # caller hung up; wait_s, talk_s
    COMPLETEAGENT = "COMPLETEAGENT"  # agent hung up; wait_s, talk_s
    ABANDON = "ABANDON"  # caller hung up while waiting; position, wait_s
    EXITWITHTIMEOUT = "EXITWITHTIMEOUT"  # max wait reached; detail = overflow target
    EXITEMPTY = "EXITEMPTY"  # left because nobody is logged in; detail = overflow target
    EXITWITHKEY = "EXITWITHKEY"  # asked for a call back; detail = key
    JOINEMPTY = "JOINEMPTY"  # refused at the door: nobody logged in
    FULL = "FULL"  # refused at the door: max_length reached
    CLOSED = "CLOSED"  # refused at the door: queue closed
    RINGNOANSWER = "RINGNOANSWER"  # offer rang out or was declined; ring_s, reason
    RINGCANCELED = "RINGCANCELED"  # offer withdrawn (caller left, agent logged out); ring_s
    CALLBACKDIAL = "CALLBACKDIAL"  # agent reserved, call back dialled; detail = number
    CALLBACKCONNECT = "CALLBACKCONNECT"  # call back answered; wait_s = since the request
    CALLBACKFAILED = "CALLBACKFAILED"  # one attempt unanswered; reason "retry" or "gave up"
    # The agent handed the call over (agent_id, talk_s of that agent's leg; detail = where to:
    # "agent:<id>", "queue:<name>" or the runtime's word); the call stays one call.
    TRANSFER = "TRANSFER"
    AGENTSTATE = "AGENTSTATE"  # old_state -> new_state, reason; queue of the call if any
    # Written at the next start for a call the appliance lost in a crash; reason "waiting",
    # "talking" or "callback" (what the call was doing), wait_s / talk_s as far as known.
    APPLIANCERESTART = "APPLIANCERESTART"


@dataclass(frozen=True, slots=True)
class QueueEvent:
    time: float
    kind: QueueEventKind
    call_id: str = ""
    queue: str = ""
    agent_id: str = ""
    priority_class: str = ""
    position: int = 0
    orig_position: int = 0
    wait_s: float = 0.0
    talk_s: float = 0.0
    ring_s: float = 0.0
    old_state: str = ""
    new_state: str = ""
    reason: str = ""
    detail: str = ""
