"""The records writer thread: the media loop hands records over without ever touching SQLite.

    writer = RecordWriter(DataDir(data_dir).records_db, on_committed=acks.put, on_refused=log)
    writer.start()
    writer.submit(cdr)             # media loop: a queue put, never blocks on the disk
    ...
    writer.close()                 # at shutdown: commits what is queued, then stops

Contract:

* ``submit`` only appends to an in-memory queue; it is safe from any thread.
* The writer thread owns the one ``Records`` connection. Each round it takes everything
  queued (up to ``max_batch``) and writes it with one ``append_many``: one transaction, one
  WAL fsync. After the commit it calls ``on_committed(records)`` from its thread, in submit
  order: that is the acknowledgement (acknowledged = committed). Hand it to the loop through
  a queue of your own; do not block in it.
* A refused batch (RecordRefused: a bad value, a duplicate, a card number) is retried one
  record at a time so one bad record costs only itself: each refused record goes to
  ``on_refused(record, error)`` and is dropped; the others are committed.
* Any other RecordsError (locked, disk full, I/O) is passed to ``on_trouble(error)`` and the
  same batch is retried after ``retry_after`` seconds, for as long as it takes: records are
  kept in memory rather than dropped. ``close()`` gives up waiting only if told a timeout.
"""

import collections
import threading

from branchline.firmware.records.database import Records
from branchline.firmware.records.errors import RecordRefused, RecordsError


def _ignore(*_args):
    pass


class RecordWriter:
    """Writes submitted records in batches from its own thread; see the module docstring."""

    def __init__(self, path, *, on_committed=_ignore, on_refused=_ignore, on_trouble=_ignore,
                 max_batch=500, retry_after=1.0, busy_timeout=5.0):
        self._records = Records(path, busy_timeout=busy_timeout)
        self._on_committed = on_committed
        self._on_refused = on_refused
        self._on_trouble = on_trouble
        self._max_batch = max_batch
        self._retry_after = retry_after
        self._queue = collections.deque()
        self._wake = threading.Condition()
        self._submitted = 0
        self._done = 0  # records committed or refused, in submit order
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="records-writer", daemon=True)
        self._opened = threading.Event()
        self._open_error = None

    def start(self):
        """Start the thread; raises the open error (missing directory, corrupt file...)."""
        self._thread.start()
        self._opened.wait()
        if self._open_error is not None:
            raise self._open_error

    def submit(self, record):
        """Queue one record for writing; returns at once."""
        with self._wake:
            self._queue.append(record)
            self._submitted += 1
            self._wake.notify()

    def flush(self, timeout=None) -> bool:
        """Wait until every record submitted so far is committed (or refused)."""
        with self._wake:
            target = self._submitted
            return self._wake.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout=None) -> bool:
        """Commit what is queued, stop the thread, close the database.

        Returns False if ``timeout`` ran out first (the thread keeps retrying in the
        background until the process exits; what it had not committed is lost).
        """
        flushed = self.flush(timeout)
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if flushed:
            self._thread.join()
        return flushed

    @property
    def pending(self) -> int:
        """How many submitted records are not committed yet."""
        with self._wake:
            return self._submitted - self._done

    def _run(self):
        try:
            self._records.open()
        except RecordsError as exc:
            self._open_error = exc
            self._opened.set()
            return
        self._opened.set()
        try:
            while True:
                with self._wake:
                    self._wake.wait_for(lambda: self._queue or self._stopping)
                    if not self._queue:
                        return
                    batch = [self._queue.popleft()
                             for _ in range(min(self._max_batch, len(self._queue)))]
                self._write(batch)
                with self._wake:
                    self._done += len(batch)
                    self._wake.notify_all()
        finally:
            self._records.close()

    def _write(self, batch):
        while True:
            try:
                self._records.append_many(batch)
            except RecordRefused:
                self._write_one_by_one(batch)
                return
            except RecordsError as exc:
                self._trouble(exc)
                continue
            self._on_committed(batch)
            return

    def _write_one_by_one(self, batch):
        for record in batch:
            while True:
                try:
                    self._records.append_many([record])
                except RecordRefused as exc:
                    self._on_refused(record, exc)
                except RecordsError as exc:
                    self._trouble(exc)
                    continue
                else:
                    self._on_committed([record])
                break

    def _trouble(self, exc):
        """Report a transient error, then wait ``retry_after`` (or a new submit) to retry."""
        self._on_trouble(exc)
        with self._wake:
            self._wake.wait(self._retry_after)
