"""Exactly-once in effect, under the faults of a real fleet: the shipper killed with SIGKILL
at any point, the network cut for a day, PostgreSQL restarted in the middle of a batch.

"Mid-batch" is made real, not guessed: the test holds a lock on the centre's 15-minute
rollup table, so ``ship`` stops inside its transaction after the batch's calls are inserted
and the mark moved, and the test sees that in ``pg_stat_activity`` before it strikes.

The child process for SIGKILL is this file run as a script: it runs the shipper thread and
prints a line per batch committed; its login comes through the environment, not argv.
"""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_kit import T0, add_test_branch, branch_rows, centre_rows, wait_for, write_calls
from tcp_cut import CuttableLink

from branchline.central.db import connect
from branchline.firmware.fleet import Shipper

HERE = Path(__file__).resolve()
SUPPORT = HERE.parents[2] / "support"


@contextlib.contextmanager
def rollups_held(central_dsn, rollup="interval_kpis"):
    """Block every ship() of calls (of IVR visits with ``ivr_node_days``) inside its
    transaction until the block ends."""
    with connect(central_dsn) as conn:
        conn.execute(f"LOCK TABLE {rollup} IN SHARE MODE")
        yield
        conn.rollback()


def ship_waiting_on_lock(central_dsn) -> bool:
    with connect(central_dsn, autocommit=True) as conn:
        return bool(conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE 'SELECT ship(%%'").fetchone()[0])


def assert_exactly_once(central_dsn, branch, db):
    assert centre_rows(central_dsn, branch) == branch_rows(db)
    with connect(central_dsn) as conn:
        calls = conn.execute("SELECT count(*) FROM calls WHERE branch = %s",
                             (branch,)).fetchone()[0]
        rolled = [conn.execute(f"SELECT coalesce(sum(calls), 0), coalesce(sum(quality_n), 0) "
                               f"FROM {t} WHERE branch = %s", (branch,)).fetchone()
                  for t in ("interval_kpis", "daily_kpis", "branch_days")]
        sip = conn.execute("SELECT count(quality_mos) FROM calls WHERE branch = %s",
                           (branch,)).fetchone()[0]
        visits = conn.execute(
            "SELECT (SELECT count(*) FROM ivr_visits WHERE branch = %s), "
            "(SELECT coalesce(sum(visits), 0) FROM ivr_node_days WHERE branch = %s)",
            (branch, branch)).fetchone()
    assert rolled == [(calls, sip)] * 3
    assert visits[0] == visits[1] > 0


def catch_up(db, conninfo):
    with Shipper(db, conninfo, batch=40) as shipper:
        shipper.ship_available()


# -- SIGKILL ---------------------------------------------------------------------------------

def child_main(db):
    shipper = Shipper(Path(db), os.environ["CENTRE_CONNINFO"], batch=int(os.environ["BATCH"]),
                      poll_s=0.05, on_batch=lambda t, a, b: print(f"batch {t} {a} {b}",
                                                                  flush=True))
    print("ready", flush=True)
    shipper.start()
    signal.pause()


@pytest.mark.parametrize("kill_after", ["ready", 1, 7, 30, "mid-batch", "mid-visits-batch"])
def test_sigkill_of_the_shipper_at_any_point_loses_and_doubles_nothing(
        postgres, central, tmp_path, kill_after):
    db = tmp_path / "records.db"
    write_calls(db, range(600))
    conninfo = add_test_branch(postgres, central, "b1")
    env = {**os.environ, "CENTRE_CONNINFO": conninfo, "BATCH": "25",
           "PYTHONPATH": str(SUPPORT)}
    hold = (rollups_held(central) if kill_after == "mid-batch" else
            rollups_held(central, "ivr_node_days") if kill_after == "mid-visits-batch" else
            contextlib.nullcontext())
    with hold:
        child = subprocess.Popen([sys.executable, str(HERE), str(db)], env=env,
                                 stdout=subprocess.PIPE, text=True)
        try:
            batches = 0
            for line in child.stdout:
                if kill_after == "ready" or (kill_after == batches and batches):
                    break
                if kill_after in ("mid-batch", "mid-visits-batch"):
                    wait_for(lambda: ship_waiting_on_lock(central), "ship blocked on the lock")
                    break
                batches += line.startswith("batch ")
            child.send_signal(signal.SIGKILL)
        finally:
            child.wait(timeout=60)
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    shipped_before = centre_rows(central, "b1")
    if kill_after == "mid-batch":
        assert shipped_before["calls"] == []      # the held batch did not land
    if kill_after == "mid-visits-batch":          # visits ship last: all else is there
        assert len(shipped_before["calls"]) == 600 and shipped_before["ivr_visits"] == []
    catch_up(db, conninfo)
    assert_exactly_once(central, "b1", db)


# -- the network cut for a day ---------------------------------------------------------------

def test_a_day_without_the_network_then_everything_once(postgres, central, tmp_path):
    db = tmp_path / "records.db"
    write_calls(db, range(200))
    now = [T0 + 200 * 60.0]
    with CuttableLink(("127.0.0.1", postgres.port)) as wan:
        conninfo = add_test_branch(postgres, central, "b1", port=wan.port)
        shipper = Shipper(db, conninfo, batch=30, poll_s=0.02, retry_s=0.02, retry_max_s=0.1,
                          wall=lambda: now[0])
        shipper.start()
        try:
            with rollups_held(central):
                wait_for(lambda: ship_waiting_on_lock(central), "a batch in flight")
                wan.cut()                                  # in the middle of that batch
            wait_for(lambda: not shipper.status().connected, "the shipper sees the cut")
            # A day of the branch's work while the link is down, on the virtual clock.
            write_calls(db, range(200, 200 + 1440), spacing=60.0)
            now[0] = T0 + (200 + 1440) * 60.0
            wait_for(lambda: (shipper.status().lag_s or 0) > 86400 * 0.9,
                     "the lag shows the day")
            assert shipper.status().failures_total >= 1
            assert shipper.status().unshipped >= 1440 * 4
            wan.mend()
            wait_for(lambda: shipper.status().unshipped == 0, "caught up after the cut")
            assert shipper.status().lag_s == 0.0 and shipper.status().connected
        finally:
            shipper.stop()
    assert_exactly_once(central, "b1", db)


# -- PostgreSQL restarted mid-batch ----------------------------------------------------------

@pytest.fixture
def own_postgres():
    """A server of this test's own: restarting it must not disturb the others' tests."""
    from pg_harness import PostgresServer

    server = PostgresServer.start()
    yield server
    server.stop()


def test_postgres_restarted_mid_batch(own_postgres, tmp_path):
    from branchline.central.db import migrate

    central = own_postgres.create_database()
    with connect(central) as conn:
        migrate(conn)
    db = tmp_path / "records.db"
    write_calls(db, range(300))
    conninfo = add_test_branch(own_postgres, central, "b1")
    shipper = Shipper(db, conninfo, batch=25, poll_s=0.02, retry_s=0.05, retry_max_s=0.2)
    shipper.start()
    try:
        with contextlib.suppress(Exception), rollups_held(central):
            wait_for(lambda: ship_waiting_on_lock(central), "a batch in flight")
            own_postgres.restart()          # cuts the lock holder and the shipper alike
        wait_for(lambda: shipper.status().failures_total >= 1, "the shipper saw the restart")
        wait_for(lambda: shipper.status().unshipped == 0, "caught up after the restart")
    finally:
        shipper.stop()
    assert_exactly_once(central, "b1", db)


if __name__ == "__main__":
    child_main(sys.argv[1])
