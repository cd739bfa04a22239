"""Call-progress detector kernel: per-frame Goertzel classification, then cadence matching.

Every FRAME samples (the frame runs on across blocks) each channel's frame is classed: the
Goertzel power at each tone frequency (the best of `spread` probes around it) is compared with
the frame's total power, and the frame belongs to the tone class (a set of frequencies) that
holds at least `on_ratio` of the total, or to class 0. Runs of equal class are segments (a
different class for at most GLITCH_FRAMES frames inside a run is bridged); each finished
segment goes into a short history. A cadenced tone is detected when the last `need` segments
alternate on (its class, steady level) and off (any other class) with durations inside its
pattern's bounds, at any rotation of the pattern. A continuous tone is detected when one on
segment of its class reaches `continuous_frames`. Each detection is reported once, and
re-armed when a finished segment breaks the pattern. The descriptor arrays come from
progress.py."""

from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cdef enum:
    MAX_FREQS = 8
    MAX_PROBES = 40
    MAX_TONES = 16
    MAX_PATTERN = 16
    HISTORY = 32
    GLITCH_FRAMES = 1

cdef struct Segment:
    int32_t cls
    int32_t frames
    bint steady

cdef struct Channel:
    double s1[MAX_PROBES]
    double s2[MAX_PROBES]
    double energy
    int32_t fill
    int32_t cls
    int32_t frames
    int32_t pend_cls
    int32_t pend
    bint held  # the current segment already reported a continuous tone
    double pmin
    double pmax
    double last
    Segment hist[HISTORY]
    int32_t head
    int32_t count
    uint8_t detected[MAX_TONES]
    uint8_t enabled[MAX_TONES]
    int32_t listening  # how many tones are enabled: none, and the channel is not analysed
    int64_t t


cdef class CptKernel:
    cdef Channel* ch
    cdef int channels, nprobe, spread, nfreq, ncls, ntone, frame
    cdef double coef[MAX_PROBES]
    cdef int32_t cls_mask[MAX_TONES]
    cdef int32_t tone_cls[MAX_TONES]
    cdef int32_t tone_len[MAX_TONES]
    cdef int32_t tone_need[MAX_TONES]
    cdef int32_t lo[MAX_TONES][MAX_PATTERN]
    cdef int32_t hi[MAX_TONES][MAX_PATTERN]
    cdef double min_power, on_ratio, part_ratio, steady_ratio
    cdef int32_t continuous_frames

    def __cinit__(self, int channels, int frame, const double[::1] coefs, int spread,
                  const int32_t[::1] class_masks, const int32_t[::1] tone_class,
                  const int32_t[::1] tone_len, const int32_t[::1] tone_need,
                  const int32_t[:, ::1] lo, const int32_t[:, ::1] hi, double min_power,
                  double on_ratio, double part_ratio, double steady_ratio,
                  int continuous_frames):
        cdef int i, j
        self.channels, self.frame = channels, frame
        self.nprobe, self.spread = coefs.shape[0], spread
        self.nfreq = self.nprobe // spread
        self.ncls, self.ntone = class_masks.shape[0], tone_class.shape[0]
        for i in range(self.nprobe):
            self.coef[i] = coefs[i]
        for i in range(self.ncls):
            self.cls_mask[i] = class_masks[i]
        for i in range(self.ntone):
            self.tone_cls[i] = tone_class[i]
            self.tone_len[i] = tone_len[i]
            self.tone_need[i] = tone_need[i]
            for j in range(MAX_PATTERN):
                self.lo[i][j], self.hi[i][j] = lo[i, j], hi[i, j]
        self.min_power, self.on_ratio, self.part_ratio = min_power, on_ratio, part_ratio
        self.steady_ratio, self.continuous_frames = steady_ratio, continuous_frames
        self.ch = <Channel*>calloc(channels, sizeof(Channel))
        if self.ch == NULL:
            raise MemoryError()
        for i in range(channels):
            self.reset(i)

    def __dealloc__(self):
        free(self.ch)

    def reset(self, int c):
        cdef Channel* ch = &self.ch[c]
        cdef uint8_t enabled[MAX_TONES]
        cdef int i
        for i in range(MAX_TONES):
            enabled[i] = ch.enabled[i]
        memset(ch, 0, sizeof(Channel))
        for i in range(MAX_TONES):
            ch.enabled[i] = enabled[i]
            ch.listening += enabled[i]

    def enable(self, int c, int tone, bint on):
        cdef Channel* ch = &self.ch[c]
        ch.listening += <int>on - ch.enabled[tone]
        ch.enabled[tone] = on

    def listening(self, int c):
        return self.ch[c].listening

    def process(self, const int16_t[:, ::1] block, int32_t[:, ::1] events):
        """Feed one block; write (channel, tone, sample >> 31, sample & 0x7FFFFFFF) rows to
        events (room for every tone on every frame is the caller's job); return the count."""
        cdef int c, found = 0
        cdef Py_ssize_t n = block.shape[1]
        cdef int cap = events.shape[0]
        with nogil:
            for c in range(self.channels):
                if self.ch[c].listening:
                    found = self._channel(c, &block[c, 0] if n else NULL, n, events, found,
                                          cap)
        return found

    cdef int _channel(self, int c, const int16_t* x, Py_ssize_t n, int32_t[:, ::1] events,
                      int found, int cap) noexcept nogil:
        cdef Channel* ch = &self.ch[c]
        cdef Py_ssize_t i
        cdef int k
        cdef double v, s0
        for i in range(n):
            v = x[i]
            ch.energy += v * v
            for k in range(self.nprobe):
                s0 = v + self.coef[k] * ch.s1[k] - ch.s2[k]
                ch.s2[k] = ch.s1[k]
                ch.s1[k] = s0
            ch.fill += 1
            ch.t += 1
            if ch.fill == self.frame:
                found = self._frame(c, ch, events, found, cap)
        return found

    cdef int _frame(self, int c, Channel* ch, int32_t[:, ::1] events, int found,
                    int cap) noexcept nogil:
        cdef double probe[MAX_PROBES]
        cdef double power[MAX_FREQS]
        cdef double scale = 2.0 / (<double>self.frame * self.frame)
        cdef double total = ch.energy / self.frame
        cdef double best = 0.0, tone_power = 0.0, sum_p
        cdef int k, j, cls = 0
        cdef bint parts
        for k in range(self.nprobe):
            probe[k] = (ch.s1[k] * ch.s1[k] + ch.s2[k] * ch.s2[k]
                        - self.coef[k] * ch.s1[k] * ch.s2[k]) * scale
            ch.s1[k] = 0.0
            ch.s2[k] = 0.0
        # A frequency's power is the best of its probes, so an off-nominal tone still counts.
        for k in range(self.nfreq):
            power[k] = probe[k * self.spread]
            for j in range(1, self.spread):
                if probe[k * self.spread + j] > power[k]:
                    power[k] = probe[k * self.spread + j]
        ch.energy = 0.0
        ch.fill = 0
        if total >= self.min_power:
            for j in range(self.ncls):
                sum_p = 0.0
                parts = True
                for k in range(self.nfreq):
                    if self.cls_mask[j] & (1 << k):
                        sum_p += power[k]
                        if power[k] < self.part_ratio * total:
                            parts = False
                if parts and sum_p >= self.on_ratio * total and sum_p > best:
                    best, cls = sum_p, j + 1
        tone_power = best
        if ch.pend == 0:
            if cls == ch.cls:
                ch.frames += 1
                _fold(ch, tone_power)
            else:
                ch.pend_cls, ch.pend = cls, 1
        elif cls == ch.pend_cls:
            ch.pend += 1
            if ch.pend > GLITCH_FRAMES:
                if ch.frames:
                    found = self._push(c, ch, events, found, cap)
                ch.cls, ch.frames, ch.pend, ch.held = cls, ch.pend, 0, False
                # The new segment's first frame straddles the edge: keep it out of the range.
                ch.pmin, ch.pmax, ch.last = 1e300, 0.0, tone_power
        elif cls == ch.cls:  # a glitch of up to GLITCH_FRAMES: bridge it
            ch.frames += ch.pend + 1
            ch.pend = 0
            _fold(ch, tone_power)
        else:
            ch.frames += ch.pend
            ch.pend_cls, ch.pend = cls, 1
        if ch.cls and not ch.held and ch.frames >= self.continuous_frames:
            ch.held = True
            for j in range(self.ntone):
                if self.tone_len[j] == 0 and ch.cls == self.tone_cls[j] and ch.enabled[j]:
                    found = _emit(events, found, cap, c, j, ch.t)
        return found

    cdef int _push(self, int c, Channel* ch, int32_t[:, ::1] events, int found,
                   int cap) noexcept nogil:
        cdef Segment* s = &ch.hist[ch.head]
        cdef int j
        s.cls, s.frames = ch.cls, ch.frames
        s.steady = ch.cls == 0 or ch.pmax <= ch.pmin * self.steady_ratio
        ch.head = (ch.head + 1) % HISTORY
        if ch.count < HISTORY:
            ch.count += 1
        for j in range(self.ntone):
            if self.tone_len[j] == 0 or not ch.enabled[j]:
                continue
            if self._matches(ch, j):
                if not ch.detected[j]:
                    ch.detected[j] = 1
                    found = _emit(events, found, cap, c, j, ch.t)
            else:
                ch.detected[j] = 0
        return found

    cdef bint _matches(self, Channel* ch, int j) noexcept nogil:
        cdef int need = self.tone_need[j], plen = self.tone_len[j]
        cdef int r, i, p
        cdef Segment* s
        cdef bint ok
        if ch.count < need:
            return False
        for r in range(plen):
            ok = True
            for i in range(need):
                s = &ch.hist[(ch.head - need + i + HISTORY) % HISTORY]
                p = (r + i) % plen
                if p % 2 == 0:
                    ok = s.cls == self.tone_cls[j] and s.steady
                else:
                    ok = s.cls != self.tone_cls[j]
                if not ok or s.frames < self.lo[j][p] or s.frames > self.hi[j][p]:
                    ok = False
                    break
            if ok:
                return True
        return False


cdef inline void _fold(Channel* ch, double power) noexcept nogil:
    """Add the previous frame's tone power to the segment's range: the last frame of a segment
    straddles its edge, so a frame counts only once the next one shows the same class."""
    if ch.last < ch.pmin:
        ch.pmin = ch.last
    if ch.last > ch.pmax:
        ch.pmax = ch.last
    ch.last = power


cdef inline int _emit(int32_t[:, ::1] events, int found, int cap, int c, int tone,
                      int64_t t) noexcept nogil:
    if found < cap:
        events[found, 0] = c
        events[found, 1] = tone
        events[found, 2] = <int32_t>(t >> 31)
        events[found, 3] = <int32_t>(t & 0x7FFFFFFF)
    return found + 1
