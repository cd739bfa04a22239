"""The records shipper: a thread that copies records.db to the centre's PostgreSQL.

    shipper = Shipper(data.records_db, conninfo, wall=time.time)
    shipper.start()            # thread "fleet-shipper"; never touches the media loop
    shipper.status()           # ShipperStatus: lag, unshipped, connected, last error
    shipper.stop()

Theory of operation. The centre keeps, per branch and table, the last shipping position it
holds (its "mark"), in the same transaction as the rows (central/ingest.py). The shipper
keeps nothing of its own: it reads the marks when it connects, then repeatedly sends the next
rows past each mark (Outbox) with the mark's old and new value. Whatever kills it (SIGKILL,
a cut network, PostgreSQL restarting) leaves either the whole batch and its new mark at the
centre, or neither; the next attempt starts from the centre's mark again, and a row that is
somehow sent twice is stored once (the centre's key is the branch and the record's own key).

Templates: with a ``puller`` (firmware/fleet/templates.py) the same thread, on the same
connection, pulls the centre's configuration templates when it connects and every ``pull_s``
after; a template that cannot be applied is logged and never stops the records.

Faults: CentralUnavailable closes the connection and waits ``retry_s`` (doubling up to
``retry_max_s``) before reconnecting; ShipMarkMoved reads the marks again; CentralRefused
(credentials) waits ``retry_max_s``. The media loop never waits on any of this: records reach
SQLite through the records writer, and the shipper reads them from there on its own
connection. The lag (now minus the time of the oldest record not yet at the centre) is
recomputed after each round and read by /metrics and the System page through ``status()``.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from branchline.central.errors import (
    CentralError,
    CentralRefused,
    CentralUnavailable,
    ShipMarkMoved,
)
from branchline.firmware.fleet.outbox import TABLES, Outbox
from branchline.firmware.fleet.templates import TemplatePuller

__all__ = ["Shipper", "ShipperStatus"]

log = logging.getLogger("branchline.fleet")


@dataclass(frozen=True, slots=True)
class ShipperStatus:
    """What the shipper knows; ``lag_s`` is None until it has seen the centre's marks."""

    connected: bool = False
    lag_s: float | None = None
    unshipped: int | None = None
    shipped_total: int = 0
    batches_total: int = 0
    failures_total: int = 0
    last_error: str = ""
    last_shipped_at: float | None = None


class Shipper:
    def __init__(self, records_db: Path, conninfo: str, *, batch: int = 500,
                 poll_s: float = 1.0, retry_s: float = 1.0, retry_max_s: float = 60.0,
                 wall: Callable[[], float] = time.time,
                 on_batch: Callable[[str, int, int], None] | None = None,
                 puller: TemplatePuller | None = None, pull_s: float = 60.0):
        if batch < 1:
            raise ValueError(f"shipper: batch {batch} must be at least 1 row")
        self.outbox = Outbox(records_db)
        self.conninfo = conninfo
        self.batch = batch
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.retry_max_s = retry_max_s
        self.wall = wall
        self.on_batch = on_batch
        self.puller = puller
        self.pull_s = pull_s
        self._pulled_at: float | None = None
        self._status = ShipperStatus()
        self._conn = None
        self._marks: dict[str, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fleet-shipper", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def close(self) -> None:
        """Close the connections of a shipper used without its thread (``ship_available``)."""
        self._disconnect()
        self.outbox.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def status(self) -> ShipperStatus:
        return self._status

    # -- the work --------------------------------------------------------------------------

    def ship_available(self) -> int:
        """Ship everything past the centre's marks now, in this thread; returns rows sent.

        Raises CentralError when the centre cannot take them (the thread's loop retries).
        """
        # psycopg is imported here: an appliance without a centre never needs it.
        from branchline.central.db import connect
        from branchline.central.ingest import read_marks, ship

        if self._conn is None:
            self._conn = connect(self.conninfo, doing="connecting as this branch")
            self._marks = None
        if self._marks is None:
            self._marks = read_marks(self._conn)
            self._set(connected=True)
            self._pulled_at = None
        self._pull_templates()
        sent = 0
        # A centre older than this branch has no mark for a newer table: that waits.
        for table in (t for t in TABLES if t in self._marks):
            while not self._stop.is_set():
                after = self._marks[table]
                batch = self.outbox.next_batch(table, after, self.batch)
                if batch is None:
                    break
                oldest = self.outbox.first_unshipped_at(table, batch.last)
                ship(self._conn, table, after, batch.last, batch.rows_json, oldest)
                self._marks[table] = batch.last
                sent += batch.count
                s = self._status
                self._set(shipped_total=s.shipped_total + batch.count,
                          batches_total=s.batches_total + 1, last_shipped_at=self.wall(),
                          last_error="")
                if self.on_batch is not None:
                    self.on_batch(table, after, batch.last)
        self._measure()
        return sent

    def _pull_templates(self) -> None:
        if self.puller is None or (self._pulled_at is not None
                                   and time.monotonic() - self._pulled_at < self.pull_s):
            return
        try:
            self.puller.pull(self._conn)
        except CentralError:
            raise
        except Exception:
            # The store, the disk or a template's text: whatever it is, records still ship.
            log.exception("applying the centre's configuration templates")
        self._pulled_at = time.monotonic()

    def _measure(self) -> None:
        if self._marks is None:
            return
        now = self.wall()
        tables = [t for t in TABLES if t in self._marks]
        firsts = [self.outbox.first_unshipped_at(t, self._marks[t]) for t in tables]
        known = [t for t in firsts if t is not None]
        self._set(lag_s=max(0.0, now - min(known)) if known else 0.0,
                  unshipped=sum(self.outbox.unshipped(t, self._marks[t]) for t in tables))

    def _loop(self) -> None:
        wait = self.retry_s
        try:
            while not self._stop.is_set():
                try:
                    sent = self.ship_available()
                    wait = self.retry_s
                    if not sent:
                        self._stop.wait(self.poll_s)
                except ShipMarkMoved as exc:
                    log.warning("%s", exc)
                    self._marks = None
                except CentralError as exc:
                    self._fail(exc)
                    pause = self.retry_max_s if isinstance(exc, CentralRefused) else wait
                    self._stop.wait(pause)
                    wait = min(wait * 2, self.retry_max_s)
        finally:
            self.close()

    def _fail(self, exc: CentralError) -> None:
        if not isinstance(exc, CentralUnavailable | CentralRefused):
            log.error("shipping records to the centre: %s", exc)
        elif self._status.connected or not self._status.last_error:
            log.warning("%s", exc)
        self._disconnect()
        self._measure()
        self._set(connected=False, failures_total=self._status.failures_total + 1,
                  last_error=str(exc))

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing the centre's connection failed", exc_info=True)
            self._conn = None

    def _set(self, **changes) -> None:
        # One reference swap: readers in other threads see the old or the new value, whole.
        self._status = replace(self._status, **changes)
