"""Polyphase FIR resampler kernel: int16 blocks of every channel in, int16 blocks out, no GIL.

The front (dsp/resample.py) designs the prototype low-pass and hands over its polyphase table
``coefs[L, K]``: row p holds the taps h[p + k*L] (k = 0..K-1) scaled by L and stored in reverse,
so output sample n, at position t = n*M on the up-sampled grid (base = t // L, phase p = t % L),
is one contiguous dot product of row p with inputs x[base-K+1 .. base].

Each row is padded with zero taps to a multiple of LANES and summed in LANES independent
single-precision partial sums (float32 keeps rounding some 130 dB under full scale, far below
int16), which the compiler maps onto vector registers without reassociating anything.

State per board: the last K-1 input samples of every channel (in a work buffer that grows to
the largest block seen, once) and the position ``pos`` of the next output relative to the first
sample of the next block, on the up-sampled grid. All channels share ``pos``: they are fed the
same blocks.
"""

from libc.math cimport lrint
from libc.stdint cimport int16_t, int64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memmove

# Partial sums per dot product: 8 floats fill one AVX register.
cdef enum:
    LANES = 8


cdef class ResampleKernel:
    cdef float* coefs
    cdef float* work
    cdef int channels
    cdef int up
    cdef int down
    cdef int taps
    cdef Py_ssize_t cap
    cdef int64_t pos

    def __cinit__(self, int channels, int up, int down, const double[:, ::1] coefs):
        self.channels = channels
        self.up = up
        self.down = down
        # Rows padded to whole vectors with zero taps on the oldest side: no scalar tail loop.
        cdef int given = coefs.shape[1]
        cdef int pad = (LANES - given % LANES) % LANES
        self.taps = given + pad
        self.coefs = <float*>malloc(up * self.taps * sizeof(float))
        self.work = NULL
        self.cap = 0
        self.pos = 0
        if self.coefs == NULL:
            raise MemoryError()
        cdef int p, j
        for p in range(up):
            for j in range(self.taps):
                self.coefs[p * self.taps + j] = coefs[p, j - pad] if j >= pad else 0.0
        self._grow(160)

    def __dealloc__(self):
        free(self.coefs)
        free(self.work)

    cdef _grow(self, Py_ssize_t block):
        """Make room for K-1 history samples plus a block of `block`, keeping the history."""
        cdef Py_ssize_t hist = self.taps - 1
        cdef Py_ssize_t c, cap = hist + block
        if cap <= self.cap:
            return
        cdef float* work = <float*>malloc(self.channels * cap * sizeof(float))
        if work == NULL:
            raise MemoryError()
        for c in range(self.channels * cap):
            work[c] = 0.0
        if self.work != NULL:
            for c in range(self.channels):
                memmove(&work[c * cap], &self.work[c * self.cap], hist * sizeof(float))
            free(self.work)
        self.work = work
        self.cap = cap

    def output_length(self, Py_ssize_t n):
        """How many output samples the next block of n input samples completes."""
        cdef int64_t end = <int64_t>n * self.up
        if self.pos >= end:
            return 0
        return <Py_ssize_t>((end - self.pos + self.down - 1) // self.down)

    def reset(self, int c):
        """Forget channel c's history (the shared position stays)."""
        cdef Py_ssize_t j
        for j in range(self.taps - 1):
            self.work[c * self.cap + j] = 0.0

    def process(self, const int16_t[:, ::1] block, int16_t[:, ::1] out):
        """Consume block [channels, n]; write output_length(n) samples per channel into out."""
        cdef Py_ssize_t n = block.shape[1]
        cdef Py_ssize_t m = out.shape[1]
        if block.shape[0] != self.channels or out.shape[0] != self.channels:
            raise ValueError("ResampleKernel.process: block and out need one row per channel")
        if m != self.output_length(n):
            raise ValueError(f"ResampleKernel.process: out has {m} columns; "
                             f"{self.output_length(n)} needed")
        self._grow(n)
        cdef Py_ssize_t hist = self.taps - 1
        cdef Py_ssize_t cap = self.cap
        cdef int taps = self.taps, up = self.up, down = self.down
        cdef int c, k
        cdef Py_ssize_t i, j, base
        cdef int64_t phase
        cdef int64_t step_base = down // up, step_phase = down % up
        cdef float* w
        cdef const float* row
        cdef float acc[LANES]
        cdef double y
        with nogil:
            for c in range(self.channels):
                w = &self.work[c * cap]
                for i in range(n):
                    w[hist + i] = block[c, i]
                base = <Py_ssize_t>(self.pos // up)
                phase = self.pos % up
                for i in range(m):
                    # x[base] sits at w[base + hist]; the row starts K-1 samples earlier, so
                    # the dot product runs over w[base .. base + K-1]. LANES independent sums
                    # (no reassociation needed) let the compiler use vector registers.
                    row = &self.coefs[phase * taps]
                    w = &self.work[c * cap + base]
                    for k in range(LANES):
                        acc[k] = 0.0
                    j = 0
                    while j < taps:
                        for k in range(LANES):
                            acc[k] += row[j + k] * w[j + k]
                        j += LANES
                    y = 0.0
                    for k in range(LANES):
                        y += acc[k]
                    if y > 32767.0:
                        y = 32767.0
                    elif y < -32768.0:
                        y = -32768.0
                    out[c, i] = <int16_t>lrint(y)
                    base += step_base
                    phase += step_phase
                    if phase >= up:
                        phase -= up
                        base += 1
                w = &self.work[c * cap]
                memmove(w, &w[n], hist * sizeof(float))
            self.pos += <int64_t>m * down - <int64_t>n * up
