"""SIP transactions (RFC 3261 §17, with RFC 6026's Accepted state), as one state table.

Theory of operation. A transaction is a request and every response to it. There are four
kinds: INVITE client (``ict``), INVITE server (``ist``), non-INVITE client (``nict``) and
non-INVITE server (``nist``). Each is a ``Transaction`` driven by events and the time:

    t = Transaction("ict", request, reliable=False)
    actions = t.start(now)                 # [Send(request)], timers A and B armed
    actions = t.receive(response, now)     # a response that matched this transaction
    actions = t.respond(response, now)     # server side: the TU answers (1xx, 2xx, final)
    actions = t.tick(now)                  # fires every timer due at or before now
    t.deadline                             # when tick must next be called (None: never)
    t.armed                                # the armed timers, for a user agent's TimerHeap

Actions are frozen dataclasses: ``Send(message)`` (to the peer, by the transport the request
came or goes by), ``Deliver(message)`` (to the TU: a response, a new request, the ACK of a
2xx), ``TimedOut()`` and ``TransportFailed()`` (to the TU), ``Terminated()`` (forget me).

``TABLE`` is the whole behaviour: (kind, state, event) -> ``Row(next_state, steps)``. Events
from the network and from timers are listed in every state (``IGNORE`` where a late or stray
one is absorbed: a retransmission after the fact, a timer that no longer matters); events
from the TU that a state does not list are refused with ``UsageError`` and change nothing.
docs/sip.md's diagrams are drawn from this table (``render_mermaid``).

Timers (RFC 3261 Table 4; T1 = 500 ms, T2 = 4 s, T4 = 5 s by default): A, E, G are
retransmission timers, started only on an unreliable transport (UDP), doubling (A without
bound, E and G up to T2); B, F, H are 64*T1 give-up timers; D (32 s), I (T4), J (64*T1) and
K (T4) absorb retransmissions and are zero on a reliable transport; L and M (RFC 6026, 64*T1)
keep an accepted INVITE's transaction so retransmitted INVITEs are absorbed and 2xx
retransmissions reach the TU. Timer C belongs to proxies and is not used by a user agent.

The 2xx-to-INVITE rule (RFC 3261 §13.3.1.4, §17.1.1.2): a 2xx ends the INVITE transaction's
own retransmissions. The server TU resends its 2xx (``respond`` in Accepted) until the ACK
arrives; the client TU sends the ACK for a 2xx itself, outside the transaction, and every
retransmitted 2xx is delivered to it again so it can re-ACK.
"""

from dataclasses import dataclass, field

from branchline.hw.sip.errors import UsageError
from branchline.hw.sip.message import Request, Response
from branchline.hw.sip.timers import TimerTable


@dataclass(frozen=True, slots=True)
class TimerValues:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    d: float = 32.0  # RFC 3261 §17.1.1.2: "at least 32 seconds" for unreliable transports


@dataclass(frozen=True, slots=True)
class Send:
    message: Request | Response


@dataclass(frozen=True, slots=True)
class Deliver:
    message: Request | Response


@dataclass(frozen=True, slots=True)
class TimedOut:
    pass


@dataclass(frozen=True, slots=True)
class TransportFailed:
    pass


@dataclass(frozen=True, slots=True)
class Terminated:
    pass


@dataclass(frozen=True, slots=True)
class Row:
    next_state: str | None  # None: stay
    steps: tuple = ()


IGNORE = Row(None)
KINDS = ("ict", "ist", "nict", "nist")
STATES = {
    "ict": ("init", "calling", "proceeding", "completed", "accepted", "terminated"),
    "ist": ("init", "proceeding", "completed", "confirmed", "accepted", "terminated"),
    "nict": ("init", "trying", "proceeding", "completed", "terminated"),
    "nist": ("init", "trying", "proceeding", "completed", "terminated"),
}
# Events the peer or the clock can raise at any time: every state lists them.
NETWORK_EVENTS = {
    "ict": ("1xx", "2xx", "3-6xx", "timer_A", "timer_B", "timer_D", "timer_M",
            "transport_error"),
    "ist": ("request", "ack", "timer_G", "timer_H", "timer_I", "timer_L", "transport_error"),
    "nict": ("1xx", "final", "timer_E", "timer_F", "timer_K", "transport_error"),
    "nist": ("request", "timer_J", "transport_error"),
}
# Events only our own side raises: a state that does not list one refuses it.
TU_EVENTS = {
    "ict": ("start",),
    "ist": ("start", "tu_1xx", "tu_2xx", "tu_3-6xx"),
    "nict": ("start",),
    "nist": ("start", "tu_1xx", "tu_final"),
}
_END = ("cancel_all", "terminated")


def _network_rows(kind, state, rows):
    """Fill in IGNORE for every network/timer event a state does not name."""
    return {(kind, state, e): rows.get(e, IGNORE) for e in NETWORK_EVENTS[kind]} | {
        (kind, state, e): row for e, row in rows.items() if e in TU_EVENTS[kind]}


def _build():
    t = {}
    failed = Row("terminated", ("transport_failed", *_END))
    # INVITE client, RFC 3261 Figure 5 + RFC 6026 Figure 3.
    t |= _network_rows("ict", "init", {"start": Row("calling", ("send", "arm_A", "arm_B"))})
    t |= _network_rows("ict", "calling", {
        "timer_A": Row(None, ("resend", "backoff_A")),
        "timer_B": Row("terminated", ("timed_out", *_END)),
        "1xx": Row("proceeding", ("cancel_A", "cancel_B", "deliver")),
        "2xx": Row("accepted", ("cancel_A", "cancel_B", "deliver", "arm_M")),
        "3-6xx": Row("completed", ("cancel_A", "cancel_B", "deliver", "send_ack", "arm_D")),
        "transport_error": failed,
    })
    t |= _network_rows("ict", "proceeding", {
        "1xx": Row(None, ("deliver",)),
        "2xx": Row("accepted", ("deliver", "arm_M")),
        "3-6xx": Row("completed", ("deliver", "send_ack", "arm_D")),
        "transport_error": failed,
    })
    t |= _network_rows("ict", "completed", {
        "3-6xx": Row(None, ("send_ack",)),
        "timer_D": Row("terminated", _END),
        "transport_error": failed,
    })
    t |= _network_rows("ict", "accepted", {
        "2xx": Row(None, ("deliver",)),
        "timer_M": Row("terminated", _END),
    })
    t |= _network_rows("ict", "terminated", {})
    # INVITE server, RFC 3261 Figure 7 + RFC 6026 Figure 5.
    t |= _network_rows("ist", "init", {"start": Row("proceeding", ("deliver",))})
    t |= _network_rows("ist", "proceeding", {
        "request": Row(None, ("resend",)),
        "tu_1xx": Row(None, ("send",)),
        "tu_2xx": Row("accepted", ("send", "arm_L")),
        "tu_3-6xx": Row("completed", ("send", "arm_G", "arm_H")),
        "transport_error": failed,
    })
    t |= _network_rows("ist", "completed", {
        "request": Row(None, ("resend",)),
        "ack": Row("confirmed", ("cancel_G", "cancel_H", "arm_I")),
        "timer_G": Row(None, ("resend", "backoff_G")),
        "timer_H": Row("terminated", ("timed_out", *_END)),
        "transport_error": failed,
    })
    t |= _network_rows("ist", "confirmed", {"timer_I": Row("terminated", _END)})
    t |= _network_rows("ist", "accepted", {
        "ack": Row(None, ("deliver",)),
        "tu_2xx": Row(None, ("send",)),
        "timer_L": Row("terminated", _END),
        "transport_error": Row(None, ("transport_failed",)),
    })
    t |= _network_rows("ist", "terminated", {})
    # Non-INVITE client, RFC 3261 Figure 6.
    t |= _network_rows("nict", "init", {"start": Row("trying", ("send", "arm_E", "arm_F"))})
    for state in ("trying", "proceeding"):
        t |= _network_rows("nict", state, {
            "timer_E": Row(None, ("resend", "backoff_E" if state == "trying" else "t2_E")),
            "timer_F": Row("terminated", ("timed_out", *_END)),
            "1xx": Row("proceeding", ("deliver",)),
            "final": Row("completed", ("cancel_E", "cancel_F", "deliver", "arm_K")),
            "transport_error": failed,
        })
    t |= _network_rows("nict", "completed", {"timer_K": Row("terminated", _END)})
    t |= _network_rows("nict", "terminated", {})
    # Non-INVITE server, RFC 3261 Figure 8.
    t |= _network_rows("nist", "init", {"start": Row("trying", ("deliver",))})
    t |= _network_rows("nist", "trying", {
        "tu_1xx": Row("proceeding", ("send",)),
        "tu_final": Row("completed", ("send", "arm_J")),
        "transport_error": failed,
    })
    t |= _network_rows("nist", "proceeding", {
        "request": Row(None, ("resend",)),
        "tu_1xx": Row(None, ("send",)),
        "tu_final": Row("completed", ("send", "arm_J")),
        "transport_error": failed,
    })
    t |= _network_rows("nist", "completed", {
        "request": Row(None, ("resend",)),
        "timer_J": Row("terminated", _END),
        "transport_error": failed,
    })
    t |= _network_rows("nist", "terminated", {})
    return t


TABLE = _build()


@dataclass(slots=True)
class Transaction:
    kind: str
    request: Request
    reliable: bool = False
    timers: TimerValues = field(default_factory=TimerValues)
    state: str = "init"
    last_sent: Request | Response | None = None
    # timer letter -> (due time, interval); the agent puts it on its TimerHeap (timers.py)
    _due: TimerTable = field(default_factory=TimerTable)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise UsageError(f"transaction kind {self.kind!r} is not one of {KINDS}")
        if (self.kind in ("ict", "ist")) != (self.request.method == "INVITE"):
            raise UsageError(f"a {self.kind} transaction cannot carry a "
                             f"{self.request.method} request")

    @property
    def deadline(self):
        return min((due for due, _ in self._due.values()), default=None)

    @property
    def armed(self):
        return self._due

    def start(self, now):
        message = self.request if self.kind in ("ict", "nict") else None
        return self._run("start", message, now)

    def receive(self, message, now):
        """A request retransmission, an ACK or a response that matched this transaction."""
        if isinstance(message, Request):
            event = "ack" if message.method == "ACK" else "request"
        elif self.kind == "ict":
            event = _status_class(message.status, "2xx", "3-6xx")
        else:
            event = _status_class(message.status, "final", "final")
        return self._run(event, message, now)

    def respond(self, response, now):
        """Server side: the TU sends ``response`` through this transaction."""
        if self.kind == "ist":
            event = "tu_" + _status_class(response.status, "2xx", "3-6xx")
        else:
            event = "tu_" + _status_class(response.status, "final", "final")
        return self._run(event, response, now)

    def transport_error(self, now):
        return self._run("transport_error", None, now)

    def tick(self, now):
        actions = []
        while True:
            due = sorted((d, name) for name, (d, _) in self._due.items() if d <= now)
            if not due:
                return actions
            actions += self._run("timer_" + due[0][1], None, now)

    def _run(self, event, message, now):
        row = TABLE.get((self.kind, self.state, event))
        if row is None:
            raise UsageError(f"{self.kind} transaction in state {self.state!r} cannot take "
                             f"{event!r}; it takes {self.accepts()}")
        interval = 0.0
        if event.startswith("timer_"):
            fired = self._due.pop(event[-1], None)
            interval = fired[1] if fired else 0.0
        actions = []
        for step in row.steps:
            actions += self._step(step, message, now, interval)
        if row.next_state is not None:
            self.state = row.next_state
        return actions

    def accepts(self):
        return sorted(e for (k, s, e) in TABLE if k == self.kind and s == self.state)

    def _step(self, step, message, now, interval):
        t = self.timers
        if step == "send":
            self.last_sent = message
            return [Send(message)]
        if step == "resend":
            return [Send(self.last_sent)] if self.last_sent is not None else []
        if step == "deliver":
            return [Deliver(message if message is not None else self.request)]
        if step == "send_ack":
            return [Send(ack_for(self.request, message))]
        if step in ("timed_out", "transport_failed", "terminated"):
            return [{"timed_out": TimedOut, "transport_failed": TransportFailed,
                     "terminated": Terminated}[step]()]
        if step == "cancel_all":
            self._due.clear()
            return []
        action, letter = step.split("_")
        if action == "cancel":
            self._due.pop(letter, None)
            return []
        if action == "arm":
            value = {"A": t.t1, "B": 64 * t.t1, "D": t.d, "E": t.t1, "F": 64 * t.t1,
                     "G": t.t1, "H": 64 * t.t1, "I": t.t4, "J": 64 * t.t1, "K": t.t4,
                     "L": 64 * t.t1, "M": 64 * t.t1}[letter]
            if self.reliable and letter in "AEG":
                return []
            if self.reliable and letter in "DIJK":
                value = 0.0
        elif action == "backoff":
            value = 2 * interval if letter == "A" else min(2 * interval, t.t2)
        else:  # t2: RFC 3261 §17.1.2.2, Proceeding retransmits every T2
            value = t.t2
        self._due[letter] = (now + value, value)
        return []


def _status_class(status, success, final):
    if status < 200:
        return "1xx"
    return success if status < 300 else final


def ack_for(invite, response):
    """The ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same branch, To with tag."""
    headers = [("Via", invite.header_list("Via")[0])]
    headers += [(n, v) for n, v in invite.headers if n in ("From", "Call-ID", "Route")]
    headers += [("To", response.header("To")),
                ("CSeq", f"{invite.cseq.number} ACK"), ("Max-Forwards", "70")]
    return Request(headers=tuple(headers), method="ACK", uri=invite.uri)


def server_key(request):
    """The key a server transaction is found by (RFC 3261 §17.2.3): branch, sent-by, method.

    An ACK matches its INVITE's transaction. Requests from RFC 2543 peers (no magic cookie)
    fall back to Call-ID, CSeq number and the top Via.
    """
    via = request.vias[0]
    method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch or ""
    if branch.startswith("z9hG4bK"):
        return (branch, via.host.lower(), via.port, method)
    return ("2543", request.call_id, request.cseq.number, str(via), method)


def client_key(message):
    """The key a client transaction is found by (RFC 3261 §17.1.3): branch and CSeq method."""
    return (message.vias[0].branch, message.cseq.method)


def render_mermaid(kind):
    """The state diagram (Mermaid) of one kind, drawn from TABLE: one arrow per state change,
    events that share an arrow joined."""
    arrows = {}
    for (k, state, event), row in TABLE.items():
        if k == kind and row.next_state and row.next_state != state:
            arrows.setdefault((state, row.next_state), []).append(event)
    lines = ["stateDiagram-v2", "    [*] --> init"]
    lines += [f"    {a} --> {b}: {', '.join(events)}" for (a, b), events in arrows.items()]
    lines.append("    terminated --> [*]")
    return "\n".join(lines) + "\n"
