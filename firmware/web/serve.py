"""Serve the web service from the running appliance: uvicorn on a thread of its own.

``serve_web(app, store, listen, metrics, *, tls)`` builds a ``RuntimeLink`` over ``app``, the
FastAPI app (``config.web.create_app``), adds ``GET /metrics`` and ``GET /healthz`` from
``metrics.render`` / ``metrics.health`` (Prometheus text; 200 or 503 with the reason) and runs
uvicorn on a daemon thread. ``listen`` is an address, bound at once, or the socket
``address.bind_web`` bound earlier: a taken port is an error with its remedy, never one in a
thread later. One ``config.web.worker.Worker`` serves the link and the app: heavy requests run
in its child processes; ``close()`` kills any still running.

Integration (``branchline run``, firmware/cli/main.py): the socket is bound before the board
is opened, the media loop starts while this module is imported on a thread (FastAPI and the
page's modules are a third of a second of a start), then, between two ticks::

    web = serve_web(app, app.store, sock, metrics, tls=args.tls)
    every tick:  metrics.sample(app, now); web.link.pump(now)
    at the end:  web.close()

``tls=True`` serves HTTPS with the certificate ``config.web.tls.ensure_certificate`` makes
(self-signed, on first use) and marks the session cookie Secure. The first-run setup link is
printed with ``announce`` (and logged) when no user exists yet. ``X-Forwarded-For`` is read
only from the ``trusted_proxies`` named (``run --trusted-proxy``); from anyone else, the
client's address is the connection's, so the login limits cannot be dodged by a header.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from branchline.config.web import create_app
from branchline.firmware.ops.metrics import CONTENT_TYPE
from branchline.firmware.web.address import bind_web, check_proxies, url_host, visible_host
from branchline.firmware.web.link import RuntimeLink

__all__ = ["WebServer", "serve_web"]

log = logging.getLogger("branchline.web")


class WebServer:
    """The running web service: ``link`` (pump it every tick), ``url``, ``close()``."""

    def __init__(self, web: FastAPI, link: RuntimeLink, sock: socket.socket, *,
                 scheme: str, ssl: tuple[str, str] | None,
                 trusted_proxies: Sequence[str] = ()):
        self.web = web
        self.link = link
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.address = (host, port)
        self.url = f"{scheme}://{url_host(host)}:{port}"
        config = uvicorn.Config(web, log_level="warning", lifespan="off",
                                ssl_certfile=ssl[0] if ssl else None,
                                ssl_keyfile=ssl[1] if ssl else None,
                                timeout_graceful_shutdown=2,
                                # Forwarded headers only from the proxies named (uvicorn
                                # would trust 127.0.0.1 by default).
                                proxy_headers=bool(trusted_proxies),
                                forwarded_allow_ips=list(trusted_proxies) or None)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="web-http", daemon=True)

    def start(self) -> WebServer:
        self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Kill running heavy jobs (their requests answer 503), stop serving (open event
        streams end), then detach the link."""
        self.link.worker.close()
        self.link.planning_work.close()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
        self.link.close()


def serve_web(app, store, listen: tuple[str, int] | socket.socket, metrics, *, tls: bool,
              host_url: str | None = None,
              announce: Callable[[str], None] = print,
              trusted_proxies: Sequence[str] = ()) -> WebServer:
    """Start the web service for ``app`` on ``listen``, an address or a socket already bound
    by ``address.bind_web`` (see the module docstring); ``trusted_proxies`` name the proxies
    whose X-Forwarded-For is believed (none by default)."""
    trusted = check_proxies(trusted_proxies)
    sock = listen if isinstance(listen, socket.socket) else bind_web(listen)
    host = sock.getsockname()[0]
    scheme = "https" if tls else "http"
    ssl = None
    if tls:
        from branchline.config.web.tls import ensure_certificate

        cert, key = ensure_certificate(app.data_dir, names=[visible_host(host)])
        ssl = (str(cert), str(key))
    link = RuntimeLink(app, host_url=host_url)
    bound = sock.getsockname()[1]
    web = create_app(store, link, data_dir=app.data_dir, announce=announce, worker=link.worker,
                     secure_cookies=tls,
                     base_url=f"{scheme}://{url_host(visible_host(host))}:{bound}")
    _add_metrics(web, metrics)
    server = WebServer(web, link, sock, scheme=scheme, ssl=ssl,
                       trusted_proxies=trusted).start()
    log.info("web service on %s", server.url)
    return server


def _add_metrics(web: FastAPI, metrics) -> None:
    @web.get("/metrics", include_in_schema=False)
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE)

    @web.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        ok, reason = metrics.health()
        return PlainTextResponse(reason + "\n", status_code=200 if ok else 503)
