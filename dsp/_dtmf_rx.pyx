# cython: language_level=3
"""DTMF receiver kernel: eight Goertzel filters per channel, batched across channels.

Contract (the Python front in dtmf_rx.py validates before calling): ``process(x, out)`` takes
int16 samples ``x[channels, n]`` (C-contiguous, any n >= 1) and writes the events found into
``out[k] = (channel, digit index 0..15 as row * 4 + column, start, end or -1)``; it returns k.
``out`` must have room for ``event_capacity(channels, n)`` rows. All channels share the block
boundaries, counted since the kernel was created, so the inner loops run across channels
and the result does not depend on how the audio is cut into calls. The algorithm is described in
docs/dsp.md ("DTMF receiver").
"""

from libc.math cimport cos, floor, pi, sin, sqrt
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cdef extern from "complex.h" nogil:
    double complex cexp(double complex)
    double complex conj(double complex)
    double cabs(double complex)
    double carg(double complex)

cdef enum:
    BLOCK = 80      # samples per analysis block (10 ms): 3 whole blocks fit in any 40 ms
    HALF = 40
    NF = 8          # filters: 4 rows then 4 columns
    TILE = 32       # channels per pass of the filter loop: its state stays in L1
    LANES = 8       # a partial tile is rounded up to this many channels (one AVX vector)
    ENDING_BLOCKS = 3  # blocks without the key that end it: a 10 ms gap spans at most 2

cdef double RATE = 8000.0

# ITU-T Q.23 frequencies.
cdef double FREQS[NF]
FREQS[:] = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0]

# Our choices (docs/dsp.md explains each).
cdef double MIN_LEVEL_DBM0 = -32.0
cdef double DBM0_PEAK = 22827.0  # 0 dBm0: a sine 3.14 dB below full scale (ITU-T G.711)
cdef double DOMINANCE = 10.0 ** (3.0 / 10.0)
cdef double BLOCK_SHARE = 0.6
cdef double ONSET_SHARE = 0.9
cdef double BLOCK_TWIST_MARGIN_DB = 3.0
cdef double ONSET_TWIST_MARGIN_DB = 0.5
cdef double STEADY = 10.0 ** (2.5 / 10.0)


cdef struct Channel:
    long long base          # global sample index where this channel's count starts
    int run_digit           # digit the last blocks looked like (-1: none), and how many
    int run_length
    long long run_first     # global index of the run's first block
    double run_first_level  # tone power in that block and in the one before it
    double run_before_level
    int held                # digit being held (-1: none)
    long long held_start
    double ref_level        # tone power of a full block at onset
    double last_level       # tone power of the last block that still had the key
    int misses
    long long end_estimate


cdef inline double complex _leak(double delta) noexcept nogil:
    """Sum of exp(j*delta*n), n < BLOCK: how a tone delta rad/sample off a bin shows in it."""
    if delta < 1e-12 and delta > -1e-12:
        return BLOCK
    return cexp(0.5j * delta * (BLOCK - 1)) * (sin(BLOCK * delta / 2) / sin(delta / 2))


cdef inline double _fill(double part, double full) noexcept nogil:
    if full <= 0:
        return 0.0
    cdef double f = sqrt(part / full)
    return 1.0 if f > 1.0 else f


cdef inline long long _round(double v) noexcept nogil:
    return <long long>floor(v + 0.5)


cdef class DtmfKernel:
    cdef int channels
    cdef int padded                 # channels rounded up to a whole number of tiles
    cdef int phase                  # samples into the current block
    cdef long long pos              # samples fed per channel since creation
    cdef float coef[NF]             # 2 cos(w) of each filter
    cdef float mid_a[NF][2]         # rotations that turn Goertzel state into a spectrum value
    cdef float mid_b[NF][2]
    cdef float end_a[NF][2]
    cdef float end_b[NF][2]
    cdef float *s1                  # Goertzel state [filter][channel]
    cdef float *s2
    cdef float *energy              # [channel]
    cdef float *mid_re              # spectrum of the block's first half [filter][channel]
    cdef float *mid_im
    cdef float *spec_re             # spectra of the last three blocks [slot][filter][channel]
    cdef float *spec_im
    cdef double *spec_energy        # their energies [slot][channel]
    cdef int slot                   # the slot the current block goes to (0..2, rotating)
    cdef Channel *chans
    cdef double min_power, normal_loose, reverse_loose, normal_strict, reverse_strict

    def __cinit__(self, int channels, double normal_twist_db, double reverse_twist_db):
        cdef int f
        cdef double w
        self.channels = channels
        self.padded = (channels + TILE - 1) // TILE * TILE
        self.s1 = <float *>calloc(NF * self.padded, sizeof(float))
        self.s2 = <float *>calloc(NF * self.padded, sizeof(float))
        self.energy = <float *>calloc(self.padded, sizeof(float))
        self.mid_re = <float *>calloc(NF * self.padded, sizeof(float))
        self.mid_im = <float *>calloc(NF * self.padded, sizeof(float))
        self.spec_re = <float *>calloc(3 * NF * self.padded, sizeof(float))
        self.spec_im = <float *>calloc(3 * NF * self.padded, sizeof(float))
        self.spec_energy = <double *>calloc(3 * self.padded, sizeof(double))
        self.chans = <Channel *>calloc(channels, sizeof(Channel))
        if not (self.s1 and self.s2 and self.energy and self.mid_re and self.mid_im
                and self.spec_re and self.spec_im and self.spec_energy and self.chans):
            raise MemoryError(f"DtmfKernel: cannot allocate state for {channels} channels")
        for f in range(NF):
            w = 2 * pi * FREQS[f] / RATE
            self.coef[f] = <float>(2 * cos(w))
            # After m samples, X = s[m-1] * exp(-jw(m-1)) - s[m-2] * exp(-jwm).
            self.mid_a[f][0], self.mid_a[f][1] = cos(w * (HALF - 1)), -sin(w * (HALF - 1))
            self.mid_b[f][0], self.mid_b[f][1] = cos(w * HALF), -sin(w * HALF)
            self.end_a[f][0], self.end_a[f][1] = cos(w * (BLOCK - 1)), -sin(w * (BLOCK - 1))
            self.end_b[f][0], self.end_b[f][1] = cos(w * BLOCK), -sin(w * BLOCK)
        for f in range(channels):
            self._clear(f)
        self.min_power = (DBM0_PEAK * 10 ** (MIN_LEVEL_DBM0 / 20) * BLOCK / 2) ** 2
        self.normal_loose = 10 ** ((normal_twist_db + BLOCK_TWIST_MARGIN_DB) / 10)
        self.reverse_loose = 10 ** ((reverse_twist_db + BLOCK_TWIST_MARGIN_DB) / 10)
        self.normal_strict = 10 ** ((normal_twist_db + ONSET_TWIST_MARGIN_DB) / 10)
        self.reverse_strict = 10 ** ((reverse_twist_db + ONSET_TWIST_MARGIN_DB) / 10)

    def __dealloc__(self):
        free(self.s1)
        free(self.s2)
        free(self.energy)
        free(self.mid_re)
        free(self.mid_im)
        free(self.spec_re)
        free(self.spec_im)
        free(self.spec_energy)
        free(self.chans)

    @staticmethod
    def event_capacity(int channels, Py_ssize_t n):
        """Rows `out` needs for a call with n samples: two events per channel per block."""
        return 2 * channels * (n // BLOCK + 1)

    def reset(self, int channel):
        """Forget a channel's past; its sample count restarts at 0 from the next sample."""
        cdef int f
        for f in range(NF):
            self.s1[f * self.padded + channel] = 0
            self.s2[f * self.padded + channel] = 0
            self.mid_re[f * self.padded + channel] = 0
            self.mid_im[f * self.padded + channel] = 0
        for f in range(3 * NF):
            self.spec_re[f * self.padded + channel] = 0
            self.spec_im[f * self.padded + channel] = 0
        for f in range(3):
            self.spec_energy[f * self.padded + channel] = 0
        self.energy[channel] = 0
        self._clear(channel)

    cdef void _clear(self, int channel) noexcept nogil:
        cdef Channel *ch = &self.chans[channel]
        memset(ch, 0, sizeof(Channel))
        ch.base = self.pos
        ch.run_digit = -1
        ch.held = -1

    def process(self, const short[:, ::1] x, long long[:, ::1] out):
        cdef Py_ssize_t n = x.shape[1]
        cdef Py_ssize_t i = 0, length, stop
        cdef int c0, count = 0
        with nogil:
            while i < n:
                stop = HALF if self.phase < HALF else BLOCK
                length = stop - self.phase
                if length > n - i:
                    length = n - i
                c0 = 0
                while c0 < self.channels:
                    self._filter_tile(&x[0, 0], n, i, length, c0)
                    c0 += TILE
                self.phase += length
                self.pos += length
                i += length
                if self.phase == BLOCK:
                    self.phase = 0
                    for c0 in range(self.channels):
                        count = self._decide(c0, self.pos - BLOCK, &out[0, 0], count)
                    self.slot = (self.slot + 1) % 3
        return count

    cdef void _filter_tile(self, const short *x, Py_ssize_t n, Py_ssize_t i, Py_ssize_t length,
                           int c0) noexcept nogil:
        """Run the filters of channels c0 .. c0 + TILE over `length` samples from column i.

        The tile's samples are first turned into floats laid out [sample][channel], so every
        inner loop runs across channels with unit stride and the compiler vectorises it. Four
        samples per step through all eight filters cut the loads and stores of samples and
        filter state; the arithmetic is the one-sample recursion's, in the same order, so
        results do not depend on where calls cut the audio. State arrays are padded
        to a whole number of tiles; a last, partial tile runs only as many channels as whole
        vectors (LANES) need, the padding ones seeing silence.
        """
        cdef float xt[HALF][TILE]
        cdef float a[NF][TILE]
        cdef float b[NF][TILE]
        cdef float e[TILE]
        cdef float k, v, w, x0, x1, x2, x3
        cdef int C = self.padded
        cdef int tn = self.channels - c0 if self.channels - c0 < TILE else TILE
        cdef int width = (tn + LANES - 1) // LANES * LANES
        cdef int f, g, c, idx
        cdef Py_ssize_t t
        cdef const short *row
        for t in range(length):
            row = x + c0 * n + i + t
            for c in range(tn):
                xt[t][c] = row[c * n]
            for c in range(tn, width):
                xt[t][c] = 0
        for f in range(NF):
            for c in range(width):
                a[f][c] = self.s1[f * C + c0 + c]
                b[f][c] = self.s2[f * C + c0 + c]
        for c in range(width):
            e[c] = self.energy[c0 + c]
        t = 0
        while t + 3 < length:
            for c in range(width):
                # Summed in sample order, as the one-sample loop does: same audio, same bits,
                # however it is cut into calls.
                e[c] = (((e[c] + xt[t][c] * xt[t][c]) + xt[t + 1][c] * xt[t + 1][c])
                        + xt[t + 2][c] * xt[t + 2][c]) + xt[t + 3][c] * xt[t + 3][c]
            for c in range(width):
                x0 = xt[t][c]
                x1 = xt[t + 1][c]
                x2 = xt[t + 2][c]
                x3 = xt[t + 3][c]
                for g in range(NF):
                    v = self.coef[g] * a[g][c] - b[g][c] + x0
                    w = self.coef[g] * v - a[g][c] + x1
                    v = self.coef[g] * w - v + x2
                    a[g][c] = self.coef[g] * v - w + x3
                    b[g][c] = v
            t += 4
        while t < length:
            for c in range(width):
                e[c] += xt[t][c] * xt[t][c]
            for f in range(NF):
                k = self.coef[f]
                for c in range(width):
                    v = k * a[f][c] - b[f][c] + xt[t][c]
                    b[f][c] = a[f][c]
                    a[f][c] = v
            t += 1
        if self.phase + length == HALF:
            for f in range(NF):
                for c in range(width):
                    idx = f * C + c0 + c
                    self.mid_re[idx] = a[f][c] * self.mid_a[f][0] - b[f][c] * self.mid_b[f][0]
                    self.mid_im[idx] = a[f][c] * self.mid_a[f][1] - b[f][c] * self.mid_b[f][1]
        if self.phase + length == BLOCK:
            for f in range(NF):
                for c in range(width):
                    idx = (self.slot * NF + f) * C + c0 + c
                    self.spec_re[idx] = a[f][c] * self.end_a[f][0] - b[f][c] * self.end_b[f][0]
                    self.spec_im[idx] = a[f][c] * self.end_a[f][1] - b[f][c] * self.end_b[f][1]
                    a[f][c] = 0
                    b[f][c] = 0
            for c in range(width):
                self.spec_energy[self.slot * C + c0 + c] = e[c]
                e[c] = 0
        for f in range(NF):
            for c in range(width):
                self.s1[f * C + c0 + c] = a[f][c]
                self.s2[f * C + c0 + c] = b[f][c]
        for c in range(width):
            self.energy[c0 + c] = e[c]

    cdef bint _tones_pass(self, double pr, double pc, double energy, bint strict) noexcept nogil:
        """Level, twist and share of the block energy for a (row, column) power pair."""
        if pr < self.min_power or pc < self.min_power:
            return False
        if strict:
            if pr > self.normal_strict * pc or pc > self.reverse_strict * pr:
                return False
            return 2 * (pr + pc) >= ONSET_SHARE * BLOCK * energy
        if pr > self.normal_loose * pc or pc > self.reverse_loose * pr:
            return False
        return 2 * (pr + pc) >= BLOCK_SHARE * BLOCK * energy

    cdef bint _onset_passes(self, int channel, int r, int col) noexcept nogil:
        """The strict test on the last three blocks, all classified as (r, col)."""
        cdef Channel *ch = &self.chans[channel]
        cdef int C = self.padded
        cdef int ks[2]
        cdef double offsets[2]
        cdef double complex cur, prev, prev2, half, turn, back
        cdef double rough, fine, df, step = RATE / BLOCK
        cdef double complex m[2][2]
        cdef double complex image[2][2]
        cdef double complex y[2]
        cdef double complex amp[2]
        cdef double complex spec[2]
        cdef double complex det
        cdef double powers[3][2]
        cdef double omega, centre, lo, hi, energy
        cdef int j, k, t, blk, it
        ks[0] = r
        ks[1] = col
        for j in range(2):
            k = ks[j]
            cur = self._spectrum(0, k, channel)
            half = self.mid_re[k * C + channel] + 1j * self.mid_im[k * C + channel]
            prev = self._spectrum(1, k, channel)
            prev2 = self._spectrum(2, k, channel)
            rough = carg((cur - half) * conj(half)) * RATE / (2 * pi * HALF)
            back = cexp(-2j * pi * FREQS[k] * BLOCK / RATE)
            turn = (cur * conj(prev) + prev * conj(prev2)) * back
            fine = carg(turn) * step / (2 * pi)
            df = fine + floor((rough - fine) / step + 0.5) * step
            # Midway between must-accept (1.5 % + 2 Hz) and must-reject (3.5 %): Q.24, MT8870.
            if df > 0.025 * FREQS[k] + 1.0 or df < -(0.025 * FREQS[k] + 1.0):
                return False
            offsets[j] = df
        # Both tones' amplitudes from both bins: a 2x2 solve through the block's leakage
        # kernel, then once more with the images (the tones' negative frequencies) removed.
        for j in range(2):
            centre = 2 * pi * FREQS[ks[j]] / RATE
            for t in range(2):
                omega = 2 * pi * (FREQS[ks[t]] + offsets[t]) / RATE
                m[j][t] = _leak(omega - centre)
                image[j][t] = _leak(-omega - centre)
        det = m[0][0] * m[1][1] - m[0][1] * m[1][0]
        for blk in range(3):
            for j in range(2):
                spec[j] = self._spectrum(blk, ks[j], channel)
            amp[0] = 0
            amp[1] = 0
            for it in range(2):
                for j in range(2):
                    y[j] = spec[j] - image[j][0] * conj(amp[0]) - image[j][1] * conj(amp[1])
                amp[0] = (y[0] * m[1][1] - y[1] * m[0][1]) / det
                amp[1] = (y[1] * m[0][0] - y[0] * m[1][0]) / det
            for j in range(2):
                powers[blk][j] = (cabs(amp[j]) * BLOCK) ** 2
        # Steady over the three blocks: a block the tone only partly covers is not.
        for j in range(2):
            lo = hi = powers[0][j]
            for blk in range(1, 3):
                lo = powers[blk][j] if powers[blk][j] < lo else lo
                hi = powers[blk][j] if powers[blk][j] > hi else hi
            if hi > STEADY * lo:
                return False
        energy = (self.spec_energy[channel] + self.spec_energy[C + channel]
                  + self.spec_energy[2 * C + channel]) / 3
        return self._tones_pass((powers[0][0] + powers[1][0] + powers[2][0]) / 3,
                                (powers[0][1] + powers[1][1] + powers[2][1]) / 3, energy, True)

    cdef int _decide(self, int channel, long long at, long long *out, int count) noexcept nogil:
        """One finished block of one channel: classify it, follow the key, emit events."""
        cdef Channel *ch = &self.chans[channel]
        cdef int C = self.padded
        cdef double p[NF]
        cdef double energy = self.spec_energy[self.slot * C + channel]
        cdef int f, r = 0, col = 4, digit = -1, hr, hc
        cdef int now = self.slot * NF * C + channel, before = (self.slot + 2) % 3 * NF * C + channel
        cdef double level, cover
        cdef bint starts
        for f in range(NF):
            p[f] = self.spec_re[now + f * C] ** 2 + self.spec_im[now + f * C] ** 2
        for f in range(1, 4):
            if p[f] > p[r]:
                r = f
        for f in range(5, 8):
            if p[f] > p[col]:
                col = f
        digit = r * 4 + col - 4
        for f in range(NF):
            if f != r and f != col and ((f < 4 and p[f] * DOMINANCE > p[r])
                                        or (f >= 4 and p[f] * DOMINANCE > p[col])):
                digit = -1
                break
        if digit >= 0 and not self._tones_pass(p[r], p[col], energy, False):
            digit = -1

        if digit >= 0 and digit == ch.run_digit:
            ch.run_length += 1
        else:
            ch.run_digit = digit
            ch.run_length = 1
            ch.run_first = at
            if digit >= 0:
                ch.run_first_level = p[r] + p[col]
                ch.run_before_level = (
                    self.spec_re[before + r * C] ** 2 + self.spec_im[before + r * C] ** 2
                    + self.spec_re[before + col * C] ** 2 + self.spec_im[before + col * C] ** 2)

        if ch.held >= 0:
            hr = ch.held // 4
            hc = 4 + ch.held % 4
            level = p[hr] + p[hc]
            if digit == ch.held:
                ch.last_level = level
                ch.misses = 0
            else:
                if ch.misses == 0:
                    cover = _fill(ch.last_level, ch.ref_level) + _fill(level, ch.ref_level)
                    ch.end_estimate = at - BLOCK + _round(cover * BLOCK)
                ch.misses += 1

        starts = (ch.run_length >= 3 and ch.held != digit
                  and self._onset_passes(channel, r, col))
        if ch.held >= 0 and (ch.misses >= ENDING_BLOCKS or starts):
            count = self._emit(out, count, channel, ch.held, ch.held_start,
                               ch.end_estimate - ch.base)
            ch.held = -1
        if starts:
            ch.ref_level = p[r] + p[col]
            cover = (_fill(ch.run_first_level, ch.ref_level)
                     + _fill(ch.run_before_level, ch.ref_level))
            ch.held = digit
            ch.held_start = ch.run_first + _round((1 - cover) * BLOCK) - ch.base
            if ch.held_start < 0:
                ch.held_start = 0
            ch.last_level = ch.ref_level
            ch.misses = 0
            count = self._emit(out, count, channel, digit, ch.held_start, -1)
        return count

    cdef inline double complex _spectrum(self, int back, int f, int channel) noexcept nogil:
        """Filter f's spectrum value for `channel` in the block `back` blocks ago (0..2)."""
        cdef Py_ssize_t idx = ((self.slot + 3 - back) % 3 * NF + f) * self.padded + channel
        return self.spec_re[idx] + 1j * self.spec_im[idx]

    cdef inline int _emit(self, long long *out, int count, int channel, int digit,
                          long long start, long long end) noexcept nogil:
        out[count * 4] = channel
        out[count * 4 + 1] = digit
        out[count * 4 + 2] = start
        out[count * 4 + 3] = end
        return count + 1
