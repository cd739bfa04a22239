"""RTP/RTCP kernel for every SIP channel of a board: one call per tick receives, one reads,
one writes, each over all channels in C without the GIL (hw/sip/rtp.py is the front).

Per channel, in one C struct: the sockets' descriptors (owned by the front), the far end's
address, the negotiated payload types and ptime, the sending state (SSRC, sequence number,
timestamp, the packet being filled, the RFC 4733 digit train), the receiving state (SSRC,
RFC 3550 A.1 sequence tracking, a bitmap of recent sequence numbers for duplicates, A.8
jitter) and the jitter buffer: a ring of decoded samples indexed by RTP timestamp with a
flag per sample, read from ``play_ts``. G.711 is done with tables the front builds from
branchline.dsp.g711, so there is one implementation of the companding rules.
"""

from cpython.mem cimport PyMem_Calloc, PyMem_Free
from libc.errno cimport EAGAIN, errno
from libc.stdint cimport (INT64_MIN, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t,
                          uint64_t)
from libc.string cimport memcmp, memcpy, memset
from posix.time cimport timespec

NO_END = INT64_MIN  # the end column of a key event that is still held


cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t
    struct sockaddr:
        sa_family_t sa_family
    struct sockaddr_storage:
        sa_family_t ss_family
    struct iovec:
        void* iov_base
        size_t iov_len
    struct msghdr:
        void* msg_name
        socklen_t msg_namelen
        iovec* msg_iov
        size_t msg_iovlen
        void* msg_control
        size_t msg_controllen
        int msg_flags
    struct mmsghdr:
        msghdr msg_hdr
        unsigned int msg_len
    struct cmsghdr:
        size_t cmsg_len
        int cmsg_level
        int cmsg_type
    cmsghdr* CMSG_FIRSTHDR(msghdr* m)
    cmsghdr* CMSG_NXTHDR(msghdr* m, cmsghdr* c)
    unsigned char* CMSG_DATA(cmsghdr* c)
    int recvmmsg(int fd, mmsghdr* vec, unsigned int vlen, int flags, timespec* timeout)
    ssize_t sendto(int fd, const void* buf, size_t n, int flags, const sockaddr* addr,
                   socklen_t addrlen)
    int MSG_DONTWAIT
    int MSG_TRUNC
    int SOL_SOCKET
    int SCM_TIMESTAMPNS
    int AF_INET
    int AF_INET6


cdef extern from "<netinet/in.h>" nogil:
    struct in_addr:
        uint32_t s_addr
    struct in6_addr:
        unsigned char s6_addr[16]
    struct sockaddr_in:
        sa_family_t sin_family
        uint16_t sin_port
        in_addr sin_addr
    struct sockaddr_in6:
        sa_family_t sin6_family
        uint16_t sin6_port
        in6_addr sin6_addr
    uint16_t htons(uint16_t x)
    uint16_t ntohs(uint16_t x)


cdef enum:
    RING = 4096            # jitter buffer samples (512 ms), a power of two
    MASK = RING - 1
    AHEAD = 3200           # a packet may end at most 400 ms ahead of the playout point
    BEHIND = 8000          # an in-order packet 1 s behind it means the timestamps jumped
    MAX_PAYLOAD = 480      # 60 ms of G.711
    HIST = 160             # concealment repeats the last 20 ms received...
    FADE = 480             # ...fading linearly to silence over 60 ms
    WINDOW = 8000          # depth control: one decision per second of playout
    SLACK = 80             # leave the depth alone within 10 ms of the target
    STEP = 80              # move it by at most 10 ms per decision
    MAX_DROPOUT = 3000     # RFC 3550 A.1
    MAX_MISORDER = 100
    SEEN = 512             # duplicate detection covers the last 512 sequence numbers
    SEEN_WORDS = 8
    BATCH = 16             # datagrams per recvmmsg
    PER_TICK = 64          # at most this many datagrams per socket per receive step
    DATAGRAM = 2048
    CNAME_MAX = 128
    NTP_EPOCH = 2208988800  # seconds from 1900 to 1970
    DIGIT_QUEUE = 32
    DIGIT_GAP = 320        # 40 ms of audio between two digits we send (ITU-T Q.24 pause)
    END_PACKETS = 3        # RFC 4733 §2.5.1.4
    EVENT_VOLUME = 10      # -10 dBm0
    # Rows of the statistics (rtp.py names them).
    S_RECEIVED = 0
    S_EXPECTED = 1
    S_DUPLICATE = 2
    S_LATE = 3
    S_BAD = 4
    S_FOREIGN = 5
    S_JITTER = 6           # RFC 3550 A.8 estimate, in timestamp units x 16
    S_CONCEALED = 7
    S_DROPPED = 8
    S_INSERTED = 9
    S_RESYNCS = 10
    S_SSRC_CHANGES = 11
    S_SENT = 12
    S_SENT_OCTETS = 13
    S_SEND_ERRORS = 14
    S_RTT = 15             # 1/65536 s; -1 until an RR/SR about our SSRC came back
    S_RTCP_BAD = 16
    S_DEPTH = 17           # samples between the playout point and the newest sample held
    S_EVENTS_LOST = 18
    S_LATCHES = 19
    S_COUNT = 20


ctypedef struct Chan:
    int fd
    int rtcp_fd
    bint is_open
    int pt
    int te_pt
    bint alaw
    int ptime
    bint send_on
    bint recv_on
    bint symmetric
    int target
    sockaddr_storage remote
    socklen_t remote_len
    # sending
    uint32_t tx_ssrc
    uint16_t tx_seq
    uint32_t tx_ts
    bint tx_marker
    int16_t pend[240]
    int npend
    int dq_code[DIGIT_QUEUE]
    int dq_len_samples[DIGIT_QUEUE]
    int dq_head
    int dq_count
    int ev_code
    int ev_total
    int ev_dur
    int ev_ends
    uint32_t ev_ts
    int gap
    # receiving
    bint synced
    uint32_t rx_ssrc
    bint have_candidate
    uint32_t cand_ssrc
    uint16_t cand_seq
    uint16_t max_seq
    uint32_t cycles
    uint32_t base_seq
    uint32_t bad_seq
    int64_t expected_done
    uint64_t seen[SEEN_WORDS]
    bint have_transit
    int32_t transit
    uint32_t play_ts
    uint32_t newest_end
    int16_t ring[RING]
    uint8_t filled[RING]
    int16_t hist[HIST]
    int hidx
    int lost_run
    int insert_left
    int32_t win_min
    int win_packets
    int64_t played
    # RFC 4733 in
    int rev_state
    uint32_t rev_ts
    int rev_code
    int64_t rev_start
    int rev_dur
    # RTCP in
    uint32_t peer_lsr
    uint32_t peer_sr_at
    # RTCP out: what the last report covered, and our SDES CNAME
    int64_t rr_expected_prior
    int64_t rr_received_prior
    int64_t sr_sent_prior
    uint8_t cname[CNAME_MAX]
    int cname_len
    int64_t stats[S_COUNT]


cdef inline uint32_t _be32(const uint8_t* p) noexcept nogil:
    return (<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3]


cdef inline uint16_t _be16(const uint8_t* p) noexcept nogil:
    return <uint16_t>((p[0] << 8) | p[1])


cdef inline void _put32(uint8_t* p, uint32_t v) noexcept nogil:
    p[0] = v >> 24
    p[1] = (v >> 16) & 0xFF
    p[2] = (v >> 8) & 0xFF
    p[3] = v & 0xFF


cdef inline uint32_t _ntp_compact(int64_t ns) noexcept nogil:
    """The middle 32 bits of the NTP timestamp (16.16 seconds) for a Unix time in ns."""
    cdef int64_t sec = ns // 1000000000 + 2208988800LL
    cdef int64_t frac = ((ns % 1000000000) << 16) // 1000000000
    return <uint32_t>(((sec & 0xFFFF) << 16) | frac)


cdef class RtpKernel:
    """C state of `channels` RTP channels; the front (rtp.py) validates every argument."""

    cdef Chan* ch
    cdef int channels
    cdef const uint8_t* enc_a
    cdef const uint8_t* enc_u
    cdef const int16_t* dec_a
    cdef const int16_t* dec_u
    cdef object _keep
    cdef int64_t[:, ::1] events
    cdef int nevents
    cdef uint8_t bufs[BATCH][DATAGRAM]
    cdef sockaddr_storage names[BATCH]
    cdef uint8_t controls[BATCH][64]
    cdef iovec iovs[BATCH]
    cdef mmsghdr msgs[BATCH]
    cdef uint8_t packet[12 + 240]
    cdef uint8_t report_out[64 + 12 + CNAME_MAX]

    def __cinit__(self, int channels, const uint8_t[::1] alaw_enc, const uint8_t[::1] ulaw_enc,
                  const int16_t[::1] alaw_dec, const int16_t[::1] ulaw_dec,
                  int64_t[:, ::1] events):
        self.ch = <Chan*>PyMem_Calloc(channels, sizeof(Chan))
        if self.ch == NULL:
            raise MemoryError()
        self.channels = channels
        self._keep = (alaw_enc, ulaw_enc, alaw_dec, ulaw_dec)
        self.enc_a = &alaw_enc[0]
        self.enc_u = &ulaw_enc[0]
        self.dec_a = &alaw_dec[0]
        self.dec_u = &ulaw_dec[0]
        self.events = events
        cdef int i
        for i in range(channels):
            self.ch[i].fd = -1
            self.ch[i].rtcp_fd = -1

    def __dealloc__(self):
        PyMem_Free(self.ch)

    # -- set-up (called from Python when a call changes, never per tick) ---------------------

    def open(self, int c, int fd, int rtcp_fd, int pt, int te_pt, bint alaw, int ptime,
             int target, bint symmetric, uint32_t ssrc, uint16_t seq, uint32_t ts):
        cdef Chan* h = &self.ch[c]
        memset(h, 0, sizeof(Chan))
        h.fd = fd
        h.rtcp_fd = rtcp_fd
        h.is_open = True
        h.pt = pt
        h.te_pt = te_pt
        h.alaw = alaw
        h.ptime = ptime
        h.target = target
        h.symmetric = symmetric
        h.tx_ssrc = ssrc
        h.tx_seq = seq
        h.tx_ts = ts
        h.tx_marker = True
        h.ev_code = -1
        h.stats[S_RTT] = -1

    def close(self, int c):
        memset(&self.ch[c], 0, sizeof(Chan))
        self.ch[c].fd = -1
        self.ch[c].rtcp_fd = -1

    def set_direction(self, int c, bint send_on, bint recv_on):
        cdef Chan* h = &self.ch[c]
        if send_on and not h.send_on:
            h.tx_marker = True
        h.send_on = send_on
        h.recv_on = recv_on

    def set_cname(self, int c, const uint8_t[::1] cname):
        """Channel c's SDES CNAME (RFC 3550 §6.5.1), 1 to 127 bytes."""
        cdef Chan* h = &self.ch[c]
        h.cname_len = min(<int>cname.shape[0], CNAME_MAX - 1)
        memcpy(h.cname, &cname[0], h.cname_len)

    def report(self, int c, int64_t now_ns):
        """Send channel c's RTCP report now (RFC 3550 §6.4, §6.5): SR if it sent since the
        last report, else RR; one report block when it receives a stream; then SDES CNAME; to
        the remote's port + 1. 1 sent, 0 no remote yet, -1 the send failed."""
        cdef int n
        cdef ssize_t sent
        cdef sockaddr_storage to
        cdef sockaddr_in* v4 = <sockaddr_in*>&to
        cdef sockaddr_in6* v6 = <sockaddr_in6*>&to
        cdef Chan* h = &self.ch[c]
        n = self._report(h, now_ns)
        if h.remote_len == 0:
            return 0
        memcpy(&to, &h.remote, sizeof(sockaddr_storage))
        if to.ss_family == AF_INET:
            v4.sin_port = htons(ntohs(v4.sin_port) + 1)
        else:
            v6.sin6_port = htons(ntohs(v6.sin6_port) + 1)
        with nogil:
            sent = sendto(h.rtcp_fd, self.report_out, n, MSG_DONTWAIT, <sockaddr*>&to,
                          h.remote_len)
        return -1 if sent < 0 else 1

    cdef int _report(self, Chan* h, int64_t now_ns) noexcept nogil:
        """Write the compound report into report_out; its length."""
        cdef uint8_t* q = self.report_out
        cdef int64_t expected, received, lost_interval, lost, fraction = 0
        cdef int64_t seconds = now_ns // 1000000000 + NTP_EPOCH
        cdef int64_t rest = now_ns % 1000000000
        cdef int n, count = 1 if h.synced else 0, sdes
        if h.stats[S_SENT] > h.sr_sent_prior:
            h.sr_sent_prior = h.stats[S_SENT]
            q[1] = 200
            _put32(q + 4, h.tx_ssrc)
            _put32(q + 8, <uint32_t>seconds)
            _put32(q + 12, <uint32_t>((rest << 32) // 1000000000))
            _put32(q + 16, h.tx_ts)
            _put32(q + 20, <uint32_t>h.stats[S_SENT])
            _put32(q + 24, <uint32_t>h.stats[S_SENT_OCTETS])
            n = 28
        else:
            q[1] = 201
            _put32(q + 4, h.tx_ssrc)
            n = 8
        if h.synced:
            expected = h.stats[S_EXPECTED] - h.rr_expected_prior
            received = h.stats[S_RECEIVED] - h.rr_received_prior
            h.rr_expected_prior = h.stats[S_EXPECTED]
            h.rr_received_prior = h.stats[S_RECEIVED]
            lost_interval = expected - received
            if expected > 0 and lost_interval > 0:
                fraction = min((lost_interval << 8) // expected, 255)
            lost = max(-(1 << 23), min((1 << 23) - 1, h.stats[S_EXPECTED] - h.stats[S_RECEIVED]))
            _put32(q + n, h.rx_ssrc)
            _put32(q + n + 4, (<uint32_t>fraction << 24) | (<uint32_t>lost & 0xFFFFFF))
            _put32(q + n + 8, h.cycles + h.max_seq)
            _put32(q + n + 12, <uint32_t>(h.stats[S_JITTER] >> 4))
            _put32(q + n + 16, h.peer_lsr)
            _put32(q + n + 20, _ntp_compact(now_ns) - h.peer_sr_at if h.peer_lsr else 0)
            n += 24
        q[0] = 0x80 | count
        q[2] = <uint8_t>((n // 4 - 1) >> 8)
        q[3] = <uint8_t>(n // 4 - 1)
        # SDES: one chunk, our SSRC, CNAME item, a null item, padded to 32 bits (§6.5)
        sdes = n
        q[n] = 0x81
        q[n + 1] = 202
        _put32(q + n + 4, h.tx_ssrc)
        q[n + 8] = 1
        q[n + 9] = <uint8_t>h.cname_len
        memcpy(q + n + 10, h.cname, h.cname_len)
        n += 10 + h.cname_len
        q[n] = 0
        n += 1
        while n % 4:
            q[n] = 0
            n += 1
        q[sdes + 2] = <uint8_t>(((n - sdes) // 4 - 1) >> 8)
        q[sdes + 3] = <uint8_t>((n - sdes) // 4 - 1)
        return n

    def set_remote(self, int c, int family, const uint8_t[::1] address, int port):
        self._set_remote(&self.ch[c], family, &address[0], port)

    cdef void _set_remote(self, Chan* h, int family, const uint8_t* address, int port):
        cdef sockaddr_in* v4 = <sockaddr_in*>&h.remote
        cdef sockaddr_in6* v6 = <sockaddr_in6*>&h.remote
        memset(&h.remote, 0, sizeof(sockaddr_storage))
        if family == AF_INET:
            v4.sin_family = AF_INET
            v4.sin_port = htons(port)
            memcpy(&v4.sin_addr, address, 4)
            h.remote_len = sizeof(sockaddr_in)
        else:
            v6.sin6_family = AF_INET6
            v6.sin6_port = htons(port)
            memcpy(&v6.sin6_addr, address, 16)
            h.remote_len = sizeof(sockaddr_in6)

    def remote(self, int c):
        """(family, packed address, port) of where channel c sends, or None."""
        cdef Chan* h = &self.ch[c]
        cdef sockaddr_in* v4 = <sockaddr_in*>&h.remote
        cdef sockaddr_in6* v6 = <sockaddr_in6*>&h.remote
        if h.remote_len == 0:
            return None
        if h.remote.ss_family == AF_INET:
            return AF_INET, (<char*>&v4.sin_addr)[:4], ntohs(v4.sin_port)
        return AF_INET6, (<char*>&v6.sin6_addr)[:16], ntohs(v6.sin6_port)

    def queue_digit(self, int c, int code, int samples):
        """Queue an RFC 4733 event; False if the channel's queue is full."""
        cdef Chan* h = &self.ch[c]
        if h.dq_count == DIGIT_QUEUE:
            return False
        cdef int slot = (h.dq_head + h.dq_count) % DIGIT_QUEUE
        h.dq_code[slot] = code
        h.dq_len_samples[slot] = samples
        h.dq_count += 1
        return True

    def stats(self, int c):
        cdef Chan* h = &self.ch[c]
        cdef int32_t depth = <int32_t>(h.newest_end - h.play_ts)
        h.stats[S_DEPTH] = depth if h.synced and depth > 0 else 0
        return [h.stats[i] for i in range(S_COUNT)]

    def totals(self):
        """(lost, late) summed over the open channels, lost per channel as RFC 3550 A.3 counts
        it (expected - received, never below 0): what /metrics reads, without a Python loop."""
        cdef int c
        cdef int64_t lost = 0, late = 0, missing
        for c in range(self.channels):
            if self.ch[c].is_open:
                missing = self.ch[c].stats[S_EXPECTED] - self.ch[c].stats[S_RECEIVED]
                if missing > 0:
                    lost += missing
                late += self.ch[c].stats[S_LATE]
        return lost, late

    def tx_state(self, int c):
        """(ssrc, next sequence number, next timestamp) of channel c's sending side."""
        return self.ch[c].tx_ssrc, self.ch[c].tx_seq, self.ch[c].tx_ts

    def rtcp_state(self, int c):
        """What an RTCP report needs from the receiving side of channel c."""
        cdef Chan* h = &self.ch[c]
        return (h.synced, h.rx_ssrc, h.cycles + h.max_seq, h.peer_lsr, h.peer_sr_at)

    # -- the tick --------------------------------------------------------------------------

    def receive(self, int64_t now_ns, int rtcp_every, int rtcp_turn):
        """Drain every open channel's RTP socket, and the RTCP socket of the channels whose
        number is ``rtcp_turn`` modulo ``rtcp_every``; return the number of event rows."""
        cdef int c
        self.nevents = 0
        with nogil:
            for c in range(self.channels):
                if self.ch[c].is_open:
                    self._drain(c, self.ch[c].fd, False, now_ns)
                    if c % rtcp_every == rtcp_turn and self.ch[c].rtcp_fd >= 0:
                        self._drain(c, self.ch[c].rtcp_fd, True, now_ns)
        return self.nevents

    def feed(self, int c, const uint8_t[::1] data, int64_t arrival_ns, int family,
             const uint8_t[::1] address, int port, bint rtcp):
        """One datagram through the receive path, without a socket (tests, fuzzing)."""
        cdef sockaddr_storage src
        cdef socklen_t srclen = 0
        cdef Chan tmp
        self.nevents = 0
        if family:
            self._set_remote(&tmp, family, &address[0], port)
            memcpy(&src, &tmp.remote, sizeof(sockaddr_storage))
            srclen = tmp.remote_len
        cdef const uint8_t* p = &data[0] if data.shape[0] else NULL
        with nogil:
            if rtcp:
                self._rtcp(c, p, data.shape[0], arrival_ns)
            else:
                self._packet(c, p, data.shape[0], &src if srclen else NULL, srclen,
                             arrival_ns)
        return self.nevents

    def read(self, int16_t[:, ::1] out):
        cdef int c
        cdef int n = out.shape[1]
        with nogil:
            for c in range(self.channels):
                self._read(&self.ch[c], &out[c, 0], n)

    def write(self, const int16_t[:, ::1] block):
        cdef int c
        cdef int n = block.shape[1]
        with nogil:
            for c in range(self.channels):
                self._write(&self.ch[c], &block[c, 0], n)

    # -- receiving -------------------------------------------------------------------------

    cdef void _drain(self, int c, int fd, bint rtcp, int64_t now_ns) noexcept nogil:
        cdef int i, got, total = 0
        cdef int64_t arrival
        cdef cmsghdr* cm
        cdef timespec* ts
        while total < PER_TICK:
            for i in range(BATCH):
                self.iovs[i].iov_base = self.bufs[i]
                self.iovs[i].iov_len = DATAGRAM
                self.msgs[i].msg_hdr.msg_name = &self.names[i]
                self.msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage)
                self.msgs[i].msg_hdr.msg_iov = &self.iovs[i]
                self.msgs[i].msg_hdr.msg_iovlen = 1
                self.msgs[i].msg_hdr.msg_control = self.controls[i]
                self.msgs[i].msg_hdr.msg_controllen = 64
                self.msgs[i].msg_hdr.msg_flags = 0
            got = recvmmsg(fd, self.msgs, BATCH, MSG_DONTWAIT, NULL)
            if got <= 0:
                if got < 0 and errno != EAGAIN:
                    self.ch[c].stats[S_RTCP_BAD if rtcp else S_BAD] += 1
                return
            for i in range(got):
                arrival = now_ns
                cm = CMSG_FIRSTHDR(&self.msgs[i].msg_hdr)
                while cm != NULL:
                    if cm.cmsg_level == SOL_SOCKET and cm.cmsg_type == SCM_TIMESTAMPNS:
                        ts = <timespec*>CMSG_DATA(cm)
                        arrival = <int64_t>ts.tv_sec * 1000000000 + ts.tv_nsec
                    cm = CMSG_NXTHDR(&self.msgs[i].msg_hdr, cm)
                if self.msgs[i].msg_hdr.msg_flags & MSG_TRUNC:
                    self.ch[c].stats[S_RTCP_BAD if rtcp else S_BAD] += 1
                elif rtcp:
                    self._rtcp(c, self.bufs[i], self.msgs[i].msg_len, arrival)
                else:
                    self._packet(c, self.bufs[i], self.msgs[i].msg_len,
                                 &self.names[i], self.msgs[i].msg_hdr.msg_namelen, arrival)
            total += got
            if got < BATCH:
                return

    cdef void _resync(self, Chan* h, uint32_t ts, uint16_t seq) noexcept nogil:
        memset(h.filled, 0, RING)
        memset(h.seen, 0, sizeof(h.seen))
        h.play_ts = ts - h.target
        h.newest_end = ts
        h.max_seq = seq
        h.base_seq = seq
        h.cycles = 0
        h.bad_seq = 0x10001
        h.expected_done = h.stats[S_EXPECTED]
        h.have_transit = False
        h.insert_left = 0
        h.win_min = 0x7FFFFFFF
        h.win_packets = 0
        h.rev_state = 0

    cdef void _packet(self, int c, const uint8_t* p, int n, sockaddr_storage* src,
                      socklen_t srclen, int64_t arrival_ns) noexcept nogil:
        cdef Chan* h = &self.ch[c]
        cdef int hdr, payload, pad, pt, i, first
        cdef uint16_t seq, udelta
        cdef uint32_t ts, ssrc, slot
        cdef int32_t lead, transit, d
        cdef bint in_order = False
        cdef const int16_t* dec
        if n < 12 or (p[0] >> 6) != 2:
            h.stats[S_BAD] += 1
            return
        hdr = 12 + 4 * (p[0] & 0x0F)
        if p[0] & 0x10:
            if hdr + 4 > n:
                h.stats[S_BAD] += 1
                return
            hdr += 4 + 4 * _be16(p + hdr + 2)
        if hdr > n:
            h.stats[S_BAD] += 1
            return
        payload = n - hdr
        if p[0] & 0x20:
            pad = p[n - 1]
            if pad == 0 or pad > payload:
                h.stats[S_BAD] += 1
                return
            payload -= pad
        pt = p[1] & 0x7F
        if pt == h.pt:
            if payload < 1 or payload > MAX_PAYLOAD:
                h.stats[S_BAD] += 1
                return
        elif pt == h.te_pt:
            if payload < 4:
                h.stats[S_BAD] += 1
                return
        else:
            h.stats[S_BAD] += 1
            return
        if not h.recv_on:
            return
        if src != NULL and h.remote_len and not h.symmetric and (
                srclen != h.remote_len or memcmp(src, &h.remote, srclen) != 0):
            h.stats[S_FOREIGN] += 1
            return
        seq = _be16(p + 2)
        ts = _be32(p + 4)
        ssrc = _be32(p + 8)

        if not h.synced:
            h.synced = True
            h.rx_ssrc = ssrc
            self._resync(h, ts, seq)
            in_order = True
        elif ssrc != h.rx_ssrc:
            # A new source is believed when two packets in sequence say so (RFC 3550 A.1's
            # probation), so a stray packet cannot take the call over.
            if h.have_candidate and ssrc == h.cand_ssrc and seq == <uint16_t>(h.cand_seq + 1):
                h.have_candidate = False
                h.rx_ssrc = ssrc
                h.stats[S_SSRC_CHANGES] += 1
                h.stats[S_RESYNCS] += 1
                self._resync(h, ts, seq)
                in_order = True
            else:
                h.have_candidate = True
                h.cand_ssrc = ssrc
                h.cand_seq = seq
                h.stats[S_BAD] += 1
                return
        else:
            h.have_candidate = False
            udelta = seq - h.max_seq
            if udelta == 0 or udelta > 65536 - MAX_MISORDER:
                if <uint16_t>(h.max_seq - seq) < SEEN and (
                        h.seen[(seq % SEEN) >> 6] >> (seq & 63)) & 1:
                    h.stats[S_DUPLICATE] += 1
                    return
            elif udelta < MAX_DROPOUT:
                in_order = True
            elif seq == h.bad_seq:
                # Two packets in sequence after a jump: the sender restarted its numbering.
                h.stats[S_RESYNCS] += 1
                self._resync(h, ts, seq)
                in_order = True
            else:
                h.bad_seq = (seq + 1) & 0xFFFF
                h.stats[S_BAD] += 1
                return
        lead = <int32_t>(ts - h.play_ts)
        if pt == h.pt and (lead + payload > AHEAD or lead < -BEHIND):
            if not in_order:
                h.stats[S_LATE if lead < 0 else S_BAD] += 1
                return
            # In sequence but far off in time: the sender's timestamps jumped.
            h.stats[S_RESYNCS] += 1
            self._resync(h, ts, seq)
            lead = h.target
        if in_order and seq != h.max_seq:
            if seq < h.max_seq:
                h.cycles += 65536
            self._advance_seen(h, seq)
        h.seen[(seq % SEEN) >> 6] |= (<uint64_t>1) << (seq & 63)
        h.stats[S_RECEIVED] += 1
        h.stats[S_EXPECTED] = (h.expected_done + <int64_t>h.cycles + h.max_seq
                               - <int64_t>h.base_seq + 1)

        if src != NULL and h.symmetric and (
                srclen != h.remote_len or memcmp(src, &h.remote, srclen) != 0):
            memcpy(&h.remote, src, srclen)
            h.remote_len = srclen
            h.stats[S_LATCHES] += 1

        if pt == h.te_pt:
            self._event(c, h, p + hdr, ts)
            return

        # RFC 3550 A.8, in timestamp units; arrival counted at 8 kHz.
        transit = <int32_t>(<uint32_t>(arrival_ns // 125000) - ts)
        if h.have_transit:
            d = transit - h.transit
            if d < 0:
                d = -d
            h.stats[S_JITTER] += d - ((h.stats[S_JITTER] + 8) >> 4)
        h.transit = transit
        h.have_transit = True

        h.win_packets += 1
        if lead < h.win_min:
            h.win_min = lead
        if lead + payload <= 0:
            h.stats[S_LATE] += 1
            return
        dec = self.dec_a if h.alaw else self.dec_u
        first = -lead if lead < 0 else 0
        for i in range(first, payload):
            slot = (ts + i) & MASK
            h.ring[slot] = dec[p[hdr + i]]
            h.filled[slot] = 1
        if <int32_t>(ts + payload - h.newest_end) > 0:
            h.newest_end = ts + payload

    cdef void _advance_seen(self, Chan* h, uint16_t seq) noexcept nogil:
        cdef uint16_t s = h.max_seq
        if <uint16_t>(seq - s) >= SEEN:
            memset(h.seen, 0, sizeof(h.seen))
        else:
            while s != seq:
                s += 1
                h.seen[(s % SEEN) >> 6] &= ~((<uint64_t>1) << (s & 63))
        h.max_seq = seq

    cdef void _emit(self, int c, int code, int64_t start, int64_t end) noexcept nogil:
        # end: INT64_MIN (NO_END) while the key is held
        if self.nevents >= self.events.shape[0]:
            self.ch[c].stats[S_EVENTS_LOST] += 1
            return
        self.events[self.nevents, 0] = c
        self.events[self.nevents, 1] = code
        self.events[self.nevents, 2] = start
        self.events[self.nevents, 3] = end
        self.nevents += 1

    cdef void _event(self, int c, Chan* h, const uint8_t* e, uint32_t ts) noexcept nogil:
        """RFC 4733: one event per timestamp; its end packets count once."""
        cdef int code = e[0]
        cdef bint end = e[1] & 0x80
        cdef int duration = _be16(e + 2)
        if code > 15:
            return
        if h.rev_state and ts == h.rev_ts:
            if h.rev_state == 2:
                return
            if duration > h.rev_dur:
                h.rev_dur = duration
            if end:
                self._emit(c, h.rev_code, h.rev_start, h.rev_start + h.rev_dur)
                h.rev_state = 2
            return
        if h.rev_state and <int32_t>(ts - h.rev_ts) < 0:
            return
        if h.rev_state == 1:
            self._emit(c, h.rev_code, h.rev_start, h.rev_start + h.rev_dur)
        h.rev_ts = ts
        h.rev_code = code
        h.rev_dur = duration
        h.rev_start = h.played + h.insert_left + <int32_t>(ts - h.play_ts)
        self._emit(c, code, h.rev_start, INT64_MIN)
        if end:
            self._emit(c, code, h.rev_start, h.rev_start + duration)
            h.rev_state = 2
        else:
            h.rev_state = 1

    cdef void _rtcp(self, int c, const uint8_t* p, int n, int64_t arrival_ns) noexcept nogil:
        """RFC 3550 §6.4: keep the SR's time for our DLSR; an RR/SR block about our SSRC
        gives the round trip: arrival - LSR - DLSR."""
        cdef Chan* h = &self.ch[c]
        cdef int off = 0, plen, count, pt, first, i, b
        cdef uint32_t now = _ntp_compact(arrival_ns), lsr, dlsr, rtt
        if n < 8 or (p[1] != 200 and p[1] != 201):
            h.stats[S_RTCP_BAD] += 1
            return
        while off < n:
            if n - off < 4 or (p[off] >> 6) != 2:
                h.stats[S_RTCP_BAD] += 1
                return
            plen = (_be16(p + off + 2) + 1) * 4
            if plen > n - off:
                h.stats[S_RTCP_BAD] += 1
                return
            count = p[off] & 0x1F
            pt = p[off + 1]
            first = 0
            if pt == 200:
                first = 28
                if plen < 28:
                    h.stats[S_RTCP_BAD] += 1
                    return
                h.peer_lsr = (_be32(p + off + 8) << 16) | (_be32(p + off + 12) >> 16)
                h.peer_sr_at = now
            elif pt == 201:
                first = 8
            if first:
                if first + 24 * count > plen:
                    h.stats[S_RTCP_BAD] += 1
                    return
                for i in range(count):
                    b = off + first + 24 * i
                    if _be32(p + b) != h.tx_ssrc:
                        continue
                    lsr = _be32(p + b + 16)
                    dlsr = _be32(p + b + 20)
                    rtt = now - lsr - dlsr
                    if lsr and <int32_t>rtt >= 0:
                        h.stats[S_RTT] = rtt
            off += plen

    # -- playout ---------------------------------------------------------------------------

    cdef inline int16_t _conceal(self, Chan* h) noexcept nogil:
        cdef int32_t v = 0
        if h.lost_run < FADE:
            v = h.hist[(h.hidx + h.lost_run) % HIST] * (FADE - h.lost_run) // FADE
            h.lost_run += 1
        h.stats[S_CONCEALED] += 1
        return <int16_t>v

    cdef void _adjust(self, Chan* h) noexcept nogil:
        """Once per WINDOW samples: keep the earliest lead seen near the target depth."""
        cdef int32_t k, room
        cdef int i
        if h.win_packets:
            if h.win_min < h.target - SLACK:
                k = h.target - h.win_min
                room = h.target + 10 * STEP - <int32_t>(h.newest_end - h.play_ts)
                if k > STEP:
                    k = STEP
                if k > room:
                    k = room
                if k > 0:
                    h.insert_left += k
                    h.stats[S_INSERTED] += k
            elif h.win_min > h.target + SLACK:
                k = h.win_min - h.target
                if k > STEP:
                    k = STEP
                for i in range(k):
                    h.filled[(h.play_ts + i) & MASK] = 0
                h.play_ts += k
                h.stats[S_DROPPED] += k
        h.win_min = 0x7FFFFFFF
        h.win_packets = 0

    cdef void _read(self, Chan* h, int16_t* out, int n) noexcept nogil:
        cdef int i
        cdef uint32_t slot
        cdef int16_t v
        if not (h.is_open and h.recv_on and h.synced):
            memset(out, 0, n * sizeof(int16_t))
            if h.is_open:
                h.played += n
            return
        for i in range(n):
            if h.insert_left:
                h.insert_left -= 1
                v = self._conceal(h)
            else:
                slot = h.play_ts & MASK
                if h.filled[slot]:
                    v = h.ring[slot]
                    h.filled[slot] = 0
                    h.hist[h.hidx] = v
                    h.hidx = (h.hidx + 1) % HIST
                    h.lost_run = 0
                else:
                    v = self._conceal(h)
                h.play_ts += 1
            out[i] = v
            h.played += 1
            if h.played % WINDOW == 0:
                self._adjust(h)

    # -- sending ---------------------------------------------------------------------------

    cdef void _write(self, Chan* h, const int16_t* x, int n) noexcept nogil:
        cdef int take, done = 0
        if not h.is_open:
            return
        while done < n:
            take = h.ptime - h.npend
            if take > n - done:
                take = n - done
            memcpy(&h.pend[h.npend], &x[done], take * sizeof(int16_t))
            h.npend += take
            done += take
            if h.npend == h.ptime:
                self._packet_out(h)
                h.npend = 0
                h.tx_ts += h.ptime

    cdef void _packet_out(self, Chan* h) noexcept nogil:
        cdef uint8_t* q = self.packet
        cdef const uint8_t* enc = self.enc_a if h.alaw else self.enc_u
        cdef int i, length
        cdef bint marker
        cdef uint32_t ts = h.tx_ts
        if not h.send_on or h.remote_len == 0:
            h.tx_marker = True
            return
        if h.ev_code < 0 and h.dq_count and h.gap <= 0:
            h.ev_code = h.dq_code[h.dq_head]
            h.ev_total = h.dq_len_samples[h.dq_head]
            h.dq_head = (h.dq_head + 1) % DIGIT_QUEUE
            h.dq_count -= 1
            h.ev_dur = 0
            h.ev_ends = 0
            h.ev_ts = h.tx_ts
        if h.ev_code >= 0:
            marker = h.ev_dur == 0
            ts = h.ev_ts
            if h.ev_dur < h.ev_total:
                h.ev_dur += h.ptime
                if h.ev_dur > h.ev_total:
                    h.ev_dur = h.ev_total
            q[12] = h.ev_code
            q[13] = EVENT_VOLUME
            if h.ev_dur == h.ev_total:
                q[13] |= 0x80
                h.ev_ends += 1
            q[14] = h.ev_dur >> 8
            q[15] = h.ev_dur & 0xFF
            q[1] = h.te_pt | (0x80 if marker else 0)
            length = 16
            if h.ev_ends == END_PACKETS:
                h.ev_code = -1
                h.gap = DIGIT_GAP
        else:
            if h.gap > 0:
                h.gap -= h.ptime
            for i in range(h.ptime):
                q[12 + i] = enc[<uint16_t>h.pend[i]]
            q[1] = h.pt | (0x80 if h.tx_marker else 0)
            h.tx_marker = False
            length = 12 + h.ptime
        q[0] = 0x80
        q[2] = h.tx_seq >> 8
        q[3] = h.tx_seq & 0xFF
        _put32(q + 4, ts)
        _put32(q + 8, h.tx_ssrc)
        h.tx_seq += 1
        if sendto(h.fd, q, length, MSG_DONTWAIT, <sockaddr*>&h.remote, h.remote_len) < 0:
            h.stats[S_SEND_ERRORS] += 1
        else:
            h.stats[S_SENT] += 1
            h.stats[S_SENT_OCTETS] += length - 12
