"""SIP URIs and addresses: ``sip:user@host:port;params?headers`` and ``"Name" <uri>;params``.

RFC 3261 §19.1 (SIP and SIPS URIs), §20.10 and §25.1 (name-addr / addr-spec). A URI of any
other scheme (``tel:``, ``isbn:``, ``http:``) is kept whole as ``opaque``: we never route on
one, but a peer may put one in a header and the message is still good (RFC 4475 §3.3.2–3.3.4).
"""

import string
from dataclasses import dataclass

from branchline.hw.sip.errors import ParseError
from branchline.hw.sip.grammar import (
    HEADERCHAR,
    PARAMCHAR,
    PASSWORD,
    TOKEN,
    USER,
    WSP,
    check_chars,
    check_host,
    format_params,
    param,
    parse_params,
    parse_port,
    quote,
    quoted_string,
    skip_ws,
)

SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+-.")
# Characters never found unescaped in any URI written in a SIP header (RFC 3986 excluded set).
NOT_IN_URI = frozenset(' \t\r\n<>"')


@dataclass(frozen=True, slots=True)
class Uri:
    """A parsed URI. For sip/sips every field is set; for other schemes only ``opaque``."""

    scheme: str
    host: str = ""
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: tuple = ()
    headers: str = ""
    opaque: str | None = None

    @classmethod
    def parse(cls, text):
        if not text or any(c in NOT_IN_URI for c in text):
            raise ParseError(f"URI {text!r} is empty or holds a space, quote or angle bracket")
        scheme, colon, rest = text.partition(":")
        if not colon or not scheme or not scheme[0].isalpha() or \
                any(c not in SCHEME_CHARS for c in scheme):
            raise ParseError(f"URI {text!r} does not start with a scheme like 'sip:'")
        scheme = scheme.lower()
        if scheme not in ("sip", "sips"):
            if not rest:
                raise ParseError(f"URI {text!r} has nothing after its scheme")
            return cls(scheme=scheme, opaque=rest)
        user = password = None
        if "@" in rest:
            userinfo, _, rest = rest.partition("@")
            user, colon, pw = userinfo.partition(":")
            if not user:
                raise ParseError(f"URI {text!r} has an '@' but no user before it")
            check_chars(user, USER, "URI user")
            if colon:
                check_chars(pw, PASSWORD, "URI password")
                password = pw
        rest, qmark, headers = rest.partition("?")
        if qmark:
            if not headers:
                raise ParseError(f"URI {text!r} has a '?' with no header after it")
            check_chars(headers, HEADERCHAR, "URI headers")
        hostport, semi, ptext = rest.partition(";")
        params = ()
        if semi:
            params = parse_params(";" + ptext, f"URI {text!r}", PARAMCHAR, escapes=True)
        host, port = _split_hostport(hostport, text)
        return cls(scheme=scheme, host=host, user=user, password=password, port=port,
                   params=params, headers=headers)

    def param(self, name):
        return param(self.params, name)

    def without_headers(self):
        return Uri(self.scheme, self.host, self.user, self.password, self.port, self.params)

    def __str__(self):
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + ("" if self.password is None else ":" + self.password) + "@"
        port = "" if self.port is None else f":{self.port}"
        headers = f"?{self.headers}" if self.headers else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{format_params(self.params)}{headers}"


def _split_hostport(hostport, text):
    if hostport.startswith("["):
        end = hostport.find("]")
        host, rest = hostport[:end + 1], hostport[end + 1:] if end > 0 else ""
        if end < 0:
            raise ParseError(f"URI {text!r}: IPv6 reference without ']'")
    else:
        host, _, rest = hostport.partition(":")
        rest = ":" + rest if _ else ""
    check_host(host, f"URI {text!r}: host")
    if not rest:
        return host, None
    if not rest.startswith(":"):
        raise ParseError(f"URI {text!r}: unexpected {rest!r} after the host")
    return host, parse_port(rest[1:], f"URI {text!r}: port")


@dataclass(frozen=True, slots=True)
class Address:
    """A name-addr or addr-spec with header parameters (From, To, Contact, Route, ...)."""

    uri: Uri
    display: str | None = None
    params: tuple = ()

    @classmethod
    def parse(cls, text):
        """Parse one address (no list). RFC 3261 §20: a URI holding ',', ';' or '?' must
        stand in angle brackets; outside them ';' starts the header's parameters."""
        text = text.strip(WSP)
        display = None
        i = 0
        if text.startswith('"'):
            display, i = quoted_string(text, 0)
            i = skip_ws(text, i)
            if i >= len(text) or text[i] != "<":
                raise ParseError(f"address {text!r}: a quoted display name must be followed "
                                 "by <uri>")
        elif "<" in text:
            i = text.index("<")
            words = text[:i].split()
            if any(not all(c in TOKEN for c in w) for w in words):
                raise ParseError(f"address {text!r}: a display name with characters other "
                                 "than token characters must be quoted")
            display = " ".join(words) or None
        if i < len(text) and text[i] == "<":
            end = text.find(">", i)
            if end < 0:
                raise ParseError(f"address {text!r}: '<' without '>'")
            inner = text[i + 1:end]
            if inner != inner.strip(WSP):
                raise ParseError(f"address {text!r}: no space may stand inside <...>")
            uri = Uri.parse(inner)
            rest = text[end + 1:]
        else:
            semi = text.find(";")
            spec, rest = (text, "") if semi < 0 else (text[:semi], text[semi:])
            spec = spec.rstrip(WSP)
            if "?" in spec or "," in spec:
                raise ParseError(f"address {text!r}: a URI holding '?' or ',' must be "
                                 "enclosed in <...>")
            uri = Uri.parse(spec)
        return cls(uri=uri, display=display, params=parse_params(rest, f"address {text!r}"))

    @property
    def tag(self):
        return self.param("tag")

    def param(self, name):
        return param(self.params, name)

    def with_params(self, **values):
        kept = tuple((n, v) for n, v in self.params if n.lower() not in values)
        return Address(self.uri, self.display, kept + tuple(values.items()))

    def __str__(self):
        name = "" if self.display is None else quote(self.display) + " "
        return f"{name}<{self.uri}>{format_params(self.params)}"
