"""Probing: which serial devices may be boards, and what a board says it is."""

import json

from serial.tools.list_ports_common import ListPortInfo

from branchline.hw.emulator import BoardEmulator, EmulatorThread
from branchline.hw.emulator.pty import PtyCable
from branchline.hw.probe import BOARD_USB_IDS, probe, probe_board, usb_candidates


def _usb(device, vid, pid, serial_number="X1"):
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, serial_number
    info.description = f"usb {vid:04x}:{pid:04x}"
    return info


def test_only_devices_with_a_boards_usb_id_are_candidates():
    ports = [_usb("/dev/ttyACM0", 0x0483, 0x5740), _usb("/dev/ttyUSB0", 0x1A86, 0x7523),
             _usb("/dev/ttyUSB1", 0x067B, 0x2303),  # a Prolific cable: not ours
             ListPortInfo("/dev/ttyS0", skip_link_detection=True)]  # no USB at all
    found = usb_candidates(ports)
    assert [f["device"] for f in found] == ["/dev/ttyACM0", "/dev/ttyUSB0"]
    assert found[0]["vid"] == "0483" and found[0]["pid"] == "5740"
    assert found[0]["what"] == BOARD_USB_IDS[(0x0483, 0x5740)]
    assert found[1]["usb_serial"] == "X1"


def test_probing_an_emulator_url_reports_firmware_ports_and_line_state():
    [result] = probe(["boardemu://?trunks=2&stations=1&serial_number=BR-0042"], usb=False)
    assert result["connected"] and result["error"] is None
    assert (result["firmware"], result["serial_number"]) == ("boardemu-1.0", "BR-0042")
    ports = result["ports"]
    assert [(p["name"], p["kind"], p["in_service"]) for p in ports] == [
        ("fxo1", "fxo", True), ("fxo2", "fxo", True), ("fxs1", "fxs", True)]
    assert ports[0]["line"] == {"present": True, "loop_current_ma": 0.0, "voltage_v": 48.0}
    assert ports[2]["line"] is None  # a station has no exchange line


def test_probing_a_device_path_with_a_board_behind_it(tmp_path):
    # The emulator on its own thread behind a real pty: to the probe, a board on a device.
    cable = PtyCable(tmp_path, "ttyBOARD")
    thread = EmulatorThread(BoardEmulator(1, 1, seed=2, serial_number="BR-7"), cable).start()
    try:
        result = probe_board(str(cable.path), timeout_s=10.0)
    finally:
        thread.stop()
        cable.close()
    assert thread.failure is None
    assert result["connected"], result["error"]
    assert result["serial_number"] == "BR-7" and len(result["ports"]) == 2


def test_a_device_that_is_not_there_is_reported_not_raised(tmp_path):
    result = probe_board(str(tmp_path / "ttyNOTHING"), timeout_s=0.2)
    assert not result["connected"]
    assert "no handshake within 0.2 s (connecting)" in result["error"]


def test_a_bad_url_is_reported_with_the_forms():
    [result] = probe(["boardemu://?trunks=0"], usb=False)
    assert not result["connected"]
    assert "parameter trunks='0': expected 1-64" in result["error"]


def test_usb_boards_are_probed_as_serial_urls(tmp_path):
    [result] = probe(comports=[_usb(str(tmp_path / "gone"), 0x10C4, 0xEA60)], timeout_s=0.1)
    assert result["source"] == "usb" and result["url"] == f"serial://{tmp_path / 'gone'}"
    assert result["usb"]["pid"] == "ea60" and not result["connected"]


def test_the_command_lists_the_configured_board_and_the_boards_probed(tmp_path, capsys):
    from branchline.firmware.cli.main import main

    code = main(["probe", "--data", str(tmp_path), "--no-usb",
                 "boardemu://?trunks=1&stations=1&serial_number=BR-1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "configured board: driver sim" in out
    assert "firmware boardemu-1.0, serial number BR-1, 2 ports" in out
    assert "fxo1   fxo  in service  line: 48.0 V, 0.0 mA" in out
    code = main(["probe", "--data", str(tmp_path), "--no-usb", "--json", "nonsense://x"])
    [result] = json.loads(capsys.readouterr().out)
    assert code == 1 and "unknown kind of board 'nonsense'" in result["error"]
