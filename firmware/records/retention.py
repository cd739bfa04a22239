"""Retention: old call records, events and recordings expire by the document's policy.

``RetentionKeeper(data_dir)`` runs ``Records.expire`` and then removes the expired recording
files, on its own thread with its own database connection, so the media loop only hands it a
time and a policy (``request``). The appliance asks once at start and once a day of wall time
after that (``due``). One expiry at a time; a request while one runs replaces the waiting one.
Failures are logged and counted (``failures``), and the next day tries again: expiry can
always wait, a call cannot.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import (
    Records,
    RecordsError,
    RetentionPolicy,
    remove_recordings,
)

__all__ = ["EXPIRE_EVERY_S", "RetentionKeeper", "policy_of"]

log = logging.getLogger("branchline.retention")

EXPIRE_EVERY_S = 24 * 3600.0


def policy_of(retention) -> RetentionPolicy:
    """The records' policy from the document's ``retention`` section (days; None = for ever)."""
    return RetentionPolicy(
        calls_days=retention.calls,
        events_days=retention.events,
        agent_states_days=retention.agent_states,
        recordings_days=retention.recordings,
        audit_days=retention.audit,
    )


class RetentionKeeper:
    """See the module docstring."""

    def __init__(self, data_dir: DataDir | Path):
        data = DataDir.of(data_dir)
        self.data_dir = data.root
        self.db_path = data.records_db
        self.last_request: float | None = None
        self.failures = 0
        self.expired_total = 0
        self._job: tuple[float, RetentionPolicy] | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def due(self, wall_epoch: float) -> bool:
        return self.last_request is None or wall_epoch - self.last_request >= EXPIRE_EVERY_S

    def request(self, wall_epoch: float, policy: RetentionPolicy) -> None:
        self.last_request = wall_epoch
        with self._wake:
            self._job = (wall_epoch, policy)
            self._idle.clear()
            self._wake.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once no expiry is waiting or running (tests and shutdown use it)."""
        return self._idle.wait(timeout)

    def stop(self, timeout: float | None = 10.0) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._job is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    self._idle.set()
                    return
                wall_epoch, policy = self._job
                self._job = None
            self._expire(wall_epoch, policy)
            with self._wake:
                if self._job is None:
                    self._idle.set()

    def _expire(self, wall_epoch: float, policy: RetentionPolicy) -> None:
        try:
            with Records(self.db_path) as records:
                expired = records.expire(wall_epoch, policy)
            removed = remove_recordings(self.data_dir, expired.recordings)
        except (RecordsError, OSError) as exc:
            self.failures += 1
            log.error("retention: expiry failed, will try again tomorrow: %s", exc)
            return
        count = expired.calls + expired.events + expired.agent_states + expired.audit
        self.expired_total += count
        if count or removed:
            log.info("retention: expired %d calls, %d events, %d agent states, %d audit "
                     "entries, %d recordings", expired.calls, expired.events,
                     expired.agent_states, expired.audit, len(removed))
