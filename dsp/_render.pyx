"""Transmit-block renderer kernel: every channel's next n samples in one call, without the GIL.

Per channel one mode: SILENCE (zeros) or PROMPT (a sequence of int16 buffers played in order,
starting at an offset, times a Q12 gain). Gains saturate to int16. Audio between channels is the mix
kernel's (dsp/_mix.pyx), added on top of this block. The caller keeps the prompt arrays alive (this object holds a
reference to each) and must not resize them.
"""

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport free, malloc

cdef enum:
    SILENCE = 0
    PROMPT = 1

cdef struct Channel:
    int mode
    int32_t gain_q12
    const int16_t** bufs
    int64_t* lens
    int count
    int index
    int64_t pos


cdef inline int16_t _scale(int32_t x, int32_t gain_q12) noexcept nogil:
    cdef int64_t v
    if gain_q12 == 4096:
        return <int16_t>x
    v = (<int64_t>x * gain_q12 + 2048) >> 12
    if v > 32767:
        return 32767
    if v < -32768:
        return -32768
    return <int16_t>v


cdef class RenderKernel:
    cdef Channel* ch
    cdef int channels
    cdef list held  # per channel: the prompt arrays whose buffers ch[c].bufs points into

    def __cinit__(self, int channels):
        self.channels = channels
        self.ch = <Channel*>malloc(channels * sizeof(Channel))
        if self.ch == NULL:
            raise MemoryError()
        self.held = [None] * channels
        cdef int c
        for c in range(channels):
            self.ch[c].mode = SILENCE
            self.ch[c].bufs = NULL
            self.ch[c].lens = NULL
            self.ch[c].count = 0

    def __dealloc__(self):
        cdef int c
        if self.ch != NULL:
            for c in range(self.channels):
                free(self.ch[c].bufs)
                free(self.ch[c].lens)
            free(self.ch)

    cdef void _release(self, int c):
        free(self.ch[c].bufs)
        free(self.ch[c].lens)
        self.ch[c].bufs = NULL
        self.ch[c].lens = NULL
        self.ch[c].count = 0
        self.ch[c].mode = SILENCE
        self.held[c] = None

    def silence(self, int c):
        self._release(c)

    def play(self, int c, list prompts, int64_t offset, int32_t gain_q12):
        """Play the C-contiguous int16 arrays in `prompts` in order, from offset in the first."""
        cdef int k, n = len(prompts)
        cdef const int16_t[::1] view
        self._release(c)
        self.ch[c].bufs = <const int16_t**>malloc(max(n, 1) * sizeof(int16_t*))
        self.ch[c].lens = <int64_t*>malloc(max(n, 1) * sizeof(int64_t))
        if self.ch[c].bufs == NULL or self.ch[c].lens == NULL:
            self._release(c)
            raise MemoryError()
        for k in range(n):
            view = prompts[k]
            self.ch[c].lens[k] = view.shape[0]
            self.ch[c].bufs[k] = &view[0] if view.shape[0] else NULL
        self.held[c] = prompts
        self.ch[c].count = n
        self.ch[c].index = 0
        self.ch[c].pos = offset
        self.ch[c].gain_q12 = gain_q12
        self.ch[c].mode = PROMPT

    def mode(self, int c):
        return self.ch[c].mode

    def position(self, int c):
        return self.ch[c].index, self.ch[c].pos

    def render(self, int16_t[:, ::1] out, uint8_t[::1] finished):
        cdef int c
        cdef Py_ssize_t n = out.shape[1], i
        cdef Channel* ch
        with nogil:
            for c in range(self.channels):
                ch = &self.ch[c]
                finished[c] = 0
                if ch.mode == PROMPT:
                    if not _play(ch, &out[c, 0], n):
                        finished[c] = 1
                else:
                    for i in range(n):
                        out[c, i] = 0
        for c in range(self.channels):
            if finished[c]:
                self._release(c)


cdef bint _play(Channel* ch, int16_t* out, Py_ssize_t n) noexcept nogil:
    """Write n samples of the prompt sequence; False once it has ended (rest of block is 0)."""
    cdef Py_ssize_t i = 0, run, k
    cdef const int16_t* buf
    while i < n and ch.index < ch.count:
        run = ch.lens[ch.index] - ch.pos
        if run <= 0:
            ch.index += 1
            ch.pos = 0
            continue
        if run > n - i:
            run = n - i
        buf = ch.bufs[ch.index] + ch.pos
        for k in range(run):
            out[i + k] = _scale(buf[k], ch.gain_q12)
        ch.pos += run
        i += run
    while ch.index < ch.count and ch.pos >= ch.lens[ch.index]:
        ch.index += 1
        ch.pos = 0
    if ch.index < ch.count:
        return True
    for k in range(i, n):
        out[k] = 0
    return False
