"""A plain-Python model of one channel of hw/sip/_rtp.pyx's receive path and playout.

Written from docs/sip.md "Media" and RFC 3550 A.1/A.8, dicts instead of rings, so the tests
can cross-check the kernel: the same datagrams give the same audio and the same counters.
Also ``rtp_packet`` and ``event_packet``, the packets the tests craft.
"""

import numpy as np

from branchline.dsp import alaw_decode, ulaw_decode

AHEAD, BEHIND, MAX_PAYLOAD = 3200, 8000, 480
HIST, FADE, WINDOW, SLACK, STEP = 160, 480, 8000, 80, 80
MAX_DROPOUT, MAX_MISORDER, SEEN = 3000, 100, 512


def rtp_packet(seq, ts, ssrc, payload, pt=8, marker=False):
    header = bytes([0x80, pt | (0x80 if marker else 0)]) + (seq & 0xFFFF).to_bytes(2, "big")
    return header + (ts & 0xFFFFFFFF).to_bytes(4, "big") + ssrc.to_bytes(4, "big") + bytes(
        payload)


def event_packet(seq, ts, ssrc, code, duration, end=False, pt=101, marker=False):
    body = bytes([code, (0x80 if end else 0) | 10]) + duration.to_bytes(2, "big")
    return rtp_packet(seq, ts, ssrc, body, pt, marker)


def _s32(x):
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


class ReferenceChannel:
    def __init__(self, target, pt=8, te_pt=101, alaw=True):
        self.target, self.pt, self.te_pt = target, pt, te_pt
        self.table = alaw_decode(np.arange(256, dtype=np.uint8)) if alaw else ulaw_decode(
            np.arange(256, dtype=np.uint8))
        self.synced = False
        self.candidate = None
        self.buffer = {}  # timestamp (mod 2^32) -> sample
        self.hist = [0] * HIST
        self.hidx = self.lost_run = self.insert_left = 0
        self.played = 0
        self.jitter16 = 0
        self.transit = None
        self.stats = dict(received=0, expected=0, duplicate=0, late=0, bad=0, concealed=0,
                          dropped=0, inserted=0, resyncs=0, ssrc_changes=0)
        self.expected_done = 0
        self.events = []
        self.rev = None  # [state, ts, code, start, duration]

    def _resync(self, ts, seq):
        self.buffer.clear()
        self.seen = set()
        self.play_ts = (ts - self.target) & 0xFFFFFFFF
        self.newest_end = ts
        self.max_seq = self.base_seq = seq
        self.cycles = 0
        self.bad_seq = 0x10001
        self.expected_done = self.stats["expected"]
        self.transit = None
        self.insert_left = 0
        self.win_min, self.win_packets = None, 0
        self.rev = None

    def feed(self, data, arrival_ns):
        st = self.stats
        n = len(data)
        if n < 12 or data[0] >> 6 != 2:
            st["bad"] += 1
            return
        hdr = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10:
            if hdr + 4 > n:
                st["bad"] += 1
                return
            hdr += 4 + 4 * int.from_bytes(data[hdr + 2:hdr + 4], "big")
        if hdr > n:
            st["bad"] += 1
            return
        payload = n - hdr
        if data[0] & 0x20:
            pad = data[-1]
            if pad == 0 or pad > payload:
                st["bad"] += 1
                return
            payload -= pad
        pt = data[1] & 0x7F
        if (pt == self.pt and not 1 <= payload <= MAX_PAYLOAD) or (
                pt == self.te_pt and payload < 4) or pt not in (self.pt, self.te_pt):
            st["bad"] += 1
            return
        seq = int.from_bytes(data[2:4], "big")
        ts = int.from_bytes(data[4:8], "big")
        ssrc = int.from_bytes(data[8:12], "big")
        in_order = False
        if not self.synced:
            self.synced, self.ssrc = True, ssrc
            self._resync(ts, seq)
            in_order = True
        elif ssrc != self.ssrc:
            if self.candidate == (ssrc, (seq - 1) & 0xFFFF):
                self.candidate = None
                self.ssrc = ssrc
                st["ssrc_changes"] += 1
                st["resyncs"] += 1
                self._resync(ts, seq)
                in_order = True
            else:
                self.candidate = (ssrc, seq)
                st["bad"] += 1
                return
        else:
            self.candidate = None
            udelta = (seq - self.max_seq) & 0xFFFF
            if udelta == 0 or udelta > 65536 - MAX_MISORDER:
                if (self.max_seq - seq) & 0xFFFF < SEEN and seq in self.seen:
                    st["duplicate"] += 1
                    return
            elif udelta < MAX_DROPOUT:
                in_order = True
            elif seq == self.bad_seq:
                st["resyncs"] += 1
                self._resync(ts, seq)
                in_order = True
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                st["bad"] += 1
                return
        lead = _s32(ts - self.play_ts)
        if pt == self.pt and (lead + payload > AHEAD or lead < -BEHIND):
            if not in_order:
                st["late" if lead < 0 else "bad"] += 1
                return
            st["resyncs"] += 1
            self._resync(ts, seq)
            lead = self.target
        if in_order and seq != self.max_seq:
            if seq < self.max_seq:
                self.cycles += 65536
            self.seen = {s for s in self.seen if (seq - s) & 0xFFFF < SEEN}
            self.max_seq = seq
        self.seen.add(seq)
        st["received"] += 1
        st["expected"] = self.expected_done + self.cycles + self.max_seq - self.base_seq + 1
        if pt == self.te_pt:
            self._event(data[hdr:hdr + 4], ts)
            return
        transit = _s32((arrival_ns // 125000) - ts)
        if self.transit is not None:
            self.jitter16 += abs(_s32(transit - self.transit)) - ((self.jitter16 + 8) >> 4)
        self.transit = transit
        self.win_packets += 1
        self.win_min = lead if self.win_min is None else min(self.win_min, lead)
        if lead + payload <= 0:
            st["late"] += 1
            return
        for i in range(max(0, -lead), payload):
            self.buffer[(ts + i) & 0xFFFFFFFF] = int(self.table[data[hdr + i]])
        if _s32(ts + payload - self.newest_end) > 0:
            self.newest_end = (ts + payload) & 0xFFFFFFFF

    def _emit(self, code, start, end):
        self.events.append((code, start, end))

    def _event(self, e, ts):
        code, end, duration = e[0], bool(e[1] & 0x80), int.from_bytes(e[2:4], "big")
        if code > 15:
            return
        rev = self.rev
        if rev and ts == rev[1]:
            if rev[0] == 2:
                return
            rev[4] = max(rev[4], duration)
            if end:
                self._emit(rev[2], rev[3], rev[3] + rev[4])
                rev[0] = 2
            return
        if rev and _s32(ts - rev[1]) < 0:
            return
        if rev and rev[0] == 1:
            self._emit(rev[2], rev[3], rev[3] + rev[4])
        start = self.played + self.insert_left + _s32(ts - self.play_ts)
        self._emit(code, start, None)
        if end:
            self._emit(code, start, start + duration)
        self.rev = [2 if end else 1, ts, code, start, duration]

    def _conceal(self):
        v = 0
        if self.lost_run < FADE:
            x = self.hist[(self.hidx + self.lost_run) % HIST] * (FADE - self.lost_run)
            v = abs(x) // FADE * (1 if x >= 0 else -1)  # C division truncates toward zero
            self.lost_run += 1
        self.stats["concealed"] += 1
        return v

    def _adjust(self):
        if self.win_packets:
            m = self.win_min
            if m < self.target - SLACK:
                room = self.target + 10 * STEP - _s32(self.newest_end - self.play_ts)
                k = min(self.target - m, STEP, room)
                if k > 0:
                    self.insert_left += k
                    self.stats["inserted"] += k
            elif m > self.target + SLACK:
                k = min(m - self.target, STEP)
                for i in range(k):
                    self.buffer.pop((self.play_ts + i) & 0xFFFFFFFF, None)
                self.play_ts = (self.play_ts + k) & 0xFFFFFFFF
                self.stats["dropped"] += k
        self.win_min, self.win_packets = None, 0

    def read(self, n):
        out = np.zeros(n, dtype=np.int16)
        if not self.synced:
            self.played += n
            return out
        for i in range(n):
            if self.insert_left:
                self.insert_left -= 1
                v = self._conceal()
            else:
                v = self.buffer.pop(self.play_ts, None)
                if v is None:
                    v = self._conceal()
                else:
                    self.hist[self.hidx] = v
                    self.hidx = (self.hidx + 1) % HIST
                    self.lost_run = 0
                self.play_ts = (self.play_ts + 1) & 0xFFFFFFFF
            out[i] = v
            self.played += 1
            if self.played % WINDOW == 0:
                self._adjust()
        return out
