"""Several boards as one: an analog (or simulated) board and the SIP board in one media loop.

``CompositeBoard([board_a, board_b, ...])`` is a ``Board`` whose ports are the boards' ports
one after another: board_a's keep their indexes, board_b's follow (its port 0 is
``len(board_a.ports)``), and so on. ``tick`` ticks every board and renumbers their events;
``read_block`` stacks their blocks; ``write_block`` hands each board its rows; a command goes
to the board that owns the port, with the port renumbered back. Ports keep their names, which
must differ across boards (the document names lines and stations by them).

Optional board methods pass through where a board has them: ``dial`` (False for ports of a
board without it: they dial in-band), ``can_dial`` (True for ports of a board without it: an
analog line can dial any number), ``refers`` (False without it) and ``transfer`` (the SIP
board's REFER), ``dtmf_events`` (each board gets the receiver's keys of
its own channels), ``close``. Per tick this is a loop over boards, never over channels.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from branchline.hw.ports import CN_STATION_RING, Port, PortError, check_block

__all__ = ["CompositeBoard"]


class CompositeBoard:
    """See the module docstring."""

    def __init__(self, boards):
        self.boards = tuple(boards)
        if not self.boards:
            raise ValueError("CompositeBoard: no boards; give at least one")
        ports, self._offsets, self._owner = [], [], []
        for number, board in enumerate(self.boards):
            self._offsets.append(len(ports))
            for port in board.ports:
                ports.append(dataclasses.replace(port, index=len(ports)))
                self._owner.append(number)
        names = [p.name for p in ports]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"CompositeBoard: port names {twice} are on two boards; every "
                             "port needs a name of its own")
        self._ports = tuple(ports)
        self._ends = [*self._offsets[1:], len(ports)]
        self._keys = [getattr(b, "dtmf_events", None) for b in self.boards]
        if any(self._keys):
            self.dtmf_events = self._dtmf_events

    @property
    def ports(self) -> tuple[Port, ...]:
        return self._ports

    def tick(self, now: float) -> list:
        events = []
        for board, offset in zip(self.boards, self._offsets, strict=True):
            for event in board.tick(now):
                events.append(event if not offset else
                              dataclasses.replace(event, port=event.port + offset))
        return events

    def read_block(self) -> np.ndarray:
        return np.concatenate([board.read_block() for board in self.boards])

    def write_block(self, block: np.ndarray) -> None:
        check_block(block, len(self._ports), "CompositeBoard.write_block")
        for board, start, end in zip(self.boards, self._offsets, self._ends, strict=True):
            board.write_block(block[start:end])

    def answer(self, port: int) -> None:
        board, local = self._at(port)
        board.answer(local)

    def hang_up(self, port: int) -> None:
        board, local = self._at(port)
        board.hang_up(local)

    def ring(self, port: int, cadence=CN_STATION_RING) -> None:
        board, local = self._at(port)
        board.ring(local, cadence)

    def stop_ring(self, port: int) -> None:
        board, local = self._at(port)
        board.stop_ring(local)

    def dial(self, port: int, number: str, purpose: str = "call") -> bool:
        board, local = self._at(port)
        dial = getattr(board, "dial", None)
        return dial is not None and dial(local, number, purpose)

    def can_dial(self, port: int, number: str, purpose: str = "call") -> bool:
        board, local = self._at(port)
        can_dial = getattr(board, "can_dial", None)
        return can_dial is None or can_dial(local, number, purpose)

    def refers(self, port: int) -> bool:
        board, local = self._at(port)
        refers = getattr(board, "refers", None)
        return refers is not None and refers(local)

    def transfer(self, port: int, number: str) -> bool:
        board, local = self._at(port)
        return board.transfer(local, number)

    def _dtmf_events(self, detected: list) -> list:
        keys = []
        for merge, offset, end in zip(self._keys, self._offsets, self._ends, strict=True):
            mine = [k for k in detected if offset <= k.channel < end]
            if merge is None:
                keys += mine
                continue
            local = [dataclasses.replace(k, channel=k.channel - offset) for k in mine]
            keys += [dataclasses.replace(k, channel=k.channel + offset) for k in merge(local)]
        return keys

    def close(self) -> None:
        for board in self.boards:
            close = getattr(board, "close", None)
            if close is not None:
                close()

    def call_quality(self, port: int):
        """The port's board's media statistics for it; None from a board without them."""
        board, local = self._at(port)
        quality = getattr(board, "call_quality", None)
        return None if quality is None else quality(local)

    def _at(self, port):
        if not isinstance(port, int) or not 0 <= port < len(self._ports):
            raise PortError(f"CompositeBoard: no port {port!r}; ports are "
                            f"0..{len(self._ports) - 1}")
        number = self._owner[port]
        return self.boards[number], port - self._offsets[number]
