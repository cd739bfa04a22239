"""G.711 against audioop (an independent implementation), the NumPy reference and G.711 facts."""

import audioop

import numpy as np
import pytest
import tone_reference as ref

from branchline.dsp import (
    ALAW_IDLE,
    ULAW_IDLE,
    alaw_decode,
    alaw_encode,
    ulaw_decode,
    ulaw_encode,
)

ALL_LINEAR = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


def test_every_linear_input_encodes_as_audioop_does():
    data = ALL_LINEAR.tobytes()
    assert np.array_equal(alaw_encode(ALL_LINEAR), np.frombuffer(audioop.lin2alaw(data, 2), "u1"))
    assert np.array_equal(ulaw_encode(ALL_LINEAR), np.frombuffer(audioop.lin2ulaw(data, 2), "u1"))


def test_every_code_decodes_as_audioop_does():
    data = ALL_CODES.tobytes()
    assert np.array_equal(alaw_decode(ALL_CODES), np.frombuffer(audioop.alaw2lin(data, 2), "<i2"))
    assert np.array_equal(ulaw_decode(ALL_CODES), np.frombuffer(audioop.ulaw2lin(data, 2), "<i2"))


def test_kernels_match_the_numpy_reference():
    assert np.array_equal(alaw_encode(ALL_LINEAR), ref.alaw_encode(ALL_LINEAR))
    assert np.array_equal(ulaw_encode(ALL_LINEAR), ref.ulaw_encode(ALL_LINEAR))
    assert np.array_equal(alaw_decode(ALL_CODES), ref.alaw_decode(ALL_CODES))
    assert np.array_equal(ulaw_decode(ALL_CODES), ref.ulaw_decode(ALL_CODES))


@pytest.mark.parametrize(
    ("decode", "encode", "sequence"),
    [
        (alaw_decode, alaw_encode, [0x34, 0x21, 0x21, 0x34, 0xB4, 0xA1, 0xA1, 0xB4]),
        (ulaw_decode, ulaw_encode, [0x1E, 0x0B, 0x0B, 0x1E, 0x9E, 0x8B, 0x8B, 0x9E]),
    ],
)
def test_digital_milliwatt_decodes_to_0_dbm0(decode, encode, sequence):
    codes = np.array(sequence * 100, dtype=np.uint8)
    linear = decode(codes)
    assert abs(ref.rms_dbm0(linear)) < 0.1
    assert np.array_equal(encode(linear), codes)  # decoded values are reproduction levels


def test_idle_codes():
    assert ALAW_IDLE == 0xD5 and ULAW_IDLE == 0xFF
    assert alaw_decode(np.array([0xD5], np.uint8))[0] == 8
    assert ulaw_decode(np.array([0xFF], np.uint8))[0] == 0
    assert alaw_encode(np.zeros(1, np.int16))[0] == 0xD5
    assert ulaw_encode(np.zeros(1, np.int16))[0] == 0xFF


def test_any_shape_and_non_contiguous_input():
    block = np.arange(-9600, 9600, 10, dtype=np.int16).reshape(12, 160)
    codes = alaw_encode(block[:, ::2])
    assert codes.shape == (12, 80)
    assert np.array_equal(codes, ref.alaw_encode(block[:, ::2]))
    assert ulaw_decode(np.zeros((0, 160), np.uint8)).shape == (0, 160)


def test_out_parameter_is_filled_and_returned():
    block = np.arange(-800, 800, dtype=np.int16).reshape(10, 160)
    codes = np.empty((10, 160), np.uint8)
    assert ulaw_encode(block, out=codes) is codes
    linear = np.empty((10, 160), np.int16)
    assert ulaw_decode(codes, out=linear) is linear
    assert np.array_equal(linear, ref.ulaw_decode(ref.ulaw_encode(block)))


def test_wrong_dtypes_and_buffers_are_refused():
    with pytest.raises(TypeError, match="alaw_encode: input has dtype float64; expected int16"):
        alaw_encode(np.zeros(4))
    with pytest.raises(TypeError, match="alaw_decode: input has dtype int16; expected uint8"):
        alaw_decode(np.zeros(4, np.int16))
    with pytest.raises(ValueError, match=r"out has shape \(3,\); expected \(4,\)"):
        alaw_encode(np.zeros(4, np.int16), out=np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="out has dtype int16; expected uint8"):
        ulaw_encode(np.zeros(4, np.int16), out=np.zeros(4, np.int16))
    with pytest.raises(ValueError, match="writeable C-contiguous"):
        ulaw_decode(np.zeros(4, np.uint8), out=np.zeros(8, np.int16)[::2])
