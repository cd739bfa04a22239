"""G.711 kernels: table look-up over flat buffers, without the GIL.

The tables are built once at import from the companding rules of ITU-T G.711 (A-law: 13-bit
magnitude, even-bit inversion 0x55; u-law: 14-bit magnitude, bias 33, all bits inverted), so a
16-bit sample is one look-up in a 64 Ki table and a code one look-up in a 256 table.
"""

from libc.stdint cimport int16_t, int32_t, uint8_t, uint16_t
from libc.stddef cimport size_t

cdef uint8_t ALAW_ENC[65536]
cdef uint8_t ULAW_ENC[65536]
cdef int16_t ALAW_DEC[256]
cdef int16_t ULAW_DEC[256]


cdef uint8_t _alaw_code(int32_t x):
    # G.711 A-law works on 13 bits: drop the 3 low bits of the 16-bit sample (floor).
    cdef int32_t v = x >> 3
    cdef uint8_t mask
    cdef int32_t seg = 0
    if v >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        v = -v - 1
    while seg < 8 and v > (0x20 << seg) - 1:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    if seg < 2:
        return ((seg << 4) | ((v >> 1) & 0x0F)) ^ mask
    return ((seg << 4) | ((v >> seg) & 0x0F)) ^ mask


cdef uint8_t _ulaw_code(int32_t x):
    # G.711 u-law works on 14 bits: drop the 2 low bits, clip the magnitude at 8159, add the
    # bias 33 so that the segment ends fall on powers of two.
    cdef int32_t v = x >> 2
    cdef uint8_t mask
    cdef int32_t seg = 0
    if v < 0:
        v = -v
        mask = 0x7F
    else:
        mask = 0xFF
    if v > 8159:
        v = 8159
    v += 33
    while seg < 8 and v > (0x40 << seg) - 1:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((v >> (seg + 1)) & 0x0F)) ^ mask


cdef int16_t _alaw_value(uint8_t code):
    cdef int32_t a = code ^ 0x55
    cdef int32_t t = (a & 0x0F) << 4
    cdef int32_t seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    else:
        t = (t + 0x108) << (seg - 1)
    return <int16_t>(t if a & 0x80 else -t)


cdef int16_t _ulaw_value(uint8_t code):
    cdef int32_t u = (~code) & 0xFF
    cdef int32_t t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return <int16_t>((0x84 - t) if u & 0x80 else (t - 0x84))


cdef void _build_tables() noexcept:
    cdef int32_t i
    for i in range(65536):
        ALAW_ENC[i] = _alaw_code(<int16_t>(<uint16_t>i))
        ULAW_ENC[i] = _ulaw_code(<int16_t>(<uint16_t>i))
    for i in range(256):
        ALAW_DEC[i] = _alaw_value(<uint8_t>i)
        ULAW_DEC[i] = _ulaw_value(<uint8_t>i)


_build_tables()


cdef void _encode(const int16_t* x, uint8_t* out, size_t n, const uint8_t* table) noexcept nogil:
    cdef size_t i
    for i in range(n):
        out[i] = table[<uint16_t>x[i]]


cdef void _decode(const uint8_t* c, int16_t* out, size_t n, const int16_t* table) noexcept nogil:
    cdef size_t i
    for i in range(n):
        out[i] = table[c[i]]


def encode(const int16_t[::1] x, uint8_t[::1] out, bint alaw):
    """Encode the flat int16 buffer x into out (same length)."""
    cdef size_t n = x.shape[0]
    if n == 0:
        return
    cdef const uint8_t* table = &ALAW_ENC[0] if alaw else &ULAW_ENC[0]
    with nogil:
        _encode(&x[0], &out[0], n, table)


def decode(const uint8_t[::1] c, int16_t[::1] out, bint alaw):
    """Decode the flat code buffer c into out (same length)."""
    cdef size_t n = c.shape[0]
    if n == 0:
        return
    cdef const int16_t* table = &ALAW_DEC[0] if alaw else &ULAW_DEC[0]
    with nogil:
        _decode(&c[0], &out[0], n, table)
