"""Drain: the signal only asks; the loop drains, bounded, and the process exits 0."""

import signal
import subprocess
import sys
import textwrap

import pytest

from branchline.firmware.ops.drain import Drain


class Calls:
    """A stand-in appliance: `active_calls` calls that end one per tick once draining."""

    def __init__(self, active):
        self.active_calls = active
        self.draining = False

    def drain(self):
        self.draining = True

    def tick(self):
        if self.draining and self.active_calls:
            self.active_calls -= 1


def run_until_stop(drain, app, *, start=0.0, step=0.02, limit=10_000):
    now = start
    for _ in range(limit):
        app.tick()
        if drain.should_stop(app, now):
            return now
        now += step
    raise AssertionError("the loop never stopped")


def test_no_request_no_drain():
    app = Calls(2)
    assert not Drain().should_stop(app, 0.0)
    assert not app.draining


def test_signal_drains_until_the_last_call_ends():
    drained = []
    drain = Drain(60.0, on_drain=lambda: drained.append(True))
    with drain.installed():
        signal.raise_signal(signal.SIGTERM)
    app = Calls(3)
    stopped = run_until_stop(drain, app, start=100.0)
    assert (app.draining, app.active_calls, drain.outcome, drain.reason) == (
        True, 0, "drained", "SIGTERM")
    assert stopped == pytest.approx(100.06)  # three ticks after the drain began
    assert drained == [True]


def test_bound_ends_the_wait():
    drain = Drain(1.0)
    drain.request("SIGTERM")
    app = Calls(10**6)
    app.tick = lambda: None  # calls that never end
    assert run_until_stop(drain, app) == pytest.approx(1.0)
    assert drain.outcome == "bound reached"


def test_second_signal_cuts_it_short():
    drain = Drain(60.0)
    app = Calls(5)
    app.tick = lambda: None
    drain.request("SIGINT")
    assert not drain.should_stop(app, 0.0)
    drain.request("SIGINT")
    assert drain.should_stop(app, 0.02)
    assert drain.outcome == "cut short"


def test_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with Drain().installed():
        assert signal.getsignal(signal.SIGTERM) != before
    assert signal.getsignal(signal.SIGTERM) == before


def test_negative_bound_is_refused():
    with pytest.raises(ValueError, match="bound -1 s; expected 0 or more seconds"):
        Drain(-1)


CHILD = textwrap.dedent("""
    import time
    from branchline.firmware.ops.drain import Drain

    class App:
        active_calls = 3
        def drain(self):
            print("draining", self.active_calls, flush=True)
            self.draining = True

    app = App()
    app.draining = False
    with Drain(30.0).installed() as drain:
        print("ready", flush=True)
        while True:
            time.sleep(0.01)  # the child's own 'tick'; the test never sleeps
            if app.draining and app.active_calls:
                app.active_calls -= 1
                print("call ended", flush=True)
            if drain.should_stop(app, time.monotonic()):
                break
    print("stopped", drain.outcome, flush=True)
""")


def test_sigterm_to_a_running_loop_exits_0():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        child.send_signal(signal.SIGTERM)
        rest = child.stdout.read().splitlines()
        assert child.wait(timeout=30) == 0
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
    assert rest == ["draining 3", "call ended", "call ended", "call ended", "stopped drained"]
