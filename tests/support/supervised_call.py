"""One call answered by an agent, with a supervisor's phone beside it, for the page's call
supervision tests (tests/firmware/web/test_call_monitor.py, tests/e2e/).

    floor = SupervisedCall(tmp_path, prompts_dir, bank_url)
    floor.h                      # the WebHarness (web app over the appliance, virtual clock)
    floor.call                   # the CallSession: the caller (trunk 0) talks to agent 1001
    floor.hears(floor.A)         # {frequency} of the test voices the appliance sends agent A

Every party is a tone of its own (tests/support/station_driver.py): the caller CALLER_HZ, agent
1001 at station A AGENT_HZ, supervisor wang's phone at S (fxs4, call_control.supervisors)
SUPERVISOR_HZ; li (fxs3) may monitor agent 1002 only. S starts on hook.

``PacedLoop(floor.h)`` runs the appliance in real time on a thread of its own, as ``branchline
run``'s loop does (a tick every 20 ms of the wall clock; a loaded machine makes it late, never
early or in bursts), for tests where a browser plays what the appliance sends.
``paced.call(fn, after_ticks=0)`` runs ``fn`` on that thread between ticks and returns its
result: the harness and the driven phones are the loop's, not the test thread's.
"""

from __future__ import annotations

import collections
import threading
import time

from runtime_harness import scenario_text
from station_driver import DrivenPhones
from web_harness import WebHarness

__all__ = ["AGENT_HZ", "CALLER_HZ", "SUPERVISOR_HZ", "PacedLoop", "SupervisedCall"]

CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 300.0, 550.0, 2000.0
_TICK_S = 0.02


class SupervisedCall:
    """See the module docstring."""

    def __init__(self, tmp_path, prompts_dir, bank_url):
        text = scenario_text(trunks=1, stations=4, rate=3600, end="09:30", prelude="[]",
                             goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
                             agents=[("1001", 0), ("1002", 1)], shift=("20:00", "21:00"),
                             queue_patience=3000)

        def edit(doc):
            doc["call_control"] = {"supervisors": [
                {"user": "wang", "station": "fxs4"},
                {"user": "li", "station": "fxs3", "agents": ["1002"]}]}

        self.h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url,
                            scenario=text, edit_document=edit)
        self.board = DrivenPhones(self.h.app.board)
        self.h.app.board = self.h.app.loop.board = self.h.runtime.board = self.board
        # Steady test tones both ways: the echo canceller would adapt to their correlation
        # (see tests/firmware/calls/test_call_control.py); this board returns no echo.
        self.h.app.loop.echo = None
        self.trunk = 0
        self.A, _, _, self.S = [p.index for p in self.board.ports if p.is_station]
        self.board.off_hook(self.A)
        self.h.run(0.2)
        self.key(self.A, "*111001#")
        self.key(self.A, "*12#")
        self.board.on_hook(self.A)
        self.h.run_until(lambda: self.A in self.board.rings, 120)
        self.board.off_hook(self.A)
        self.h.run(0.2)
        [self.call] = self.h.app.calls.values()
        self.h.app.drain()  # this call only
        for port, hz in ((self.trunk, CALLER_HZ), (self.A, AGENT_HZ), (self.S, SUPERVISOR_HZ)):
            self.board.voice(port, hz)
        self.h.run(1.5)  # the wallboard's snapshot shows the call talking to 1001

    def key(self, port, digits):
        self.board.keys(port, digits)
        self.h.run_until(lambda: self.board.keys_sent(port), 10)
        self.h.run(0.3)

    def hears(self, port):
        return set(self.board.heard(port))

    def close(self):
        """Every test phone on hook (the call ends), then the harness's close."""
        for port in (self.A, self.S):
            self.board.on_hook(port)
            self.board.silence(port)
        self.board.silence(self.trunk)
        self.h.run(1.0)
        return self.h.close()


class PacedLoop:
    """See the module docstring. A context manager: the thread stops on exit."""

    def __init__(self, harness):
        self._harness = harness
        self._jobs: collections.deque = collections.deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-loop", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> PacedLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self._thread.is_alive(), "the paced loop did not stop"
        if self.error is not None and exc[0] is None:
            raise self.error

    def call(self, fn, after_ticks: int = 0, within_s: float = 30.0):
        done, result = threading.Event(), []
        ticks = [after_ticks]

        def job() -> bool:
            if ticks[0] > 0:
                ticks[0] -= 1
                return False
            try:
                result.append(fn())
            except BaseException as exc:  # handed back to the test's thread
                result.append(exc)
            done.set()
            return True

        self._jobs.append(job)
        assert done.wait(within_s), f"the loop did not run the job within {within_s} s"
        if isinstance(result[0], BaseException):
            raise result[0]
        return result[0]

    def _run(self) -> None:
        due = time.monotonic()
        try:
            while not self._stop.is_set():
                for _ in range(len(self._jobs)):
                    job = self._jobs.popleft()
                    if not job():
                        self._jobs.append(job)
                self._harness.step()
                due += _TICK_S
                late = time.monotonic() - due
                if late > 0.2:
                    due += late  # behind on a loaded machine: go on from now, no burst
                elif late < 0:
                    self._stop.wait(-late)  # the wall clock's pace, as the run loop keeps
        except BaseException as exc:
            self.error = exc
