"""A FastAPI app served by uvicorn on 127.0.0.1 (a port the kernel picks) in a thread.

    with served(app) as base_url:   # "http://127.0.0.1:41234", once uvicorn listens
        ...

Readiness is an event uvicorn's startup sets, never a sleep. The browser tests, the CTI
stream tests and the example client's test use it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

__all__ = ["served"]


class _Server(uvicorn.Server):
    """uvicorn that tells a waiting test when it listens (off the main thread uvicorn
    installs no signal handlers by itself)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def served(app) -> Iterator[str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", timeout_graceful_shutdown=5)
    server = _Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    assert server.ready.wait(30), "uvicorn did not start within 30 s"
    assert server.started, "uvicorn failed to start (see the log above)"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
