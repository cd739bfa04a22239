# cython: language_level=3
"""Line echo canceller kernel: two-path NLMS per channel, Geigel double talk, tone freeze.

Contract (the Python front in echo.py validates before calling): ``process(rx, tx, active,
out)`` takes int16 ``rx[channels, n]`` (what the line returned), ``tx[channels, n]`` (what
was sent while rx was being received: the echo reference), uint8 ``active[channels]`` and
writes ``out[channels, n]``: rx minus the echo estimate on active channels, rx unchanged on
the others (whose state does not move). Decisions run on frames of FRAME samples counted per
channel since creation or ``reset``, so the result does not depend on how audio is cut.

Two paths (docs/line-dsp.md): a background filter hb adapts by NLMS, hb += mu e_b x / (x.x +
delta), with e_b = rx - hb.x (x: the last `taps` tx samples); the output is e_f = rx - hf.x,
made by a foreground filter hf that never adapts itself. Per frame, hb is copied to hf when it
has cancelled clearly better for TRANSFER_FRAMES frames running, and hf back to hb when hb has
clearly diverged (a near-end talker or key got past the detectors): double talk can spoil the
background for a moment but never the output. Background adaptation is held
- by the Geigel detector: |rx| >= GEIGEL * max|x| over the tail, held HANGOVER samples;
- by the tone freeze, decided per frame for the next FREEZE_FRAMES: a 4th-order least-squares
  predictor removes 40 dB of a frame of tx (a pure tone we send: G.168 requires the freeze),
  or a DTMF row and column hold 60 % of a frame of e_f (a key the caller sends);
- while tx is too quiet to learn from.

How it is fast. The audio is taken in chunks that end at frame boundaries. Within a chunk hf
does not change, so the output is one block FIR over the chunk, four samples per pass over hf
(each coefficient loaded once for four products); only the background filter runs sample by
sample, its NLMS update fused into the next sample's filter pass. The three filter loops are C
with vector extensions (below), each output summed in 16 float32 partial sums in a fixed order,
so a given output sample gets the same bits whichever path computed it and the result stays
independent of how audio is cut. A filter pass is skipped when its result is known: no update
when none is pending, and no filter at all while the whole tail of tx is digital silence (x = 0
gives 0 exactly). The frame's predictor sums and DTMF Goertzels run once per frame over stored
samples, off the per-sample path.
"""

from libc.math cimport cos, fabs, pi, sqrt
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memmove, memset

cdef enum:
    FRAME = 80            # decision frame (10 ms)
    SEG = 16              # tx samples per Geigel maximum segment
    HANGOVER = 240        # double talk held 30 ms after the last trigger
    FREEZE_FRAMES = 4     # a tone freeze lasts this many frames (40 ms) after the last tone
    TRANSFER_FRAMES = 2   # frames hb must win in a row before it becomes the output filter
    RESTORE_FRAMES = 2    # frames hb must lose badly in a row before it is reset to hf
    SLACK = 2048          # history buffer room before it is shifted down
    NSTAT = 15            # predictor sums: c0, c1..c4, then phi[i][j] for 1 <= i <= j <= 4
    LANES = 16            # partial sums per filter output (ec_dot): taps % 8 == 0, >= 16

cdef float GEIGEL = 0.5                  # 6 dB: G.168 assumes the hybrid returns >= 6 dB less
cdef double TX_TONE_GAIN = 1e4            # 40 dB prediction gain on tx frames
cdef double DTMF_SHARE = 0.6              # share of e_f's frame energy in one row + one column
cdef double BETTER = 0.5                  # hb wins a frame: its error 3 dB below hf's ...
cdef double CANCELS = 0.5                 # ... and 3 dB below rx (it really cancels echo)
cdef double WORSE = 8.0                   # hb loses badly: 9 dB above hf's error ...
cdef double GOOD = 0.25                   # ... while hf cancels 6 dB or more
cdef double MIN_TX_POWER = 130.0          # per-sample tx power (about -63 dBm0) to adapt at all
cdef double MIN_E_TONE_POWER = 2.6e4      # per-sample output power (-40 dBm0) to test for DTMF
cdef double DTMF_HZ[8]
DTMF_HZ[:] = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0]  # ITU-T Q.23


cdef struct Channel:
    long long pos
    int fill                 # history samples valid in buf at [0, fill)
    int live                 # samples until the tail of tx is all zero (0: it is)
    double power             # sum of x^2 over the last `taps` tx samples
    int dt_hold              # double-talk samples left
    int freeze               # frames of tone freeze left
    float seg_max            # max |x| of the current segment
    float tail_max           # max |x| over the completed segments in the tail
    int seg_at               # next segment slot
    double ey, eb, ef        # this frame's energies of rx, e_b and e_f
    int tx_active            # tx was loud enough to learn from somewhere in this frame
    int wins, losses         # consecutive frames hb won / lost badly
    float pending            # NLMS step of the last sample, not yet added to hb (see _chunk)
    float ef_frame[FRAME]    # this frame's output, for the DTMF test at its end


# The filter sums are written in C with GCC/Clang vector extensions: Cython cannot declare
# pointers `restrict`, and without that GCC turned the fused update-and-filter loop into
# scalar code and gathers. A vector type is 8 floats; each output keeps two of them, 16
# partial sums (the remainder of 8 taps goes to the first), added at the end in one fixed
# order, so every path computing a given output gets the same bits on any machine.
cdef extern from *:
    """
    typedef float ec_v8 __attribute__((vector_size(32), aligned(4), may_alias));

    static inline float ec_sum(ec_v8 a, ec_v8 b)
    {
        ec_v8 s = a + b;
        return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    }

    static inline float ec_dot(const float *restrict h, const float *restrict x, int taps)
    {
        ec_v8 a = {0}, b = {0};
        int k = 0;
        for (; k + 16 <= taps; k += 16) {
            a += *(const ec_v8 *)(h + k) * *(const ec_v8 *)(x + k);
            b += *(const ec_v8 *)(h + k + 8) * *(const ec_v8 *)(x + k + 8);
        }
        if (k < taps)
            a += *(const ec_v8 *)(h + k) * *(const ec_v8 *)(x + k);
        return ec_sum(a, b);
    }

    static inline float ec_update_dot(float *restrict h, const float *restrict x, float g,
                                      int taps)
    {
        ec_v8 a = {0}, b = {0}, u, v;
        int k = 0;
        for (; k + 16 <= taps; k += 16) {
            u = *(ec_v8 *)(h + k) + g * *(const ec_v8 *)(x + k - 1);
            v = *(ec_v8 *)(h + k + 8) + g * *(const ec_v8 *)(x + k + 7);
            *(ec_v8 *)(h + k) = u;
            *(ec_v8 *)(h + k + 8) = v;
            a += u * *(const ec_v8 *)(x + k);
            b += v * *(const ec_v8 *)(x + k + 8);
        }
        if (k < taps) {
            u = *(ec_v8 *)(h + k) + g * *(const ec_v8 *)(x + k - 1);
            *(ec_v8 *)(h + k) = u;
            a += u * *(const ec_v8 *)(x + k);
        }
        return ec_sum(a, b);
    }

    static inline void ec_fir4(const float *restrict h, const float *restrict x, int taps,
                               float *restrict y)
    {
        ec_v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        ec_v8 p, q;
        int k = 0;
        for (; k + 16 <= taps; k += 16) {
            p = *(const ec_v8 *)(h + k);
            q = *(const ec_v8 *)(h + k + 8);
            a0 += p * *(const ec_v8 *)(x + k);
            b0 += q * *(const ec_v8 *)(x + k + 8);
            a1 += p * *(const ec_v8 *)(x + k + 1);
            b1 += q * *(const ec_v8 *)(x + k + 9);
            a2 += p * *(const ec_v8 *)(x + k + 2);
            b2 += q * *(const ec_v8 *)(x + k + 10);
            a3 += p * *(const ec_v8 *)(x + k + 3);
            b3 += q * *(const ec_v8 *)(x + k + 11);
        }
        if (k < taps) {
            p = *(const ec_v8 *)(h + k);
            a0 += p * *(const ec_v8 *)(x + k);
            a1 += p * *(const ec_v8 *)(x + k + 1);
            a2 += p * *(const ec_v8 *)(x + k + 2);
            a3 += p * *(const ec_v8 *)(x + k + 3);
        }
        y[0] = ec_sum(a0, b0);
        y[1] = ec_sum(a1, b1);
        y[2] = ec_sum(a2, b2);
        y[3] = ec_sum(a3, b3);
    }
    """
    float _dot "ec_dot"(const float *h, const float *x, int taps) noexcept nogil
    float _update_dot "ec_update_dot"(float *h, const float *x, float g, int taps) noexcept nogil
    void _fir4 "ec_fir4"(const float *h, const float *x, int taps, float *y) noexcept nogil


cdef void _predictor_sums(const float *v, double *st) noexcept nogil:
    """A frame's least-squares sums: v[0..FRAME) the frame, v[-4..-1] the samples before it.
    st: c0 = sum v[n]^2, c_i = sum v[n] v[n-i], then phi[i][j] = sum v[n-i] v[n-j]."""
    cdef int n, i, j, at
    for i in range(NSTAT):
        st[i] = 0
    for n in range(FRAME):
        st[0] += <double>v[n] * v[n]
        at = 5
        for i in range(1, 5):
            st[i] += <double>v[n] * v[n - i]
        for i in range(1, 5):
            for j in range(i, 5):
                st[at] += <double>v[n - i] * v[n - j]
                at += 1


cdef double _prediction_gain(double *st) noexcept nogil:
    """c0 / residual of the order-4 least-squares (covariance method) predictor of a frame:
    two pure tones are predicted exactly, so the gain is limited only by noise."""
    cdef double m[4][4]
    cdef double y[4]
    cdef double err, acc
    cdef int i, j, k, at = 5
    if st[0] <= 0:
        return 1.0
    for i in range(4):
        for j in range(i, 4):
            m[i][j] = st[at]
            m[j][i] = st[at]
            at += 1
        m[i][i] += 1e-6 * st[0]  # white noise 60 dB down keeps the solve well conditioned
    # Cholesky m = L L^T in place (lower triangle), then solve L y = c: err = c0 - |y|^2.
    for i in range(4):
        for j in range(i + 1):
            acc = m[i][j]
            for k in range(j):
                acc -= m[i][k] * m[j][k]
            if i == j:
                if acc <= 0:
                    return 1.0
                m[i][i] = sqrt(acc)
            else:
                m[i][j] = acc / m[j][j]
    err = st[0]
    for i in range(4):
        acc = st[1 + i]
        for k in range(i):
            acc -= m[i][k] * y[k]
        y[i] = acc / m[i][i]
        err -= y[i] * y[i]
    if err <= 1e-9 * st[0]:
        err = 1e-9 * st[0]
    return st[0] / err


cdef class EchoKernel:
    cdef int channels, taps, nseg
    cdef float mu, delta
    cdef float *hb           # [channel][taps] background filter; [taps-1] is the newest tap
    cdef float *hf           # [channel][taps] foreground (output) filter, same layout
    cdef float *buf          # [channel][taps + SLACK] tx history, oldest first
    cdef float *segs         # [channel][nseg] max |x| per tx segment
    cdef Channel *chans
    cdef float coef[8]       # Goertzel 2 cos(w) of each DTMF frequency
    cdef public long long adapted, double_talk, frozen  # sample counters (all channels)
    cdef public long long transfers, restores           # frame counters (all channels)

    def __cinit__(self, int channels, int taps, double mu, double delta):
        if taps < LANES or taps % (LANES // 2):
            raise ValueError(f"EchoKernel: taps={taps}; expected a multiple of {LANES // 2}, "
                             f">= {LANES}")
        self.channels = channels
        self.taps = taps
        self.nseg = (taps + SEG - 1) // SEG
        self.mu = <float>mu
        self.delta = <float>delta
        self.hb = <float *>calloc(channels * taps, sizeof(float))
        self.hf = <float *>calloc(channels * taps, sizeof(float))
        self.buf = <float *>calloc(channels * (taps + SLACK), sizeof(float))
        self.segs = <float *>calloc(channels * self.nseg, sizeof(float))
        self.chans = <Channel *>calloc(channels, sizeof(Channel))
        if not (self.hb and self.hf and self.buf and self.segs and self.chans):
            raise MemoryError(f"EchoKernel: cannot allocate state for {channels} channels")
        for c in range(8):
            self.coef[c] = <float>(2 * cos(2 * pi * DTMF_HZ[c] / 8000.0))
        for c in range(channels):
            self.reset(c)

    def __dealloc__(self):
        free(self.hb)
        free(self.hf)
        free(self.buf)
        free(self.segs)
        free(self.chans)

    def reset(self, int channel):
        memset(self.hb + channel * self.taps, 0, self.taps * sizeof(float))
        memset(self.hf + channel * self.taps, 0, self.taps * sizeof(float))
        memset(self.buf + channel * (self.taps + SLACK), 0, (self.taps + SLACK) * sizeof(float))
        memset(self.segs + channel * self.nseg, 0, self.nseg * sizeof(float))
        memset(&self.chans[channel], 0, sizeof(Channel))
        self.chans[channel].fill = self.taps  # a zero history, as if silence had been sent

    def coefficients(self, int channel):
        """The output filter, tap k = k samples of delay."""
        return [self.hf[channel * self.taps + k] for k in range(self.taps)][::-1]

    def process(self, const short[:, ::1] rx, const short[:, ::1] tx,
                const unsigned char[::1] active, short[:, ::1] out):
        cdef Py_ssize_t n = rx.shape[1], i, m
        cdef int c
        with nogil:
            for c in range(self.channels):
                if not active[c]:
                    memcpy(&out[c, 0], &rx[c, 0], n * sizeof(short))
                    continue
                i = 0
                while i < n:  # chunks that end where the channel's frames end
                    m = FRAME - self.chans[c].pos % FRAME
                    if m > n - i:
                        m = n - i
                    self._chunk(c, &rx[c, i], &tx[c, i], &out[c, i], <int>m)
                    i += m

    cdef void _chunk(self, int c, const short *rx, const short *tx, short *out,
                     int m) noexcept nogil:
        """m samples (m <= what is left of the frame): the background filter sample by
        sample, then the output in one block FIR, then the frame's decisions if it ended."""
        cdef Channel *ch = &self.chans[c]
        cdef int taps = self.taps
        cdef float *hb = self.hb + c * taps
        cdef float *hf = self.hf + c * taps
        cdef float *base = self.buf + c * (taps + SLACK)
        cdef float *segs = self.segs + c * self.nseg
        cdef float *x
        cdef float fir[FRAME]
        cdef float y, eb, ef, xn, xo, ax, tailmax
        cdef int i, k, loud, first, any_live = 0
        # The channel's state in locals for the sample loop (the compiler cannot keep struct
        # fields in registers across the float stores into the filters).
        cdef float pending = ch.pending, seg_max = ch.seg_max, tail_max = ch.tail_max
        cdef double power = ch.power, ey = ch.ey, ebe = ch.eb
        cdef int live = ch.live, dt_hold = ch.dt_hold, tx_active = ch.tx_active
        cdef int phase = <int>(ch.pos % SEG)
        cdef long long adapted = 0, double_talk = 0, frozen = 0
        if ch.fill + m > taps + SLACK:
            memmove(base, base + ch.fill - taps, taps * sizeof(float))
            ch.fill = taps
        first = ch.fill + 1 - taps  # x of the chunk's sample i is base + first + i
        for i in range(m):
            base[ch.fill + i] = <float>tx[i]
        ch.fill += m
        for i in range(m):
            x = base + first + i
            xn = x[taps - 1]
            xo = base[first + i - 1]  # the sample that left the tail
            power += <double>xn * xn - <double>xo * xo
            if xn != 0:
                live = taps
            elif live > 0:
                live -= 1
            any_live |= live
            # Geigel: the largest |tx| over the tail, from whole segments plus this one.
            ax = fabs(xn)
            if ax > seg_max:
                seg_max = ax
            tailmax = tail_max if tail_max > seg_max else seg_max
            y = <float>rx[i]
            # The previous sample's update is applied in the same pass that filters this one
            # (x[-1] is the previous sample's x[0]: the history is contiguous).
            if pending != 0:
                eb = y - _update_dot(hb, x, pending, taps)
                pending = 0
            elif live:
                eb = y - _dot(hb, x, taps)
            else:
                eb = y
            if fabs(y) >= GEIGEL * tailmax and fabs(y) > 0:
                dt_hold = HANGOVER
            loud = power > MIN_TX_POWER * taps
            if dt_hold > 0:
                dt_hold -= 1
                double_talk += 1
            elif ch.freeze > 0:
                frozen += 1
            elif loud:
                pending = self.mu * eb / (<float>power + self.delta)
                adapted += 1
            ey += <double>y * y
            ebe += <double>eb * eb
            tx_active |= loud
            phase += 1
            if phase == SEG:
                phase = 0
                segs[ch.seg_at] = seg_max
                ch.seg_at = (ch.seg_at + 1) % self.nseg
                seg_max = 0
                tail_max = 0
                for k in range(self.nseg):
                    if segs[k] > tail_max:
                        tail_max = segs[k]
        ch.pos += m
        ch.pending = pending
        ch.seg_max = seg_max
        ch.tail_max = tail_max
        ch.power = power
        ch.ey = ey
        ch.eb = ebe
        ch.live = live
        ch.dt_hold = dt_hold
        ch.tx_active = tx_active
        self.adapted += adapted
        self.double_talk += double_talk
        self.frozen += frozen
        # The output: hf has not changed since the frame began.
        if any_live:
            i = 0
            while i + 4 <= m:
                _fir4(hf, base + first + i, taps, fir + i)
                i += 4
            while i < m:
                fir[i] = _dot(hf, base + first + i, taps)
                i += 1
        else:
            memset(fir, 0, m * sizeof(float))
        k = <int>((ch.pos - m) % FRAME)
        for i in range(m):
            ef = <float>rx[i] - fir[i]
            ch.ef_frame[k + i] = ef
            ch.ef += <double>ef * ef
            if ef > 32767.0:
                out[i] = 32767
            elif ef < -32768.0:
                out[i] = -32768
            else:
                out[i] = <short>(ef + 0.5 if ef >= 0 else ef - 0.5)
        if ch.pos % FRAME == 0:
            if ch.pending != 0:  # hb must be whole before the two paths are compared
                x = base + ch.fill - taps
                for k in range(taps):
                    hb[k] = hb[k] + ch.pending * x[k]
                ch.pending = 0
            self._end_frame(ch, hb, hf, base + ch.fill - FRAME)
            # The running power drifts by float rounding: recompute it once a frame.
            x = base + ch.fill - taps
            ch.power = 0
            for k in range(taps):
                ch.power += <double>x[k] * x[k]

    cdef void _end_frame(self, Channel *ch, float *hb, float *hf,
                         const float *tx) noexcept nogil:
        """The frame's decisions; tx: its FRAME tx samples (4 more before them)."""
        cdef int k, i
        cdef bint tone = False
        cdef double p, row = 0, col = 0
        cdef double st[NSTAT]
        cdef float g
        cdef float g1[8]
        cdef float g2[8]
        # Tone freeze. A frame too quiet to matter is not a tone: residual echo and line
        # noise on the output stay below -40 dBm0, a caller's key is -32 dBm0 per tone or more.
        _predictor_sums(tx, st)
        if st[0] > MIN_TX_POWER * FRAME and _prediction_gain(st) >= TX_TONE_GAIN:
            tone = True
        if ch.ef > MIN_E_TONE_POWER * FRAME:
            # Goertzel power of a frame: |X|^2 = s1^2 + s2^2 - coef s1 s2; a sine alone on the
            # bin gives 2 |X|^2 / FRAME = its energy in the frame.
            for k in range(8):
                g1[k] = 0
                g2[k] = 0
            for i in range(FRAME):
                for k in range(8):
                    g = ch.ef_frame[i] + self.coef[k] * g1[k] - g2[k]
                    g2[k] = g1[k]
                    g1[k] = g
            for k in range(8):
                p = (<double>g1[k] * g1[k] + <double>g2[k] * g2[k]
                     - <double>self.coef[k] * g1[k] * g2[k]) * 2.0 / FRAME
                if k < 4:
                    row = p if p > row else row
                else:
                    col = p if p > col else col
            if row + col >= DTMF_SHARE * ch.ef:
                tone = True
        if tone:
            ch.freeze = FREEZE_FRAMES
        elif ch.freeze > 0:
            ch.freeze -= 1
        # Two paths: hand the better filter over, or take a diverged one back.
        if ch.tx_active and ch.eb < BETTER * ch.ef and ch.eb < CANCELS * ch.ey:
            ch.wins += 1
            if ch.wins >= TRANSFER_FRAMES:
                memcpy(hf, hb, self.taps * sizeof(float))
                self.transfers += 1
                ch.wins = 0
        else:
            ch.wins = 0
        if ch.eb > WORSE * ch.ef and ch.ef < GOOD * ch.ey:
            ch.losses += 1
            if ch.losses >= RESTORE_FRAMES:
                memcpy(hb, hf, self.taps * sizeof(float))
                self.restores += 1
                ch.losses = 0
        else:
            ch.losses = 0
        ch.ey = 0
        ch.eb = 0
        ch.ef = 0
        ch.tx_active = 0
