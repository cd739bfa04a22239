"""The last lines of the appliance's log, kept in memory for the web page's log download.

``LogRing(capacity)`` is a ``logging.Handler`` on the ``branchline`` logger: every record is
masked by ``SensitiveFilter`` (no card number or PIN ever reaches the page) and formatted as
the key=value line the console shows, then kept in a bounded deque. ``tail(n)`` may be called
from any thread (deque appends and a copy of it are atomic under the GIL; a lock keeps the
copy consistent anyway). The console and journald stay the log of record; this is a window.
"""

from __future__ import annotations

import collections
import logging
import threading

from branchline.firmware.ops.logs import KeyValueFormatter, SensitiveFilter

__all__ = ["LOG_RING_LINES", "LogRing"]

LOG_RING_LINES = 5000  # about a busy hour of INFO lines; a few hundred kB (our choice)


class LogRing(logging.Handler):
    def __init__(self, capacity: int = LOG_RING_LINES):
        super().__init__()
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self._guard = threading.Lock()
        self.setFormatter(KeyValueFormatter())
        self.addFilter(SensitiveFilter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a handler must never raise into the code that logged
            self.handleError(record)
            return
        with self._guard:
            self._lines.append(line)

    def tail(self, lines: int) -> str:
        with self._guard:
            kept = list(self._lines)
        return "".join(line + "\n" for line in kept[-lines:]) if lines > 0 else ""

    def install(self, logger_name: str = "branchline") -> LogRing:
        logging.getLogger(logger_name).addHandler(self)
        return self

    def remove(self, logger_name: str = "branchline") -> None:
        logging.getLogger(logger_name).removeHandler(self)
