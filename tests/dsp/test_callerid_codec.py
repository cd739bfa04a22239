"""Caller-ID messages (SDMF/MDMF bytes) and DTMF caller ID strings: vectors, round trips, errors."""

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from branchline.dsp import (
    CallerIdError,
    CallerIdMessage,
    DtmfRx,
    decode_message,
    dtmf_callerid_samples,
    encode_mdmf,
    encode_sdmf,
    parse_dtmf_callerid,
)

# Telcordia GR-30 SDMF example, as TELEPHONY.md gives it: 30 Sep 12:24, 6095551212.
SDMF_VECTOR = bytes.fromhex("04 12 30 39 33 30 31 32 32 34 36 30 39 35 35 35 31 32 31 32 51")
# MDMF example (TELEPHONY.md): 17 Mar 16:56, 2156430144.
MDMF_VECTOR = bytes.fromhex(
    "80 16 01 08 30 33 31 37 31 36 35 36 02 0A 32 31 35 36 34 33 30 31 34 34 BA")


def test_the_sdmf_vector_decodes_to_its_date_and_number():
    assert decode_message(SDMF_VECTOR) == CallerIdMessage(
        "sdmf", number="6095551212", when=(9, 30, 12, 24))


def test_the_sdmf_vector_is_what_encode_sdmf_makes():
    assert encode_sdmf("6095551212", (9, 30, 12, 24)) == SDMF_VECTOR


def test_the_mdmf_vector_decodes_and_encodes():
    message = decode_message(MDMF_VECTOR)
    assert message == CallerIdMessage("mdmf", number="2156430144", when=(3, 17, 16, 56))
    assert encode_mdmf(number="2156430144", when=(3, 17, 16, 56)) == MDMF_VECTOR


def test_every_encoded_message_sums_to_zero():
    data = encode_mdmf(number="13912345678", name="ZHANG SAN", when=(12, 31, 23, 59))
    assert sum(data) % 256 == 0
    assert data[1] == len(data) - 3


def test_mdmf_parameters_have_their_gr30_layout():
    data = encode_mdmf(number_absent="P", name_absent="O", when=(1, 2, 3, 4))
    assert data[2:] == bytes.fromhex("01 08") + b"01020304" + bytes.fromhex(
        "04 01 50 08 01 4F") + data[-1:]
    assert decode_message(data) == CallerIdMessage(
        "mdmf", number_absent="P", name_absent="O", when=(1, 2, 3, 4))


def test_sdmf_carries_an_absence_reason_in_place_of_the_number():
    data = encode_sdmf(None, (5, 6, 7, 8), number_absent="O")
    assert data[10:11] == b"O"
    assert decode_message(data) == CallerIdMessage("sdmf", number_absent="O", when=(5, 6, 7, 8))


def test_unknown_mdmf_parameters_are_skipped():
    body = bytes.fromhex("02 03") + b"123" + bytes.fromhex("11 01 01")  # 0x11: UK call type
    head = bytes([0x80, len(body)]) + body
    data = head + bytes([(-sum(head)) & 0xFF])
    assert decode_message(data) == CallerIdMessage("mdmf", number="123")


numbers = st.text("0123456789", min_size=1, max_size=20)
names = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=50)
whens = st.tuples(st.integers(1, 12), st.integers(1, 31), st.integers(0, 23),
                  st.integers(0, 59))


@st.composite
def messages(draw):
    number = draw(st.none() | numbers)
    name = draw(st.none() | names)
    fields = {
        "number": number,
        "number_absent": draw(st.sampled_from("OP")) if number is None else None,
        "name": name,
        "name_absent": draw(st.none() | st.sampled_from("OP")) if name is None else None,
        "when": draw(st.none() | whens),
    }
    return fields


@given(messages())
def test_mdmf_round_trips(fields):
    assert decode_message(encode_mdmf(**fields)) == CallerIdMessage("mdmf", **fields)


@given(numbers, whens)
def test_sdmf_round_trips(number, when):
    assert decode_message(encode_sdmf(number, when)) == CallerIdMessage(
        "sdmf", number=number, when=when)


@given(messages(), st.integers(0, 255), st.integers(1, 255))
def test_any_corrupted_byte_is_rejected(fields, where, flip):
    data = bytearray(encode_mdmf(**fields))
    data[where % len(data)] ^= flip
    with pytest.raises(CallerIdError):
        decode_message(bytes(data))


def test_a_wrong_checksum_says_which_byte_and_what_it_should_be():
    bad = SDMF_VECTOR[:-1] + b"\x52"
    with pytest.raises(CallerIdError, match=re.escape(
            "decode_message: checksum 0x52 at byte 20 is wrong; expected 0x51 (all bytes must "
            "sum to 0 mod 256)")):
        decode_message(bad)


@pytest.mark.parametrize(("data", "message"), [
    (b"\x04\x00", "2 bytes; a message has at least type, length and checksum"),
    (b"\x05\x00\xfb", "type 0x05 at byte 0; expected 0x04 (SDMF) or 0x80 (MDMF)"),
    (SDMF_VECTOR[:-2] + SDMF_VECTOR[-1:], "length byte says 18 body bytes, so 21 in all; got 20"),
    (bytes.fromhex("06 03 42 42 42 31"), "type 0x06 is a message-waiting indication"),
    (bytes.fromhex("80 03 02 05 31 45"), "MDMF parameter at byte 2 runs past the body"),
])
def test_malformed_messages_are_rejected_with_the_reason(data, message):
    with pytest.raises(CallerIdError, match=re.escape(message)):
        decode_message(data)


def test_a_bad_date_is_rejected():
    head = bytes([0x04, 9]) + b"13011200" + b"1"
    with pytest.raises(CallerIdError, match="date-time '13011200' is not a valid MMDDHHMM"):
        decode_message(head + bytes([(-sum(head)) & 0xFF]))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: encode_sdmf("12a", (1, 1, 0, 0)), "number='12a'; expected 1-20 digits 0-9"),
    (lambda: encode_sdmf("1", (13, 1, 0, 0)), "expected month 1-12"),
    (lambda: encode_sdmf("1", (1, 1, 0, 0), number_absent="P"), "exactly one of number"),
    (lambda: encode_mdmf(), "nothing to send"),
    (lambda: encode_mdmf(number="1", number_absent="O"), "number and number_absent"),
    (lambda: encode_mdmf(name="张三"), "printable ASCII"),
    (lambda: encode_mdmf(name_absent="X"), "name_absent='X'; expected 'O' (unavailable)"),
])
def test_encoding_bad_fields_says_what_is_wrong(call, message):
    with pytest.raises(CallerIdError, match=re.escape(message)):
        call()


# -- DTMF caller ID -----------------------------------------------------------------------


@pytest.mark.parametrize(("digits", "expected"), [
    ("A1234567890C", CallerIdMessage("dtmf", number="1234567890")),
    ("D13912345678#", CallerIdMessage("dtmf", number="13912345678")),
    ("*02188886666#", CallerIdMessage("dtmf", number="02188886666")),
    ("B00C", CallerIdMessage("dtmf", number_absent="O")),
    ("B10C", CallerIdMessage("dtmf", number_absent="P")),
    ("D1#", CallerIdMessage("dtmf", number_absent="P")),
    ("D3#", CallerIdMessage("dtmf", number_absent="O")),
    ("A5C", CallerIdMessage("dtmf", number="5")),
])
def test_dtmf_caller_id_forms(digits, expected):
    assert parse_dtmf_callerid(digits) == expected


@pytest.mark.parametrize(("digits", "message"), [
    ("12345C", "'12345C' starts with '1'; expected one of A B C D * #"),
    ("A12345", "'A12345' ends with '5'; expected one of A B C D * #"),
    ("A12B45C", "'A12B45C' has 'B' at position 3"),
    ("AC", "'AC' is too short"),
    ("B20C", "'B' starts an absence code"),
])
def test_bad_dtmf_caller_id_says_where(digits, message):
    with pytest.raises(CallerIdError, match=re.escape(message)):
        parse_dtmf_callerid(digits)


@pytest.mark.parametrize(("start", "end"), [("A", "C"), ("D", "#"), ("*", "#"), ("B", "C")])
def test_dtmf_caller_id_audio_is_heard_back_by_the_dtmf_receiver(start, end):
    number = "10" if start == "B" else "13912345678"
    audio = dtmf_callerid_samples(number, start=start, end=end)
    keys = [e.digit for e in DtmfRx(1).process(audio[None, :].copy()) if e.end is None]
    assert "".join(keys) == start + number + end
    assert parse_dtmf_callerid("".join(keys)) == parse_dtmf_callerid(start + number + end)
    # ETSI EN 300 659-1 Annex B: 70 ms tones and pauses here.
    assert len(audio) == len(start + number + end) * 2 * 560
    assert np.abs(audio).max() > 0


def test_dtmf_caller_id_audio_refuses_a_bad_frame_character():
    with pytest.raises(CallerIdError, match="start='5'"):
        dtmf_callerid_samples("123", start="5")
