"""systemd integration: readiness, status, the watchdog and stopping, over ``$NOTIFY_SOCKET``.

The protocol is sd_notify(3): newline-separated ``KEY=value`` assignments in one datagram to
the AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a path, or an abstract name when it starts with
``@``). Under ``Type=notify`` systemd waits for ``READY=1`` before it calls the unit started,
shows ``STATUS=...`` in ``systemctl status``, restarts the service when ``WATCHDOG=1`` stops
arriving within ``WatchdogSec`` (which it passes to us as ``$WATCHDOG_USEC``, for the process
``$WATCHDOG_PID`` if set), and expects ``STOPPING=1`` when we begin to shut down.

Not under systemd (no ``$NOTIFY_SOCKET``) every call is a no-op that returns False, so the same
run loop serves a terminal and a unit. A send that fails (systemd gone, socket full) is logged
once and never raises: losing a notification must not take a call down.

Integration (the run loop in ``firmware/cli/main.py``)::

    notifier = SystemdNotifier.from_environ()
    feeder = WatchdogFeeder.from_environ(notifier)
    ... build the Appliance, start it ...
    notifier.ready(f"{n} trunks, config v{app.config.version}")
    every tick:  app.tick(now, due); feeder.tick_done(now)
    on drain:    notifier.stopping()

``WatchdogFeeder.tick_done(now)`` is called by the loop after each tick and sends ``WATCHDOG=1``
at most once every ``WatchdogSec/2`` (the interval sd_watchdog_enabled(3) recommends). It is fed
only by ticks that finish: a loop that stalls stops feeding, and systemd restarts it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["SystemdNotifier", "WatchdogFeeder"]

log = logging.getLogger("branchline.systemd")


class SystemdNotifier:
    """Sends sd_notify messages to ``address``; a no-op when ``address`` is None."""

    def __init__(self, address: str | None):
        self.address = address or None
        self._failed = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        environ = os.environ if environ is None else environ
        return cls(environ.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines in one datagram; True if it was sent."""
        if self.address is None:
            return False
        for key, value in fields.items():
            if "\n" in str(value):
                raise ValueError(f"sd_notify {key}: value {value!r} has a newline; the protocol "
                                 "separates assignments by newlines, pass one line")
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
        target = self.address
        if target.startswith("@"):
            target = "\0" + target[1:]
        try:
            # A socket per message, as libsystemd does: at most one every few seconds, and
            # nothing is held open across a fork or a restart of systemd. Non-blocking: the
            # watchdog is fed from the media loop, and a reader that stopped reading fills
            # the socket's queue; a blocking send would then stop every call.
            kind = socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            with socket.socket(socket.AF_UNIX, kind) as sock:
                sock.sendto(message, target)
        except OSError as exc:
            if not self._failed:
                log.warning("sd_notify to %s failed: %s; systemd will not hear from us",
                            self.address, exc)
                self._failed = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        if status is None:
            return self.notify(READY=1)
        return self.notify(READY=1, STATUS=status)

    def status(self, text: str) -> bool:
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        return self.notify(WATCHDOG=1)

    def stopping(self, status: str | None = None) -> bool:
        if status is None:
            return self.notify(STOPPING=1)
        return self.notify(STOPPING=1, STATUS=status)


class WatchdogFeeder:
    """Feeds systemd's watchdog from the media loop: ``WATCHDOG=1`` every ``interval_s`` at most.

    ``interval_s`` None disables it (no ``$WATCHDOG_USEC``, or the watchdog is meant for another
    process). Time is the loop's clock, passed in: a virtual clock in tests.
    """

    def __init__(self, notifier: SystemdNotifier, interval_s: float | None):
        if interval_s is not None and interval_s <= 0:
            raise ValueError(f"WatchdogFeeder: interval {interval_s} s; expected a positive "
                             "number of seconds (WatchdogSec/2)")
        self.notifier = notifier
        self.interval_s = interval_s if notifier.enabled else None
        self.fed = 0
        self._last: float | None = None

    @classmethod
    def from_environ(cls, notifier: SystemdNotifier,
                     environ: Mapping[str, str] | None = None) -> WatchdogFeeder:
        environ = os.environ if environ is None else environ
        usec = environ.get("WATCHDOG_USEC")
        pid = environ.get("WATCHDOG_PID")
        if not usec or (pid and pid != str(os.getpid())):
            return cls(notifier, None)
        try:
            interval = int(usec) / 1e6 / 2
        except ValueError:
            log.warning("WATCHDOG_USEC=%r is not a whole number of microseconds; the watchdog "
                        "is not fed", usec)
            return cls(notifier, None)
        return cls(notifier, interval if interval > 0 else None)

    @property
    def enabled(self) -> bool:
        return self.interval_s is not None

    def tick_done(self, now: float) -> bool:
        """A tick finished at loop time ``now``; True if this one fed the watchdog."""
        if self.interval_s is None:
            return False
        if self._last is not None and now - self._last < self.interval_s:
            return False
        self._last = now
        if self.notifier.watchdog():
            self.fed += 1
            return True
        return False
