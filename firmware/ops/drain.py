"""Graceful drain on SIGTERM / SIGINT: no new calls, active calls finish within a bound, exit 0.

The signal handler only records that a stop was asked for; all the work happens in the run
loop, which polls a ``Drain`` once per tick. That keeps signal context free of locks, I/O and
engine calls (a handler runs between two bytecodes of whatever the loop was doing).

Integration (the run loop in ``firmware/cli/main.py``)::

    with Drain(bound_s=args.drain_s).installed() as drain:
        while True:
            now = clock.now(); app.tick(now, due)
            if drain.should_stop(app, now):
                break
        app.close(now)          # ends what is left ('shutdown'), flushes records, stops threads
    return 0

``should_stop(app, now)`` needs from the appliance only ``drain()`` (stop answering new calls),
``active_calls`` (how many are still up) and nothing else; on the first tick after the signal it
calls ``app.drain()`` and the ``on_drain`` callback (e.g. ``SystemdNotifier.stopping``), and
from then on says True when the last call has ended or ``bound_s`` has passed. A second signal
while draining cuts the wait short (an operator pressing Ctrl-C twice means it).

The unit's ``TimeoutStopSec`` must exceed ``bound_s`` plus the time to flush records
(deploy/branchline.service: 90 s for the default 60 s bound).
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from typing import Protocol

__all__ = ["DEFAULT_DRAIN_S", "Drain", "Drainable"]

log = logging.getLogger("branchline.drain")

# Our choice: long enough for most IVR self-service calls to end (a balance enquiry takes
# about a minute), short enough that an upgrade does not wait on a long agent conversation.
DEFAULT_DRAIN_S = 60.0


class Drainable(Protocol):
    """What ``Drain`` needs of the appliance."""

    def drain(self) -> None: ...

    @property
    def active_calls(self) -> int: ...


class Drain:
    """A stop request set from signal context and acted on by the run loop."""

    def __init__(self, bound_s: float = DEFAULT_DRAIN_S, *,
                 on_drain: Callable[[], object] | None = None):
        if bound_s < 0:
            raise ValueError(f"Drain: bound {bound_s} s; expected 0 or more seconds")
        self.bound_s = bound_s
        self.on_drain = on_drain
        self.requests = 0
        self.reason = ""
        self.deadline: float | None = None
        self.outcome = ""

    @property
    def requested(self) -> bool:
        return self.requests > 0

    def request(self, reason: str) -> None:
        """Ask for a drain (a second request cuts it short). Safe in signal context."""
        self.requests += 1
        self.reason = self.reason or reason

    def _on_signal(self, signum: int, _frame) -> None:
        self.request(signal.Signals(signum).name)

    @contextlib.contextmanager
    def installed(self, signals=(signal.SIGTERM, signal.SIGINT)) -> Iterator[Drain]:
        """Route ``signals`` to this object while the block runs; restore the old handlers."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in signals}
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def should_stop(self, app: Drainable, now: float) -> bool:
        """Poll once per tick: start the drain when asked; True when the loop may stop."""
        if not self.requested:
            return False
        if self.deadline is None:
            self.deadline = now + self.bound_s
            app.drain()
            log.info("%s: draining, %d call(s) up, waiting at most %.0f s",
                     self.reason, app.active_calls, self.bound_s)
            if self.on_drain is not None:
                self.on_drain()
        if app.active_calls == 0:
            self.outcome = "drained"
        elif self.requests > 1:
            self.outcome = "cut short"
        elif now >= self.deadline:
            self.outcome = "bound reached"
        else:
            return False
        log.info("drain over (%s), %d call(s) still up", self.outcome, app.active_calls)
        return True
