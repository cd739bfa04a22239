"""What SIP on a network invites, kept out: scanners and toll fraud.

``ScannerGuard`` counts, per source address, the authentication failures and the requests
for users we do not have (the classic extension and password sweep) in a sliding window of
``window`` seconds. ``limit_after`` such failures make the source rate-limited: it gets at
most one request through every ``limit_interval`` seconds, the rest are dropped unanswered.
``block_after`` failures block it for ``block_for`` seconds: everything it sends is dropped
(or answered 403 when ``answer_blocked``), and a failure while blocked extends the block.
``counters`` is what /metrics exports (totals since start, and the sources blocked now);
``started`` holds the host of each block begun, for the runtime to log and take away.

``OutboundPolicy`` is the toll-fraud rule: the user agent places a call or a transfer only
to a number ``allow(number, purpose)`` says yes to. The runtime fills it (the number that
called, for a callback; the configured transfer targets); empty, it allows nothing.

Time is an argument everywhere; nothing here reads a clock.
"""

from collections import deque
from dataclasses import dataclass, field

MAX_SOURCES = 10000  # a sweep from many addresses must not grow the table without bound


@dataclass(slots=True)
class _Source:
    failures: deque = field(default_factory=deque)
    blocked_until: float = 0.0
    next_allowed: float = 0.0


@dataclass
class ScannerGuard:
    window: float = 60.0
    limit_after: int = 5
    limit_interval: float = 2.0
    block_after: int = 10
    block_for: float = 900.0
    answer_blocked: bool = False
    counters: dict = field(default_factory=lambda: dict.fromkeys(
        ("auth_failures", "unknown_users", "rate_limited", "blocked_requests", "blocks"), 0))
    started: deque = field(default_factory=lambda: deque(maxlen=256))
    _sources: dict = field(default_factory=dict)

    def verdict(self, host, now):
        """"pass", "drop" or "forbid" (answer 403) for a request from ``host`` at ``now``."""
        source = self._sources.get(host)
        if source is None:
            return "pass"
        self._expire(source, now)
        if source.blocked_until > now:
            self.counters["blocked_requests"] += 1
            return "forbid" if self.answer_blocked else "drop"
        if len(source.failures) >= self.limit_after:
            if now < source.next_allowed:
                self.counters["rate_limited"] += 1
                return "drop"
            source.next_allowed = now + self.limit_interval
        if not source.failures and source.blocked_until <= now:
            del self._sources[host]
        return "pass"

    def auth_failed(self, host, now):
        self.counters["auth_failures"] += 1
        self._failure(host, now)

    def unknown_user(self, host, now):
        self.counters["unknown_users"] += 1
        self._failure(host, now)

    def blocked(self, now):
        """The sources blocked at ``now``, with when each block ends."""
        return {h: s.blocked_until for h, s in self._sources.items() if s.blocked_until > now}

    def metrics(self, now):
        return {**self.counters, "blocked_sources": len(self.blocked(now))}

    def _failure(self, host, now):
        if len(self._sources) >= MAX_SOURCES:
            self._prune(now)
        source = self._sources.setdefault(host, _Source())
        self._expire(source, now)
        source.failures.append(now)
        if source.blocked_until > now or len(source.failures) >= self.block_after:
            if source.blocked_until <= now:
                self.counters["blocks"] += 1
                self.started.append(host)
            source.blocked_until = now + self.block_for

    def _prune(self, now):
        for host, source in list(self._sources.items()):
            self._expire(source, now)
            if not source.failures and source.blocked_until <= now:
                del self._sources[host]

    def _expire(self, source, now):
        while source.failures and source.failures[0] <= now - self.window:
            source.failures.popleft()


@dataclass
class OutboundPolicy:
    """``allow(number, purpose)`` -> bool; purpose is "call" or "transfer"."""

    allow: object = None

    def permits(self, number, purpose):
        return bool(self.allow is not None and number and self.allow(number, purpose))
