"""Two appliances on one data directory: a start reconciles only the runs that are gone
(firmware/records/runs.py). Real lock files and a real records database; a run that is alive
is a lock held, a run that died is a lock file nobody holds."""

import fcntl
import os

import pytest

from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import AgentStateChange, CallOpened, Records
from branchline.firmware.records.reconcile import REASON, reconcile
from branchline.firmware.records.runs import RunLock, Runs

T0 = 1_795_000_000.0


@pytest.fixture
def records(tmp_path):
    with Records(DataDir(tmp_path).records_db) as opened:
        opened.append_many([
            CallOpened("b1-000001", T0, T0 + 5, "13900000002", "95566", "fxo1", 1),
            AgentStateChange(T0 + 1, "1001", "logged_out", "ready", "login"),
        ])
        yield opened


def _held(data: DataDir, boot: str) -> int:
    """The lock of run ``boot``, held by this process as that live run would hold it."""
    data.runs.mkdir(parents=True, exist_ok=True)
    fd = os.open(data.run_lock(boot), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_held_lock_keeps_its_runs_calls_and_a_free_one_lets_them_go(tmp_path, records):
    data = DataDir(tmp_path)
    live = _held(data, "b1")
    try:
        assert not reconcile(records, data, own="c9")
        assert [o.call_id for o in records.open_calls()] == ["b1-000001"]
    finally:
        os.close(live)  # the process is gone: the kernel frees its lock
    done = reconcile(records, data, own="c9")
    assert done.calls == ("b1-000001",) and done.agents_logged_out == ("1001",)
    assert records.call("b1-000001").hangup_reason == REASON
    assert not data.run_lock("b1").exists()


def test_agents_are_logged_out_only_when_no_other_run_is_alive(tmp_path, records):
    other = RunLock.take(tmp_path)  # agent states do not say which run logged them in
    try:
        done = reconcile(records, tmp_path, own="c9")
        assert done.calls == ("b1-000001",) and done.agents_logged_out == ()
    finally:
        other.release()
    assert reconcile(records, tmp_path, own="c9").agents_logged_out == ("1001",)


def test_own_run_is_alive_and_a_stale_lock_file_goes(tmp_path):
    data = DataDir(tmp_path)
    own = RunLock.take(data)
    data.run_lock("d1").write_text("4242\n")  # what a killed run leaves: a file, no lock
    try:
        with Runs(data, own=own.boot) as runs:
            assert runs.lock_files() == sorted([own.boot, "d1"])
            assert runs.dead("d1") and not runs.dead(own.boot)
            assert not runs.others_alive
            runs.forget_dead()
        assert not data.run_lock("d1").exists()
        assert data.run_lock(own.boot).exists()
    finally:
        own.release()
    assert not data.run_lock(own.boot).exists()
