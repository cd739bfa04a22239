"""Messages, URIs and addresses: the grammar cases one by one, and the exact errors."""

from dataclasses import replace

import pytest

from branchline.hw.sip import (
    Address,
    CSeq,
    ParseError,
    Request,
    Response,
    StreamFramer,
    Uri,
    UsageError,
    Via,
    parse_message,
    response_for,
)

OPTIONS = (
    b"OPTIONS sip:branch@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\n"
    b"From: <sip:probe@127.0.0.1>;tag=a1\r\n"
    b"To: <sip:branch@127.0.0.1>\r\n"
    b"Call-ID: c1@127.0.0.1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_a_plain_request_parses_and_writes_back_the_same_bytes():
    m = parse_message(OPTIONS)
    assert isinstance(m, Request) and m.method == "OPTIONS"
    assert (m.uri.host, m.uri.port, m.uri.user) == ("127.0.0.1", 5060, "branch")
    assert m.vias[0].param("rport") == "" and m.vias[0].port == 5070
    assert bytes(m) == OPTIONS


def test_compact_names_odd_case_and_folding_read_as_the_long_forms():
    m = parse_message(
        b"INVITE sip:a@h SIP/2.0\r\nv: SIP/2.0/UDP h1;branch=z9hG4bK1,\r\n SIP/2.0/TCP h2\r\n"
        b"vIA : SIP/2.0/UDP h3;branch=z9hG4bK3\r\nf: <sip:b@h>;tag=1\r\nt: sip:a@h\r\n"
        b"i: x\r\ncseq:\r\n\t2 INVITE\r\nl: 0\r\n\r\n")
    assert [v.host for v in m.vias] == ["h1", "h2", "h3"]
    assert m.headers[0] == ("Via", "SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/TCP h2")
    assert m.call_id == "x" and m.cseq.number == 2


def test_responses_build_from_requests_with_a_to_tag():
    m = parse_message(OPTIONS)
    r = response_for(m, 200, to_tag="b2", headers=[("Allow", "INVITE, ACK, BYE, OPTIONS")])
    again = parse_message(bytes(r))
    assert isinstance(again, Response) and (again.status, again.reason) == (200, "OK")
    assert again.to.tag == "b2" and again.header("Via") == m.header("Via")
    assert again.header("allow") == "INVITE, ACK, BYE, OPTIONS"


@pytest.mark.parametrize(("text", "fields"), [
    ("sip:alice@atlanta.com", ("sip", "alice", None, "atlanta.com", None)),
    ("SIPS:alice:secretword@atlanta.com;transport=tcp", ("sips", "alice", "secretword",
                                                          "atlanta.com", None)),
    ("sip:+1-212-555-1212:1234@gateway.com;user=phone", ("sip", "+1-212-555-1212", "1234",
                                                          "gateway.com", None)),
    ("sip:192.0.2.4:5061", ("sip", None, None, "192.0.2.4", 5061)),
    ("sip:[2001:db8::10]:5070;lr", ("sip", None, None, "[2001:db8::10]", 5070)),
])
def test_sip_uris(text, fields):
    uri = Uri.parse(text)
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == fields
    assert Uri.parse(str(uri)) == uri


@pytest.mark.parametrize(("text", "error"), [
    ("sip:", "URI 'sip:': host '' is not a host name or IPv4 address"),
    ("sip:a@h:70000", "URI 'sip:a@h:70000': port '70000' is not a port number (0 to 65535)"),
    ("sip:a%zz@h", "URI user 'a%zz' has a % that is not followed by two hex digits"),
    ("sip:a@h;;lr", "URI 'sip:a@h;;lr': a parameter has no name (stray ';' in ';;lr')"),
    ("<sip:a@h>", "URI '<sip:a@h>' is empty or holds a space, quote or angle bracket"),
    ("1sip:a@h", "URI '1sip:a@h' does not start with a scheme like 'sip:'"),
])
def test_bad_uris_say_what_is_wrong(text, error):
    with pytest.raises(ParseError) as caught:
        Uri.parse(text)
    assert str(caught.value) == error


def test_addresses_in_each_form():
    a = Address.parse('"Bank \\"VIP\\" line" <sip:vip@branch.example>;tag=9;expires=60')
    assert a.display == 'Bank "VIP" line' and a.tag == "9" and a.param("EXPIRES") == "60"
    assert Address.parse(str(a)) == a
    b = Address.parse("Teller Two <sip:t2@h>")
    assert b.display == "Teller Two" and b.uri.user == "t2"
    c = Address.parse("sip:t3@h;transport=udp;tag=x")  # addr-spec: params belong to the header
    assert c.uri.params == () and c.params == (("transport", "udp"), ("tag", "x"))


def test_via_with_spaces_around_every_separator():
    v = Via.parse("SIP / 2.0 / udp  host.example : 5062 ; branch = z9hG4bKab ; received=1.2.3.4")
    assert (v.transport, v.host, v.port, v.branch) == ("UDP", "host.example", 5062, "z9hG4bKab")
    assert str(v.with_params(rport="5062")) == \
        "SIP/2.0/UDP host.example:5062;branch=z9hG4bKab;received=1.2.3.4;rport=5062"


@pytest.mark.parametrize(("data", "error"), [
    (b"OPTIONS sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n", "the header fields are not ended "
     "by an empty line (CRLF CRLF)"),
    (OPTIONS.replace(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS"),
     "CSeq 'one OPTIONS' is not a number and a method, like '1 INVITE'"),
    (OPTIONS.replace(b"Via: SIP/2.0/UDP", b"Via: SIP/2.0 UDP"),
     "Via 'SIP/2.0 UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport' does not start with "
     "'SIP/2.0/<transport> <host>'"),
    (OPTIONS.replace(b"Call-ID: c1@127.0.0.1\r\n", b""), "missing header fields: Call-ID"),
    (OPTIONS.replace(b"To: ", b"To : \xff"), "the header section is not UTF-8 (byte 140)"),
    (OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 4"),
     "Content-Length is 4 but only 0 body bytes came"),
])
def test_malformed_messages_get_exact_errors(data, error):
    with pytest.raises(ParseError) as caught:
        parse_message(data)
    assert str(caught.value) == error and caught.value.status == 400


def test_parse_message_refuses_text():
    with pytest.raises(UsageError, match="parse_message takes bytes, not str"):
        parse_message(OPTIONS.decode())


def test_stream_framer_cuts_messages_at_any_split():
    body = b"v=0\r\n"
    second = OPTIONS.replace(b"Content-Length: 0", b"Content-Length: 5") + body
    stream = b"\r\n\r\n" + OPTIONS + second
    for split in range(1, len(stream)):
        framer = StreamFramer()
        out = framer.feed(stream[:split]) + framer.feed(stream[split:])
        assert out == [OPTIONS, second], split
    assert parse_message(second).body == body


def test_stream_framer_without_content_length_loses_framing_for_good():
    framer = StreamFramer()
    with pytest.raises(ParseError, match="exactly one Content-Length"):
        framer.feed(OPTIONS.replace(b"Content-Length: 0\r\n", b""))
    with pytest.raises(ParseError, match="framing was lost earlier"):
        framer.feed(OPTIONS)


def test_stream_framer_bounds_an_endless_header_section():
    framer = StreamFramer(max_head=100)
    assert framer.feed(b"OPTIONS sip:a@h SIP/2.0\r\n") == []
    with pytest.raises(ParseError, match="no end of the header section in 100 bytes"):
        framer.feed(b"X: " + b"y" * 100)


def test_via_from_to_and_cseq_are_parsed_once_however_often_they_are_read(monkeypatch):
    m = parse_message(OPTIONS)  # parsing checks them: that parse is kept
    parsed = []
    for kind in (Address, Via, CSeq):
        original = kind.parse.__func__
        monkeypatch.setattr(kind, "parse", classmethod(
            lambda cls, text, original=original: parsed.append(cls.__name__) or
            original(cls, text)))
    for _ in range(5):
        assert (m.vias[0].branch, m.from_.tag, m.to.tag, m.cseq.number) == \
            ("z9hG4bK-1", "a1", None, 1)
    assert parsed == []
    m.vias.clear()  # what a reader does to the list it got does not reach the message
    assert len(m.vias) == 1
    # A copy with other headers reads its own: nothing kept from the original carries over.
    tagged = replace(m, headers=tuple((n, v + ";tag=t2" if n == "To" else v)
                                      for n, v in m.headers))
    assert tagged.to.tag == "t2" and m.to.tag is None and parsed == ["Address"]
