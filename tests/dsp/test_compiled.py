"""The DSP kernels that run are compiled extension modules, never a Python fallback."""

import importlib
import importlib.machinery
from pathlib import Path

import branchline.dsp
from branchline.dsp import DtmfRx, compiled_kernels

DSP = Path(branchline.dsp.__file__).parent


def is_extension(module):
    return isinstance(module.__spec__.loader, importlib.machinery.ExtensionFileLoader) and (
        module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    )


def test_every_pyx_is_loaded_as_a_compiled_module():
    kernels = compiled_kernels()
    for pyx in sorted(DSP.glob("*.pyx")):
        module = importlib.import_module(f"branchline.dsp.{pyx.stem}")
        assert is_extension(module), f"{pyx.name} is not running compiled"
        assert kernels[pyx.stem] == module.__file__


def test_dtmf_receiver_runs_its_compiled_kernel():
    kernel = DtmfRx(2)._kernel
    module = importlib.import_module(type(kernel).__module__)
    assert module.__name__ == "branchline.dsp._dtmf_rx"
    assert is_extension(module)
    assert "_dtmf_rx" in compiled_kernels()
