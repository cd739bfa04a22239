"""The registrar for agent phones (RFC 3261 §10.3): one account per station, digest only.

``Registrar(realm, secret, password_for)``; ``password_for(user)`` returns the station's
password or None for a user we do not have (the runtime looks it up in the configuration;
nothing here keeps a password). ``handle(request, source, transport, now)`` returns the
response and the events it caused (``PhoneRegistered``, ``PhoneUnregistered``); ``expire(now)``
drops bindings past their time and returns the same events; ``deadline`` says when next.

Every REGISTER is challenged (401) until it carries good credentials, for users we have and
users we do not alike, so a scanner cannot tell the two apart; the guard (hw/sip/guard.py)
counts the unknown users and the failures. Credentials for another account than the one
being registered (To), wrong passwords and unknown users get 403. An expiry below
``min_expires`` gets 423 with Min-Expires; above ``max_expires`` it is cut down. ``Contact: *``
with ``Expires: 0`` removes every binding of the account. A phone has at most
``max_bindings`` contacts; a new one beyond that replaces the oldest.

A binding remembers where the REGISTER came from (``source``, ``transport``): that is where
the board sends the phone's INVITEs, which works behind a NAT where the Contact would not.
"""

from dataclasses import dataclass, field

from branchline.hw.sip.digest import DigestServer
from branchline.hw.sip.errors import ParseError, PeerError
from branchline.hw.sip.message import response_for


@dataclass(frozen=True, slots=True)
class Binding:
    user: str
    contact: str            # the Contact URI the phone registered
    source: tuple           # (host, port) the REGISTER came from
    transport: str
    expires_at: float
    user_agent: str
    last_seen: float
    call_id: str
    cseq: int


@dataclass(frozen=True, slots=True)
class PhoneRegistered:
    binding: Binding


@dataclass(frozen=True, slots=True)
class PhoneUnregistered:
    user: str
    contact: str
    reason: str  # "unregistered", "expired" or "replaced"


@dataclass
class Registrar:
    realm: str
    secret: bytes
    password_for: object
    guard: object = None
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_bindings: int = 3
    algorithms: tuple = ("SHA-256", "MD5")  # challenges in this order (RFC 7616 §3.7)
    bindings: dict = field(default_factory=dict)  # user -> {contact: Binding}

    def __post_init__(self):
        self._digest = DigestServer(self.realm, self.secret, algorithms=self.algorithms)

    def __repr__(self):
        return f"Registrar(realm={self.realm!r}, accounts={len(self.bindings)})"

    @property
    def deadline(self):
        return min((b.expires_at for c in self.bindings.values() for b in c.values()),
                   default=None)

    def lookup(self, user, now):
        """The live bindings of ``user``, the newest first: where the board reaches the phone."""
        live = [b for b in self.bindings.get(user, {}).values() if b.expires_at > now]
        return sorted(live, key=lambda b: -b.last_seen)

    def expire(self, now):
        events = []
        for user, contacts in list(self.bindings.items()):
            for contact, b in list(contacts.items()):
                if b.expires_at <= now:
                    del contacts[contact]
                    events.append(PhoneUnregistered(user, contact, "expired"))
            if not contacts:
                del self.bindings[user]
        return events

    def handle(self, request, source, transport, now):
        user = request.to.uri.user
        known = user is not None and self.password_for(user) is not None
        credentials = request.header("Authorization")
        if credentials is None:
            if not known and self.guard is not None:
                self.guard.unknown_user(source[0], now)
            return self._challenge(request, now), []
        try:
            verdict = self._digest.verify(credentials, "REGISTER", self.password_for, now)
        except PeerError:
            verdict = None
        if verdict is not None and verdict.stale:
            return self._challenge(request, now, stale=True), []
        if verdict is None or not verdict.ok or verdict.username != user:
            if self.guard is not None:
                if known:
                    self.guard.auth_failed(source[0], now)
                else:
                    self.guard.unknown_user(source[0], now)
            return response_for(request, 403, to_tag=_tag(request)), []
        try:
            return self._update(request, user, source, transport, now)
        except (ParseError, ValueError):
            return response_for(request, 400, "Bad Request (Contact or Expires)",
                                to_tag=_tag(request)), []

    def _challenge(self, request, now, stale=False):
        return response_for(request, 401, to_tag=_tag(request), headers=[
            ("WWW-Authenticate", c) for c in self._digest.challenges(now, stale)])

    def _update(self, request, user, source, transport, now):
        header_expires = request.header("Expires")
        default = int(header_expires) if header_expires is not None else self.default_expires
        mine = self.bindings.setdefault(user, {})
        events = []
        raw = [v.strip() for v in request.header_list("Contact")]
        if "*" in raw:
            if default != 0 or len(raw) != 1:
                return response_for(request, 400, "Bad Request (Contact: * needs Expires: 0)",
                                    to_tag=_tag(request)), []
            events = [PhoneUnregistered(user, c, "unregistered") for c in mine]
            mine.clear()
        for contact in request.contacts:
            expires = contact.param("expires")
            expires = default if expires is None else int(expires)
            key = str(contact.uri)
            old = mine.get(key)
            if old is not None and old.call_id == request.call_id and \
                    request.cseq.number <= old.cseq:
                continue  # §10.3 step 7: an older or repeated request changes nothing
            if expires == 0:
                if mine.pop(key, None) is not None:
                    events.append(PhoneUnregistered(user, key, "unregistered"))
                continue
            if expires < self.min_expires:
                return response_for(request, 423, "Interval Too Brief", to_tag=_tag(request),
                                    headers=[("Min-Expires", str(self.min_expires))]), []
            binding = Binding(user, key, tuple(source), transport,
                              now + min(expires, self.max_expires),
                              request.header("User-Agent") or "", now, request.call_id,
                              request.cseq.number)
            if key not in mine and len(mine) >= self.max_bindings:
                oldest = min(mine.values(), key=lambda b: b.last_seen)
                del mine[oldest.contact]
                events.append(PhoneUnregistered(user, oldest.contact, "replaced"))
            mine[key] = binding
            events.append(PhoneRegistered(binding))
        if not mine:
            del self.bindings[user]
        current = [f"<{b.contact}>;expires={max(0, int(b.expires_at - now))}"
                   for b in self.lookup(user, now)]
        ok = response_for(request, 200, to_tag=_tag(request),
                          headers=[("Contact", c) for c in current])
        return ok, events


def _tag(request):
    # A registrar's responses need a To tag (§8.2.6.2); one derived from the Call-ID keeps
    # retransmitted answers alike.
    return format(abs(hash(request.call_id)) % 16**8, "08x")

