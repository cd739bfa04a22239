"""Mix kernel: every output channel's sum of chosen input channels, one call for the board.

The matrix is sparse and given by output row, compressed: ``rows[k]`` is an output channel,
its entries are ``starts[k]`` to ``starts[k + 1] - 1`` of ``sources`` (input channels) and
``gains`` (Q12: 4096 is unity). For each listed row the kernel sums gain x input in 64 bits,
rounds once (add half, arithmetic shift) and saturates to int16 into ``mixed``; then adds that
row into ``out`` with saturation. A row whose gains sum to at most 65535 in magnitude cannot
leave 32 bits (32768 x 65535 < 2^31), so it is summed in 32 bits, which the compiler vectorises
twice as wide; the result is the same. Rows not listed are zero in ``mixed`` and untouched in
``out``. The front (dsp/mix.py) checks shapes and indices; nothing here does.
"""

from libc.stdint cimport int16_t, int32_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset


cdef inline int16_t _sat(int64_t v) noexcept nogil:
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return <int16_t>v


def mix(const int16_t[:, ::1] rx, int16_t[:, ::1] out, int16_t[:, ::1] mixed,
        const int32_t[::1] rows, const int32_t[::1] starts, const int32_t[::1] sources,
        const int32_t[::1] gains):
    cdef Py_ssize_t n = rx.shape[1], i, k, e, nrows = rows.shape[0]
    cdef int r
    cdef int64_t g
    cdef int64_t v
    cdef const int16_t* src
    cdef int16_t* dst
    cdef int16_t* row
    cdef int64_t* acc = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
    cdef int32_t* acc32 = <int32_t*>malloc(max(n, 1) * sizeof(int32_t))
    cdef int64_t total
    cdef int32_t g32
    if acc == NULL or acc32 == NULL:
        free(acc)
        free(acc32)
        raise MemoryError()
    with nogil:
        memset(&mixed[0, 0], 0, mixed.shape[0] * n * sizeof(int16_t))
        for k in range(nrows):
            r = rows[k]
            row = &mixed[r, 0]
            dst = &out[r, 0]
            total = 0
            for e in range(starts[k], starts[k + 1]):
                total += gains[e] if gains[e] >= 0 else -gains[e]
            if total <= 65535:
                for i in range(n):
                    acc32[i] = 0
                for e in range(starts[k], starts[k + 1]):
                    src = &rx[sources[e], 0]
                    g32 = gains[e]
                    for i in range(n):
                        acc32[i] += src[i] * g32
                for i in range(n):
                    row[i] = _sat((acc32[i] + 2048) >> 12)
            else:
                for i in range(n):
                    acc[i] = 0
                for e in range(starts[k], starts[k + 1]):
                    src = &rx[sources[e], 0]
                    g = gains[e]
                    for i in range(n):
                        acc[i] += src[i] * g
                for i in range(n):
                    row[i] = _sat((acc[i] + 2048) >> 12)
            for i in range(n):
                v = <int64_t>dst[i] + row[i]
                dst[i] = _sat(v)
    free(acc)
    free(acc32)
