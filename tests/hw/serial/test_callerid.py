"""Caller ID decoded on the host from the board's raw audio windows."""

import numpy as np

from branchline.dsp import alaw_encode
from branchline.dsp.callerid import (
    dtmf_callerid_samples,
    encode_mdmf,
    encode_sdmf,
    fsk_modulate,
)
from branchline.hw.ports import ABSENT_PRIVATE, CallerId
from branchline.hw.protocol.endpoint import CallerIdAudio
from branchline.hw.serial.callerid import CallerIdReceiver

QUIET = np.zeros(800, np.int16)


def chunks(port, window, audio):
    codes = alaw_encode(audio).tobytes()
    parts = [codes[i:i + 160] for i in range(0, len(codes), 160)]
    return [CallerIdAudio(port, window, i, i == len(parts) - 1, part)
            for i, part in enumerate(parts)]


def feed(receiver, messages, now=1.0, per_tick=1):
    events = []
    for i in range(0, len(messages), per_tick):
        for message in messages[i:i + per_tick]:
            receiver.add(message)
        events += receiver.process(now)
    return events


def test_sdmf_vector_from_telephony_md():
    # 30 Sep 12:24, 6095551212, checksum 0x51 (TELEPHONY.md).
    message = encode_sdmf("6095551212", (9, 30, 12, 24))
    assert message.hex(" ") == ("04 12 30 39 33 30 31 32 32 34 36 30 39 35 35 35 31 32 31 32 "
                                 "51")
    receiver = CallerIdReceiver([0, 1])
    events = feed(receiver, chunks(1, 0, np.concatenate([QUIET, fsk_modulate(message), QUIET])))
    assert events == [CallerId(1, 1.0, "6095551212")]
    assert receiver.counters == {"windows": 1, "decoded": 1, "errors": 0}


def test_private_caller_and_two_lines_at_once():
    private = encode_mdmf(number_absent="P", name_absent="P")
    named = encode_mdmf(number="13912345678", name="LI")
    a = chunks(0, 5, np.concatenate([QUIET, fsk_modulate(private), QUIET]))
    b = chunks(2, 9, np.concatenate([QUIET, QUIET, fsk_modulate(named), QUIET]))
    receiver = CallerIdReceiver([0, 2])
    interleaved = [m for pair in zip(a, b, strict=False) for m in pair]
    interleaved += a[len(b):] + b[len(a):]
    events = feed(receiver, interleaved, per_tick=2)
    assert sorted((e.port, e.number, e.name, e.number_absent, e.name_absent)
                  for e in events) == [(0, None, None, ABSENT_PRIVATE, ABSENT_PRIVATE),
                                       (2, "13912345678", "LI", None, None)]


def test_a_corrupted_message_is_counted_not_reported():
    message = bytearray(encode_mdmf(number="13800138000"))
    message[5] ^= 0x01  # a digit changed: the checksum no longer closes
    receiver = CallerIdReceiver([0])
    events = feed(receiver, chunks(0, 0, np.concatenate([QUIET, fsk_modulate(bytes(message)),
                                                         QUIET])))
    assert events == []
    assert receiver.counters["errors"] == 1 and "checksum" in receiver.last_error


def test_dtmf_caller_id_with_chinese_start_and_end_characters():
    receiver = CallerIdReceiver([0])
    audio = np.concatenate([QUIET, dtmf_callerid_samples("02087654321", start="*", end="#"),
                            QUIET])
    events = feed(receiver, chunks(0, 0, audio), per_tick=3)
    assert events == [CallerId(0, 1.0, "02087654321")]


def test_a_new_window_drops_what_the_last_one_left_half_done():
    message = encode_mdmf(number="13800138000")
    half = fsk_modulate(message)[: len(fsk_modulate(message)) * 2 // 3]
    receiver = CallerIdReceiver([0])
    first = chunks(0, 0, np.concatenate([QUIET, half]))
    events = feed(receiver, first[:-1])  # the window never ended
    events += feed(receiver, chunks(0, 1, np.concatenate([QUIET, fsk_modulate(message),
                                                          QUIET])))
    assert [e.number for e in events] == ["13800138000"]
    assert receiver.counters["windows"] == 2


def test_windows_on_ports_that_are_not_trunks_are_ignored():
    receiver = CallerIdReceiver([0])
    message = encode_mdmf(number="123")
    assert feed(receiver, chunks(3, 0, np.concatenate([QUIET, fsk_modulate(message)]))) == []
    assert receiver.counters["windows"] == 0
