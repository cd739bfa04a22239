"""The driver's serial line: non-blocking reads, bounded writes, pyserial errors mapped."""

import os
import select
import tty

import pytest
import serial

from branchline.hw.ports import BoardLinkError
from branchline.hw.serial.transport import TX_LIMIT_BYTES, SerialTransport


def test_a_missing_device_is_a_board_link_error(tmp_path):
    path = str(tmp_path / "ttyGONE")
    with pytest.raises(BoardLinkError, match=r"SerialException: .*ttyGONE") as info:
        SerialTransport.open(serial.serial_for_url, path, 921600)
    assert isinstance(info.value.__cause__, serial.SerialException)


def test_loop_reads_what_was_written_and_never_waits():
    line = SerialTransport.open(serial.serial_for_url, "loop://", 921600)
    assert line.read() == b""
    line.send(b"\x02\x10\x00")
    line.send(b"\x01\x00")
    line.flush()
    assert line.read() == b"\x02\x10\x00\x01\x00"
    line.close()
    with pytest.raises(BoardLinkError, match="PortNotOpenError"):
        line.read()


def test_the_queue_is_capped_by_dropping_the_oldest_frames():
    line = SerialTransport.open(serial.serial_for_url, "loop://", 921600)
    frame = bytes(170)
    dropped = sum(line.send(frame) for _ in range(200))
    assert dropped == 200 - TX_LIMIT_BYTES // 170
    line.close()


def test_a_pty_that_is_not_read_keeps_the_rest_for_later():
    master, slave = os.openpty()
    tty.setraw(master)
    line = SerialTransport.open(serial.serial_for_url, os.ttyname(slave), 921600)
    try:
        for _ in range(200):  # far more than the pty buffers: flush must not block
            line.send(bytes(range(1, 171)))
            line.flush()
        got = bytearray()
        while select.select([master], [], [], 0)[0]:
            got += os.read(master, 65536)
        assert 0 < len(got) < 200 * 170
        line.flush()  # room again: more goes out
        more = os.read(master, 65536) if select.select([master], [], [], 5)[0] else b""
        assert more
    finally:
        line.close()
        os.close(master)
        os.close(slave)


def test_a_closed_pty_fails_the_read():
    master, slave = os.openpty()
    line = SerialTransport.open(serial.serial_for_url, os.ttyname(slave), 921600)
    os.close(master)
    try:
        with pytest.raises(BoardLinkError):
            line.read()
    finally:
        line.close()
        os.close(slave)
