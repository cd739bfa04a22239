"""The small pieces of RFC 3261 §25 grammar the header parsers share.

Every function takes unfolded header text (hw/sip/message.py turns folded lines into single
spaces first) and raises ``ParseError`` naming what is wrong; none raises anything else.
"""

import string

from branchline.hw.sip.errors import ParseError

ALNUM = frozenset(string.ascii_letters + string.digits)
# RFC 3261 §25.1: token.
TOKEN = ALNUM | frozenset("-.!%*_+`'~")
# unreserved = alphanum / mark
UNRESERVED = ALNUM | frozenset("-_.!~*'()")
# The characters allowed in a URI's user part (unreserved, user-unreserved, and % for escapes).
USER = UNRESERVED | frozenset("&=+$,;?/%")
PASSWORD = UNRESERVED | frozenset("&=+$,%")
# uri-parameter: paramchar = param-unreserved / unreserved / escaped
PARAMCHAR = UNRESERVED | frozenset("[]/:&+$%")
# The characters of the headers part of a URI (hnv-unreserved, unreserved, escaped, "=", "&").
HEADERCHAR = UNRESERVED | frozenset("[]/?:+$%=&")
HOSTCHAR = ALNUM | frozenset("-.")
WSP = " \t"
HEXDIGITS = frozenset(string.hexdigits)


def is_token(text):
    return bool(text) and all(c in TOKEN for c in text)


def check_chars(text, allowed, what, escapes=True):
    """Raise unless every character of ``text`` is in ``allowed`` and, with ``escapes`` (URI
    parts), every % starts an escape; in a token % is only a character (RFC 4475 §3.1.1.5)."""
    bad = next((c for c in text if c not in allowed), None)
    if bad is not None:
        raise ParseError(f"{what} {text!r} holds {bad!r}, which it may not")
    at = text.find("%") if escapes else -1
    while at >= 0:
        if len(text) < at + 3 or not (text[at + 1] in HEXDIGITS and text[at + 2] in HEXDIGITS):
            raise ParseError(f"{what} {text!r} has a % that is not followed by two hex digits")
        at = text.find("%", at + 3)


def check_host(host, what="host"):
    if host.startswith("["):
        inner = host[1:-1] if host.endswith("]") else ""
        if not inner or any(c not in HEXDIGITS and c not in ":." for c in inner):
            raise ParseError(f"{what} {host!r} is not an IPv6 reference like [2001:db8::1]")
        return
    if not host or any(c not in HOSTCHAR for c in host) or host[0] in "-." or ".." in host:
        raise ParseError(f"{what} {host!r} is not a host name or IPv4 address")


def parse_port(text, what="port"):
    if not text.isascii() or not text.isdigit() or len(text) > 5 or int(text) > 65535:
        raise ParseError(f"{what} {text!r} is not a port number (0 to 65535)")
    return int(text)


def quoted_string(text, start):
    """The quoted string opening at ``text[start]`` (a '"'): (its content unescaped, end index).

    RFC 3261 §25.1: quoted-pair is a backslash and any character but CR and LF.
    """
    out = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text) or text[i + 1] in "\r\n":
                break
            out.append(text[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    raise ParseError(f"quoted string {text[start:start + 40]!r} has no closing quote")


def quote(text):
    """``text`` as a quoted string, backslash and quote escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def skip_ws(text, i):
    while i < len(text) and text[i] in WSP:
        i += 1
    return i


def parse_params(text, what, chars=TOKEN | frozenset("[]:"), escapes=False):
    """``;name[=value]`` pairs (RFC 3261 generic-param), whitespace allowed around ; and =.

    Returns a tuple of (name, value or None); a quoted value keeps its quotes, so it is
    written back as it came. ``chars``: what a name or an unquoted value may hold;
    ``escapes``: whether % must start an escape (URI parameters) or is a plain character.
    """
    params = []
    i = skip_ws(text, 0)
    while i < len(text):
        if text[i] != ";":
            raise ParseError(f"{what}: expected ';' before {text[i:i + 30]!r}")
        i = skip_ws(text, i + 1)
        start = i
        while i < len(text) and text[i] in chars:
            i += 1
        name = text[start:i]
        if not name:
            raise ParseError(f"{what}: a parameter has no name (stray ';' in {text!r})")
        i = skip_ws(text, i)
        value = None
        if i < len(text) and text[i] == "=":
            i = skip_ws(text, i + 1)
            if i < len(text) and text[i] == '"':
                _, end = quoted_string(text, i)
                value, i = text[i:end], end
            else:
                start = i
                while i < len(text) and text[i] not in WSP + ';,"<>':
                    i += 1
                value = text[start:i]
                if not value:
                    raise ParseError(f"{what}: parameter {name!r} has '=' but no value")
                check_chars(value, chars, f"{what}: parameter {name!r}", escapes)
            i = skip_ws(text, i)
        params.append((name, value))
    return tuple(params)


def format_params(params):
    return "".join(f";{n}" if v is None else f";{n}={v}" for n, v in params)


def param(params, name):
    """The value of parameter ``name`` (case-insensitive), "" for one without a value."""
    for n, v in params:
        if n.lower() == name.lower():
            return "" if v is None else v
    return None


def split_commas(text, what):
    """Split a header value list at the commas outside quotes and angle brackets."""
    parts, start, i, depth = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            _, i = quoted_string(text, i)
            continue
        if c == "<":
            depth += 1
        elif c == ">":
            depth = max(0, depth - 1)
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    parts = [p.strip() for p in parts]
    if any(not p for p in parts):
        raise ParseError(f"{what}: empty element in the list {text!r}")
    return parts
