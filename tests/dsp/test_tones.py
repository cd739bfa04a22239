"""ToneTx and dtmf_samples against the NumPy reference, the tone tables and the cadence timing."""

import numpy as np
import pytest
import tone_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.dsp import CALL_PROGRESS_TONES, ToneSpec, ToneTx, dtmf_samples

CN = CALL_PROGRESS_TONES["cn"]
US = CALL_PROGRESS_TONES["us"]


def render(tx, n, block):
    rows, finished = [], []
    for start in range(0, n, block):
        out = np.zeros((tx.channels, min(block, n - start)), np.int16)
        finished.append(tx.render(out))
        rows.append(out)
    return np.concatenate(rows, axis=1), finished


def test_tables_hold_the_documented_tones():
    assert CN["busy"] == ToneSpec("busy", (450.0,), -10.0, (350, 350))
    assert CN["congestion"].cadence == (700, 700)
    assert CN["ringback"].cadence == (1000, 4000)
    assert CN["dial"].continuous
    assert CN["unobtainable"].cadence == (100,) * 6 + (400, 400)
    assert US["busy"].frequencies == (480.0, 620.0) and US["busy"].cadence == (500, 500)
    assert US["reorder"].cadence == (250, 250)
    assert US["ringback"] == ToneSpec("ringback", (440.0, 480.0), -19.0, (2000, 4000))
    assert US["dial"].frequencies == (350.0, 440.0) and US["dial"].continuous


@pytest.mark.parametrize("block", [160, 7, 1000])
@pytest.mark.parametrize("name", ["busy", "unobtainable", "dial"])
def test_call_progress_tone_matches_reference_for_any_block_size(name, block):
    tx = ToneTx(1)
    tx.start(0, CN[name])
    got, _ = render(tx, 16000, block)
    want = ref.render_segments(ref.spec_segments(CN[name]), 0, 16000)
    assert np.abs(got[0].astype(int) - want).max() <= 1


def test_dual_tone_level_and_cadence_are_exact_in_samples():
    tx = ToneTx(2)
    tx.start(1, US["busy"])
    got, _ = render(tx, 8000 * 2, 160)
    on = np.flatnonzero(got[1] != 0)
    # 500 ms on = 4000 samples, then 4000 off: the first sample of each burst starts at phase 0.
    assert on[0] == 1 and on.max() < 4000 + 4000 + 4000
    assert not got[1, 4000:8000].any() and got[1, 8001] != 0
    assert not got[0].any()
    # each of the two tones at -24 dBm0: together 3 dB more
    assert ref.rms_dbm0(got[1, :4000]) == pytest.approx(-24 + 10 * np.log10(2), abs=0.05)


def test_level_override_and_one_shot():
    tx = ToneTx(1)
    tx.start(0, CN["busy"], level_dbm0=-20.0, repeat=False)
    got, finished = render(tx, 8000, 160)
    assert ref.rms_dbm0(got[0, :2800]) == pytest.approx(-20.0, abs=0.05)
    # 350 + 350 ms = 5600 samples = 35 blocks: finishes in block 34 (0-based)
    assert [i for i, f in enumerate(finished) if f] == [34] and finished[34] == [0]
    assert not tx.active(0)


def test_render_leaves_idle_channels_untouched():
    tx = ToneTx(3)
    tx.start(2, CN["dial"])
    out = np.full((3, 160), 123, np.int16)
    assert tx.render(out) == []
    assert (out[:2] == 123).all() and (out[2] != 123).any()
    tx.stop(2)
    out[:] = 5
    tx.render(out)
    assert (out == 5).all() and not tx.active(2)


@pytest.mark.parametrize("block", [160, 33])
def test_dtmf_string_matches_reference_and_reports_its_end(block):
    tx = ToneTx(4)
    tx.start_dtmf(3, "1*9#D", level_dbm0=-7.0, twist_db=2.0, on_ms=50, off_ms=60)
    total = 5 * (400 + 480)
    got, finished = render(tx, total + 500, block)
    want = ref.render_segments(ref.dtmf_segments("1*9#D", -7.0, 2.0, 50, 60), -1, total + 500)
    assert np.abs(got[3].astype(int) - want).max() <= 1
    ends = [i for i, f in enumerate(finished) if f == [3]]
    assert ends == [(total - 1) // block]
    assert sum(len(f) for f in finished) == 1


def test_dtmf_samples_defaults():
    x = dtmf_samples("5")
    assert x.dtype == np.int16 and len(x) == 1280
    assert not x[640:].any()
    want = ref.render_segments(ref.dtmf_segments("5"), -1, 1280)
    assert np.abs(x.astype(int) - want).max() <= 1
    assert ref.rms_dbm0(x[:640]) == pytest.approx(-10 + 10 * np.log10(2), abs=0.05)
    spectrum = np.abs(np.fft.rfft(x[:640]))
    peaks = sorted(np.argsort(spectrum)[-2:] * 8000 / 640)
    assert peaks == pytest.approx([770, 1336], abs=12.5)


def test_dtmf_samples_at_another_rate():
    x = dtmf_samples("0", on_ms=40, off_ms=0, rate=16000)
    assert len(x) == 640


def test_errors_name_the_problem():
    tx = ToneTx(2)
    with pytest.raises(ValueError, match="expected a non-empty string of 0-9"):
        tx.start_dtmf(0, "12x")
    with pytest.raises(IndexError, match=r"channel 2 out of range 0\.\.1"):
        tx.start(2, CN["busy"])
    with pytest.raises(ValueError, match=r"expected a C-contiguous \(2, n\) array"):
        tx.render(np.zeros((3, 160), np.int16))
    with pytest.raises(ValueError, match="expected pairs of positive on/off"):
        ToneSpec("odd", (450.0,), -10.0, (350,))
    with pytest.raises(ValueError, match="expected 1 or 2"):
        ToneSpec("triple", (1.0, 2.0, 3.0))


@pytest.mark.parametrize("twist_db", [4.0, -8.0])
def test_dtmf_twist_sets_the_row_tone_above_the_column_tone(twist_db):
    x = dtmf_samples("9", twist_db=twist_db, on_ms=1000, off_ms=0)
    spectrum = np.abs(np.fft.rfft(x)) / (len(x) / 2)  # 1 Hz bins
    row, col = spectrum[852], spectrum[1477]
    assert 20 * np.log10(row / ref.peak(-10.0)) == pytest.approx(0.0, abs=0.05)
    assert 20 * np.log10(row / col) == pytest.approx(twist_db, abs=0.05)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 500), min_size=1, max_size=8),
       digits=st.text(alphabet="0123456789*#ABCD", min_size=1, max_size=4),
       name=st.sampled_from(sorted(CN)))
def test_output_is_the_same_whatever_the_block_sizes(sizes, digits, name):
    tx = ToneTx(2)
    tx.start(0, CN[name])
    tx.start_dtmf(1, digits, on_ms=45, off_ms=35)
    n = len(digits) * 640 + 300
    rows, pos, k = [], 0, 0
    while pos < n:
        out = np.zeros((2, min(sizes[k % len(sizes)], n - pos)), np.int16)
        tx.render(out)
        rows.append(out)
        pos += out.shape[1]
        k += 1
    got = np.concatenate(rows, axis=1)
    want = ref.render_segments(ref.spec_segments(CN[name]), 0, n)
    assert np.abs(got[0].astype(int) - want).max() <= 1
    want = ref.render_segments(ref.dtmf_segments(digits, on_ms=45, off_ms=35), -1, n)
    assert np.abs(got[1].astype(int) - want).max() <= 1


def test_an_empty_block_is_allowed():
    tx = ToneTx(1)
    tx.start_dtmf(0, "1")
    assert tx.render(np.zeros((1, 0), np.int16)) == [] and tx.active(0)
