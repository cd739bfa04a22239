"""An Appliance on the board a URL names (``branchline run [--board URL]``).

``open_with_board(data_dir, make_clock, url=None, *, scenario=None, progress=None)`` builds the
appliance the way ``appliance.open_sim`` does (store, prompts, bank host, clock) but on
``hw.boards.open_board(url)``: ``boardemu://...`` (the emulator on its own real-time thread
behind a pty, the host driver in front) or a serial board; without a URL, the document's
``board.driver``, and ``sim`` is ``open_sim``. A serial board's trunks whose line says
``loop_current_drop`` report the far end's hang-up that way (``FarEndHangup``). For the
emulator, the document's trunk and station counts and its scenario are the defaults of the URL's
``trunks``, ``stations`` and ``scenario``. Returns ``(appliance, bank)`` like ``open_sim``;
close the board (``close_board``) after ``appliance.close``. A serial board (and the emulator's
host driver) is connected before the appliance is built on its ports; one that does not
answer within ``CONNECT_S`` raises ``BoardLinkError`` saying what to check. With a ``sip``
section the SIP board joins the board (firmware/sip_board.py), as in ``open_sim``.
"""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import open_config_store
from branchline.firmware.appliance import (
    Appliance,
    bank_host,
    build_prompts,
    current_document,
    open_sim,
    scenario_file,
)
from branchline.firmware.sip_board import bind_outbound, with_sip
from branchline.hw.boards import open_board
from branchline.hw.ports import ClearSignal

__all__ = ["CONNECT_S", "close_board", "open_with_board"]

CONNECT_S = 10.0  # how long a board may take to answer its first handshake


def open_with_board(data_dir, make_clock, url: str | None = None, *, scenario=None,
                    progress=None, realtime: bool = True):
    data_dir = DataDir.of(data_dir)
    store = open_config_store(data_dir)
    document = current_document(store)
    url = url or document.board.driver
    if url == "sim":
        return open_sim(data_dir, make_clock, scenario=scenario, progress=progress)
    name = scenario or document.board.scenario
    # Everything slow comes first: a board's lines run from the moment it is opened, and what
    # it sends before the media loop reads is lost to the phones and callers on it.
    prompts = build_prompts(data_dir, store, progress)
    host, bank = bank_host(document)
    clock = make_clock(ZoneInfo(document.site.timezone))
    try:
        board = open_board(url, scenario=scenario_file(name) if name else None,
                           find_scenario=scenario_file, realtime=realtime,
                           trunks=document.board.trunks, stations=document.board.stations,
                           clear_signals=_clear_signals(document))
    except BaseException:
        host.close()
        if bank is not None:
            bank.stop()
        raise
    try:
        connect = getattr(board, "connect", None)
        if connect is not None:  # a serial board learns its ports from its handshake
            connect(time.monotonic, timeout_s=CONNECT_S)
        board = with_sip(board, data_dir, document)  # the document's SIP board beside it
        app = Appliance(data_dir, board, clock, prompts, host, store=store)
        bind_outbound(app)
    except BaseException:
        close_board(board)
        host.close()
        if bank is not None:
            bank.stop()
        raise
    return app, bank


def _clear_signals(document) -> dict[int, ClearSignal]:
    """Trunk index -> how its line reports a far-end hang-up, for lines that can."""
    return {spec.index: ClearSignal.LOOP_CURRENT_DROP for spec in document.ports()
            if spec.trunk and (line := document.lines.get(spec.name)) is not None
            and line.loop_current_drop}


def close_board(board) -> None:
    """Close a board that holds resources (a serial port, an emulator thread)."""
    close = getattr(board, "close", None)
    if close is not None:
        close()
