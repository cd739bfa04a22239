"""SIP dialogs (RFC 3261 §12): the state two user agents share for the life of a call.

A ``Dialog`` is made from the request and response that establish it (``ParseError`` when
their Contact or Record-Route cannot be used): ``Dialog.uas(invite,
local_tag, transport)`` when we answer, ``Dialog.uac(invite, response, transport)`` when our
INVITE is answered (a 1xx with a To tag makes an early dialog, a 2xx a confirmed one). It
keeps the Call-ID, both tags, both URIs, the remote target (the peer's Contact, updated by
re-INVITEs and UPDATEs, §12.2.1.2 and §12.2.2), the route set (Record-Route, reversed for the
caller, §12.1.1 and §12.1.2) and both CSeq counters.

``request(method, via, ...)`` builds a request inside the dialog (§12.2.1.1): loose routing
when the first route has ``lr`` (Request-URI = remote target, Route = route set), strict
routing otherwise (Request-URI = first route, the remote target last in Route);
``next_hop()`` says where it goes: the first route, or the remote target without one.
``accept_remote(request)`` applies §12.2.2's CSeq rule: a request numbered below the last
one is out of order (the caller answers 500).
"""

import secrets
from contextlib import suppress
from dataclasses import dataclass, field

from branchline.hw.sip.errors import ParseError
from branchline.hw.sip.message import Request
from branchline.hw.sip.uri import Address, Uri


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str | None
    local_uri: str      # our address without the tag (From of our requests)
    remote_uri: str     # theirs without the tag
    remote_target: Uri
    route_set: tuple = ()
    local_cseq: int = 0
    remote_cseq: int | None = None
    transport: str = "udp"
    we_called: bool = False  # we sent the initial INVITE (RFC 3261 §14.1: who owns the Call-ID)
    acks: dict = field(default_factory=dict)  # our ACKs by CSeq number, resent on a 2xx again

    @classmethod
    def uas(cls, request, local_tag, transport="udp"):
        return cls(call_id=request.call_id, local_tag=local_tag,
                   remote_tag=request.from_.tag, local_uri=_untagged(request.to),
                   remote_uri=_untagged(request.from_), remote_target=_target(request),
                   route_set=_routes(request.header_list("Record-Route")),
                   remote_cseq=request.cseq.number, transport=transport)

    @classmethod
    def uac(cls, request, response, transport="udp"):
        return cls(call_id=request.call_id, local_tag=request.from_.tag,
                   remote_tag=response.to.tag, local_uri=_untagged(request.from_),
                   remote_uri=_untagged(response.to), remote_target=_target(response),
                   route_set=_routes(reversed(response.header_list("Record-Route"))),
                   local_cseq=request.cseq.number, transport=transport, we_called=True)

    @property
    def key(self):
        return (self.call_id, self.local_tag, self.remote_tag)

    def update_target(self, message):
        """A target refresh (re-INVITE, UPDATE, or its 2xx) may move the peer (§12.2)."""
        with suppress(ParseError):  # no usable Contact: keep the target we have
            self.remote_target = _target(message)

    def accept_remote(self, request):
        number = request.cseq.number
        if self.remote_cseq is not None and number < self.remote_cseq:
            return False
        if request.method != "ACK":
            self.remote_cseq = number
        return True

    def request(self, method, via, headers=(), body=b"", cseq=None):
        """A request in this dialog; ACK and CANCEL reuse ``cseq``, others take the next."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        routes = list(self.route_set)
        uri = self.remote_target
        if routes and Address.parse(routes[0]).uri.param("lr") is None:
            uri = Address.parse(routes[0]).uri.without_headers()
            routes = [*routes[1:], f"<{self.remote_target}>"]
        to = f"<{self.remote_uri}>" + (f";tag={self.remote_tag}" if self.remote_tag else "")
        fields = [("Via", via), ("Max-Forwards", "70"),
                  ("From", f"<{self.local_uri}>;tag={self.local_tag}"), ("To", to),
                  ("Call-ID", self.call_id), ("CSeq", f"{cseq} {method}")]
        fields += [("Route", r) for r in routes]
        return Request(headers=tuple(fields) + tuple(headers), body=body, method=method,
                       uri=uri)

    def next_hop(self):
        """The URI the next request goes to: the first route, else the remote target."""
        if self.route_set:
            return Address.parse(self.route_set[0]).uri
        return self.remote_target


def _routes(values):
    """The route set, each entry checked now so that building a request later cannot fail."""
    routes = tuple(values)
    for route in routes:
        uri = Address.parse(route).uri
        if uri.scheme not in ("sip", "sips"):
            raise ParseError(f"Record-Route {route!r} is not a SIP URI")
    return routes


def _untagged(address):
    return str(address.uri)


def _target(message):
    contacts = message.contacts
    if not contacts or contacts[0].uri.scheme not in ("sip", "sips"):
        raise ParseError("a dialog-forming message needs a SIP or SIPS Contact")
    return contacts[0].uri.without_headers()


def hop_address(uri, default_transport="udp"):
    """(host, port, transport) a URI names: ``transport`` and the port, or 5060 (§19.1.2).

    Only numeric hosts are reached without DNS; the core never resolves names itself.
    """
    transport = (uri.param("transport") or default_transport).lower()
    host = uri.param("maddr") or uri.host
    return host.strip("[]"), uri.port or 5060, transport


def new_tag():
    """A From or To tag: random, at least 32 bits (RFC 3261 §19.3)."""
    return secrets.token_hex(6)


def record_route(request):
    """RFC 3261 §12.1.1: a UAS copies Record-Route into its dialog-forming responses."""
    return [("Record-Route", v) for v in request.header_values("Record-Route")]
