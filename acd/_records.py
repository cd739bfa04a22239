"""The engine's own records of queues, agents and calls (mutable, private to the engine)."""

from branchline.acd._lines import Line
from branchline.acd.agent_states import AgentState, Trigger
from branchline.acd.models import AgentModel, QueueModel

# Agent states that count as staffing a line: they will take its calls soon.
WORKING = frozenset({AgentState.READY, AgentState.RESERVED, AgentState.TALKING,
                     AgentState.WRAP_UP})

# Call states.
WAITING = "waiting"  # in its line (a call-back placeholder too)
OFFERED = "offered"  # an agent is reserved and ringing
DIALING = "dialing"  # call-back: an agent is reserved and the caller is being dialled
RETRY = "retry"  # call-back: waiting to try the caller again
CONNECTED = "connected"  # talking to an agent; out of the queue


class QueueRecord:
    __slots__ = ("aht", "classes", "in_queue", "lines", "logged_in", "members", "model", "open")

    def __init__(self, model: QueueModel):
        self.model = model
        self.classes = {c.name: c for c in model.classes}
        self.lines: dict[frozenset[str], Line] = {}
        self.members: list[AgentRecord] = []
        self.logged_in = 0
        self.in_queue = 0  # waiting or ringing, placeholders included (for max_length)
        self.open = True
        self.aht = model.expected_handle_s


class AgentRecord:
    __slots__ = (
        "call",
        "calls",
        "epoch",
        "home",
        "id",
        "last_offer",
        "last_talk",
        "lines",
        "order",
        "penalty",
        "pending",
        "ready_since",
        "reason",
        "rnd",
        "skills",
        "state",
        "station",
        "talk_total",
        "wrap_queue",
        "wrap_started",
        "wrap_timer",
    )

    def __init__(self, model: AgentModel, order: int):
        self.id = model.id
        self.station = model.station
        self.home = model.station  # the configured station; `station` may differ while logged in
        self.skills = dict(model.skills)
        self.penalty = {m.queue: m.penalty for m in model.queues}
        self.order = order
        self.state = AgentState.LOGGED_OUT
        self.reason = ""
        self.pending: tuple[Trigger, str] | None = None
        self.ready_since = 0.0
        self.epoch = 0
        self.call: CallRecord | None = None
        self.calls = 0
        self.talk_total = 0.0
        self.last_talk = 0.0
        self.last_offer = 0
        self.rnd = 0.0
        self.lines: list[Line] = []
        self.wrap_queue = ""
        self.wrap_started = 0.0
        self.wrap_timer = 0


class CallRecord:
    __slots__ = ("agent", "announce_timer", "arrived", "attempts", "callback_at", "cb_timer",
                 "consult", "id", "klass", "last_pos", "last_staffed", "last_wait", "line",
                 "number", "offer_timer", "offered_at", "orig_position", "priority", "promote_at",
                 "queue", "seq", "sl_due", "state", "talk_started", "token", "wait_timer")

    def __init__(self, call_id: str, queue: QueueRecord, klass: str, line: Line, seq: int,
                 now: float):
        pc = queue.classes[klass]
        self.id = call_id
        self.queue = queue
        self.klass = klass
        self.priority = pc.priority
        self.line = line
        self.seq = seq
        self.token = 0
        self.arrived = now
        self.promote_at = now + pc.promote_after_s
        self.sl_due = now + pc.service_level_s
        self.state = WAITING
        self.agent: AgentRecord | None = None
        self.consult: AgentRecord | None = None  # a colleague rung or talking for this call
        self.offered_at = 0.0
        self.talk_started = 0.0
        self.orig_position = 0
        self.number = ""  # set when the call became a call-back placeholder
        self.callback_at = 0.0
        self.attempts = 0
        self.last_pos = 0
        self.last_wait: int | None = None
        self.last_staffed = 0
        self.offer_timer = self.wait_timer = self.announce_timer = self.cb_timer = 0
