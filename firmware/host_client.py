"""The runtime's bank host client: IVR HostRequests over HTTP without blocking the media loop.

    client = HostClient(base_url, {"balance": "/ivr/balance", "card_loss": "/ivr/card-loss"})
    client.submit(request, call_id)       # returns at once
    for call_id, reply in client.poll():  # finished replies, never waits
        session_of(call_id).handle(reply, now)
    client.wait(timeout)                  # block until a reply is ready (tests, idle loops)
    client.close()

Requests run on an asyncio loop in one background thread (httpx.AsyncClient, at most
``max_workers`` at a time). Each request's ``timeout`` is a deadline for the whole exchange,
waiting for a free slot included. The wire format is the simulator's (docs/bankhost.md):
POST JSON ``body``; ``{"status": "ok", "data": {...}}`` or ``{"status": "error", "code": ...}``.

Every outcome becomes one ``HostReplied``, mapped in one place (``_failure`` / ``_interpret``).
Only the host's own refusal is ``error``; a host that could not be used is ``failed``, which
the flow sends to a person rather than telling the caller their card or PIN was refused:

    {"status": "error", "code": c}                 -> error, code c (the host said no)
    deadline passed, or httpx timeout              -> timeout
    connection refused, reset, DNS                 -> failed, code "unreachable"
    HTTP status other than 2xx                     -> failed, code "http_<status>"
    not JSON, not the reply shape                  -> failed, code "bad_reply"
    endpoint not configured                        -> failed, code "unknown_endpoint"

``InProcessHost(answer, endpoints)`` has the same surface over a function that answers in the
caller's thread (``BankHostSimulator.answer``: path and body bytes in, status and body out),
its replies mapped by the same rules. ``simulate --media events`` uses it: the loop waits for
every reply there anyway, and an HTTP exchange on loopback costs about 3 ms of CPU across two
threads per request, most of a busy simulated day's host time.

The client raises nothing at the media loop except ``HostClientClosed`` (submit after close,
the runtime's mistake). Logs never hold the values of ``HostRequest.sensitive_fields``: the
body is logged (at debug) with them masked. ``close()`` abandons requests in flight; their
sessions time out on their own ``host`` timers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx

from branchline.ivr import HostReplied, HostRequest

log = logging.getLogger(__name__)

MASK = "***"


class HostClientClosed(RuntimeError):
    """submit() after close()."""


class HostClient:
    """Non-blocking client for the bank host (module docstring)."""

    def __init__(self, base_url: str, endpoints: Mapping[str, str], *, max_workers: int = 4,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        if max_workers < 1:
            raise ValueError(f"HostClient: max_workers={max_workers}; expected at least 1")
        for name, path in endpoints.items():
            if not path.startswith("/"):
                raise ValueError(f"HostClient: endpoint {name!r} path {path!r}; expected a "
                                 "path starting with '/', like /ivr/balance")
        self._endpoints = dict(endpoints)
        self._done: deque[tuple[Any, HostReplied]] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="host-client",
                                        daemon=True)
        self._thread.start()
        self._client, self._slots = asyncio.run_coroutine_threadsafe(
            self._open(base_url, max_workers, transport), self._loop).result()

    @staticmethod
    async def _open(base_url, max_workers, transport):
        limits = httpx.Limits(max_connections=max_workers,
                              max_keepalive_connections=max_workers)
        client = httpx.AsyncClient(base_url=base_url, limits=limits, transport=transport,
                                   timeout=None)
        # httpx's connection layer loads anyio's asyncio backend (some 26 modules) on its
        # first exchange: loaded now, so a caller's first request does not import them while
        # the media loop waits for the GIL, and memory is from the start what it is all day.
        await anyio.sleep(0)
        return client, asyncio.Semaphore(max_workers)

    # -- the media loop's side ---------------------------------------------------------

    def submit(self, request: HostRequest, call_id: Any) -> None:
        """Start ``request`` for ``call_id``; its reply comes later from ``poll()``."""
        if self._closed:
            raise HostClientClosed(f"HostClient.submit: request {request.request_id} for call "
                                   f"{call_id} after close(); the client is gone")
        path = self._endpoints.get(request.endpoint)
        if path is None:
            log.error("host: endpoint %r of request %d (call %s) is not configured; have %s",
                      request.endpoint, request.request_id, call_id,
                      ", ".join(sorted(self._endpoints)) or "none")
            self._finish(call_id, HostReplied(request.request_id, "failed",
                                              {"code": "unknown_endpoint"}))
            return
        # the reply arrives through _finish; close() cancels what is still running
        asyncio.run_coroutine_threadsafe(self._exchange(request, path, call_id), self._loop)

    def poll(self) -> list[tuple[Any, HostReplied]]:
        """Every reply finished since the last poll, in the order they finished."""
        with self._ready:
            replies = list(self._done)
            self._done.clear()
        return replies

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a reply is ready to poll, or ``timeout`` passes; True if one is."""
        with self._ready:
            return self._ready.wait_for(lambda: bool(self._done), timeout)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> HostClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the background loop's side ----------------------------------------------------

    async def _shutdown(self) -> None:
        """Cancel the requests in flight (they give no reply), then close the connections."""
        requests = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in requests:
            task.cancel()
        await asyncio.gather(*requests, return_exceptions=True)
        await self._client.aclose()

    async def _exchange(self, request: HostRequest, path: str, call_id: Any) -> None:
        started = self._loop.time()
        log.debug("host: %s request %d (call %s) body %s", request.endpoint,
                  request.request_id, call_id, masked(request))
        try:
            response = await asyncio.wait_for(self._post(path, request), request.timeout)
        except Exception as exc:
            reply = _failure(request.request_id, exc)
        else:
            reply = _interpret(request.request_id, response)
        log.info("host: %s request %d (call %s): %s%s in %.0f ms", request.endpoint,
                 request.request_id, call_id, reply.status,
                 f" {reply.data['code']}" if "code" in reply.data else "",
                 (self._loop.time() - started) * 1000)
        self._finish(call_id, reply)

    async def _post(self, path: str, request: HostRequest) -> httpx.Response:
        async with self._slots:
            return await self._client.post(path, json=dict(request.body))

    def _finish(self, call_id: Any, reply: HostReplied) -> None:
        with self._ready:
            self._done.append((call_id, reply))
            self._ready.notify_all()


class InProcessHost:
    """``HostClient``'s surface over ``answer(path, body) -> (status, body)``, called in the
    submitting thread; each reply is ready for the next ``poll`` (module docstring)."""

    def __init__(self, answer: Callable[[str, bytes], tuple[int, bytes]],
                 endpoints: Mapping[str, str]) -> None:
        self._answer = answer
        self._endpoints = dict(endpoints)
        self._done: list[tuple[Any, HostReplied]] = []
        self._closed = False

    def submit(self, request: HostRequest, call_id: Any) -> None:
        if self._closed:
            raise HostClientClosed(f"InProcessHost.submit: request {request.request_id} for "
                                   f"call {call_id} after close(); the client is gone")
        path = self._endpoints.get(request.endpoint)
        if path is None:
            reply = HostReplied(request.request_id, "failed", {"code": "unknown_endpoint"})
        else:
            status, body = self._answer(path, json.dumps(dict(request.body)).encode())
            reply = _interpret(request.request_id, httpx.Response(status, content=body))
        self._done.append((call_id, reply))

    def poll(self) -> list[tuple[Any, HostReplied]]:
        replies, self._done = self._done, []
        return replies

    def wait(self, timeout: float | None = None) -> bool:
        return bool(self._done)  # a reply is ready as soon as it is asked for

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> InProcessHost:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def masked(request: HostRequest) -> dict[str, str]:
    """The request body with the sensitive fields' values replaced, for logs."""
    return {k: (MASK if k in request.sensitive_fields else v) for k, v in request.body.items()}


def _failure(request_id: int, exc: Exception) -> HostReplied:
    """An exchange that raised: the one place httpx's exceptions become replies."""
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return HostReplied(request_id, "timeout", {})
    if isinstance(exc, httpx.RemoteProtocolError | httpx.DecodingError):
        code = "bad_reply"
    elif isinstance(exc, httpx.TransportError):
        code = "unreachable"
    else:
        log.error("host: request %d failed unexpectedly: %s", request_id,
                  type(exc).__name__, exc_info=exc)
        code = "client_error"
    return HostReplied(request_id, "failed", {"code": code})


def _interpret(request_id: int, response: httpx.Response) -> HostReplied:
    """A reply the host sent: check its status and shape."""
    if not response.is_success:
        return HostReplied(request_id, "failed", {"code": f"http_{response.status_code}"})
    try:
        document = response.json()
    except ValueError:
        return HostReplied(request_id, "failed", {"code": "bad_reply"})
    status = document.get("status") if isinstance(document, dict) else None
    if status == "ok" and isinstance(document.get("data"), dict):
        return HostReplied(request_id, "ok", dict(document["data"]))
    if status == "error" and isinstance(document.get("code"), str) and document["code"]:
        return HostReplied(request_id, "error", {"code": document["code"]})
    return HostReplied(request_id, "failed", {"code": "bad_reply"})
