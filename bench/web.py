"""Web service benchmarks: the cost of the live snapshot on the loop, and SSE fan-out.

1. Snapshot. ``LiveBoard.snapshot`` is what the media loop pays once a second for the live
   views. Measured on a large site: 120 trunks with a call on each, 200 stations with an agent
   each (a real ``Distributor``: 150 logged in, not ready), 500 callers waiting in two
   queues and three priority classes (real ``CallArrived`` events through the real ACD and its
   log), a day's queue counters. The board and call sessions are light stand-ins with the
   attributes the snapshot reads; the document, ACD, log fold and snapshot code are the real
   ones. Timed over 200 snapshots; the median and the worst are reported against the 20 ms
   block.
2. SSE. ``GET /api/live/stream`` on a real uvicorn server on loopback, 20 clients (httpx, one
   thread each, in the same process: they compete with the server for the interpreter, so
   the figure is a floor), each reading events for a few seconds. The link publishes a new
   snapshot (the large site's, about 100 kB of JSON) every time it is asked, and the stream's
   poll pause is set to zero: this measures how many events the server can push, not the
   once-a-second rate it pushes in service. No reference implementation: figures only.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import httpx
import yaml

from branchline.acd import AgentLogin, CallArrived, Distributor
from branchline.config.document.loading import check_document, default_document_text
from branchline.config.web import create_app
from branchline.config.web.api import live as api_live
from branchline.firmware.clock import VirtualClock
from branchline.firmware.web.live import LiveBoard
from branchline.hw import Port, PortKind

TRUNKS, STATIONS, AGENTS_IN, WAITING = 120, 200, 150, 500
SNAPSHOTS = 200
CLIENTS, SSE_SECONDS = 20, 3.0
ZONE = ZoneInfo("Asia/Shanghai")


def _document():
    doc = yaml.safe_load(default_document_text())
    doc["board"].update(trunks=TRUNKS, stations=STATIONS)
    doc["lines"] = {f"fxo{i}": {"number": "075588880001", "flow": "bank"}
                    for i in range(1, TRUNKS + 1)}
    doc["acd"]["agents"] = [
        {"id": str(3000 + i), "name": f"agent {i}", "station": f"fxs{i}",
         "skills": {"zh": 10}, "queues": [{"queue": "general"}, {"queue": "vip"}]}
        for i in range(1, STATIONS + 1)]
    document, report = check_document(yaml.safe_dump(doc, allow_unicode=True))
    if document is None:
        raise RuntimeError(f"bench document does not validate: {report.errors[0]}")
    return document


@dataclass
class _Queueing:
    queue: str
    priority_class: str
    entered: float
    left: float | None = None
    ringing: bool = False
    talk_started: float | None = None
    talk_ended: float | None = None
    agent_id: str | None = None


@dataclass
class _Call:
    call_id: str
    port_name: str
    caller: str
    s: SimpleNamespace = field(default_factory=SimpleNamespace)
    answered: bool = True


def _site():
    document = _document()
    clock = VirtualClock(dt.datetime(2026, 11, 23, 10, 0, tzinfo=ZONE))
    acd = Distributor(document.acd.queues, document.acd.agents)
    ports = ([Port(i, PortKind.FXO, f"fxo{i + 1}") for i in range(TRUNKS)]
             + [Port(TRUNKS + i, PortKind.FXS, f"fxs{i + 1}") for i in range(STATIONS)])
    stations = {p.index: SimpleNamespace(agent_id=None, state=SimpleNamespace(value="idle"))
                for p in ports if p.is_station}
    app = SimpleNamespace(config=SimpleNamespace(version=1, document=document), acd=acd,
                          clock=clock, board=SimpleNamespace(ports=ports), stations=stations,
                          calls={}, wall_epoch=lambda now: 1.7e9 + now)
    board = LiveBoard(app)
    now = 0.0
    for agent in document.acd.agents[:AGENTS_IN]:
        acd.handle(AgentLogin(agent.id), now)
    classes = [(q.name, c.name) for q in document.acd.queues for c in q.classes]
    for i in range(WAITING):
        now += 0.5
        queue, klass = classes[i % len(classes)]
        acd.handle(CallArrived(f"c{i:05d}", queue, klass, (), {"caller": "13800000000"}), now)
    app.acd.take_log()  # folded by the LiveBoard, as the appliance takes it every tick
    for i in range(TRUNKS):
        q = _Queueing(*classes[i % len(classes)], now - i) if i % 2 else None
        state = SimpleNamespace(answered_at=0.0, queueing=q, in_acd=q is not None,
                                session=SimpleNamespace(node="main"))
        app.calls[i] = _Call(f"c{i:05d}", f"fxo{i + 1}", "13800000000", state)
    return app, board, now


def snapshot_cost() -> tuple[list[float], int, dict]:
    _, board, now = _site()
    times = []
    snapshot = {}
    for seq in range(SNAPSHOTS):
        started = time.perf_counter()
        snapshot = board.snapshot(now + seq, seq)
        times.append(time.perf_counter() - started)
    size = len(api_live.sse_event(snapshot).encode())
    return times, size, snapshot


class _FreshLink:
    """Every call is a new snapshot (a new seq) of the large site."""

    def __init__(self, snapshot: dict):
        self._snapshot = snapshot
        self._seq = 0
        self._lock = threading.Lock()

    def snapshot(self) -> dict:
        with self._lock:
            self._seq += 1
            return {**self._snapshot, "seq": self._seq}

    def audit(self, who, what, diff):
        pass


def sse_rate(snapshot: dict) -> tuple[float, float]:
    """(events/s, MB/s) delivered to CLIENTS streaming clients together."""
    import uvicorn

    from branchline.config.document.loading import open_config_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_config_store(tmp)
        announced: list[str] = []
        web = create_app(store, _FreshLink(snapshot), data_dir=Path(tmp),
                         announce=announced.append)
        config = uvicorn.Config(web, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off")
        server = uvicorn.Server(config)
        import socket

        sock = socket.create_server(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        cookies = _admin_cookies(base, announced)
        counts = [0] * CLIENTS
        volume = [0] * CLIENTS
        go = threading.Barrier(CLIENTS + 1)
        stop = threading.Event()

        def client(k: int) -> None:
            with httpx.Client(base_url=base, cookies=cookies, timeout=30) as c:
                go.wait()
                with c.stream("GET", "/api/live/stream") as reply:
                    for chunk in reply.iter_text():
                        volume[k] += len(chunk)
                        counts[k] += chunk.count("event: snapshot")
                        if stop.is_set():
                            return

        saved, api_live.POLL_S = api_live.POLL_S, 0.0
        try:
            workers = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
            for w in workers:
                w.start()
            go.wait()
            started = time.perf_counter()
            stop.wait(SSE_SECONDS)
            stop.set()
            elapsed = time.perf_counter() - started
            for w in workers:
                w.join(30)
        finally:
            api_live.POLL_S = saved
            server.should_exit = True
            thread.join(10)
            sock.close()
    return sum(counts) / elapsed, sum(volume) / elapsed / 1e6


def _admin_cookies(base: str, announced: list[str]) -> httpx.Cookies:
    token = announced[0].split("token=")[1].split()[0]
    with httpx.Client(base_url=base, timeout=30) as c:
        c.get("/api/setup")
        reply = c.post("/api/setup", headers={"X-CSRF-Token": c.cookies["bl_csrf"]},
                       json={"token": token, "name": "admin", "password": "bench-password-1"})
        reply.raise_for_status()
        return c.cookies


def run() -> str:
    times, size, snapshot = snapshot_cost()
    median, worst = statistics.median(times), max(times)
    p99 = statistics.quantiles(times, n=100)[98]
    waiting = sum(sum(q["waiting"].values()) for q in snapshot["queues"])
    events, megabytes = sse_rate(snapshot)
    return "\n".join([
        "## Web service",
        "",
        f"**Live snapshot on the media loop: median {median * 1e3:.2f} ms, p99 "
        f"{p99 * 1e3:.2f} ms, once a second** ({median / 0.02 * 100:.1f} % of one 20 ms "
        f"block, once in 50 blocks) for {TRUNKS} trunk calls, {STATIONS} agents and "
        f"{WAITING} callers waiting; the snapshot is {size / 1e3:.0f} kB as an SSE event.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| snapshot, median | {median * 1e3:.2f} ms |",
        f"| snapshot, p99 | {p99 * 1e3:.2f} ms |",
        f"| snapshot, worst of {SNAPSHOTS} | {worst * 1e3:.2f} ms |",
        f"| callers waiting, agents, calls in the snapshot | {waiting}, "
        f"{len(snapshot['agents'])}, {len(snapshot['calls'])} |",
        f"| SSE event size | {size / 1e3:.0f} kB |",
        f"| SSE events/s to {CLIENTS} clients, together | {events:.0f} |",
        f"| SSE throughput | {megabytes:.0f} MB/s |",
        "",
        f"In service each client gets one event a second ({CLIENTS} events/s for {CLIENTS} "
        "wallboards); the SSE row is the ceiling with new snapshots on every poll. Method: "
        "bench/web.py (its docstring says what is real and what is a stand-in); no reference "
        "implementation to compare with. The p99 and the worst are the machine's (a shared "
        "2-core host; with the garbage collector off they stay the same), not the work's.",
    ])
