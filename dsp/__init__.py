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

# -- DTMF receiver ---------------------------------------------------------------------------
# -- G.711, tone generation, call-progress detection, media -------------------------------------


def compiled_kernels():
    """Map each compiled kernel module of this package to the file it was loaded from."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        spec = info.module_finder.find_spec(f"{__name__}.{info.name}", None)
        if spec and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[info.name] = module.__file__
    return found
