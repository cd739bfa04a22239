"""Digest authentication: RFC 7616 §3.9.1 vectors, and a client and a server talking."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.hw.sip import AuthError, UsageError
from branchline.hw.sip.digest import DigestClient, DigestServer, digest_response, parse_auth

# RFC 7616 §3.9.1 (the HTTP example; the computation is the same for SIP, RFC 3261 §22.4).
RFC7616 = dict(username="Mufasa", realm="http-auth@example.org", password="Circle of Life",
               method="GET", uri="/dir/index.html",
               nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc="00000001",
               cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop="auth")
CHALLENGE = ('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
             'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
             'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
SECRET = bytes(range(32))


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc7616_vectors(algorithm, expected):
    assert digest_response(algorithm, **RFC7616) == expected
    client = DigestClient("Mufasa", "Circle of Life")
    header = client.authorize(CHALLENGE.format(alg=algorithm), "GET", "/dir/index.html",
                              cnonce=RFC7616["cnonce"])
    scheme, params = parse_auth(header)
    assert scheme == "Digest" and params["response"] == expected
    assert params["nc"] == "00000001" and params["qop"] == "auth"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_client_counts_nc_per_nonce():
    client = DigestClient("Mufasa", "Circle of Life")
    ncs = [parse_auth(client.authorize(CHALLENGE.format(alg="MD5"), "GET", "/"))[1]["nc"]
           for _ in range(3)]
    assert ncs == ["00000001", "00000002", "00000003"]


def _pair(now=100.0, algorithm="SHA-256"):
    server = DigestServer("branch.example", SECRET, lifetime=300)
    challenge = next(c for c in server.challenges(now) if f"algorithm={algorithm}" in c)
    return server, challenge, DigestClient("teller2", "6rT!x9-qLp2z")


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_server_accepts_the_right_password_once_per_nc(algorithm):
    server, challenge, client = _pair(algorithm=algorithm)
    auth = client.authorize(challenge, "REGISTER", "sip:branch.example")
    passwords = {"teller2": "6rT!x9-qLp2z"}.get
    verdict = server.verify(auth, "REGISTER", passwords, 110.0)
    assert verdict.ok and verdict.username == "teller2"
    replay = server.verify(auth, "REGISTER", passwords, 111.0)
    assert not replay.ok and replay.reason == "nc replayed"


def test_server_refuses_a_wrong_password_and_an_unknown_user():
    server, challenge, client = _pair()
    auth = client.authorize(challenge, "INVITE", "sip:ivr@branch.example")
    assert server.verify(auth, "INVITE", {"teller2": "other"}.get, 101.0).reason == \
        "wrong response (password)"
    assert server.verify(auth, "INVITE", {}.get, 101.0).reason == "unknown user"
    assert server.verify(auth, "BYE", {"teller2": "6rT!x9-qLp2z"}.get, 101.0).reason == \
        "wrong response (password)"  # the method is part of the digest


def test_an_old_nonce_is_stale_and_a_fresh_challenge_says_so():
    server, challenge, client = _pair(now=100.0)
    auth = client.authorize(challenge, "REGISTER", "sip:branch.example")
    verdict = server.verify(auth, "REGISTER", {"teller2": "6rT!x9-qLp2z"}.get, 100.0 + 301)
    assert verdict.stale and not verdict.ok
    again = server.challenges(401.0, stale=True)[0]
    assert parse_auth(again)[1]["stale"] == "true"
    retry = client.authorize(again, "REGISTER", "sip:branch.example")
    assert server.verify(retry, "REGISTER", {"teller2": "6rT!x9-qLp2z"}.get, 402.0).ok


def test_a_nonce_from_another_server_is_refused():
    other = DigestServer("branch.example", bytes(32))
    _, _, client = _pair()
    auth = client.authorize(other.challenges(100.0)[0], "REGISTER", "sip:branch.example")
    server = DigestServer("branch.example", SECRET)
    assert server.verify(auth, "REGISTER", {"teller2": "6rT!x9-qLp2z"}.get, 100.0).reason == \
        "nonce was not issued by us"


@pytest.mark.parametrize(("challenge", "error"), [
    ('Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth"',
     "digest algorithm 'MD5-sess' is not supported; use MD5 or SHA-256"),
    ('Digest realm="r", nonce="n", qop="auth-int"',
     "challenge offers qop ['auth-int']; only 'auth' is supported"),
    ('Basic realm="r"', "challenge scheme 'Basic' is not Digest"),
    ('Digest realm="r" nonce="n"', "authentication parameters must be separated by commas, "
     "not 'n'"),
    ('Digest realm="r, nonce=n', "authentication parameter 'realm': quoted string '\"r, nonce=n'"
     " has no closing quote"),
])
def test_bad_challenges_say_what_is_wrong(challenge, error):
    with pytest.raises(AuthError) as caught:
        DigestClient("u", "p4ss").authorize(challenge, "INVITE", "sip:x")
    assert str(caught.value) == error


def test_no_empty_password_and_no_password_in_repr():
    with pytest.raises(UsageError, match="non-empty password"):
        DigestClient("u", "")
    assert "6rT" not in repr(DigestClient("teller2", "6rT!x9-qLp2z"))
    with pytest.raises(UsageError, match="at least 16 random bytes"):
        DigestServer("r", b"short")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_digest_headers_raise_only_auth_error(text):
    server = DigestServer("r", bytes(32))
    with contextlib.suppress(AuthError):
        DigestClient("u", "p4ss").authorize(text, "INVITE", "sip:x")
    with contextlib.suppress(AuthError):
        server.verify(text, "INVITE", {"u": "p4ss"}.get, 0.0)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["username", "realm", "nonce", "uri", "response", "qop",
                                        "nc", "cnonce", "algorithm"]),
                       st.text(alphabet="abcdef0123456789=/-", max_size=12)))
def test_well_formed_but_wrong_credentials_are_refused_not_raised(fields):
    server = DigestServer("r", bytes(32))
    header = "Digest " + ", ".join(f'{k}="{v}"' for k, v in fields.items())
    with contextlib.suppress(AuthError):
        assert not server.verify(header, "INVITE", {"u": "p4ss"}.get, 0.0).ok


def test_a_non_ascii_response_is_a_wrong_password_not_a_crash():
    server = DigestServer("r", SECRET)
    header = (f'Digest username="u", realm="r", nonce="{server.nonce(0.0)}", uri="sip:x", '
              'response="é"')
    assert server.verify(header, "INVITE", {"u": "p4ss"}.get, 0.0).reason == \
        "wrong response (password)"
