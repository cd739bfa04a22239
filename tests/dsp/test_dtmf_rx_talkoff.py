"""Talk-off: DtmfRx must hear fewer than one false digit per hour of speech and music.

The corpus (tests/support/corpus.py) is over an hour of espeak-ng English, Mandarin and
Cantonese speech and freely licensed music at -18 dBm0 RMS. It is fed as 32 channels of one
board, each a slice of the whole, so the test runs at the kernel's full speed.
"""

import numpy as np
from corpus import talkoff_corpus

from branchline.dsp import DtmfRx

CHANNELS = 32


def test_fewer_than_one_false_digit_per_hour():
    audio = np.concatenate([samples for _, samples in talkoff_corpus()])
    hours = len(audio) / 8000 / 3600
    assert hours >= 1.0
    per_channel = -(-len(audio) // CHANNELS)
    block = np.zeros(CHANNELS * per_channel, np.int16)
    block[: len(audio)] = audio
    block = block.reshape(CHANNELS, per_channel)
    events = DtmfRx(CHANNELS).process(block)
    false_digits = [e for e in events if e.end is None]
    assert len(false_digits) / hours < 1.0, false_digits
