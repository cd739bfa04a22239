"""The board protocol: CRC and COBS against published values, golden frames, malformed input."""

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branchline.hw.protocol.endpoint import (
    AUDIO_BYTES,
    MAX_FRAME,
    MAX_PAYLOAD,
    MESSAGE_TYPES,
    AbcdEvent,
    Ack,
    AlarmCode,
    AlarmEvent,
    Audio,
    Boot,
    BootReason,
    CallerIdAudio,
    EncodeError,
    Endpoint,
    FlashCommand,
    FlashEvent,
    Frame,
    FrameDecoder,
    FrameError,
    GainsCommand,
    Heartbeat,
    Hello,
    HelloReply,
    HookCommand,
    HookEvent,
    InventoryKind,
    LineEvent,
    LoopbackCommand,
    MessageError,
    PolarityCommand,
    PolarityEvent,
    ResetCommand,
    Result,
    RingCommand,
    RingEvent,
    SetAbcdCommand,
    SpanAlarmBits,
    SpanStatus,
    StopRingCommand,
    UnknownMessage,
    cobs_decode,
    cobs_encode,
    crc16,
    encode_message,
    is_command,
    parse_message,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "board_protocol.hex"
MILLIWATT = bytes.fromhex("34212134b4a1a1b4")  # A-law digital milliwatt (ITU-T G.711)

GOLDEN = {
    "hello": Hello(),
    "hello_reply": HelloReply(1, "1.2.0", "BL-0001",
                              ((InventoryKind.FXO, 4), (InventoryKind.FXS, 4))),
    "hello_reply_e1": HelloReply(1, "2.0.1", "BL-E1-77",
                                 ((InventoryKind.E1, 1), (InventoryKind.FXS, 2))),
    "heartbeat": Heartbeat(1000),
    "ack": Ack(0x1234, Result.OK),
    "ack_wrong_kind": Ack(9, Result.WRONG_PORT_KIND),
    "boot": Boot(BootReason.WATCHDOG),
    "hook_off": HookCommand(0, True),
    "hook_on": HookCommand(0, False),
    "flash": FlashCommand(2, 300),
    "ring_cn": RingCommand(4, 25, (1000, 4000)),
    "stop_ring": StopRingCommand(4),
    "polarity": PolarityCommand(5, True),
    "gains": GainsCommand(1, -3.5, 2.0),
    "loopback": LoopbackCommand(1, True),
    "reset": ResetCommand(),
    "set_abcd": SetAbcdCommand(16, 0b1101),
    "ring_event_on": RingEvent(0, True, 4000),
    "ring_event_off": RingEvent(0, False, 1000),
    "hook_event": HookEvent(4, True),
    "flash_event": FlashEvent(4, 250),
    "line_event": LineEvent(1, True, 25.5, -48.0),
    "line_cut": LineEvent(1, False, 0.0, 0.0),
    "polarity_event": PolarityEvent(2),
    "caller_id_audio": CallerIdAudio(0, 1, 0, False, bytes([0xD5] * 8)),
    "span_status": SpanStatus(0, SpanAlarmBits.LOS | SpanAlarmBits.AIS, 3),
    "abcd_event": AbcdEvent(3, 0b1001),
    "alarm": AlarmEvent(0xFF, AlarmCode.OVER_TEMPERATURE, True),
    "audio_idle": Audio(3, 0x0102, bytes([0xD5] * 160)),
    "audio_milliwatt": Audio(0, 0, MILLIWATT * 20),
    "audio_with_zeros": Audio(7, 0xFFFF, bytes(160)),
}


def _fixtures():
    rows = {}
    for line in FIXTURES.read_text().splitlines():
        if line and not line.startswith("#"):
            name, seq, wire = line.split()
            rows[name] = (int(seq), bytes.fromhex(wire))
    return rows


def naive_crc16(data):
    """CRC-16/CCITT-FALSE bit by bit, straight from its definition."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


# -- CRC and COBS ---------------------------------------------------------------------------


def test_crc16_ccitt_false_check_value():
    assert crc16(b"123456789") == 0x29B1
    assert naive_crc16(b"123456789") == 0x29B1


@given(st.binary(max_size=300))
def test_crc16_matches_the_bitwise_definition(data):
    assert crc16(data) == naive_crc16(data)


@pytest.mark.parametrize(("raw", "stuffed"), [
    # The examples of Cheshire & Baker's paper, as commonly tabulated.
    ("00", "0101"),
    ("0000", "010101"),
    ("00110000", "0102110101"),
    ("11220033", "0311220233"),
    ("11223344", "0511223344"),
    ("11000000", "0211010101"),
    ("", "01"),
])
def test_cobs_published_examples(raw, stuffed):
    assert cobs_encode(bytes.fromhex(raw)).hex() == stuffed
    assert cobs_decode(bytes.fromhex(stuffed)).hex() == raw


def test_cobs_254_non_zero_bytes_are_one_full_group():
    data = bytes(range(1, 255))
    assert cobs_encode(data) == b"\xff" + data
    assert cobs_decode(b"\xff" + data) == data


@given(st.binary(max_size=MAX_FRAME))
def test_cobs_round_trips_and_never_emits_zero(data):
    stuffed = cobs_encode(data)
    assert 0 not in stuffed
    assert len(stuffed) == len(data) + 1
    assert cobs_decode(stuffed) == data


def test_cobs_refuses_more_than_a_frame():
    with pytest.raises(EncodeError, match="255 bytes; a frame holds at most 254"):
        cobs_encode(bytes(255))


@pytest.mark.parametrize(("stuffed", "error"), [
    ("0511", r"COBS: the group at offset 0 claims 4 bytes but only 1 follow"),
    ("021100", r"COBS: a 0x00 at offset 2 inside a frame"),
])
def test_cobs_rejects_malformed_input(stuffed, error):
    with pytest.raises(FrameError, match=error) as info:
        cobs_decode(bytes.fromhex(stuffed))
    assert info.value.reason == "bad_cobs"


# -- golden frames ----------------------------------------------------------------------------


def test_every_message_type_has_a_golden_frame():
    assert {type(m) for m in GOLDEN.values()} == set(MESSAGE_TYPES.values())
    assert set(_fixtures()) == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_frames(name):
    seq, wire = _fixtures()[name]
    message = GOLDEN[name]
    assert encode_message(message, seq) == wire
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    frame = Frame.decode(wire)
    assert (frame.type, frame.seq) == (message.TYPE, seq)
    raw = cobs_decode(wire[:-1])
    assert int.from_bytes(raw[-2:], "big") == naive_crc16(raw[:-2])
    assert parse_message(frame) == message


def test_worked_example_in_the_spec():
    # docs/board-protocol.md walks through this frame byte by byte.
    frame = Frame(HookCommand.TYPE, 5, bytes(HookCommand(0, True)))
    assert bytes(frame).hex(" ") == "10 00 05 00 01 ee 87"
    assert frame.encode().hex(" ") == "02 10 02 05 04 01 ee 87 00"


def test_audio_frames_cost_170_wire_bytes():
    wire = encode_message(Audio(0, 0, MILLIWATT * 20), 0)
    assert len(wire) == 170 == 3 + 3 + AUDIO_BYTES + 2 + 1 + 1


def test_bool_fields_parse_as_bools():
    message = parse_message(Frame.decode(encode_message(HookCommand(3, True), 1)))
    assert message.off_hook is True
    assert repr(message) == "HookCommand(port=3, off_hook=True)"


def test_is_command():
    assert is_command(HookCommand(0, True)) and is_command(ResetCommand())
    assert not is_command(HookEvent(0, True)) and not is_command(Audio(0, 0, bytes(160)))
    assert not is_command(Ack(0, 0))


# -- malformed frames and payloads ---------------------------------------------------------


def test_frame_rejects_a_bad_crc_with_both_values():
    raw = bytearray(bytes(Frame(0x03, 7, b"\x00\x00\x03\xe8")))
    raw[-1] ^= 0x01
    with pytest.raises(FrameError, match=r"CRC 0x67EC on a frame whose CRC-16 is 0x67ED") as e:
        Frame.parse(bytes(raw))
    assert e.value.reason == "bad_crc"


def test_frame_rejects_short_and_long_frames():
    with pytest.raises(FrameError, match=r"frame of 4 bytes; at least 5 \(type, seq, CRC\)"):
        Frame.parse(b"\x01\x00\x00\x01")
    with pytest.raises(FrameError, match="frame of 255 bytes; at most 254"):
        Frame.parse(bytes(255))


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"type": 256, "seq": 0}, "Frame: type 256; expected 0-255"),
    ({"type": 1, "seq": 65536}, "Frame: seq 65536; expected 0-65535"),
    ({"type": 1, "seq": 0, "payload": bytes(250)}, "payload of 250 bytes; at most 249 fit"),
])
def test_frame_refuses_to_build_what_cannot_be_sent(kwargs, error):
    with pytest.raises(EncodeError, match=error):
        Frame(**kwargs)
    assert MAX_PAYLOAD == 249


@pytest.mark.parametrize(("type_", "payload", "error"), [
    (0x10, b"\x00", r"HookCommand \(0x10\): payload of 1 bytes; expected 2 \(port, off_hook\)"),
    (0x80, bytes(162), r"Audio \(0x80\): payload of 162 bytes; expected 163 \(port, audio seq"),
    (0x12, b"\x04\x19\x03" + bytes(6), r"RingCommand \(0x12\): pattern length 3; expected an "
                                        r"even 2-8"),
    (0x12, b"\x04\x19\x02\x03", r"RingCommand \(0x12\): payload of 4 bytes; expected 7"),
    (0x02, b"\x01\x05abc", r"HelloReply \(0x02\): firmware of 5 bytes runs past"),
    (0x02, b"\x01\x00\x00\x02\x01\x04", r"HelloReply \(0x02\): 2 inventory groups need 4 "
                                        r"bytes, got 2"),
    (0x02, b"\x01\x00\x00\x01\x09\x04", r"inventory group 0 has kind 9; expected 1 FXO, 2 FXS "
                                        r"or 3 E1"),
    (0x45, bytes(5 + 161), r"CallerIdAudio \(0x45\): 161 audio bytes; at most 160"),
    (0x17, b"\x00", r"ResetCommand \(0x17\): payload of 1 bytes; expected 0 \(nothing\)"),
])
def test_malformed_payloads_say_what_and_where(type_, payload, error):
    with pytest.raises(MessageError, match=error):
        parse_message(Frame(type_, 0, payload))


@pytest.mark.parametrize(("message", "error"), [
    (Audio(0, 0, bytes(159)), "Audio: 159 bytes; expected 160"),
    (RingCommand(4, 25, (1000,)), r"RingCommand: pattern of 1 durations; expected an even "
                                  r"2-8 \(1 to 4 on/off pairs\)"),
    (RingCommand(4, 25, (1000, 70000)), "RingCommand: .* does not fit"),
    (GainsCommand(0, 13.0, 0.0), r"GainsCommand: rx_db=13.0; expected -12 to \+12 dB"),
    (HookCommand(256, True), "HookCommand: .* do not fit"),
    (HelloReply(1, "x" * 33, "s", ()), "HelloReply: firmware is 33 bytes; at most 32"),
    (CallerIdAudio(0, 0, 0, True, bytes(161)), "CallerIdAudio: 161 bytes; at most 160"),
])
def test_unsendable_messages_are_refused(message, error):
    with pytest.raises(EncodeError, match=error):
        bytes(message)


def test_unknown_types_parse_as_unknown_messages():
    assert parse_message(Frame(0x7E, 0, b"new")) == UnknownMessage(0x7E, b"new")


# -- the decoder and the endpoint ----------------------------------------------------------


def _stream():
    sender = Endpoint()
    messages = list(GOLDEN.values())
    return messages, b"".join(sender.send(m) for m in messages)


def test_decoder_takes_the_stream_in_any_pieces():
    messages, wire = _stream()
    rng = random.Random(1)
    for _ in range(20):
        receiver = Endpoint()
        got, at = [], 0
        while at < len(wire):
            step = rng.randint(1, 40)
            got += receiver.receive_data(wire[at:at + step])
            at += step
        assert [r.message for r in got] == messages
        assert [r.seq for r in got] == list(range(len(messages)))
        counters = receiver.counters
        assert counters["frames_in"] == len(messages)
        assert sum(counters[k] for k in ("bad_cobs", "bad_crc", "short_frame", "long_frame",
                                         "seq_gap", "seq_backwards")) == 0


def test_garbage_is_counted_and_the_next_delimiter_resynchronises():
    sender, receiver = Endpoint(), Endpoint()
    wire = (sender.send(Heartbeat(1)) + b"\x07\x55\x55\xaa\x00" + b"\x01\x02\x00"
            + b"\x02\x10\x00" + sender.send(Heartbeat(2)))
    got = receiver.receive_data(wire)
    assert [r.message for r in got] == [Heartbeat(1), Heartbeat(2)]
    counters = receiver.counters
    assert counters["bad_cobs"] == 2  # 07 claims 6 bytes, 3 follow; 02 after 01 claims 1
    assert counters["short_frame"] == 1  # 02 10 is the 1-byte frame 10
    assert receiver.last_error == "frame of 1 bytes; at least 5 (type, seq, CRC)"


def test_a_flipped_bit_costs_one_frame():
    sender, receiver = Endpoint(), Endpoint()
    wire = [bytearray(sender.send(Audio(1, seq, MILLIWATT * 20))) for seq in range(3)]
    wire[1][40] ^= 0x10
    got = receiver.receive_data(b"".join(wire))
    assert [r.message.seq for r in got] == [0, 2]
    assert receiver.counters["bad_crc"] == 1
    assert receiver.counters["seq_gap"] == 1


def test_endless_garbage_without_delimiters_is_dropped_in_bounded_memory():
    sender, receiver = Endpoint(), Endpoint()
    noise = bytes(random.Random(2).randrange(1, 256) for _ in range(2000))
    got = []
    for i in range(0, len(noise), 100):
        got += receiver.receive_data(noise[i:i + 100])
    got += receiver.receive_data(b"\x00" + sender.send(Heartbeat(5)))
    assert [r.message for r in got] == [Heartbeat(5)]
    assert receiver.counters["long_frame"] == 1
    decoder = FrameDecoder()
    decoder.feed(noise)
    assert len(decoder._pending) == 0


def test_unknown_types_are_counted_and_skipped():
    receiver = Endpoint()
    wire = Frame(0x7E, 0, b"future").encode() + encode_message(Heartbeat(3), 1)
    got = receiver.receive_data(wire)
    assert got[0].message == UnknownMessage(0x7E, b"future")
    assert got[1].message == Heartbeat(3)
    assert receiver.counters["unknown_type"] == 1


def test_bad_payloads_are_counted_and_skipped():
    receiver = Endpoint()
    got = receiver.receive_data(Frame(0x10, 0, b"\x01").encode())
    assert got == []
    assert receiver.counters["bad_payload"] == 1
    assert "HookCommand (0x10): payload of 1 bytes" in receiver.last_error


def test_sequence_gaps_wraps_and_restarts():
    receiver = Endpoint()
    wire = b"".join(encode_message(Heartbeat(0), s) for s in (65533, 65534, 65535, 0, 3, 2))
    receiver.receive_data(wire)
    assert receiver.counters["seq_gap"] == 2  # 1 and 2 missing before 3
    assert receiver.counters["seq_backwards"] == 1  # 2 after 3
    receiver.receive_data(encode_message(Boot(BootReason.POWER_ON), 0))
    receiver.receive_data(encode_message(Heartbeat(0), 1))
    receiver.receive_data(encode_message(Hello(), 0))
    receiver.receive_data(encode_message(HelloReply(1, "f", "s", ()), 0))
    assert receiver.counters["seq_gap"] == 2 and receiver.counters["seq_backwards"] == 1


def test_sender_numbers_frames_and_wraps():
    sender = Endpoint()
    sender._next_seq = 0xFFFF
    sender.send(Heartbeat(0))
    assert sender.last_seq == 0xFFFF
    sender.send(Heartbeat(0))
    assert sender.last_seq == 0
    sender.restart()
    sender.send(Hello())
    assert sender.last_seq == 0 and sender.counters["frames_out"] == 3


@given(st.lists(st.binary(max_size=300), max_size=20))
def test_any_bytes_at_all_never_raise_and_never_pile_up(chunks):
    receiver = Endpoint()
    for chunk in chunks:
        for item in receiver.receive_data(chunk):
            assert item.message is not None
    assert len(receiver._decoder._pending) <= 256 + 300


@given(st.lists(st.sampled_from(sorted(GOLDEN)), min_size=1, max_size=8),
       st.integers(0, 2**32 - 1))
def test_frames_survive_noise_between_them(names, seed):
    rng = random.Random(seed)
    sender, receiver = Endpoint(), Endpoint()
    wire = b""
    for name in names:
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        wire += noise + b"\x00" + sender.send(GOLDEN[name])
    got = [r.message for r in receiver.receive_data(wire)]
    # Noise can forge nothing: a CRC-16 over a stray chunk that also parses is ~1 in 65536,
    # so the sent frames all arrive, in order, and anything extra is very rare.
    sent = [GOLDEN[n] for n in names]
    assert [m for m in got if m in sent] == sent


_U8, _U16 = st.integers(0, 0xFF), st.integers(0, 0xFFFF)
_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", max_size=32)
_MESSAGES = st.one_of(
    st.builds(Hello, _U8),
    st.builds(HelloReply, _U8, _TEXT, _TEXT, st.lists(
        st.tuples(st.sampled_from(InventoryKind), _U8), max_size=8).map(tuple)),
    st.builds(Heartbeat, st.integers(0, 2**32 - 1)),
    st.builds(Ack, _U16, _U8),
    st.builds(Boot, _U8),
    st.builds(HookCommand, _U8, st.booleans()),
    st.builds(FlashCommand, _U8, _U16),
    st.builds(RingCommand, _U8, _U8, st.integers(1, 4).flatmap(
        lambda n: st.lists(_U16, min_size=2 * n, max_size=2 * n).map(tuple))),
    st.builds(StopRingCommand, _U8),
    st.builds(PolarityCommand, _U8, st.booleans()),
    st.builds(GainsCommand, _U8, st.integers(-120, 120).map(lambda v: v / 10),
              st.integers(-120, 120).map(lambda v: v / 10)),
    st.builds(LoopbackCommand, _U8, st.booleans()),
    st.just(ResetCommand()),
    st.builds(SetAbcdCommand, _U8, st.integers(0, 15)),
    st.builds(RingEvent, _U8, st.booleans(), _U16),
    st.builds(HookEvent, _U8, st.booleans()),
    st.builds(FlashEvent, _U8, _U16),
    st.builds(LineEvent, _U8, st.booleans(), st.integers(0, 0xFFFF).map(lambda v: v / 10),
              st.integers(-0x8000, 0x7FFF).map(lambda v: v / 10)),
    st.builds(PolarityEvent, _U8),
    st.builds(CallerIdAudio, _U8, _U8, _U16, st.booleans(), st.binary(max_size=160)),
    st.builds(SpanStatus, _U8, st.integers(0, 15), _U16),
    st.builds(AbcdEvent, _U8, st.integers(0, 15)),
    st.builds(AlarmEvent, _U8, _U8, st.booleans()),
    st.builds(Audio, _U8, _U16, st.binary(min_size=160, max_size=160)),
)


@given(_MESSAGES, _U16)
def test_every_message_round_trips_through_the_wire(message, seq):
    wire = encode_message(message, seq)
    assert 0 not in wire[:-1] and len(wire) <= 256
    frame = Frame.decode(wire)
    assert frame.seq == seq
    assert parse_message(frame) == message
