"""Listening to a call from the page: the WebSocket carries exactly the call's voices.

A virtual caller talks to a virtual agent; a supervisor opens /api/calls/{id}/listen. The
stream must be, sample for sample, the caller's and the agent's received audio summed (what a
listener hears in the mix); who may listen follows the document; the listen is audited.
"""

import threading

import numpy as np
import pytest
from runtime_harness import bank_url, prompts_dir, scenario_text  # noqa: F401 - fixtures
from starlette.websockets import WebSocketDisconnect
from web_harness import WebHarness

from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import Records


class RecordedRx:
    """The sim board, keeping every block it gave the loop."""

    def __init__(self, board):
        self._board = board
        self.blocks = []

    def read_block(self):
        block = self._board.read_block()
        self.blocks.append(block.copy())
        return block

    def __getattr__(self, name):
        return getattr(self._board, name)


def supervisors(doc):
    doc["call_control"] = {"supervisors": [{"user": "sup1", "station": "fxs3",
                                            "agents": ["1001"]},
                                           {"user": "sup2", "station": "fxs4",
                                            "queues": ["vip"]}]}


@pytest.fixture
def web(tmp_path, prompts_dir, bank_url):  # noqa: F811
    text = scenario_text(stations=4, agents=[("1001", 0)], prelude="[]", rate=3600,
                         goal_steps='[{keys: "0", early: 0}, {wait_agent: true}]',
                         handle="{kind: fixed, value: 600}")
    h = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url, scenario=text,
                   edit_document=supervisors)
    h.app.loop.echo = None  # so the loop's rx is exactly what the board gave
    h.rx = RecordedRx(h.app.board)
    h.app.board = h.app.loop.board = h.runtime.board = h.rx
    h.run_until(lambda: any(c.control is not None for c in h.app.calls.values()), 300)
    h.run(1.5)  # the wallboard's snapshot shows the agent
    h.call = next(c for c in h.app.calls.values() if c.control is not None)
    yield h
    h.close()


def listen(web, client, seconds, headers=None):
    """Open the WebSocket in a thread while the loop runs here; return the bytes received."""
    got, errors = [], []
    want = int(seconds * 8000) * 2

    def receive():
        try:
            with client.websocket_connect(f"/api/calls/{web.call.call_id}/listen",
                                          headers=headers or {}) as ws:
                while sum(map(len, got)) < want:
                    got.append(ws.receive_bytes())
        except WebSocketDisconnect as exc:
            errors.append(exc)

    reader = threading.Thread(target=receive)
    reader.start()
    listeners = web.app.listeners
    # Step the loop while the reader reads; never more than a second ahead of it, so the
    # tap's 2 s buffer never drops a frame.
    for _ in range(50 * 120):
        if not reader.is_alive():
            break
        taps = listeners._taps
        if not taps or len(taps[0].frames) < 50:
            web.step()
        else:
            reader.join(0.01)
    reader.join(10)
    assert not reader.is_alive(), "the listener never finished"
    if errors:
        raise errors[0]
    return b"".join(got)


def listen_audit(web, who, within_s=10.0):
    """The audit entries of `who`'s listens, once the server has closed the listen (it
    writes the entry as the socket closes, on its own thread): polled, bounded."""
    done = threading.Event()
    for _ in range(int(within_s / 0.01)):
        with Records(DataDir(web.data_dir).records_db) as records:
            found = [e for e in records.audit() if e.who == who and "listen" in e.what]
        if found:
            return found
        done.wait(0.01)
    raise AssertionError(f"no listen by {who} was audited within {within_s} s")


def test_the_stream_is_exactly_the_callers_and_the_agents_voices(web):
    sup = web.client("supervisor", name="sup1")
    first_block = len(web.rx.blocks)
    data = listen(web, sup, 2.0)
    heard = np.frombuffer(data, dtype="<i2")
    caller, agent = web.call.port, web.call.control.agent_port
    blocks = np.stack(web.rx.blocks[first_block:])
    voices = np.clip(blocks[:, caller].astype(np.int32) + blocks[:, agent], -32768, 32767)
    expected = voices.astype(np.int16).reshape(-1)
    start = next(i for i in range(0, len(expected) - len(heard) + 1, 160)
                 if np.array_equal(expected[i:i + 160], heard[:160]))
    np.testing.assert_array_equal(heard, expected[start:start + len(heard)])
    assert np.sqrt(np.mean(heard.astype(float) ** 2)) > 300  # speech, not silence
    [entry] = listen_audit(web, "sup1")
    web.step()
    assert web.app.listeners._taps == []  # closed by the page: the loop dropped it
    assert entry.what.startswith(f"call {web.call.call_id}: listen (page) agent 1001, ")


def test_who_may_listen(web):
    with pytest.raises(WebSocketDisconnect) as refused:
        listen(web, web.client("viewer"), 0.1)
    assert refused.value.code == 4403
    with pytest.raises(WebSocketDisconnect) as refused:
        listen(web, web.client("supervisor", name="sup2"), 0.1)  # may monitor vip only
    assert refused.value.code == 4409 and "call_control.supervisors" in refused.value.reason
    with pytest.raises(WebSocketDisconnect) as refused:
        listen(web, web.client("supervisor", name="sup1"), 0.1,
               headers={"origin": "https://elsewhere.example"})
    assert refused.value.code == 4403
    assert listen(web, web.client(), 0.1)  # an admin may listen to any call
