"""Heavy work in a child process: results come back as data, limits stop runaway jobs, and a
job that was killed leaves the next one a fresh process."""

from __future__ import annotations

import os
import threading
import time

import pytest

from branchline.config.web.worker import (
    Worker,
    WorkerBusy,
    WorkerLimit,
    WorkerUnavailable,
)


def test_the_result_comes_back_from_another_process():
    assert Worker().run("pid", os.getpid) != os.getpid()
    assert Worker().run("sum", sum, [1, 2, 3]) == 6


def test_an_exception_of_the_job_is_raised_again_as_it_was():
    with pytest.raises(ValueError, match="invalid literal for int"):
        Worker().run("parse", int, "x")


def test_the_wall_clock_limit_kills_the_job_and_the_next_one_runs():
    worker = Worker(wall_s=0.5)
    with pytest.raises(WorkerLimit, match=r"sleep: stopped after 0.5 s, the limit for heavy"):
        worker.run("sleep", time.sleep, 60)
    assert worker.run("after", sum, [2, 2]) == 4


def test_the_memory_limit_is_a_clear_error():
    worker = Worker(memory_bytes=64 * 2**20)
    with pytest.raises(WorkerLimit, match="needed more than 64 MiB of memory"):
        worker.run("big", bytearray, 256 * 2**20)
    assert len(worker.run("small", bytearray, 16 * 2**20)) == 16 * 2**20


def test_the_cpu_limit_stops_a_runaway_job():
    # sum() over a range runs in C for hours; the CPU limit, not the wall clock, ends it.
    worker = Worker(cpu_s=1, wall_s=120)
    with pytest.raises(WorkerLimit, match="stopped after 1 s of CPU"):
        worker.run("spin", sum, range(10**15))


def test_one_job_too_many_is_refused_at_once():
    worker = Worker(jobs=1, wall_s=30)
    started = threading.Event()
    errors = []

    def occupy():
        started.set()
        try:
            worker.run("long", time.sleep, 30)
        except WorkerUnavailable as exc:
            errors.append(exc)

    thread = threading.Thread(target=occupy)
    thread.start()
    started.wait(10)
    deadline = time.monotonic() + 10
    while not worker._running and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(WorkerBusy, match="1 heavy jobs are running already"):
        worker.run("second", sum, [1])
    worker.close()  # the running job is killed: shutdown never waits for it
    thread.join(10)
    assert not thread.is_alive()
    assert [e.code for e in errors] == ["shutting_down"]
    with pytest.raises(WorkerUnavailable, match="shutting down"):
        worker.run("late", sum, [1])
