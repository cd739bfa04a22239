"""RFC 4733 keys as a pcap file for SIPp's ``play_pcap_audio``, written with the stdlib.

    write_keys_pcap(path, "3*2")   # digits 100 ms long, 400 ms apart

Each packet is Ethernet / IPv4 / UDP / RTP (payload type ``payload_type``, one SSRC) with a
telephone-event payload (RFC 4733 §2.3). One digit is one event: its packets share the
timestamp of its start, the first carries the marker bit, the duration grows by a 20 ms
packet at a time and the end packet (E bit) is sent three times (§2.5.1.4); the sequence
number goes up by one per packet across the whole file. The pcap's packet times are when the
packets are due: SIPp sends the first at once and the rest at their offsets from it. The
addresses and ports in the file are placeholders; SIPp sends the payloads from its media port
to the peer's. Sequence numbers and timestamps wrap as RTP's do.
"""

from __future__ import annotations

import struct

__all__ = ["EVENTS", "SSRC", "keys_packets", "write_key_pcaps", "write_keys_pcap", "write_pcap"]

EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11, "A": 12, "B": 13, "C": 14,
          "D": 15}  # RFC 4733 §3.2
RATE = 8000
PACKET = 0.02  # seconds of event per packet
VOLUME = 10  # -10 dBm0, as DTMF senders commonly send
_ENDS = 3  # the end packet, repeated for loss (RFC 4733 §2.5.1.4)
_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)  # LINKTYPE_ETHERNET
_MACS = bytes(6) + bytes.fromhex("020000000001")
SSRC = 0x4B455953
_FIRST_SEQ, _FIRST_TS = 1000, 160000  # arbitrary, as a sender's random start would be


def keys_packets(digits, *, length=0.1, gap=0.4, payload_type=101):
    """[(send time in seconds, RTP packet bytes)] for ``digits``."""
    packets = []
    seq, at = _FIRST_SEQ, 0.0
    steps = round(length / PACKET)
    for digit in digits:
        event = EVENTS[digit]
        timestamp = (_FIRST_TS + round(at * RATE)) & 0xFFFFFFFF
        for step in range(1, steps + _ENDS):
            end = step >= steps
            duration = min(step, steps) * round(PACKET * RATE)
            header = struct.pack("!BBHII", 0x80, (0x80 if step == 1 else 0) | payload_type,
                                 seq & 0xFFFF, timestamp, SSRC)
            body = struct.pack("!BBH", event, (0x80 if end else 0) | VOLUME, duration)
            packets.append((at + (step - 1) * PACKET, header + body))
            seq += 1
        at += length + gap
    return packets


def write_keys_pcap(path, digits, **options) -> None:
    """Write ``keys_packets(digits, **options)`` to ``path`` as a pcap (Ethernet, IPv4, UDP)."""
    write_pcap(path, keys_packets(digits, **options))


def write_key_pcaps(directory, digits, **options) -> list[str]:
    """One pcap a digit, ``key0.pcap``, ``key1.pcap``, ... in ``directory``: the packets of
    ``keys_packets(digits, **options)``, each file's times from its own first packet, so a
    scenario that plays them in turn sends one stream (sequence numbers and timestamps go
    on from file to file). Returns the file names."""
    packets = keys_packets(digits, **options)
    per_digit = len(packets) // len(digits)
    names = []
    for i in range(len(digits)):
        mine = packets[i * per_digit:(i + 1) * per_digit]
        names.append(f"key{i}.pcap")
        write_pcap(f"{directory}/{names[-1]}", [(at - mine[0][0], rtp) for at, rtp in mine])
    return names


def write_pcap(path, packets) -> None:
    """[(send time in seconds, RTP packet bytes)] to ``path`` (Ethernet, IPv4, UDP)."""
    with open(path, "wb") as out:
        out.write(_PCAP_HEADER)
        for at, rtp in packets:
            frame = _MACS + b"\x08\x00" + _ipv4_udp(rtp)
            micros = round(at * 1e6)
            out.write(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000,
                                  len(frame), len(frame)))
            out.write(frame)


def _ipv4_udp(payload, source=(127, 0, 0, 1), destination=(127, 0, 0, 1), ports=(6000, 6002)):
    udp = struct.pack("!HHHH", *ports, 8 + len(payload), 0) + payload  # checksum 0: none
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                         bytes(source), bytes(destination))
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + udp


def _checksum(data):
    """The ones' complement sum of RFC 791 §3.1 over ``data``."""
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
