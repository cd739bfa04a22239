"""Board URLs: one string says which board the appliance drives.

``open_board(url, *, scenario=None, seed=None, find_scenario=None, realtime=False,
trunks=None, stations=None, **driver_options) -> Board``:

==========================================  ===================================================
``sim``                                     the simulated board playing ``scenario`` (required)
``boardemu://?trunks=8&stations=4&...``     the board emulator behind a real pty with the host
                                            driver in front (hw/emulator/__init__.py; parameters in
                                            docs/boardemu.md). ``realtime=True`` runs the
                                            emulator on its own thread (``branchline run``);
                                            otherwise the two are pumped in lockstep by
                                            ``tick(now)`` (tests, virtual clock)
``serial:///dev/ttyACM0?baud=921600``       a real board on a serial device (``baud`` default
                                            921600)
``loop://``, ``socket://host:port``,        any pyserial URL, or a device path, for the host
``rfc2217://...``, ``/dev/ttyUSB0``         driver as it is
==========================================  ===================================================

``scenario`` is a ``Scenario`` or a path; a ``scenario=`` parameter in a boardemu URL names a
file that ``find_scenario(name) -> path`` resolves (default: the name is a path), so the
firmware can offer the scenarios it ships. ``seed`` overrides the scenario's seed; ``trunks``
and ``stations`` are the port counts of ``sim`` and of an emulator whose URL gives none.
``driver_options`` go to ``SerialBoard`` (``heartbeat_s``, ``timeout_s``, ``reconnect_s``).

Errors: ``BoardUrlError`` (a ``ValueError``) names the URL, the part that is wrong and the
forms there are.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from pathlib import Path

from branchline.hw.ports import Board

__all__ = ["DEFAULT_BAUD", "BoardUrlError", "open_board"]

DEFAULT_BAUD = 921600
_FORMS = ("sim", "boardemu://?trunks=8&stations=4", "serial:///dev/ttyACM0?baud=921600",
          "a pyserial URL (loop://, socket://host:port, rfc2217://host:port)",
          "a device path (/dev/ttyACM0)")
_PYSERIAL_SCHEMES = ("loop", "socket", "rfc2217", "spy", "alt", "hwgrep", "cp2110")


class BoardUrlError(ValueError):
    """A board URL that names no board we can open."""


def _forms() -> str:
    return "; ".join(_FORMS)


def open_board(url: str, *, scenario=None, seed: int | None = None, find_scenario=None,
               realtime: bool = False, trunks: int | None = None,
               stations: int | None = None, **driver_options) -> Board:
    """The Board a URL names (see the module docstring)."""
    if not isinstance(url, str) or not url:
        raise BoardUrlError(f"board URL {url!r}: expected one of: {_forms()}")
    scheme = urllib.parse.urlsplit(url).scheme
    if url == "sim":
        return _sim(scenario, seed, trunks, stations)
    if scheme == "boardemu":
        return _emulator(url, scenario, seed, find_scenario, realtime,
                         {"trunks": trunks, "stations": stations}, driver_options)
    if scheme == "serial":
        return _serial_device(url, driver_options)
    if scheme in _PYSERIAL_SCHEMES or (not scheme and url.startswith("/")):
        from branchline.hw.serial.board import SerialBoard

        return SerialBoard(url, **driver_options)
    raise BoardUrlError(f"board URL {url!r}: unknown kind of board "
                        f"{scheme or url!r}; expected one of: {_forms()}")


def _sim(scenario, seed, trunks, stations):
    from branchline.hw.sim.board import SimBoard

    if scenario is None:
        raise BoardUrlError("board URL 'sim': the simulated board needs a scenario (give "
                            "--scenario FILE, or set board.scenario in the configuration)")
    return SimBoard(trunks, stations, scenario=scenario, seed=seed)


def _emulator(url, scenario, seed, find_scenario, realtime, counts, driver_options):
    from branchline.hw.emulator import (
        EmulatedBoard,
        ThreadedEmulatedBoard,
        emulator_for,
        parse_emulator_url,
    )

    options = parse_emulator_url(url)
    if options.scenario is not None:
        scenario = (find_scenario or Path)(options.scenario)
    defaults = {"seed": seed, **counts}
    options = dataclasses.replace(options, **{
        name: value for name, value in defaults.items()
        if value is not None and getattr(options, name) is None})
    emulator = emulator_for(options, scenario)
    link = ThreadedEmulatedBoard if realtime else EmulatedBoard
    return link(emulator, **driver_options)


def _serial_device(url, driver_options):
    from branchline.hw.serial.board import SerialBoard

    parts = urllib.parse.urlsplit(url)
    if not parts.path or parts.netloc:
        raise BoardUrlError(f"board URL {url!r}: write serial:// followed by the device "
                            "path, e.g. serial:///dev/ttyACM0?baud=921600")
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"baud"})
    if unknown:
        raise BoardUrlError(f"board URL {url!r}: parameter {unknown[0]!r} is not known; a "
                            "serial URL takes baud=<bits per second> (default "
                            f"{DEFAULT_BAUD})")
    baud = DEFAULT_BAUD
    if "baud" in query:
        text = query["baud"][-1]
        if not text.isdigit() or int(text) <= 0:
            raise BoardUrlError(f"board URL {url!r}: baud={text!r}; expected bits per second, "
                                f"e.g. baud=921600")
        baud = int(text)
    return SerialBoard(parts.path, baudrate=baud, **driver_options)
