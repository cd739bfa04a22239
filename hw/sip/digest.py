"""Digest authentication for SIP (RFC 7616, which keeps RFC 2617's MD5; RFC 3261 §22).

Client: ``DigestClient(username, password).authorize(challenge, method, uri)`` answers one
``WWW-Authenticate``/``Proxy-Authenticate`` value with an ``Authorization`` value, counting
``nc`` per nonce. Server: ``DigestServer(realm, secret)`` issues challenges and checks
credentials; its nonces carry their issue time and an HMAC over it, so it keeps no table of
them, and a nonce older than ``lifetime`` seconds is answered ``stale=true`` (the client
retries with the new nonce without asking its user again). Time is an argument.

Supported: algorithms MD5 and SHA-256 (not the ``-sess`` variants), qop ``auth`` (not
``auth-int``) and RFC 2069-style answers without qop from old clients. A password is never
kept in a repr, an error message or a log line.
"""

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass

from branchline.hw.sip.errors import AuthError, ParseError, UsageError
from branchline.hw.sip.grammar import TOKEN, WSP, quote, quoted_string, skip_ws

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_auth(value):
    """``Digest a=b, c="d"`` -> ("Digest", {"a": "b", "c": "d"}); names lower-cased."""
    text = value.strip(WSP)
    i = 0
    while i < len(text) and text[i] in TOKEN:
        i += 1
    scheme, params = text[:i], {}
    if not scheme:
        raise AuthError(f"authentication header {value[:60]!r} does not start with a scheme")
    i = skip_ws(text, i)
    while i < len(text):
        start = i
        while i < len(text) and text[i] in TOKEN:
            i += 1
        name = text[start:i].lower()
        i = skip_ws(text, i)
        if not name or i >= len(text) or text[i] != "=":
            raise AuthError(f"authentication parameter at {text[start:start + 30]!r} is not "
                            "name=value")
        i = skip_ws(text, i + 1)
        if i < len(text) and text[i] == '"':
            try:
                params[name], i = quoted_string(text, i)
            except ParseError as exc:
                raise AuthError(f"authentication parameter {name!r}: {exc}") from exc
        else:
            start = i
            while i < len(text) and text[i] not in WSP + ",":
                i += 1
            params[name] = text[start:i]
        i = skip_ws(text, i)
        if i < len(text):
            if text[i] != ",":
                raise AuthError(f"authentication parameters must be separated by commas, "
                                f"not {text[i]!r}")
            i = skip_ws(text, i + 1)
    return scheme, params


def _hash(algorithm, *parts):
    return ALGORITHMS[algorithm](":".join(parts).encode()).hexdigest()


def digest_response(algorithm, username, realm, password, method, uri, nonce,
                    nc=None, cnonce=None, qop=None):
    """The ``response`` value (RFC 7616 §3.4.1); without qop, the RFC 2069 form."""
    ha1 = _hash(algorithm, username, realm, password)
    ha2 = _hash(algorithm, method, uri)
    if qop is None:
        return _hash(algorithm, ha1, nonce, ha2)
    return _hash(algorithm, ha1, nonce, nc, cnonce, qop, ha2)


def _algorithm(params):
    name = params.get("algorithm", "MD5")
    for known in ALGORITHMS:
        if name.upper() == known:
            return known
    raise AuthError(f"digest algorithm {name!r} is not supported; use MD5 or SHA-256")


class DigestClient:
    def __init__(self, username, password):
        if not username or not password:
            raise UsageError("digest credentials need a user name and a non-empty password")
        self.username = username
        self._password = password
        self._nc = {}

    def __repr__(self):
        return f"DigestClient(username={self.username!r})"

    def authorize(self, challenge, method, uri, cnonce=None):
        """The Authorization value answering ``challenge`` (a WWW-Authenticate value)."""
        scheme, params = parse_auth(challenge)
        if scheme.lower() != "digest":
            raise AuthError(f"challenge scheme {scheme!r} is not Digest")
        if "realm" not in params or "nonce" not in params:
            raise AuthError("a digest challenge needs realm and nonce")
        algorithm = _algorithm(params)
        qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
        if qops and "auth" not in qops:
            raise AuthError(f"challenge offers qop {qops}; only 'auth' is supported")
        nonce, realm = params["nonce"], params["realm"]
        fields = [("username", quote(self.username)), ("realm", quote(realm)),
                  ("nonce", quote(nonce)), ("uri", quote(uri))]
        if qops:
            self._nc[nonce] = count = self._nc.get(nonce, 0) + 1
            nc, cnonce = f"{count:08x}", cnonce or secrets.token_hex(12)
            answer = digest_response(algorithm, self.username, realm, self._password, method,
                                     uri, nonce, nc, cnonce, "auth")
            fields += [("response", quote(answer)), ("algorithm", algorithm),
                       ("cnonce", quote(cnonce)), ("qop", "auth"), ("nc", nc)]
        else:
            answer = digest_response(algorithm, self.username, realm, self._password, method,
                                     uri, nonce)
            fields += [("response", quote(answer)), ("algorithm", algorithm)]
        if "opaque" in params:
            fields.append(("opaque", quote(params["opaque"])))
        return "Digest " + ", ".join(f"{n}={v}" for n, v in fields)


@dataclass(frozen=True, slots=True)
class Verdict:
    """``ok``: the credentials are good; ``stale``: good but the nonce expired (challenge
    again with stale=true); else ``reason`` says why not (for the log; never the password)."""

    ok: bool
    username: str | None = None
    stale: bool = False
    reason: str = ""


class DigestServer:
    def __init__(self, realm, secret, lifetime=300.0, algorithms=("SHA-256", "MD5")):
        if len(secret) < 16:
            raise UsageError("the nonce secret must be at least 16 random bytes")
        unknown = [a for a in algorithms if a not in ALGORITHMS]
        if unknown or not algorithms:
            raise UsageError(f"algorithms must be some of {sorted(ALGORITHMS)}, not {unknown}")
        self.realm = realm
        self._secret = secret
        self.lifetime = lifetime
        self.algorithms = tuple(algorithms)
        self._last_nc = {}

    def __repr__(self):
        return f"DigestServer(realm={self.realm!r})"

    def nonce(self, now):
        stamp = struct.pack(">d", now)
        mac = hmac.new(self._secret, stamp + self.realm.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(stamp + mac[:16]).decode().rstrip("=")

    def challenges(self, now, stale=False):
        """One WWW-Authenticate value per algorithm, the preferred first (RFC 7616 §3.7)."""
        nonce = self.nonce(now)
        extra = ", stale=true" if stale else ""
        return [f"Digest realm={quote(self.realm)}, nonce={quote(nonce)}, algorithm={a}, "
                f'qop="auth"{extra}' for a in self.algorithms]

    def _nonce_time(self, nonce):
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except ValueError:
            return None
        if len(raw) != 24:
            return None
        mac = hmac.new(self._secret, raw[:8] + self.realm.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac[:16], raw[8:]):
            return None
        return struct.unpack(">d", raw[:8])[0]

    def verify(self, credentials, method, password_for, now):
        """Check an Authorization value. ``password_for(username)`` -> password or None."""
        scheme, p = parse_auth(credentials)
        if scheme.lower() != "digest":
            return Verdict(False, reason=f"scheme {scheme!r} is not Digest")
        missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in p]
        if missing:
            raise AuthError(f"digest credentials lack {', '.join(missing)}")
        algorithm = _algorithm(p)
        user = p["username"]
        if algorithm not in self.algorithms:
            return Verdict(False, user, reason=f"algorithm {algorithm} was not offered")
        if p["realm"] != self.realm:
            return Verdict(False, user, reason=f"realm {p['realm']!r} is not ours")
        issued = self._nonce_time(p["nonce"])
        if issued is None:
            return Verdict(False, user, reason="nonce was not issued by us")
        password = password_for(user)
        if password is None:
            return Verdict(False, user, reason="unknown user")
        qop = p.get("qop")
        if qop is not None and (qop != "auth" or "nc" not in p or "cnonce" not in p):
            return Verdict(False, user, reason="qop must be auth, with nc and cnonce")
        expected = digest_response(algorithm, user, self.realm, password, method, p["uri"],
                                   p["nonce"], p.get("nc"), p.get("cnonce"), qop)
        if not hmac.compare_digest(expected.encode(), p["response"].lower().encode()):
            return Verdict(False, user, reason="wrong response (password)")
        if now - issued > self.lifetime or now < issued:
            return Verdict(False, user, stale=True, reason="nonce is stale")
        if qop is not None:
            try:
                nc = int(p["nc"], 16)
            except ValueError:
                return Verdict(False, user, reason="nc is not hexadecimal")
            key = (p["nonce"], p["cnonce"])
            if nc <= self._last_nc.get(key, 0):
                return Verdict(False, user, reason="nc replayed")
            self._forget_old(now)
            self._last_nc[key] = nc
        return Verdict(True, user)

    def _forget_old(self, now):
        if len(self._last_nc) > 4096:
            self._last_nc = {k: v for k, v in self._last_nc.items()
                             if now - (self._nonce_time(k[0]) or 0.0) <= self.lifetime}
