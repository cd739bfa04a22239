"""RTP media: what one tick of hw/sip/rtp.py costs per channel, on loopback sockets.

Two engines of N channels talk pairwise over 127.0.0.1. Each tick engine A sends a 20 ms
packet on every channel; then engine B does what the media loop does: ``receive`` (drain
every socket, parse, jitter buffer), ``read`` (playout, G.711 decode), ``write`` (encode,
one ``sendto`` per packet, which on loopback includes delivering it to A's socket). B's
three calls are timed together (wall time, median of the ticks). Beside it, the same work
done the way a per-packet Python stack does it at best (one ``recv_into``, a ``struct``
header parse, a NumPy decode, a NumPy encode and one ``sendto`` per channel per tick, no
jitter buffer, no asyncio): a floor under what aiortc's per-packet Python costs.
"""

import socket
import struct
import time

import numpy as np

from branchline.dsp import alaw_decode, alaw_encode
from branchline.hw.sip.rtp import RtpEngine

FRAME = 160
TICKS = 150
SIZES = (1, 100, 500, 1000)


def _ours(n):
    a, b = RtpEngine(n), RtpEngine(n)
    try:
        for c in range(n):
            pa, pb = a.open(c), b.open(c)
            a.set_remote(c, pb)
            b.set_remote(c, pa)
        t = np.arange(TICKS * FRAME)
        tone = (6000 * np.sin(2 * np.pi * 697 * t / 8000)).astype(np.int16)
        tx = np.zeros((n, FRAME), np.int16)
        rx = np.zeros((n, FRAME), np.int16)
        times = []
        for k in range(TICKS):
            tx[:] = tone[k * FRAME:(k + 1) * FRAME]
            a.write(tx)
            start = time.perf_counter()
            b.receive()
            b.read(rx)
            b.write(tx)
            times.append(time.perf_counter() - start)
            a.receive()
        received = sum(b.stats(c).received for c in range(n))
        assert received == n * TICKS, (received, n * TICKS)
        return float(np.median(times[10:]))
    finally:
        for engine in (a, b):
            for c in range(n):
                if engine._open[c] is not None:
                    engine.close(c)


def _python_per_packet(n):
    socks_a = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    socks_b = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks_a + socks_b:
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        addr_a = [s.getsockname() for s in socks_a]
        addr_b = [s.getsockname() for s in socks_b]
        header = struct.Struct("!BBHII")
        payload = alaw_encode(np.zeros(FRAME, np.int16)).tobytes()
        buf = bytearray(2048)
        times = []
        for k in range(TICKS):
            packet = header.pack(0x80, 8, k, k * FRAME, 1) + payload
            for c in range(n):
                socks_a[c].sendto(packet, addr_b[c])
            start = time.perf_counter()
            for c in range(n):
                size = socks_b[c].recv_into(buf)
                _, pt, seq, ts, ssrc = header.unpack_from(buf)
                decoded = alaw_decode(np.frombuffer(buf, np.uint8, size - 12, 12))
                reply = alaw_encode(decoded)
                socks_b[c].sendto(header.pack(0x80, pt, seq, ts, ssrc) + reply.tobytes(),
                                  addr_a[c])
            times.append(time.perf_counter() - start)
            for c in range(n):
                socks_a[c].recv_into(buf)
        return float(np.median(times[10:]))
    finally:
        for s in socks_a + socks_b:
            s.close()


def run():
    rows = []
    for n in SIZES:
        ours = _ours(n)
        theirs = _python_per_packet(n)
        per = ours / n * 1e6
        rows.append(f"| {n:,} | {ours * 1e3:.3f} | {per:.1f} | {0.020 / (ours / n):,.0f} | "
                    f"{ours / 0.020 * 100:.1f} % | {theirs / n * 1e6:.1f} | "
                    f"{theirs / ours:.1f}x |")
    return "\n".join([
        "## RTP media (hw/sip/rtp.py)",
        "",
        "| channels | tick ms | µs per channel | channels per core (20 ms) | of the 20 ms "
        "budget | per-packet Python µs per channel | Python / ours |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"One tick of one engine: `receive` + `read` + `write` for every channel (one 20 ms "
        f"G.711 packet in and one out per channel, loopback sockets, the send including the "
        f"kernel's delivery to the peer socket), median of {TICKS - 10} ticks, wall time, "
        "single thread. Channels per core is 20 ms over the cost per channel, the RTP path "
        "alone (the loop's DSP, IVR and ACD come on top). The Python column does only a "
        "recv, a header parse, a decode, an encode and a send per channel: no jitter buffer, "
        "no sequence checks, no asyncio, so it is a floor under what a per-packet Python "
        "stack such as aiortc's costs.",
    ])
