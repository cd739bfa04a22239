"""Branchline DSP core: signal kernels in Cython, batched over the channels of a board.

Every kernel works on a block ``int16[channels, n]`` (n = 160 for a 20 ms frame at 8 kHz) and
keeps per-channel state between blocks, so one Python call serves every channel of a board.
The Python fronts here validate shapes and dtypes and allocate state once; the compiled
kernels do the per-sample work without the GIL. There is no pure-Python fallback at run time:
the NumPy references live in the tests.

Errors: ``ValueError``/``TypeError`` for a block of the wrong shape or dtype (the caller's
mistake); nothing in this package does I/O.
"""

import importlib
import importlib.machinery
import pkgutil

# -- Answer detection for calls we dial (dial tone, ringback, busy, voice) -----------------------
from branchline.dsp.answer_detect import AnswerDetector as AnswerDetector
from branchline.dsp.answer_detect import AnswerEvent as AnswerEvent

# -- Caller ID (FSK and DTMF) ----------------------------------------------------------------
from branchline.dsp.callerid import CallerIdError as CallerIdError
from branchline.dsp.callerid import CallerIdMessage as CallerIdMessage
from branchline.dsp.callerid import FskRx as FskRx
from branchline.dsp.callerid import decode_message as decode_message
from branchline.dsp.callerid import dtmf_callerid_samples as dtmf_callerid_samples
from branchline.dsp.callerid import encode_mdmf as encode_mdmf
from branchline.dsp.callerid import encode_sdmf as encode_sdmf
from branchline.dsp.callerid import fsk_modulate as fsk_modulate
from branchline.dsp.callerid import parse_dtmf_callerid as parse_dtmf_callerid

# -- DTMF receiver ---------------------------------------------------------------------------
from branchline.dsp.dtmf_rx import DtmfEvent as DtmfEvent
from branchline.dsp.dtmf_rx import DtmfRx as DtmfRx

# -- Line echo canceller ---------------------------------------------------------------------
from branchline.dsp.echo import EchoCanceller as EchoCanceller

# -- G.711, tone generation, call-progress detection, media, mixing --------------------------
from branchline.dsp.g711 import ALAW_IDLE as ALAW_IDLE
from branchline.dsp.g711 import ULAW_IDLE as ULAW_IDLE
from branchline.dsp.g711 import alaw_decode as alaw_decode
from branchline.dsp.g711 import alaw_encode as alaw_encode
from branchline.dsp.g711 import ulaw_decode as ulaw_decode
from branchline.dsp.g711 import ulaw_encode as ulaw_encode
from branchline.dsp.media import MediaError as MediaError
from branchline.dsp.media import PromptPosition as PromptPosition
from branchline.dsp.media import TxRenderer as TxRenderer
from branchline.dsp.media import active_level_dbm0 as active_level_dbm0
from branchline.dsp.media import transcode as transcode
from branchline.dsp.mix import Mixer as Mixer
from branchline.dsp.mix import MixPath as MixPath
from branchline.dsp.progress import HANGUP_TONES as HANGUP_TONES
from branchline.dsp.progress import CallProgressRx as CallProgressRx
from branchline.dsp.progress import ToneEvent as ToneEvent
from branchline.dsp.resample import Resampler as Resampler
from branchline.dsp.resample import design_lowpass as design_lowpass
from branchline.dsp.tones import CALL_PROGRESS_TONES as CALL_PROGRESS_TONES
from branchline.dsp.tones import DBM0_PEAK as DBM0_PEAK
from branchline.dsp.tones import DBM0_RMS as DBM0_RMS
from branchline.dsp.tones import ToneSpec as ToneSpec
from branchline.dsp.tones import ToneTx as ToneTx
from branchline.dsp.tones import dbm0_to_peak as dbm0_to_peak
from branchline.dsp.tones import dtmf_samples as dtmf_samples


def compiled_kernels():
    """Map each compiled kernel module of this package to the file it was loaded from."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        spec = info.module_finder.find_spec(f"{__name__}.{info.name}", None)
        if spec and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[info.name] = module.__file__
    return found
