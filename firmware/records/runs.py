"""Which appliance runs are alive: each run's identity and the lock it holds for its life.

Several appliances may use one data directory at once (``branchline run`` and a
``branchline call`` beside it), and each reconciles at start: it must give records only to
the calls of runs that are gone, never to a live run's calls. So:

    run = RunLock.take(data_dir)      # a new boot id; run/<boot>.lock created already locked
    run.boot                          # the prefix of the run's call ids, "<boot>-<serial>"
    run.release()                     # at close: the file goes, the lock with it

    with Runs(data_dir, own=run.boot) as runs:   # under run/reconcile.guard: one at a time
        runs.dead(boot)               # True when no process holds that run's lock
        runs.others_alive             # a lock file held by another run
        runs.forget_dead()            # after their traces are reconciled: their files go

The lock is ``fcntl.flock`` on the file: the kernel drops it when the process dies, however it
dies (SIGKILL, a power cut ends every process anyway), so "the lock is free" means "the run is
gone". A lock file appears only already locked (made under a temporary name, locked, then
hard-linked into place), so no one ever sees a live run's file unlocked. A boot id without a
lock file is a run of a release before the locks, or one whose traces were already
reconciled: dead. Reconciliations take ``run/reconcile.guard`` for their whole work, so two
starts never reconcile the same dead run twice, and a run that starts meanwhile takes its
first call only after the reconciliation it waits for has read what it needed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
from pathlib import Path

from branchline.config.data_dir import DataDir

__all__ = ["RunLock", "Runs"]

LOCK_SUFFIX = ".lock"
BOOT_BYTES = 3  # six hex digits: a boot id is part of every call id, so it stays short


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


class RunLock:
    """This run's identity and the lock held for its life (module docstring)."""

    def __init__(self, boot: str, path: Path, fd: int):
        self.boot = boot
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def take(cls, data_dir: DataDir | str | os.PathLike[str]) -> RunLock:
        """A new boot id whose lock file is created locked; a boot id already in use (a live
        run, or a dead one not yet reconciled) is never taken again."""
        data = DataDir.of(data_dir)
        data.runs.mkdir(parents=True, exist_ok=True)
        while True:
            boot = secrets.token_hex(BOOT_BYTES)
            path = data.run_lock(boot)
            making = path.with_name(f".{boot}.{os.getpid()}.new")
            fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, f"{os.getpid()}\n".encode())  # for people looking at the folder
                os.link(making, path)
            except FileExistsError:
                os.close(fd)
                continue
            except BaseException:
                os.close(fd)
                raise
            finally:
                making.unlink(missing_ok=True)
            return cls(boot, path, fd)

    def release(self) -> None:
        """The run is over: its file goes (nothing is left to reconcile), then the lock."""
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


class Runs:
    """The runs seen by one reconciliation, under ``run/reconcile.guard`` (module docstring).

    A dead run's lock is taken and held until ``close``, so no one else takes it for alive
    or reconciles it at the same time."""

    def __init__(self, data_dir: DataDir | str | os.PathLike[str], own: str | None = None):
        self._data = DataDir.of(data_dir)
        self._own = own
        self._known: dict[str, bool] = {}  # boot -> dead
        self._held: dict[str, int] = {}    # boot -> fd of a dead run's lock we hold
        self._data.runs.mkdir(parents=True, exist_ok=True)
        self._guard = os.open(self._data.reconcile_lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._guard, fcntl.LOCK_EX)  # another start's reconciliation: wait for it

    def __enter__(self) -> Runs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def dead(self, boot: str) -> bool:
        if boot == self._own:
            return False
        if boot not in self._known:
            self._known[boot] = self._look(boot)
        return self._known[boot]

    def _look(self, boot: str) -> bool:
        try:
            fd = os.open(self._data.run_lock(boot), os.O_RDWR)
        except FileNotFoundError:
            return True
        if _try_lock(fd):
            self._held[boot] = fd
            return True
        os.close(fd)
        return False

    @property
    def others_alive(self) -> bool:
        """Whether any other run holds its lock now."""
        return any(not self.dead(boot) for boot in self.lock_files() if boot != self._own)

    def lock_files(self) -> list[str]:
        """The boot ids that have a lock file."""
        return sorted(p.name[:-len(LOCK_SUFFIX)] for p in self._data.runs.iterdir()
                      if p.name.endswith(LOCK_SUFFIX) and not p.name.startswith("."))

    def forget_dead(self) -> None:
        """Remove the lock files of the dead runs seen, and every other stale one: call it
        once their traces are reconciled and committed."""
        for boot in self.lock_files():
            self.dead(boot)
        for boot in self._held:
            self._data.run_lock(boot).unlink(missing_ok=True)

    def close(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()
        os.close(self._guard)
