"""Session descriptions (RFC 4566) and the offer/answer rules we accept (RFC 3264).

What we take: one audio stream over RTP/AVP, G.711 A-law (PCMA, payload type 8) or u-law
(PCMU, 0) at 8000 Hz, optionally RFC 4733 telephone-event/8000 for keys, packets of 10, 20
or 30 ms. An offer without such a stream, or asking another ptime, is unacceptable:
``answer`` raises ``SdpError`` with status 488 and the caller answers 488 Not Acceptable
Here. Other streams (video) are declined in the answer with port 0, as RFC 3264 §6 says.
A description that is not well formed raises ``SdpError`` with status 400.
"""

from dataclasses import dataclass, replace

from branchline.hw.sip.errors import SdpError

G711 = {"PCMU": 0, "PCMA": 8}  # RFC 3551 static payload types
PTIMES = (10, 20, 30)
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_REVERSE = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
            "inactive": "inactive"}
# RFC 3264 §8.4: the side that holds stops receiving; what it may still do.
HELD = {"sendrecv": "sendonly", "recvonly": "inactive", "sendonly": "sendonly",
        "inactive": "inactive"}


@dataclass(frozen=True, slots=True)
class Media:
    kind: str
    port: int
    proto: str
    formats: tuple
    rtpmap: tuple = ()  # (payload type, "name/rate[/channels]") pairs
    fmtp: tuple = ()    # (payload type, parameters) pairs
    ptime: int | None = None
    direction: str | None = None
    address: str | None = None

    def codec(self, pt):
        """"name/rate" for a payload type, from rtpmap or the static table."""
        for p, enc in self.rtpmap:
            if p == pt:
                return enc
        return {"0": "PCMU/8000", "8": "PCMA/8000"}.get(pt)


@dataclass(frozen=True, slots=True)
class Session:
    origin: tuple  # username, sess-id, sess-version, nettype, addrtype, address
    name: str = "-"
    address: str | None = None
    media: tuple = ()
    direction: str = "sendrecv"

    @classmethod
    def parse(cls, data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SdpError(f"the session description is not UTF-8 (byte {exc.start})") from exc
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
        if not lines or lines[0] != "v=0":
            raise SdpError("a session description must start with v=0")
        origin, name, address, direction, media = None, None, None, "sendrecv", []
        for line in lines[1:]:
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SdpError(f"SDP line {line[:40]!r} is not 'x=value'")
            key, value = line[0], line[2:]
            target = media[-1] if media else None
            if key == "m":
                media.append(_media_line(value))
            elif key == "o":
                parts = value.split()
                if len(parts) != 6:
                    raise SdpError(f"o= line {value!r} needs six fields")
                origin = tuple(parts)
            elif key == "s":
                name = value
            elif key == "c":
                conn = _connection(value)
                if target is None:
                    address = conn
                else:
                    media[-1] = replace(target, address=conn)
            elif key == "a" and target is None and value in DIRECTIONS:
                direction = value
            elif key == "a" and target is not None:
                media[-1] = _attribute(target, value)
        if origin is None or name is None:
            raise SdpError("a session description needs o= and s= lines")
        return cls(origin=origin, name=name, address=address, media=tuple(media),
                   direction=direction)

    def __bytes__(self):
        lines = ["v=0", "o=" + " ".join(self.origin), f"s={self.name}"]
        if self.address:
            lines.append(f"c=IN {_addrtype(self.address)} {self.address}")
        lines.append("t=0 0")
        for m in self.media:
            lines.append(f"m={m.kind} {m.port} {m.proto} {' '.join(m.formats)}")
            if m.address and m.address != self.address:
                lines.append(f"c=IN {_addrtype(m.address)} {m.address}")
            lines += [f"a=rtpmap:{pt} {enc}" for pt, enc in m.rtpmap]
            lines += [f"a=fmtp:{pt} {params}" for pt, params in m.fmtp]
            if m.ptime:
                lines.append(f"a=ptime:{m.ptime}")
            if m.direction:
                lines.append(f"a={m.direction}")
        return ("\r\n".join(lines) + "\r\n").encode()


def _addrtype(address):
    return "IP6" if ":" in address else "IP4"


def _media_line(value):
    parts = value.split()
    if len(parts) < 4:
        raise SdpError(f"m= line {value!r} needs media, port, protocol and formats")
    port = parts[1].split("/")[0]
    if not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise SdpError(f"m= line {value!r}: port {parts[1]!r} is not a port number")
    return Media(kind=parts[0], port=int(port), proto=parts[2], formats=tuple(parts[3:]))


def _connection(value):
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"c= line {value!r} is not 'IN IP4 <address>'")
    return parts[2].split("/")[0]


def _attribute(media, value):
    name, _, rest = value.partition(":")
    if name == "rtpmap":
        pt, _, enc = rest.partition(" ")
        if not pt.isdigit() or "/" not in enc:
            raise SdpError(f"a=rtpmap:{rest!r} is not '<payload type> <name>/<rate>'")
        return replace(media, rtpmap=(*media.rtpmap, (pt, enc.strip())))
    if name == "fmtp":
        pt, _, params = rest.partition(" ")
        return replace(media, fmtp=(*media.fmtp, (pt, params.strip())))
    if name == "ptime":
        if not rest.strip().isdigit():
            raise SdpError(f"a=ptime:{rest!r} is not a number of milliseconds")
        return replace(media, ptime=int(rest.strip()))
    if value in DIRECTIONS:
        return replace(media, direction=value)
    return media


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What both sides agreed: where to send RTP, with which payload types and packet size."""

    address: str
    port: int
    codec: str          # "PCMA" or "PCMU"
    payload_type: int
    telephone_event: int | None
    ptime: int
    direction: str      # ours: what we may do (sendrecv, sendonly, recvonly, inactive)


def _acceptable(media, prefer):
    if media.kind != "audio" or media.port == 0 or media.proto != "RTP/AVP":
        return None
    offered = {}
    for pt in media.formats:
        enc = (media.codec(pt) or "").upper()
        offered.setdefault(enc, pt)
    for name in prefer:
        if f"{name}/8000" in offered:
            return name, offered[f"{name}/8000"], offered.get("TELEPHONE-EVENT/8000")
    return None


def answer(offer, address, port, session_id, prefer=("PCMA", "PCMU"), hold=False,
           version=None):
    """Our answer to ``offer`` (a ``Session``) and what it settles; SdpError 488 if nothing
    in it is acceptable. ``hold``: we hold the call, so we do not take their media."""
    chosen, streams = None, []
    for m in offer.media:
        pick = None if chosen else _acceptable(m, prefer)
        if pick is None:
            streams.append(Media(m.kind, 0, m.proto, m.formats[:1]))
            continue
        ptime = m.ptime or 20
        if ptime not in PTIMES:
            raise SdpError(f"ptime {ptime} ms is not one of {PTIMES}", 488)
        remote = m.address or offer.address
        if remote is None:
            raise SdpError("the offer gives no c= address for its audio stream")
        name, pt, event = pick
        theirs = m.direction or offer.direction
        ours = HELD[_REVERSE[theirs]] if hold else _REVERSE[theirs]
        chosen = Negotiated(remote, m.port, name, int(pt), None if event is None else int(event),
                            ptime, ours)
        formats = (pt,) if event is None else (pt, event)
        rtpmap = ((pt, f"{name}/8000"),)
        if event is not None:
            rtpmap += ((event, "telephone-event/8000"),)
        fmtp = () if event is None else ((event, "0-15"),)
        streams.append(Media("audio", port, "RTP/AVP", formats, rtpmap, fmtp, ptime,
                             chosen.direction))
    if chosen is None:
        raise SdpError("no audio stream offers PCMA or PCMU at 8000 Hz over RTP/AVP", 488)
    version = session_id if version is None else version
    session = Session(("branchline", str(session_id), str(version), "IN",
                       _addrtype(address), address), "branchline", address, tuple(streams))
    return session, chosen


def offer(address, port, session_id, codecs=("PCMA", "PCMU"), ptime=20, event_pt=101,
          direction="sendrecv", version=None):
    """Our offer: the codecs in our order of preference and telephone-event. A new offer in
    the same session (a re-INVITE) takes a higher ``version`` (RFC 3264 §8)."""
    if ptime not in PTIMES or not codecs or any(c not in G711 for c in codecs):
        raise SdpError(f"we offer only {sorted(G711)} with ptime {PTIMES}", 488)
    formats = (*(str(G711[c]) for c in codecs), str(event_pt))
    rtpmap = (*((str(G711[c]), f"{c}/8000") for c in codecs),
              (str(event_pt), "telephone-event/8000"))
    media = Media("audio", port, "RTP/AVP", formats, rtpmap, ((str(event_pt), "0-15"),), ptime,
                  direction)
    version = session_id if version is None else version
    return Session(("branchline", str(session_id), str(version), "IN", _addrtype(address),
                    address), "branchline", address, (media,))


def accept_answer(our_offer, their_answer):
    """What an answer to our offer settles; SdpError 488 if it picked nothing we offered."""
    ours = our_offer.media[0]
    for m in their_answer.media:
        if m.kind == "audio" and m.port:
            pick = _acceptable(m, [c.split("/")[0] for _, c in ours.rtpmap if c[:2] == "PC"])
            if pick is None:
                break
            name, pt, event = pick
            remote = m.address or their_answer.address
            if remote is None:
                raise SdpError("the answer gives no c= address for its audio stream")
            return Negotiated(remote, m.port, name, int(pt),
                              None if event is None else int(event), m.ptime or ours.ptime,
                              _REVERSE[m.direction or their_answer.direction])
    raise SdpError("the answer accepts none of the codecs we offered", 488)
