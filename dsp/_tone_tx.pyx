"""Tone generator kernel: per channel, a program of segments played by a 32-bit phase accumulator.

A program is a list of segments (two oscillators' phase increments and peak amplitudes, and a
length in samples) and a loop index: after the last segment, play resumes at the loop index,
or the channel finishes if it is -1. Each oscillator's phase carries on across blocks and
segments (a silent segment has increment 0, so it holds the phase), so the output does not
depend on how the audio is cut into blocks.
"""

from libc.math cimport M_PI, lrint, sin
from libc.stdint cimport int16_t, int64_t, uint8_t, uint32_t
from libc.stdlib cimport free, malloc


cdef struct Segment:
    uint32_t inc1
    uint32_t inc2
    double amp1
    double amp2
    int64_t length


cdef struct Channel:
    Segment* segs
    int nseg
    int loop
    int cur
    int64_t pos
    uint32_t ph1
    uint32_t ph2
    bint active


# Sine by table: 4096 steps per cycle, linearly interpolated on the next 20 phase bits. The
# interpolation error is below 3e-7 of full scale, far under one LSB at any tone level.
cdef enum:
    TABLE_BITS = 12
    FRAC_BITS = 32 - TABLE_BITS
cdef double SINE[(1 << TABLE_BITS) + 1]
cdef double FRAC_SCALE = 1.0 / (1 << FRAC_BITS)


cdef void _build_sine() noexcept:
    cdef int k
    for k in range((1 << TABLE_BITS) + 1):
        SINE[k] = sin(2.0 * M_PI * k / (1 << TABLE_BITS))


_build_sine()


cdef inline double _sine(uint32_t phase) noexcept nogil:
    cdef uint32_t i = phase >> FRAC_BITS
    cdef double frac = (phase & ((1 << FRAC_BITS) - 1)) * FRAC_SCALE
    return SINE[i] + (SINE[i + 1] - SINE[i]) * frac


cdef class ToneKernel:
    cdef Channel* ch
    cdef int channels

    def __cinit__(self, int channels):
        self.channels = channels
        self.ch = <Channel*>malloc(channels * sizeof(Channel))
        if self.ch == NULL:
            raise MemoryError()
        cdef int c
        for c in range(channels):
            self.ch[c].segs = NULL
            self.ch[c].nseg = 0
            self.ch[c].active = False

    def __dealloc__(self):
        cdef int c
        if self.ch != NULL:
            for c in range(self.channels):
                free(self.ch[c].segs)
            free(self.ch)

    def load(self, int c, const double[:, ::1] program, int loop):
        """Start program (rows: inc1, inc2, amp1, amp2, length) on channel c at phase 0."""
        cdef int k, n = program.shape[0]
        cdef Segment* segs = <Segment*>malloc(n * sizeof(Segment))
        if segs == NULL:
            raise MemoryError()
        for k in range(n):
            segs[k].inc1 = <uint32_t>program[k, 0]
            segs[k].inc2 = <uint32_t>program[k, 1]
            segs[k].amp1 = program[k, 2]
            segs[k].amp2 = program[k, 3]
            segs[k].length = <int64_t>program[k, 4]
        free(self.ch[c].segs)
        self.ch[c].segs = segs
        self.ch[c].nseg = n
        self.ch[c].loop = loop
        self.ch[c].cur = 0
        self.ch[c].pos = 0
        self.ch[c].ph1 = 0
        self.ch[c].ph2 = 0
        self.ch[c].active = True

    def stop(self, int c):
        free(self.ch[c].segs)
        self.ch[c].segs = NULL
        self.ch[c].nseg = 0
        self.ch[c].active = False

    def active(self, int c):
        return bool(self.ch[c].active)

    def render(self, int16_t[:, ::1] out, uint8_t[::1] finished):
        """Write every active channel's next block into out; flag channels that finished."""
        cdef int c
        cdef Py_ssize_t n = out.shape[1]
        with nogil:
            for c in range(self.channels):
                finished[c] = 0
                if self.ch[c].active:
                    if not _render_channel(&self.ch[c], &out[c, 0], n):
                        finished[c] = 1


cdef bint _render_channel(Channel* ch, int16_t* out, Py_ssize_t n) noexcept nogil:
    """Render n samples; return False if the program ended (the rest of the block is 0)."""
    cdef Py_ssize_t i = 0, run, k
    cdef Segment* s
    cdef double v
    cdef long q
    while i < n:
        s = &ch.segs[ch.cur]
        if ch.pos >= s.length:
            ch.cur += 1
            ch.pos = 0
            if ch.cur >= ch.nseg:
                if ch.loop < 0:
                    ch.active = False
                    while i < n:
                        out[i] = 0
                        i += 1
                    return False
                ch.cur = ch.loop
            continue
        run = n - i
        if s.length - ch.pos < run:
            run = s.length - ch.pos
        if s.amp1 == 0.0 and s.amp2 == 0.0:
            for k in range(run):
                out[i + k] = 0
        else:
            for k in range(run):
                v = s.amp1 * _sine(ch.ph1) + s.amp2 * _sine(ch.ph2)
                q = lrint(v)
                if q > 32767:
                    q = 32767
                elif q < -32768:
                    q = -32768
                out[i + k] = <int16_t>q
                ch.ph1 += s.inc1
                ch.ph2 += s.inc2
        ch.pos += run
        i += run
    # A program that ends exactly at the block's end is reported in this block, not the next.
    if ch.loop < 0 and ch.cur == ch.nseg - 1 and ch.pos >= ch.segs[ch.cur].length:
        ch.active = False
        return False
    return True
