"""Bell 202 FSK caller ID: the generator, the receiver against its NumPy reference, levels,
noise, A-law, frequency error, placement, block sizes, bad messages."""

import importlib

import line_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.dsp import (
    CallerIdMessage,
    FskRx,
    alaw_decode,
    alaw_encode,
    compiled_kernels,
    encode_mdmf,
    encode_sdmf,
    fsk_modulate,
)
from branchline.hw.sim.audio import db_gain, speech_like

SDMF_VECTOR = bytes.fromhex("04 12 30 39 33 30 31 32 32 34 36 30 39 35 35 35 31 32 31 32 51")
MESSAGE = encode_mdmf(number="13912345678", name="ZHANG SAN", when=(11, 23, 18, 30))
EXPECTED = CallerIdMessage("mdmf", number="13912345678", name="ZHANG SAN",
                           when=(11, 23, 18, 30))


def line(signals, *, length=None, snr_db=None, alaw=True, seed=0):
    """A block int16[len(signals), length]: each (offset, float signal) placed on its row,
    white noise `snr_db` below the signal's power, through A-law and back."""
    rng = np.random.default_rng(seed)
    length = length or max(at + len(x) for at, x in signals) + 1600
    rows = np.zeros((len(signals), length))
    for row, (at, x) in zip(rows, signals, strict=True):
        row[at : at + len(x)] = x
        if snr_db is not None:
            power = np.mean(np.square(x, dtype=np.float64))
            row += rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), length)
    block = np.clip(np.round(rows), -32768, 32767).astype(np.int16)
    return alaw_decode(alaw_encode(block)) if alaw else block


def receive(block, step=160, rx=None):
    rx = rx or FskRx(block.shape[0])
    found = []
    for i in range(0, block.shape[1], step):
        found += rx.process(np.ascontiguousarray(block[:, i : i + step]))
    return found, rx


def test_the_sdmf_vector_comes_through_the_air():
    found, rx = receive(line([(400, fsk_modulate(SDMF_VECTOR))]))
    assert found == [(0, CallerIdMessage("sdmf", number="6095551212", when=(9, 30, 12, 24)))]
    assert rx.counters == {"messages": 1, "checksum": 0, "format": 0, "framing": 0,
                           "truncated": 0}


def test_the_generator_is_bell_202_bit_for_bit():
    audio = fsk_modulate(SDMF_VECTOR, level_dbm0=-13.0)
    reference = np.round(ref.fsk_signal(SDMF_VECTOR, -13.0))
    assert np.array_equal(audio, reference.astype(np.int16))
    bits = 300 + 180 + 10 * len(SDMF_VECTOR)
    assert len(audio) == -(-bits * 8000 // 1200)
    peak = 32768 * 10 ** (-3.14 / 20) * 10 ** (-13 / 20)
    assert abs(np.abs(audio).max() - peak) <= 1.0


def test_the_mark_and_space_are_1200_and_2200_hz():
    marks = fsk_modulate(b"", seizure_bits=0, mark_bits=1200).astype(float)  # one second
    assert np.argmax(np.abs(np.fft.rfft(marks))) == 1200  # 1 Hz bins
    # Bytes 0x00: nine space bits, then one mark (stop), 120 times a second: 2200 Hz with
    # sidebands 120 Hz apart.
    zeros = fsk_modulate(bytes(120), seizure_bits=0, mark_bits=0).astype(float)
    assert abs(np.argmax(np.abs(np.fft.rfft(zeros))) - 2200) <= 120


def test_the_kernel_reports_what_the_numpy_reference_does():
    block = line([(777, ref.fsk_signal(MESSAGE, -25.0))], snr_db=15)
    from branchline.dsp._fsk_rx import FskKernel

    kernel = FskKernel(1, -45.0)
    out = np.zeros((FskKernel.event_capacity(1, block.shape[1]), 4), np.int64)
    count = kernel.process(block, out)
    events = [tuple(row[1:]) for row in out[:count].tolist()]
    expected = ref.fsk_events(block[0])
    assert [e[0] for e in events] == [e[0] for e in expected]
    assert all(abs(a[1] - b[1]) <= 1 and abs(a[2] - b[2]) <= 1
               for a, b in zip(events, expected, strict=True))
    assert MESSAGE in bytes(e[0] for e in events if e[0] >= 0)


@pytest.mark.parametrize("level", [-8, -12, -16, -20, -24, -28, -30])
def test_detected_through_alaw_at_20_db_snr(level):
    signals = [(int(at), fsk_modulate(MESSAGE, level_dbm0=level)) for at in
               np.random.default_rng(level + 100).integers(0, 4000, 8)]
    found, rx = receive(line(signals, snr_db=20, seed=level + 100))
    assert sorted(found, key=lambda f: f[0]) == [(c, EXPECTED) for c in range(8)]
    assert rx.counters["messages"] == 8


def test_the_level_threshold_is_the_carrier_floor():
    # Found: messages come through down to the -45 dBm0 carrier floor at 20 dB SNR; 3 dB
    # under it the receiver stays deaf (docs/line-dsp.md).
    quiet = [(100, fsk_modulate(MESSAGE, level_dbm0=-44.0)),
             (100, fsk_modulate(MESSAGE, level_dbm0=-48.0))]
    found, _ = receive(line(quiet, snr_db=20, seed=3))
    assert found == [(0, EXPECTED)]


@pytest.mark.parametrize("scale", [0.99, 1.01])
def test_one_percent_frequency_and_rate_error_is_tolerated(scale):
    signals = [(at, ref.fsk_signal(MESSAGE, -20.0, scale=scale, phase=at / 7.0))
               for at in (0, 53, 1234, 2999)]
    found, _ = receive(line(signals, snr_db=20, seed=7))
    assert sorted(found, key=lambda f: f[0]) == [(c, EXPECTED) for c in range(4)]


@given(st.integers(0, 159), st.sampled_from([1, 7, 80, 160, 333]))
@settings(max_examples=15, deadline=None)
def test_any_start_offset_and_block_size_gives_the_same_message(offset, step):
    block = line([(offset, fsk_modulate(SDMF_VECTOR, level_dbm0=-20.0))], snr_db=25, seed=offset)
    found, _ = receive(block, step=step)
    assert found == [(0, CallerIdMessage("sdmf", number="6095551212", when=(9, 30, 12, 24)))]


@given(st.one_of(st.none(), st.text("0123456789", min_size=1, max_size=20)),
       st.one_of(st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                    min_size=1, max_size=30)),
       st.tuples(st.integers(1, 12), st.integers(1, 31), st.integers(0, 23),
                 st.integers(0, 59)))
@settings(max_examples=10, deadline=None)
def test_random_messages_come_through_the_air(number, name, when):
    data = encode_mdmf(number=number, number_absent=None if number else "P", name=name,
                       when=when)
    found, _ = receive(line([(321, fsk_modulate(data, level_dbm0=-18.0))], snr_db=20))
    assert found == [(0, CallerIdMessage("mdmf", number=number,
                                         number_absent=None if number else "P", name=name,
                                         when=when))]


def test_a_corrupted_checksum_is_counted_not_raised_and_the_next_message_still_arrives():
    bad = SDMF_VECTOR[:-1] + b"\x52"
    block = line([(0, np.concatenate([fsk_modulate(bad, level_dbm0=-15.0), np.zeros(4000),
                                      fsk_modulate(SDMF_VECTOR, level_dbm0=-15.0)]))])
    found, rx = receive(block)
    assert found == [(0, CallerIdMessage("sdmf", number="6095551212", when=(9, 30, 12, 24)))]
    assert rx.counters["checksum"] == 1 and rx.counters["messages"] == 1
    assert "checksum 0x52 at byte 20 is wrong; expected 0x51" in str(rx.last_error(0))


def test_a_message_cut_short_is_counted_as_truncated():
    audio = fsk_modulate(MESSAGE, level_dbm0=-15.0)
    cut = audio[: len(audio) - 20 * 7]  # the last three bytes never arrive
    found, rx = receive(line([(200, cut)]))
    assert found == []
    assert rx.counters["truncated"] == 1
    assert "cut short by the end of the carrier" in str(rx.last_error(0))


def test_speech_and_noise_make_no_caller_id():
    speech = speech_like(np.random.default_rng(11), 20.0) * db_gain(-12.0)
    noise = np.random.default_rng(12).normal(0, 3000, len(speech))
    found, rx = receive(line([(0, speech), (0, noise)], length=len(speech)))
    assert found == []
    assert rx.counters["messages"] == 0


def test_channels_are_independent_and_reset_forgets_a_partial_message():
    audio = fsk_modulate(SDMF_VECTOR, level_dbm0=-15.0)
    half = len(audio) - 60 * 7
    block = line([(0, audio), (0, audio)], length=len(audio) + 800, alaw=False)
    rx = FskRx(2)
    assert rx.process(np.ascontiguousarray(block[:, :half])) == []
    rx.reset(1)
    found = rx.process(np.ascontiguousarray(block[:, half:]))
    assert [c for c, _ in found] == [0]
    assert rx.last_error(1) is None


def test_bad_blocks_and_arguments_are_refused_with_the_fix():
    rx = FskRx(2)
    with pytest.raises(TypeError, match=r"dtype float64; expected int16"):
        rx.process(np.zeros((2, 160)))
    with pytest.raises(ValueError, match=r"shape \(3, 160\); expected \[channels=2, n >= 1\]"):
        rx.process(np.zeros((3, 160), np.int16))
    with pytest.raises(ValueError, match="not C-contiguous"):
        rx.process(np.zeros((160, 2), np.int16).T)
    with pytest.raises(ValueError, match=r"channel=2; expected an int in 0..1"):
        rx.reset(2)
    with pytest.raises(ValueError, match="channels=0"):
        FskRx(0)
    with pytest.raises(ValueError, match="level_dbm0=9"):
        fsk_modulate(SDMF_VECTOR, level_dbm0=9)


def test_the_receiver_runs_its_compiled_kernel():
    module = importlib.import_module(type(FskRx(1)._kernel).__module__)
    assert module.__name__ == "branchline.dsp._fsk_rx"
    assert "_fsk_rx" in compiled_kernels()


def test_sdmf_absence_reason_arrives():
    data = encode_sdmf(None, (2, 3, 4, 5), number_absent="P")
    found, _ = receive(line([(50, fsk_modulate(data, level_dbm0=-20.0))], snr_db=20))
    assert found == [(0, CallerIdMessage("sdmf", number_absent="P", when=(2, 3, 4, 5)))]


@pytest.mark.parametrize(("seizure", "marks"), [(300, 180), (0, 180), (96, 80), (0, 55)])
def test_preambles_of_every_standard_are_accepted(seizure, marks):
    # GR-30: 300 seizure bits and 180 marks; ETSI EN 300 659-1: 80 +- 25 marks, seizure
    # optional; China (YD/T 1117): about 30 x 0x55 then about 150 ms of marks.
    audio = fsk_modulate(MESSAGE, level_dbm0=-20.0, seizure_bits=seizure, mark_bits=marks)
    found, _ = receive(line([(99, audio)], snr_db=20, seed=seizure + marks))
    assert found == [(0, EXPECTED)]
