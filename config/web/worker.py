"""Heavy work for the web service, run in a child process with limits: ``Worker.run``.

The web service runs in the media loop's process and shares its GIL: a request that parses an
archive, transcodes audio, synthesises speech, diffs two large documents or folds a year of
events would hold the 20 ms loop up (a C call such as a regular expression does not let the
GIL go at all). So such work runs here::

    worker = Worker()                                   # one per web service
    result = worker.run("restore", check_archive, data) # blocks this web thread only
    worker.close()                                      # at shutdown: running jobs are killed

Each job is one fresh process forked from the ``forkserver`` (started once, single-threaded,
with the heavy modules preloaded, so a job starts in milliseconds and never inherits the
loop's threads, sockets or state). ``fn`` must be importable by name (a module-level
function); its arguments and result travel pickled through a pipe, so the child sees copies
and hands back data: the parent applies it. In the child, before ``fn`` runs:

* ``RLIMIT_AS``: the address space may grow by ``memory_bytes`` over what the child starts
  with (an allocation past it raises MemoryError there);
* ``RLIMIT_CPU``: ``cpu_s`` seconds of CPU, then SIGXCPU (hard limit one second later: SIGKILL);
* ``nice`` +10: on a busy machine the scheduler prefers the media loop's process.

The parent waits on the pipe (no GIL held) at most ``wall_s`` seconds, then kills the child.
At most ``jobs`` run at once; one more is refused at once (``WorkerBusy``) rather than queued,
so waiting requests cannot use up the web server's threads. ``close()`` kills what is running
and refuses what comes: SIGTERM's drain is never held up by a job.

Exceptions (``config.web.link.LinkError``, so the API answers 503 with the code)::

    WorkerError                base
    ├── WorkerBusy             ``jobs`` jobs are running already         code worker_busy
    ├── WorkerUnavailable      the service is shutting down              code shutting_down
    └── WorkerLimit            the job passed its wall-clock, CPU or     code work_too_heavy
                               memory limit, or died; the message says which

An exception ``fn`` raises (``BackupInvalid``, ``Refused``, ...) is raised again in the parent
as it was, so a route answers bad input exactly as if the work had run in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from branchline.config.web.link import LinkError

__all__ = ["PRELOAD", "Worker", "WorkerBusy", "WorkerError", "WorkerLimit",
           "WorkerUnavailable"]

log = logging.getLogger("branchline.web")

T = TypeVar("T")

# Imported once by the fork server, so every job starts with them loaded.
PRELOAD = ["numpy", "branchline.dsp", "branchline.config.web.backup",
           "branchline.config.document.loading", "branchline.acd"]
# Our choices, for a branch's data: a whole-store restore or a year's report takes seconds.
WALL_S = 120.0
CPU_S = 90
MEMORY_BYTES = 1024 * 1024 * 1024
JOBS = 2
_NICE = 10


class WorkerError(LinkError):
    code = "worker_error"


class WorkerBusy(WorkerError):
    code = "worker_busy"


class WorkerUnavailable(WorkerError):
    code = "shutting_down"


class WorkerLimit(WorkerError):
    code = "work_too_heavy"


_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


class Worker:
    """See the module docstring."""

    def __init__(self, *, wall_s: float = WALL_S, cpu_s: int = CPU_S,
                 memory_bytes: int = MEMORY_BYTES, jobs: int = JOBS):
        self.wall_s, self.cpu_s, self.memory_bytes = wall_s, cpu_s, memory_bytes
        self._slots = threading.BoundedSemaphore(jobs)
        self._jobs = jobs
        self._lock = threading.Lock()
        self._running: set = set()
        self._closed = False

    def run(self, what: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a child process; ``what`` names the job in errors."""
        if not self._slots.acquire(blocking=False):
            raise WorkerBusy(f"{what}: {self._jobs} heavy jobs are running already; try "
                             "again in a minute")
        try:
            return self._run(what, fn, args, kwargs)
        finally:
            self._slots.release()

    def _run(self, what: str, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        receiver, sender = _context.Pipe(duplex=False)
        child = _context.Process(target=_child, name=f"branchline-worker ({what})",
                                 args=(sender, self.cpu_s, self.memory_bytes, fn, args,
                                       kwargs), daemon=True)
        with self._lock:
            if self._closed:
                raise WorkerUnavailable(f"{what}: the appliance is shutting down; try again "
                                        "once it is back")
            child.start()
            self._running.add(child)
        sender.close()
        try:
            if not receiver.poll(self.wall_s):
                raise WorkerLimit(f"{what}: stopped after {self.wall_s:g} s, the limit for "
                                  "heavy work (calls must never wait for it); make the "
                                  "request smaller (a shorter range, a smaller file)")
            try:
                status, value = receiver.recv()
            except (EOFError, OSError):
                child.join()
                raise self._died(what, child.exitcode) from None
        finally:
            child.kill()
            child.join()
            receiver.close()
            with self._lock:
                self._running.discard(child)
        if status == "ok":
            return value
        if status == "error":
            raise value
        if status == "memory":
            raise WorkerLimit(f"{what}: needed more than {self.memory_bytes // 2**20} MiB of "
                              "memory, the limit for heavy work; make the request smaller")
        raise WorkerLimit(f"{what}: the result could not be handed back ({value})")

    def _died(self, what: str, exitcode: int | None) -> WorkerError:
        if self._closed:
            return WorkerUnavailable(f"{what}: the appliance is shutting down; try again "
                                     "once it is back")
        if exitcode == -signal.SIGXCPU:
            return WorkerLimit(f"{what}: stopped after {self.cpu_s} s of CPU, the limit for "
                               "heavy work; make the request smaller")
        return WorkerLimit(f"{what}: the worker process died (exit code {exitcode}: killed "
                           "past its CPU limit, or the system ran out of memory); the request "
                           "was not carried out")

    def close(self) -> None:
        """Kill running jobs (their requests answer 503) and refuse new ones."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for child in running:
            child.kill()


def _child(sender, cpu_s: int, memory_bytes: int, fn: Callable, args: tuple,
           kwargs: dict) -> None:
    os.nice(_NICE)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        reply = ("ok", fn(*args, **kwargs))
    except MemoryError:
        reply = ("memory", None)
    except Exception as exc:  # every failure goes back as data
        reply = ("error", exc)
    try:
        sender.send(reply)
    except Exception as exc:  # a result that does not pickle
        sender.send(("unsendable", repr(exc)))


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
