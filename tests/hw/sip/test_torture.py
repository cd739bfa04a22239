"""RFC 4475 torture messages, and the parser fuzzed from them and from random bytes.

tests/hw/sip/data/rfc4475/ holds the RFC's messages (README.md there says where from).
RFC 4475 §3.1.1, §3.2, §3.3 (all but the three below) and §3.4 are syntactically valid:
they must parse. §3.1.2 is invalid, and so are three of §3.3 that a user agent must refuse
before it looks further (insuf: required fields missing; multi01: several values in
single-value fields; mcl01: two Content-Lengths): each must raise ParseError, and then
either get the status the RFC asks for or be dropped.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from branchline.hw.sip import (
    ParseError,
    Request,
    Response,
    parse_message,
    response_to_malformed,
)

DATA = Path(__file__).parent / "data" / "rfc4475"
# file -> (status of the answer, or None when it must be dropped)
INVALID = {
    "badinv01": None,     # §3.1.2.1 empty Via elements: no Via to answer to
    "clerr": 400,         # §3.1.2.2 Content-Length larger than the message
    "ncl": 400,           # §3.1.2.3 negative Content-Length
    "scalar02": 400,      # §3.1.2.4 CSeq beyond 2**32-1 (and Max-Forwards > 255)
    "scalarlg": None,     # §3.1.2.5 a response: never answered
    "quotbal": 400,       # §3.1.2.6 unterminated quoted string
    "ltgtruri": 400,      # §3.1.2.7 <> around the Request-URI
    "lwsruri": 400,       # §3.1.2.8 space inside the Request-URI
    "lwsstart": 400,      # §3.1.2.9 several spaces between request-line elements
    "trws": 400,          # §3.1.2.10 spaces at the end of the request line
    "escruri": 400,       # §3.1.2.11 headers in the Request-URI
    "baddate": 400,       # §3.1.2.12 a Date not in GMT
    "regbadct": 400,      # §3.1.2.13 a Contact URI with '?' outside <>
    "badaspec": 400,      # §3.1.2.14 spaces inside <addr-spec>
    "baddn": 400,         # §3.1.2.15 unquoted display name with a comma
    "badvers": 505,       # §3.1.2.16 SIP/7.0
    "mismatch01": 400,    # §3.1.2.17 CSeq method differs from the request's
    "mismatch02": 400,    # §3.1.2.18 the same with an unknown method
    "bigcode": None,      # §3.1.2.19 a response with a ten-digit status code
    "insuf": None,        # §3.3.1 no From, To, Call-ID: nothing to build a response from
    "multi01": 400,       # §3.3.9 several values in single-value header fields
    "mcl01": 400,         # §3.3.10 two Content-Length header fields
}
ALL = sorted(p.stem for p in DATA.glob("*.dat"))
VALID = [name for name in ALL if name not in INVALID]


def _load(name):
    return (DATA / f"{name}.dat").read_bytes()


def test_the_corpus_is_the_rfcs_49_messages():
    assert len(ALL) == 49 and len(VALID) == 27 and set(INVALID) <= set(ALL)


@pytest.mark.parametrize("name", VALID)
def test_valid_messages_parse_and_survive_a_round_trip(name):
    message = parse_message(_load(name))
    again = parse_message(bytes(message))
    assert type(again) is type(message)
    assert again.body == message.body
    assert [h for h in again.headers if h[0] != "Content-Length"] == \
        [h for h in message.headers if h[0] != "Content-Length"]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_messages_get_the_rfcs_answer_or_are_dropped(name):
    data = _load(name)
    with pytest.raises(ParseError) as caught:
        parse_message(data)
    answer = response_to_malformed(data, caught.value)
    if INVALID[name] is None:
        assert answer is None
    else:
        assert answer.status == INVALID[name]
        assert answer.header("Call-ID") == _raw_header(data, ("Call-ID", "i"))


def _raw_header(data, names):
    for line in data.decode("utf-8").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() in {n.lower() for n in names}:
            return value.strip()
    return None


def test_the_short_tortuous_invite_reads_as_the_rfc_says():
    m = parse_message(_load("wsinv"))
    assert isinstance(m, Request) and m.method == "INVITE"
    assert m.uri.user == "vivekg" and m.uri.params == (("unknownparam", None),)
    assert m.to.tag == "1918181833n" and m.to.display is None
    assert m.from_.display == 'J Rosenberg \\"' and m.from_.tag == "98asjd8"
    assert m.header("max-forwards") == "0068"
    assert (m.cseq.number, m.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.header("Subject") == ""
    assert m.header("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.header("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    (contact,) = m.contacts
    assert contact.display == 'Quoted string ""' and contact.param("q") == "0.33"
    assert contact.param("secondparam") == "" and contact.param("newparam") == "newvalue"
    assert len(m.body) == 150 and m.body.endswith(b"a=rtpmap:31 LPC\r\n")


def test_unusual_characters_and_escapes_are_kept():
    m = parse_message(_load("intmeth"))
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.tag == "_token~1'+`*%!-."
    esc = parse_message(_load("esc02"))
    assert esc.method == "RE%47IST%45R"  # % is no escape in a method
    assert len(esc.contacts) == 2 and esc.header("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_a_datagram_with_two_requests_keeps_the_first():
    m = parse_message(_load("dblreq"))
    assert m.method == "REGISTER" and m.body == b""


def test_a_response_with_an_empty_or_utf8_reason_parses():
    assert parse_message(_load("noreason")).reason == ""
    m = parse_message(_load("unreason"))
    assert isinstance(m, Response) and m.status == 200 and not m.reason.isascii()


def test_unknown_schemes_are_kept_opaque():
    assert str(parse_message(_load("unkscm")).uri) == "nobodyknowsthisscheme:totallyopaquecontent"
    m = parse_message(_load("unksm2"))
    assert m.to.uri.scheme == "isbn" and m.to.uri.opaque == "2983792873"


MUTATE_FROM = [_load(name) for name in ALL]


def _parse_or_parse_error(data):
    try:
        message = parse_message(data)
    except ParseError as exc:
        answer = response_to_malformed(data, exc)
        assert answer is None or 400 <= answer.status < 600
        return
    assert isinstance(message, Request | Response)
    parse_message(bytes(message))  # what we parsed, we can write and read back


FLIP_TO = b' \t\r\n:;,<>"\\@%=/?\x00\xff' + bytes(range(33, 127))


@st.composite
def _mutated(draw):
    data = bytearray(draw(st.sampled_from(MUTATE_FROM)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        if kind == "flip" and data:
            data[at] = draw(st.sampled_from(FLIP_TO))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"\r\n", b" ", b";", b",", b'"', b"<", b"\r\n ",
                                                b"%", b"\xc3", b"Content-Length: 5\r\n"]))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at:at + draw(st.integers(1, 40))]
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_torture_messages_raise_only_parse_error(data):
    _parse_or_parse_error(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_parse_error(data):
    _parse_or_parse_error(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_after_a_good_start_line_raise_only_parse_error(tail):
    _parse_or_parse_error(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
                          + tail + b"\r\n\r\n")
