"""Finding boards: USB serial devices by vendor/product id, and what each board says it is.

``usb_candidates(comports=None)`` lists the serial devices whose USB vendor/product id is one a
Branchline board shows up as (``BOARD_USB_IDS``, via ``serial.tools.list_ports``).
``probe_board(url, ...)`` opens a board URL (hw/boards.py), runs the handshake and returns
what the board reported; ``probe(urls, ...)`` does both. Results are plain dicts, for the CLI
and the web page's System view::

    {"url": ..., "source": "usb" | "given", "usb": {"vid": "0483", "pid": "5740", ...} | None,
     "connected": bool, "firmware": str | None, "serial_number": str | None,
     "ports": [{"index", "name", "kind", "in_service", "line": {...} | None}, ...],
     "error": None | "what went wrong"}

Time: ``probe_board`` ticks the board every 20 ms until it is connected or ``timeout_s``
passes. A board behind a real device is paced by ``pace`` (default: the wall clock); a
``boardemu://`` URL runs in lockstep on a virtual clock and needs no pacing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np

from branchline.hw.boards import open_board
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS

__all__ = ["BOARD_USB_IDS", "probe", "probe_board", "usb_candidates"]

# The USB ids a Branchline board enumerates with. The USB build of the board's controller is
# an STM32 with ST's virtual COM port ids; the UART build talks through one of the common
# USB-serial bridges. (Our list: a bridge on another device may show up too; the handshake
# tells them apart.)
BOARD_USB_IDS = {
    (0x0483, 0x5740): "STMicroelectronics virtual COM port (board USB build)",
    (0x0403, 0x6001): "FTDI FT232R bridge (board UART build)",
    (0x0403, 0x6015): "FTDI FT230X bridge (board UART build)",
    (0x10C4, 0xEA60): "Silicon Labs CP210x bridge (board UART build)",
    (0x1A86, 0x7523): "WCH CH340 bridge (board UART build)",
}


def usb_candidates(comports: Iterable | None = None) -> list[dict]:
    """Serial devices with a board's USB id: device path, ids, and what the bridge is."""
    if comports is None:
        from serial.tools import list_ports

        comports = list_ports.comports()
    found = []
    for info in comports:
        key = (info.vid, info.pid)
        if key in BOARD_USB_IDS:
            found.append({
                "device": info.device,
                "vid": f"{info.vid:04x}",
                "pid": f"{info.pid:04x}",
                "what": BOARD_USB_IDS[key],
                "description": info.description,
                "usb_serial": info.serial_number,
            })
    return found


def _wall_pace() -> Callable[[float], None]:
    started = time.monotonic()

    def pace(t: float) -> None:
        wait = started + t - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    return pace


def probe_board(url: str, *, timeout_s: float = 3.0,
                pace: Callable[[float], None] | None = None, source: str = "given",
                usb: dict | None = None) -> dict:
    """Open `url`, wait for its handshake (at most `timeout_s`), and report it."""
    result = {"url": url, "source": source, "usb": usb, "connected": False, "firmware": None,
              "serial_number": None, "ports": [], "error": None}
    try:
        board = open_board(url)
    except (ValueError, OSError) as exc:
        result["error"] = str(exc)
        return result
    if pace is None and not url.startswith("boardemu:"):
        pace = _wall_pace()
    try:
        status = _handshake(board, timeout_s, pace)
    except Exception as exc:  # a probe reports whatever stops a board; it never crashes
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    finally:
        close = getattr(board, "close", None)
        if close is not None:
            close()
    result.update(connected=bool(status.get("connected")), firmware=status.get("firmware"),
                  serial_number=status.get("serial_number"),
                  ports=list(status.get("ports", [])))
    if not result["connected"]:
        result["error"] = f"no handshake within {timeout_s:g} s ({status.get('state', '?')})"
    return result


def _handshake(board, timeout_s, pace) -> dict:
    t = 0.0
    settle = None
    while t <= timeout_s:
        if pace is not None:
            pace(t)
        board.tick(t)
        board.read_block()
        # The board's ports are known once it has answered: write what it has now.
        board.write_block(np.zeros((len(board.ports), BLOCK_SAMPLES), dtype=np.int16))
        if board.status().get("connected"):
            settle = t if settle is None else settle
            if t - settle >= 0.2:  # let the line states that follow the handshake arrive
                break
        t = round(t + BLOCK_SECONDS, 9)
    return board.status()


def probe(urls: Iterable[str] = (), *, usb: bool = True, timeout_s: float = 3.0,
          comports: Iterable | None = None) -> list[dict]:
    """Every board found on USB (if `usb`) and every URL given, each probed."""
    results = []
    if usb:
        for device in usb_candidates(comports):
            results.append(probe_board(f"serial://{device['device']}", timeout_s=timeout_s,
                                       source="usb", usb=device))
    for url in urls:
        results.append(probe_board(url, timeout_s=timeout_s))
    return results
