"""Caller ID from a board's raw caller-ID audio windows (``CallerIdAudio`` messages).

The board does not decode caller ID: it sends the on-hook line audio around the rings, 20 ms of
A-law at a time, and the host runs the DSP on it. ``CallerIdReceiver(trunks)`` keeps one
Bell 202 FSK receiver and one DTMF receiver channel per trunk port (both batched over all the
trunks, ``branchline.dsp.callerid.FskRx`` and ``branchline.dsp.DtmfRx``):

- FSK (sent between the first and second ring, TELEPHONY.md): a message is reported as soon
  as its checksum closes;
- DTMF (sent before the first ring, China): the keys of a window are collected and parsed with
  ``parse_dtmf_callerid`` when the window's last chunk arrives.

``add(message)`` queues a chunk; ``process(now)`` runs the receivers over what is queued, one
20 ms block for every trunk per round (trunks without a chunk get idle line), and returns
``hw.ports.CallerId`` events. A window's first chunk (``index`` 0) resets that port's
receivers, so a partial message never spills into the next call. ``counters``: ``windows``,
``decoded``, ``errors`` (a DTMF string that does not parse, or an FSK message the receiver
rejected); ``last_error`` the text of the last.
"""

import numpy as np

from branchline.dsp import ALAW_IDLE, DtmfRx, alaw_decode
from branchline.dsp.callerid import CallerIdError, FskRx, parse_dtmf_callerid
from branchline.hw.ports import BLOCK_SAMPLES, CallerId

__all__ = ["CallerIdReceiver"]


class CallerIdReceiver:
    """Caller-ID decoding for the trunk ports `trunks` (board port indices)."""

    def __init__(self, trunks):
        self._trunks = tuple(trunks)
        self._row = {port: i for i, port in enumerate(self._trunks)}
        n = max(len(self._trunks), 1)
        self._fsk = FskRx(n)
        self._dtmf = DtmfRx(n)
        self._queues = [[] for _ in range(n)]
        self._digits = [""] * n
        self._codes = np.full((n, BLOCK_SAMPLES), ALAW_IDLE, np.uint8)
        self._pcm = np.empty((n, BLOCK_SAMPLES), np.int16)
        self.counters = {"windows": 0, "decoded": 0, "errors": 0}
        self.last_error = None

    def add(self, message):
        """Queue one CallerIdAudio chunk (ignored for a port that is not a trunk)."""
        row = self._row.get(message.port)
        if row is not None:
            self._queues[row].append(message)

    def process(self, now):
        """Run the receivers over the queued chunks; the CallerId events they complete."""
        events = []
        while any(self._queues):
            ends = []
            self._codes.fill(ALAW_IDLE)
            for row, queue in enumerate(self._queues):
                if not queue:
                    continue
                chunk = queue.pop(0)
                if chunk.index == 0:
                    self.counters["windows"] += 1
                    self._fsk.reset(row)
                    self._dtmf.reset(row)
                    self._digits[row] = ""
                self._codes[row, :len(chunk.samples)] = np.frombuffer(chunk.samples, np.uint8)
                if chunk.last:
                    ends.append(row)
            alaw_decode(self._codes, out=self._pcm)
            before = [self._fsk.last_error(row) for row in range(len(self._queues))]
            for row, message in self._fsk.process(self._pcm):
                events.append(self._event(row, message, now))
            for row, earlier in enumerate(before):
                error = self._fsk.last_error(row)
                if error is not None and error is not earlier:
                    self._error(str(error))
            for key in self._dtmf.process(self._pcm):
                if key.end is None:
                    self._digits[key.channel] += key.digit
            for row in ends:
                digits, self._digits[row] = self._digits[row], ""
                if not digits:
                    continue
                try:
                    events.append(self._event(row, parse_dtmf_callerid(digits), now))
                except CallerIdError as exc:
                    self._error(str(exc))
        return events

    def _event(self, row, message, now):
        self.counters["decoded"] += 1
        return CallerId(self._trunks[row], now, message.number, message.name,
                        message.number_absent, message.name_absent)

    def _error(self, text):
        self.counters["errors"] += 1
        self.last_error = text
