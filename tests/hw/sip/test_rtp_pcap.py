"""The pcap of RFC 4733 keys that SIPp plays (tests/support/rtp_pcap.py), read back field by
field: what RFC 4733 asks of an event's packets, and frames a pcap reader takes."""

import struct

from rtp_pcap import SSRC, write_key_pcaps, write_keys_pcap


def _read(path):
    data = path.read_bytes()
    assert struct.unpack("<IHHiIII", data[:24]) == (0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    at, packets = 24, []
    while at < len(data):
        sec, usec, size, orig = struct.unpack("<IIII", data[at:at + 16])
        frame = data[at + 16:at + 16 + size]
        assert size == orig and frame[12:14] == b"\x08\x00"
        ip = frame[14:34]
        words = sum(struct.unpack("!10H", ip))
        assert (words & 0xFFFF) + (words >> 16) == 0xFFFF  # the header checksum holds
        assert ip[9] == 17 and struct.unpack("!H", ip[2:4])[0] == len(frame) - 14
        packets.append((sec + usec / 1e6, frame[42:]))
        at += 16 + size
    return packets


def test_each_digit_is_one_event_with_its_end_three_times(tmp_path):
    write_keys_pcap(tmp_path / "keys.pcap", "1#", length=0.06, gap=0.5)
    packets = _read(tmp_path / "keys.pcap")
    rows = []
    for when, rtp in packets:
        flags, marker_pt, seq, ts, ssrc = struct.unpack("!BBHII", rtp[:12])
        event, end_volume, duration = struct.unpack("!BBH", rtp[12:])
        assert (flags, ssrc, marker_pt & 0x7F, end_volume & 0x3F) == (0x80, SSRC, 101, 10)
        rows.append((round(when, 3), marker_pt >> 7, seq, ts, event, end_volume >> 7, duration))
    seq0, ts0 = rows[0][2], rows[0][3]
    assert [(w, m, s - seq0, t - ts0, e, end, d) for w, m, s, t, e, end, d in rows] == [
        (0.0, 1, 0, 0, 1, 0, 160), (0.02, 0, 1, 0, 1, 0, 320), (0.04, 0, 2, 0, 1, 1, 480),
        (0.06, 0, 3, 0, 1, 1, 480), (0.08, 0, 4, 0, 1, 1, 480),
        (0.56, 1, 5, 4480, 11, 0, 160), (0.58, 0, 6, 4480, 11, 0, 320),
        (0.6, 0, 7, 4480, 11, 1, 480), (0.62, 0, 8, 4480, 11, 1, 480),
        (0.64, 0, 9, 4480, 11, 1, 480)]


def test_one_pcap_a_digit_carries_one_stream_on_from_file_to_file(tmp_path):
    """SIPp plays them in turn: each file starts at its own time 0, and the sequence numbers
    and timestamps go on where the previous file left off, as one sender's would."""
    assert write_key_pcaps(tmp_path, "1#", length=0.06, gap=0.5) == ["key0.pcap", "key1.pcap"]
    whole = tmp_path / "whole"
    whole.mkdir()
    write_keys_pcap(whole / "keys.pcap", "1#", length=0.06, gap=0.5)
    first, second = _read(tmp_path / "key0.pcap"), _read(tmp_path / "key1.pcap")
    assert [round(w, 3) for w, _ in second] == [0.0, 0.02, 0.04, 0.06, 0.08]
    assert [rtp for _, rtp in first + second] == [rtp for _, rtp in _read(whole / "keys.pcap")]
