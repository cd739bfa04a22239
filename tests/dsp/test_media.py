"""transcode() on real WAV/FLAC bytes, and TxRenderer against the NumPy model."""

import io

import numpy as np
import pytest
import soundfile
import tone_reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from branchline.dsp import MediaError, PromptPosition, TxRenderer, active_level_dbm0, transcode


def encoded(x, rate, fmt="WAV", subtype="PCM_16"):
    buf = io.BytesIO()
    soundfile.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def sine(freq, seconds, rate, amplitude=0.3):
    return amplitude * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)


def level_db_of(y, amplitude):
    core = y[800:-800].astype(np.float64)  # skip the resampler's edges
    rms = max(np.sqrt(np.mean(core**2)), 1e-3)
    return 20 * np.log10(rms / (amplitude * 32768 / np.sqrt(2)))


@pytest.mark.parametrize(("rate", "subtype"), [(48000, "PCM_24"), (44100, "FLOAT"),
                                               (16000, "PCM_16"), (8000, "PCM_16")])
def test_1khz_tone_keeps_its_level(rate, subtype):
    y = transcode(encoded(sine(1000, 1.0, rate), rate, subtype=subtype), target_dbm0=None)
    assert y.dtype == np.int16 and len(y) == 8000
    assert level_db_of(y, 0.3) == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize(("freq", "min_attenuation_db"),
                         [(3900, 25), (4100, 80), (5000, 80), (7000, 80), (11000, 80)])
def test_components_near_and_above_4khz_are_filtered_not_aliased(freq, min_attenuation_db):
    y = transcode(encoded(sine(freq, 1.0, 48000), 48000, subtype="FLOAT"), target_dbm0=None)
    assert level_db_of(y, 0.3) < -min_attenuation_db


def test_stereo_flac_is_mixed_and_brought_to_the_target_level():
    left, right = sine(1000, 4.0, 32000, 0.5), sine(1000, 4.0, 32000, 0.1)
    # 1 s bursts with 1 s pauses: the long-term level is 3 dB under the active level
    gate = (np.arange(len(left)) // 32000) % 2 == 0
    data = encoded(np.stack([left * gate, right * gate], axis=1), 32000, fmt="FLAC")
    y = transcode(data, target_dbm0=-20.0)
    assert active_level_dbm0(y) == pytest.approx(-20.0, abs=0.1)
    # P.56 counts the 200 ms hangover after each burst as active: 1.2 s per 1 s of tone
    assert ref.rms_dbm0(y[100:7900]) == pytest.approx(-20.0 + 10 * np.log10(1.2), abs=0.1)
    assert ref.rms_dbm0(y) == pytest.approx(-20.0 + 10 * np.log10(1.2 / 2), abs=0.1)
    assert not y[9000:15000].any()


def test_active_level_of_a_steady_tone_is_its_rms_level():
    x = ref.peak(-13.0) * np.sin(2 * np.pi * 697 * np.arange(8000) / 8000)
    assert active_level_dbm0(x) == pytest.approx(-13.0, abs=0.05)


def test_unusable_audio_raises_media_error():
    with pytest.raises(MediaError, match="no data"):
        transcode(b"")
    with pytest.raises(MediaError, match=r"cannot decode 11 bytes .*expected a WAV or FLAC"):
        transcode(b"not a file!")
    with pytest.raises(MediaError, match="holds no samples"):
        transcode(encoded(np.zeros(0), 8000))
    with pytest.raises(MediaError, match="sample rate 96000 Hz; expected 8000-48000"):
        transcode(encoded(sine(1000, 0.1, 96000), 96000))
    with pytest.raises(MediaError, match="silent"):
        transcode(encoded(np.zeros(800), 8000))
    with pytest.raises(MediaError, match="3 channels; expected mono or stereo"):
        transcode(encoded(np.zeros((800, 3)), 8000))


# -- TxRenderer -------------------------------------------------------------------------------

def test_prompt_sequence_plays_back_to_back_and_reports_its_end_once():
    tx = TxRenderer(3)
    a, b = np.arange(1, 201, dtype=np.int16), np.arange(-100, 0, dtype=np.int16)
    tx.play(1, [a, b], offset=50)
    out = np.full((3, 160), 9, np.int16)
    assert tx.render(out) == []
    assert np.array_equal(out[1], np.concatenate([a[50:], b[:10]]))
    assert not out[0].any() and not out[2].any()
    assert tx.position(1) == PromptPosition(1, 10)
    assert tx.render(out) == [1]
    assert np.array_equal(out[1, :90], b[10:]) and not out[1, 90:].any()
    assert tx.position(1) is None and not tx.playing(1)
    assert tx.render(out) == []


def test_a_prompt_ending_on_the_block_edge_is_reported_in_that_block():
    tx = TxRenderer(1)
    tx.play(0, np.ones(320, np.int16))
    out = np.zeros((1, 160), np.int16)
    assert [tx.render(out) for _ in range(3)] == [[], [0], []]


def test_stop_is_barge_in_and_not_reported():
    tx = TxRenderer(2)
    tx.play(0, np.ones(8000, np.int16))
    out = np.zeros((2, 160), np.int16)
    tx.render(out)
    tx.stop(0)
    assert tx.render(out) == [] and not out.any()


def test_renderer_errors():
    tx = TxRenderer(2)
    with pytest.raises(TypeError, match=r"prompt 0 is float64 .*expected a 1-D C-contiguous int16"):
        tx.play(0, np.zeros(10))
    with pytest.raises(ValueError, match=r"offset 11; expected 0\.\.10"):
        tx.play(0, np.zeros(10, np.int16), offset=11)
    with pytest.raises(IndexError, match=r"play: channel 2 out of range 0\.\.1"):
        tx.play(2, np.zeros(10, np.int16))
    with pytest.raises(ValueError, match=r"gain_db=30\.0; expected -60 to"):
        tx.play(0, np.zeros(10, np.int16), gain_db=30.0)
    with pytest.raises(ValueError, match=r"out has shape \(3, 160\); expected a C-contiguous"):
        tx.render(np.zeros((3, 160), np.int16))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("play"), st.integers(0, 3), st.integers(1, 3), st.integers(0, 50),
                  st.sampled_from([0.0, -6.0, 3.5, 20.0])),
        st.tuples(st.just("stop"), st.integers(0, 3)),
        st.tuples(st.just("render"), st.integers(0, 400)),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ops=operations, seed=st.integers(0, 2**32 - 1))
def test_renderer_matches_the_model_for_random_operations(ops, seed):
    rng = np.random.default_rng(seed)
    tx, model = TxRenderer(4), ref.RendererModel(4)
    for op in ops:
        if op[0] == "play":
            _, ch, count, offset, gain = op
            prompts = [rng.integers(-32768, 32768, rng.integers(0, 300)).astype(np.int16)
                       for _ in range(count)]
            offset = min(offset, len(prompts[0]))
            tx.play(ch, prompts, offset=offset, gain_db=gain)
            model.play(ch, prompts, offset, gain)
        elif op[0] == "stop":
            tx.stop(op[1])
            model.stop(op[1])
        else:
            out = np.full((4, op[1]), 77, np.int16)
            finished = tx.render(out)
            want, want_finished = model.render(op[1])
            assert np.array_equal(out, want)
            assert finished == want_finished


def test_an_empty_block_changes_nothing():
    tx = TxRenderer(1)
    tx.play(0, np.ones(100, np.int16))
    assert tx.render(np.zeros((1, 0), np.int16)) == []
    assert tx.position(0) == PromptPosition(0, 0)
