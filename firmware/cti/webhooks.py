"""Outgoing webhooks: every CTI event an integration's scopes cover, POSTed to its URL, signed.

    sender = WebhookSender(matches)            # matches(scopes, event) -> bool
    feed.listeners.append(sender.offer)        # loop thread: never blocks
    sender.set_targets([WebhookTarget(...)])   # web thread, when integrations change
    sender.close()

Each target has its own thread and its own bounded queue (``capacity`` events). ``offer``
only puts the event on the queues of the targets that want it (``put_nowait``); a full queue
drops the event for that target and counts it (``dropped``): a dead or slow receiver costs the
media loop nothing and holds no other target up.

A delivery is one POST of the event's JSON with ``Content-Type: application/json`` and the
headers of ``config.web.cti_events`` (signature, event type, delivery id ``<stream>-<seq>``).
A 2xx answer delivers it. Anything else (an error status, a refused connection, a timeout
after ``timeout`` seconds) is tried again after the next delay of ``backoff`` (doubling, our
choice: 1, 2, 4 ... 64 s), and after the last one dropped and logged. Events go out in order:
the next waits until this one is delivered or dropped. ``stats()`` tells, per target, what
was delivered, retried and dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from branchline.config.web.cti_events import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    sign,
)
from branchline.firmware.cti.feed import CtiEvent

__all__ = ["BACKOFF", "WebhookSender", "WebhookTarget"]

log = logging.getLogger("branchline.cti")

BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
CAPACITY = 1000
TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    name: str
    url: str
    secret: bytes
    scopes: frozenset[str]


class _Worker:
    def __init__(self, target: WebhookTarget, sender: WebhookSender):
        self.target = target
        self.sender = sender
        self.queue: queue.Queue = queue.Queue(sender.capacity)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"webhook-{target.name}",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        counts = self.sender.counts[self.target.name]
        with httpx.Client(timeout=self.sender.timeout) as client:
            while not self.stop.is_set():
                try:
                    event = self.queue.get(timeout=0.5)
                except queue.Empty:
                    continue
                if self._deliver(client, event):
                    counts["delivered"] += 1
                elif not self.stop.is_set():
                    counts["dropped"] += 1
                    log.warning("webhook %s: event %d (%s) dropped after %d tries",
                                self.target.name, event.seq, event.type,
                                len(self.sender.backoff) + 1)

    def _deliver(self, client: httpx.Client, event: CtiEvent) -> bool:
        body = event.text.encode()
        for attempt, delay in enumerate((*self.sender.backoff, None)):
            headers = {"Content-Type": "application/json", EVENT_HEADER: event.type,
                       DELIVERY_HEADER: f"{event.stream}-{event.seq}",
                       SIGNATURE_HEADER: sign(self.target.secret, int(self.sender.clock()),
                                              body)}
            try:
                reply = client.post(self.target.url, content=body, headers=headers)
                if 200 <= reply.status_code < 300:
                    return True
                why = f"answered {reply.status_code}"
            except httpx.HTTPError as exc:
                why = f"{type(exc).__name__}: {exc}"
            if delay is None or self.stop.is_set():
                return False
            self.sender.counts[self.target.name]["retried"] += 1
            log.info("webhook %s: event %d try %d failed (%s); again in %g s",
                     self.target.name, event.seq, attempt + 1, why, delay)
            if self.stop.wait(delay):
                return False
        return False


class WebhookSender:
    """See the module docstring."""

    def __init__(self, matches: Callable[[frozenset[str], CtiEvent], bool], *,
                 backoff: Iterable[float] = BACKOFF, capacity: int = CAPACITY,
                 timeout: float = TIMEOUT, clock: Callable[[], float] = time.time):
        self.matches = matches
        self.backoff = tuple(backoff)
        self.capacity = capacity
        self.timeout = timeout
        self.clock = clock
        self.counts: dict[str, Counter] = {}
        self._workers: dict[str, _Worker] = {}  # replaced whole: the loop reads it unlocked
        self._lock = threading.Lock()

    def set_targets(self, targets: Iterable[WebhookTarget]) -> None:
        """The webhooks to deliver to from now on; a changed or removed one stops."""
        with self._lock:
            wanted = {t.name: t for t in targets}
            workers = dict(self._workers)
            for name, worker in list(workers.items()):
                if wanted.get(name) != worker.target:
                    worker.stop.set()
                    del workers[name]
            for name, target in wanted.items():
                if name not in workers:
                    self.counts.setdefault(name, Counter())
                    workers[name] = _Worker(target, self)
            self._workers = workers

    def offer(self, event: CtiEvent) -> None:
        """Loop thread: queue ``event`` for every target that wants it; never waits."""
        for worker in self._workers.values():
            if self.matches(worker.target.scopes, event):
                try:
                    worker.queue.put_nowait(event)
                except queue.Full:
                    self.counts[worker.target.name]["dropped"] += 1

    def stats(self) -> dict[str, dict[str, int]]:
        return {name: dict(counts) for name, counts in self.counts.items()}

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            workers, self._workers = self._workers, {}
        for worker in workers.values():
            worker.stop.set()
        for worker in workers.values():
            worker.thread.join(timeout)
