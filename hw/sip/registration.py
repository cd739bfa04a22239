"""The REGISTER client for one trunk account (RFC 3261 §10.2), as a state table.

Theory of operation. ``Registration(name, user, domain, registrars, credentials, contact)``
keeps one account registered with the first of ``registrars`` that answers. It does no I/O:
``start(now)``, ``stop(now)``, ``on_response(response, now)``, ``on_timeout(now)`` and
``tick(now)`` return actions: ``Register(request, address, transport)`` for the user agent to
send in a new client transaction (it adds the Via), and ``RegistrationChanged(status)`` for
the page when the state changes. ``deadline`` is when ``tick`` is next due (``timers`` holds
it, for the user agent's heap).

    idle ──start──> registering ──200──> registered ──refresh_due──> refreshing ──200──┐
      ^                │  │ 401/407: answered once with digest, same state             │
      │                │  └ 403, 404, a second challenge ──> failed ──retry_due──┐     │
      │                └ timeout, 408, 5xx, 6xx ──> retrying ──retry_due──> registering
      └── stop: unregistering (Expires: 0) ──any answer or timeout──> idle      <──────┘

Refresh comes at the later of half the granted expiry and the expiry minus ``margin``,
never sooner than half. A failed attempt waits ``backoff`` seconds, doubling each time up
to ``backoff_cap``; after a timeout or a 5xx the next attempt goes to the next registrar in
the list (failover), back to the first after the last. A 423 takes the registrar's
Min-Expires and asks again at once. ``status`` is what the page shows: state, reason,
registrar, when the registration expires and when the next attempt is.
"""

import secrets
from dataclasses import dataclass, field

from branchline.hw.sip.digest import DigestClient
from branchline.hw.sip.errors import PeerError, UsageError
from branchline.hw.sip.message import Request
from branchline.hw.sip.timers import TimerTable
from branchline.hw.sip.uri import Uri

STATES = ("idle", "registering", "registered", "refreshing", "retrying", "failed",
          "unregistering")
# (state, event) -> next state. Events from the TU: start, stop. From the peer and the clock:
# ok, challenge, rejected, error, brief (423), refresh_due, retry_due. A TU event a state
# does not list is refused (UsageError); a peer or clock event it does not list is ignored.
TABLE = {
    ("idle", "start"): "registering",
    ("registering", "ok"): "registered",
    ("registering", "challenge"): "registering",
    ("registering", "brief"): "registering",
    ("registering", "rejected"): "failed",
    ("registering", "error"): "retrying",
    ("registering", "stop"): "idle",
    ("registered", "refresh_due"): "refreshing",
    ("registered", "stop"): "unregistering",
    ("refreshing", "ok"): "registered",
    ("refreshing", "challenge"): "refreshing",
    ("refreshing", "brief"): "refreshing",
    ("refreshing", "rejected"): "failed",
    ("refreshing", "error"): "retrying",
    ("refreshing", "stop"): "unregistering",
    ("retrying", "retry_due"): "registering",
    ("retrying", "stop"): "idle",
    ("failed", "retry_due"): "registering",
    ("failed", "stop"): "idle",
    ("unregistering", "ok"): "idle",
    ("unregistering", "challenge"): "unregistering",
    ("unregistering", "rejected"): "idle",
    ("unregistering", "error"): "idle",
    ("unregistering", "brief"): "idle",
}
TU_EVENTS = ("start", "stop")
PEER_EVENTS = ("ok", "challenge", "rejected", "error", "brief", "refresh_due", "retry_due")


@dataclass(frozen=True, slots=True)
class Register:
    request: Request
    address: tuple
    transport: str
    name: str


@dataclass(frozen=True, slots=True)
class RegistrationStatus:
    name: str
    state: str
    reason: str = ""
    registrar: tuple | None = None
    expires_at: float | None = None
    next_attempt: float | None = None


@dataclass(frozen=True, slots=True)
class RegistrationChanged:
    status: RegistrationStatus


@dataclass
class Registration:
    name: str
    user: str
    domain: str
    registrars: list             # [(host, port, transport)], the first preferred
    credentials: DigestClient
    contact: str                 # our Contact URI
    expires: int = 3600
    margin: float = 60.0
    backoff: float = 5.0
    backoff_cap: float = 600.0
    user_agent: str = "Branchline"
    state: str = "idle"
    reason: str = ""
    current: int = 0             # index into registrars
    expires_at: float | None = None
    # "due" -> (time, event): the one timer; the agent puts it on its TimerHeap (timers.py)
    timers: TimerTable = field(default_factory=TimerTable, init=False, repr=False)
    _cseq: int = 0
    _failures: int = 0
    _answered: set = field(default_factory=set)   # nonces already answered
    _call_id: str = field(default_factory=lambda: secrets.token_hex(10))
    _tag: str = field(default_factory=lambda: secrets.token_hex(6))
    _asked: int = 0              # the expiry the pending request asked for

    def __post_init__(self):
        if not self.registrars:
            raise UsageError(f"registration {self.name!r} needs at least one registrar")

    def __repr__(self):
        return f"Registration(name={self.name!r}, user={self.user!r}, state={self.state!r})"

    @property
    def call_id(self):
        return self._call_id

    @property
    def deadline(self):
        due = self.timers.get("due")
        return None if due is None else due[0]

    @property
    def status(self):
        due = self.timers.get("due")
        next_attempt = due[0] if due is not None and due[1] == "retry_due" else None
        return RegistrationStatus(self.name, self.state, self.reason,
                                  tuple(self.registrars[self.current][:2]),
                                  self.expires_at if self.state in ("registered", "refreshing")
                                  else None, next_attempt)

    def start(self, now):
        return self._go("start", now)

    def stop(self, now):
        return self._go("stop", now)

    def tick(self, now):
        due = self.timers.get("due")
        if due is None or due[0] > now:
            return []
        del self.timers["due"]
        return self._go(due[1], now)

    def on_timeout(self, now):
        return self._go("error", now, reason="no answer (timeout)", failover=True)

    def on_response(self, response, now):
        status = response.status
        if status < 200:
            return []
        if 200 <= status < 300:
            return self._go("ok", now, response=response)
        if status in (401, 407):
            return self._challenged(response, now)
        if status == 423:
            minimum = response.header("Min-Expires")
            if minimum and minimum.isdigit() and int(minimum) > self.expires:
                self.expires = int(minimum)
                return self._go("brief", now)
            return self._go("rejected", now, reason="423 without a usable Min-Expires")
        failover = status in (408, 480) or status >= 500
        event = "error" if failover else "rejected"
        return self._go(event, now, reason=f"{status} {response.reason}", failover=failover)

    def _challenged(self, response, now):
        name = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = response.header(name)
        if challenge is None:
            return self._go("rejected", now, reason=f"{response.status} without {name}")
        stale = "stale=true" in challenge.replace(" ", "").lower()
        try:
            uri = f"sip:{self.domain}"
            authorization = self.credentials.authorize(challenge, "REGISTER", uri)
        except PeerError as exc:
            return self._go("rejected", now, reason=f"unusable challenge: {exc}")
        nonce_seen = challenge in self._answered
        if nonce_seen or (self._answered and not stale):
            self._answered.clear()
            return self._go("rejected", now, reason="credentials refused (wrong password?)")
        self._answered.add(challenge)
        header = "Authorization" if response.status == 401 else "Proxy-Authorization"
        return self._go("challenge", now, auth=(header, authorization))

    def _go(self, event, now, response=None, reason="", failover=False, auth=None):
        nxt = TABLE.get((self.state, event))
        if nxt is None:
            if event in TU_EVENTS:
                raise UsageError(f"registration {self.name!r} in state {self.state!r} cannot "
                                 f"take {event!r}")
            return []
        before = (self.state, self.reason)
        previous, self.state = self.state, nxt
        actions = []
        if nxt in ("registering", "refreshing", "unregistering"):
            if event not in ("challenge",):
                self._answered.clear()
            expires = 0 if nxt == "unregistering" else self.expires
            actions.append(self._register(expires, auth))
            self.timers.pop("due", None)
            if nxt == "registering" and previous == "idle":
                self.reason = ""
        elif nxt == "registered":
            granted = self._granted(response)
            self.expires_at = now + granted
            self._failures, self.reason = 0, ""
            self.timers["due"] = (now + max(granted / 2, granted - self.margin), "refresh_due")
        elif nxt in ("retrying", "failed"):
            self._failures += 1
            self.reason, self.expires_at = reason, None
            if failover:
                self.current = (self.current + 1) % len(self.registrars)
            wait = min(self.backoff_cap, self.backoff * 2 ** (self._failures - 1))
            self.timers["due"] = (now + wait, "retry_due")
        elif nxt == "idle":
            self.timers.pop("due", None)
            self.expires_at = None
            self.reason = "stopped"
        if (self.state, self.reason) != before or nxt == "registered":
            actions.append(RegistrationChanged(self.status))
        return actions

    def _granted(self, response):
        for contact in response.contacts:
            if str(contact.uri) == self.contact and contact.param("expires"):
                value = contact.param("expires")
                if value.isdigit():
                    return int(value)
        header = response.header("Expires")
        if header is not None and header.isdigit():
            return int(header)
        return self._asked

    def _register(self, expires, auth):
        self._cseq += 1
        self._asked = expires
        host, port, transport = self.registrars[self.current]
        aor = f"<sip:{self.user}@{self.domain}>"
        headers = [("Max-Forwards", "70"), ("From", f"{aor};tag={self._tag}"), ("To", aor),
                   ("Call-ID", self._call_id), ("CSeq", f"{self._cseq} REGISTER"),
                   ("Contact", f"<{self.contact}>"), ("Expires", str(expires)),
                   ("User-Agent", self.user_agent)]
        if auth is not None:
            headers.append(auth)
        request = Request(headers=tuple(headers), method="REGISTER",
                          uri=Uri.parse(f"sip:{self.domain}"))
        return Register(request, (host, port), transport, self.name)
