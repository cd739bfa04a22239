# cython: language_level=3
"""Bell 202 FSK demodulator and asynchronous (8N1) byte framer, for every channel of a board.

Contract (the Python front in callerid.py validates before calling): ``process(x, out)``
takes int16 samples ``x[channels, n]`` (C-contiguous, any n >= 1) and writes one row per
framing event into ``out[k] = (channel, value, gap_bits, sample)``; it returns k. ``value`` is
a received byte 0..255, ``FRAMING`` (-1: the stop bit was a space) or ``CARRIER_LOST`` (-2).
``gap_bits`` is the number of mark bit-times between the end of the previous byte (or the
moment the carrier appeared) and this byte's start bit; ``sample`` counts the channel's
samples since creation or ``reset``. ``out`` needs ``event_capacity(channels, n)`` rows.
The result does not depend on how the audio is cut into blocks.

How (docs/line-dsp.md): two complex correlators over the last WINDOW samples (one bit, 7 of
6.67 samples) at 1200 Hz (mark) and 2200 Hz (space), kept as exact integer running sums;
the bit is mark when the 1200 Hz correlator is the stronger. The carrier is present when the
two tones hold most of the smoothed window power and that power is above the floor. A byte
starts at a mark-to-space crossing, placed between samples by linear interpolation, and each
of its ten bits is read where its centre falls.
"""

from libc.stdlib cimport calloc, free
from libc.math cimport cos, sin, pi, floor

cdef enum:
    WINDOW = 7      # correlation length: one bit (8000 / 1200 = 6.67 samples), rounded up
    PERIOD = 40     # 1200 Hz and 2200 Hz both repeat every 40 samples at 8 kHz
    SCALE = 16384   # correlator table scale (Q14): products fit int32, sums run in int64
    HOLD = 16       # samples a carrier condition must persist before the state flips (2 ms)
    FRAMING = -1
    CARRIER_LOST = -2

cdef double SPB = 8000.0 / 1200.0  # samples per bit (Bell 202: 1200 bit/s)
cdef double SMOOTH = 1.0 / 64.0    # one-pole smoothing of the carrier powers (8 ms)
cdef double RATIO_ON = 0.75        # tone share of the window power that brings the carrier up
cdef double RATIO_OFF = 0.6        # ... and below which it drops (noise alone gives 4/7)


cdef struct Channel:
    long long pos                  # samples since creation/reset
    int ring_at                    # next ring slot
    long long sums[5]              # running sums: mark re, mark im, space re, space im, x^2
    int carrier
    int pending                    # samples the opposite carrier condition has held
    double tone_power              # smoothed tone power and total power (16-bit units^2)
    double total_power
    double prev_d                  # last decision value (mark power - space power)
    int in_byte
    int bit                        # next bit to read: 0 start, 1..8 data, 9 stop
    int value
    double next_at                 # sample time of that bit's centre
    double idle_from               # sample time the line went idle (mark) last
    int gap


cdef class FskKernel:
    cdef int channels
    cdef Channel *chans
    cdef long long *ring           # [channel][WINDOW][5] products in the window
    cdef int table[4][PERIOD]      # cos/sin of both tones, Q14
    cdef double min_power

    def __cinit__(self, int channels, double min_level_dbm0):
        cdef int k
        cdef double wm = 2 * pi * 1200.0 / 8000.0
        cdef double ws = 2 * pi * 2200.0 / 8000.0
        self.channels = channels
        self.chans = <Channel *>calloc(channels, sizeof(Channel))
        self.ring = <long long *>calloc(channels * WINDOW * 5, sizeof(long long))
        if not (self.chans and self.ring):
            raise MemoryError(f"FskKernel: cannot allocate state for {channels} channels")
        for k in range(PERIOD):
            self.table[0][k] = <int>floor(SCALE * cos(wm * k) + 0.5)
            self.table[1][k] = <int>floor(-SCALE * sin(wm * k) + 0.5)
            self.table[2][k] = <int>floor(SCALE * cos(ws * k) + 0.5)
            self.table[3][k] = <int>floor(-SCALE * sin(ws * k) + 0.5)
        # Power of a sine at the floor: (peak ** 2) / 2, 0 dBm0 peak 22,827 (ITU-T G.711).
        self.min_power = (22827.0 * 10 ** (min_level_dbm0 / 20)) ** 2 / 2
        for k in range(channels):
            self.reset(k)

    def __dealloc__(self):
        free(self.chans)
        free(self.ring)

    @staticmethod
    def event_capacity(int channels, Py_ssize_t n):
        """Rows `out` needs for n samples: a byte takes >= 9.5 bits (63 samples), a carrier
        change >= HOLD samples; both bounded generously by n // 6 + 4 per channel."""
        return channels * (n // 6 + 4)

    def reset(self, int channel):
        cdef Channel *ch = &self.chans[channel]
        cdef int k
        ch.pos = 0
        ch.ring_at = 0
        for k in range(5):
            ch.sums[k] = 0
        for k in range(WINDOW * 5):
            self.ring[channel * WINDOW * 5 + k] = 0
        ch.carrier = 0
        ch.pending = 0
        ch.tone_power = 0
        ch.total_power = 0
        ch.prev_d = 0
        ch.in_byte = 0
        ch.bit = 0
        ch.value = 0
        ch.next_at = 0
        ch.idle_from = 0
        ch.gap = 0

    def process(self, const short[:, ::1] x, long long[:, ::1] out):
        cdef Py_ssize_t n = x.shape[1]
        cdef int count = 0
        cdef int c
        with nogil:
            for c in range(self.channels):
                count = self._run(c, &x[c, 0], n, out, count)
        return count

    cdef inline void _emit(self, long long[:, ::1] out, int *count, int c, int value, int gap,
                           long long pos) noexcept nogil:
        out[count[0], 0] = c
        out[count[0], 1] = value
        out[count[0], 2] = gap
        out[count[0], 3] = pos
        count[0] += 1

    cdef int _run(self, int c, const short *x, Py_ssize_t n, long long[:, ::1] out,
                  int count) noexcept nogil:
        cdef Channel *ch = &self.chans[c]
        cdef long long *ring = self.ring + c * WINDOW * 5
        cdef long long *slot
        cdef long long v, p
        cdef Py_ssize_t i
        cdef int k, phase, want
        cdef double mr, mi, sr, si, em, es, d, tone, total, edge, scale2, bits
        scale2 = 2.0 / (<double>WINDOW * WINDOW * SCALE * SCALE)
        for i in range(n):
            v = x[i]
            phase = <int>(ch.pos % PERIOD)
            slot = ring + ch.ring_at * 5
            for k in range(4):
                p = v * self.table[k][phase]
                ch.sums[k] += p - slot[k]
                slot[k] = p
            p = v * v
            ch.sums[4] += p - slot[4]
            slot[4] = p
            ch.ring_at = (ch.ring_at + 1) % WINDOW
            mr = <double>ch.sums[0]
            mi = <double>ch.sums[1]
            sr = <double>ch.sums[2]
            si = <double>ch.sums[3]
            em = mr * mr + mi * mi
            es = sr * sr + si * si
            d = em - es
            # A sine of amplitude A at a tone's frequency gives em = (A * WINDOW * SCALE / 2)^2:
            # scale2 turns em + es into the tone power A^2 / 2, comparable to sums[4] / WINDOW.
            tone = (em + es) * scale2
            total = <double>ch.sums[4] / WINDOW
            ch.tone_power += SMOOTH * (tone - ch.tone_power)
            ch.total_power += SMOOTH * (total - ch.total_power)
            if ch.carrier:
                want = (ch.tone_power >= RATIO_OFF * ch.total_power
                        and ch.total_power >= 0.5 * self.min_power)
            else:
                want = (ch.tone_power >= RATIO_ON * ch.total_power
                        and ch.total_power >= self.min_power)
            if want != ch.carrier:
                ch.pending += 1
                if ch.pending >= HOLD:
                    ch.pending = 0
                    ch.carrier = want
                    if want:
                        ch.idle_from = <double>ch.pos
                        ch.in_byte = 0
                    else:
                        ch.in_byte = 0
                        self._emit(out, &count, c, CARRIER_LOST, 0, ch.pos + 1)
            else:
                ch.pending = 0
            if ch.carrier:
                if not ch.in_byte:
                    if ch.prev_d >= 0 and d < 0:
                        edge = <double>(ch.pos - 1) + ch.prev_d / (ch.prev_d - d)
                        ch.in_byte = 1
                        ch.bit = 0
                        ch.value = 0
                        ch.next_at = edge + 0.5 * SPB
                        bits = (edge - ch.idle_from) / SPB + 0.5
                        # Clamped: only "at least MIN_LEAD_MARKS" matters, and hours of
                        # steady mark must not overflow an int.
                        ch.gap = 0 if bits < 0 else (<int>bits if bits < 1e6 else 1000000)
                elif <double>ch.pos >= ch.next_at - 0.5:
                    if ch.bit == 0:
                        if d >= 0:
                            ch.in_byte = 0  # a glitch, not a start bit
                    elif ch.bit <= 8:
                        if d >= 0:
                            ch.value |= 1 << (ch.bit - 1)
                    else:
                        ch.in_byte = 0
                        if d >= 0:
                            self._emit(out, &count, c, ch.value, ch.gap, ch.pos + 1)
                            ch.idle_from = ch.next_at + 0.5 * SPB
                        else:
                            self._emit(out, &count, c, FRAMING, ch.gap, ch.pos + 1)
                            ch.idle_from = <double>ch.pos
                    ch.bit += 1
                    ch.next_at += SPB
            ch.prev_d = d
            ch.pos += 1
        return count
