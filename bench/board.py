"""The board link: protocol encoder/decoder frames per second, and the serial driver's CPU per
port over a real pseudo-terminal with every port's audio flowing both ways."""

import os
import select
import time
import tty

import numpy as np
import serial

from bench import best_of
from branchline.hw.protocol.endpoint import (
    Ack,
    Audio,
    Endpoint,
    Heartbeat,
    Hello,
    HelloReply,
    InventoryKind,
    is_command,
)
from branchline.hw.serial.board import SerialBoard

FRAMES = 20_000
REPEATS = 5
PORTS = 8
TICKS = 500  # 10 s of audio
LINE_PORTS = 35  # what a 3 Mbaud UART carries (docs/board-protocol.md)
WAIT_S = 5.0


def _codec():
    payload = bytes(np.random.default_rng(1).integers(0, 256, 160, dtype=np.uint8))
    messages = [Audio(i % PORTS, i & 0xFFFF, payload) for i in range(FRAMES)]
    sender = Endpoint()
    wire = b"".join(sender.send(m) for m in messages)
    chunks = [wire[i:i + 4096] for i in range(0, len(wire), 4096)]

    def encode():
        endpoint = Endpoint()
        for m in messages:
            endpoint.send(m)

    def decode():
        endpoint = Endpoint()
        for chunk in chunks:
            endpoint.receive_data(chunk)

    return FRAMES / best_of(REPEATS, encode), FRAMES / best_of(REPEATS, decode), len(wire) / FRAMES


class _Board:
    """The board side: handshake, acks, heartbeats, one Audio frame per port per tick."""

    def __init__(self):
        self.endpoint = Endpoint()
        self.codes = bytes([0xD5]) * 160
        self.seq = 0

    def receive(self, data):
        out = bytearray()
        for item in self.endpoint.receive_data(data):
            if isinstance(item.message, Hello):
                out += self.endpoint.send(HelloReply(1, "bench", "BENCH", (
                    (InventoryKind.FXO, PORTS),)))
            elif is_command(item.message):
                out += self.endpoint.send(Ack(item.seq, 0))
        return bytes(out)

    def tick(self, tick):
        out = bytearray()
        for port in range(PORTS):
            out += self.endpoint.send(Audio(port, self.seq, self.codes))
        if tick % 25 == 0:
            out += self.endpoint.send(Heartbeat(tick * 20))
        self.seq = (self.seq + 1) & 0xFFFF
        return bytes(out)


def _driver():
    master, slave = os.openpty()
    tty.setraw(master)
    opened = []

    def factory(url, **kwargs):
        opened.append(serial.serial_for_url(url, **kwargs))
        return opened[-1]

    board = SerialBoard(os.ttyname(slave), serial_factory=factory)
    side = _Board()
    block = np.zeros((PORTS, 160), np.int16)
    host_s = 0.0

    def exchange(payload):
        pending = bytearray()
        while True:
            ready, _, _ = select.select([master], [], [], 0)
            if not ready:
                break
            pending += os.read(master, 1 << 16)
        reply = side.receive(bytes(pending)) + payload
        if reply:
            os.write(master, reply)
            fd = opened[-1].fileno()
            while opened[-1].in_waiting < len(reply):
                ready, _, _ = select.select([fd], [], [], WAIT_S)
                if not ready:
                    raise RuntimeError("the pty stopped moving bytes")

    try:
        now = 0.0
        for _ in range(50):  # handshake and answering, not timed
            board.tick(now)
            exchange(b"")
            now += 0.02
            if board.connected:
                break
        for port in range(PORTS):
            board.answer(port)
        for tick in range(TICKS):
            exchange(side.tick(tick))
            start = time.perf_counter()
            board.tick(now)
            board.read_block()
            board.write_block(block)
            host_s += time.perf_counter() - start
            now += 0.02
        lost = board.counters["audio_lost"]
    finally:
        board.close()
        os.close(master)
        os.close(slave)
    return host_s / TICKS, lost


def run():
    encode_fps, decode_fps, wire_bytes = _codec()
    per_tick, lost = _driver()
    per_port = per_tick / PORTS
    line_fps = LINE_PORTS * 50
    rows = [
        f"| protocol encoder (Endpoint.send, Audio frames) | {encode_fps:,.0f} frames/s | "
        f"{1e6 / encode_fps:.1f} µs/frame | {encode_fps / line_fps:.0f}x |",
        f"| protocol decoder (Endpoint.receive_data, 4 KB reads) | {decode_fps:,.0f} frames/s | "
        f"{1e6 / decode_fps:.1f} µs/frame | {decode_fps / line_fps:.0f}x |",
    ]
    return "\n".join([
        "## Board link",
        "",
        "| path | throughput | cost | vs a full 3 Mbaud line |",
        "|---|---:|---:|---:|",
        *rows,
        "",
        "| SerialBoard over a pty, audio both ways | per 20 ms tick | per port per tick | "
        "CPU per port | ports per core |",
        "|---|---:|---:|---:|---:|",
        f"| {PORTS} FXO ports off hook | {per_tick * 1e6:,.0f} µs | {per_port * 1e6:,.1f} µs | "
        f"{per_port / 0.02 * 100:.2f} % | {0.02 / per_port:,.0f} |",
        "",
        f"Encoder and decoder: {FRAMES:,} Audio frames ({wire_bytes:.0f} bytes each on the "
        f"wire: COBS, CRC-16, delimiter) through one `Endpoint`, best of {REPEATS}, single "
        f"thread, `time.perf_counter`; the last column compares with the {line_fps:,} frames/s "
        f"a 3 Mbaud UART carries ({LINE_PORTS} ports, one direction). Driver: `SerialBoard` on a "
        f"real pseudo-terminal with a board stub in the same thread sending {PORTS} ports' "
        f"audio and a heartbeat, {TICKS} ticks (10 s of audio) in lockstep; timed are the "
        "host's `tick` (read, parse, jitter buffers, heartbeats), `read_block` (playout, "
        "A-law decode) and `write_block` (A-law encode, framing, the write), not the board "
        f"stub or the waits for the kernel. Frames concealed during the run: {lost}.",
    ])
