# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""WSOLA time-scale kernel: one prompt's int16 samples stretched in time, pitch kept, no GIL.

Waveform-similarity overlap-add (W. Verhelst and M. Roelands, "An overlap-add technique based
on waveform similarity (WSOLA) for high quality time-scale modification of speech", ICASSP
1993). Output frame k (``frame`` samples, Hann-windowed) is added at k * ``hop``; its input
is taken near k * hop / ``stretch``, moved by at most ``tolerance`` samples to where it best
continues the frame added before it: the offset whose segment has the largest (plain, not
normalised) cross-correlation with the input that followed the previous frame (its "natural
continuation"). Frames at 50 % overlap of a periodic Hann window sum to one, so a steady
signal keeps its level; the pitch is that of the copied segments.

``x`` must hold ``frame + tolerance + 2 * hop`` zero samples after the audio (the front pads
it) so that no read leaves the array; the front also chooses ``frames`` and sizes ``out``. Sums are in
double; ties go to the smallest offset, as in the NumPy reference of the tests.
"""

from libc.math cimport cos, lrint, M_PI
from libc.stdint cimport int16_t
from libc.stdlib cimport free, malloc


def wsola(const int16_t[::1] x, int16_t[::1] out, double stretch, int frame, int hop,
          int tolerance, Py_ssize_t frames):
    """Stretch ``x`` into ``out`` (see the module docstring); returns nothing."""
    cdef double* window = <double*>malloc(frame * sizeof(double))
    cdef double* acc = <double*>malloc(out.shape[0] * sizeof(double))
    if window == NULL or acc == NULL:
        free(window)
        free(acc)
        raise MemoryError("wsola: no memory for the window or the output sum")
    cdef Py_ssize_t n_in = x.shape[0], n_out = out.shape[0], k, i, start, natural, best_at
    cdef Py_ssize_t prev = 0, lo, hi, nominal, delta
    cdef double best, score, value
    with nogil:
        for i in range(frame):
            window[i] = 0.5 - 0.5 * cos(2.0 * M_PI * i / frame)
        for i in range(n_out):
            acc[i] = 0.0
        for k in range(frames):
            nominal = <Py_ssize_t>(k * hop / stretch + 0.5)
            if k == 0:
                start = 0
            else:
                natural = prev + hop
                lo = nominal - tolerance
                if lo < 0:
                    lo = 0
                hi = nominal + tolerance
                # The next frame's natural continuation must stay inside x too.
                if hi > n_in - frame - hop:
                    hi = n_in - frame - hop
                if lo > hi:
                    lo = hi
                best_at = lo
                best = -1e300
                for delta in range(lo, hi + 1):
                    score = 0.0
                    for i in range(frame):
                        score += <double>x[delta + i] * <double>x[natural + i]
                    if score > best:
                        best = score
                        best_at = delta
                start = best_at
            for i in range(frame):
                if k * hop + i < n_out:
                    acc[k * hop + i] += window[i] * x[start + i]
            prev = start
        for i in range(n_out):
            value = acc[i]
            if value > 32767.0:
                value = 32767.0
            elif value < -32768.0:
                value = -32768.0
            out[i] = <int16_t>lrint(value)
    free(window)
    free(acc)
