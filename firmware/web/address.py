"""Where the web service listens, settled before the appliance starts (no FastAPI here).

``bind_web((host, port))`` binds the page's socket at once, so a taken port is an error with
its remedy before any line is answered; ``check_proxies(names)`` refuses a ``--trusted-proxy``
that is not an address or network. ``branchline run`` calls both first, answers calls while the
web service is still being imported, and hands the socket to ``serve.serve_web``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

__all__ = ["bind_web", "check_proxies", "url_host", "visible_host"]


def bind_web(listen: tuple[str, int]) -> socket.socket:
    host, port = listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise OSError(f"web service on {host}:{port}: {exc.strerror}; choose another "
                      "--listen address or stop what holds it") from exc


def check_proxies(proxies: Sequence[str]) -> list[str]:
    """The proxies to trust for X-Forwarded-For, each an address or network (10.0.0.0/24)."""
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(f"trusted proxy {proxy!r} is not an IP address or network; name "
                             "each proxy in front of the appliance by its address, e.g. "
                             "127.0.0.1 or 10.1.2.0/24") from None
    return list(proxies)


def visible_host(host: str) -> str:
    # A wildcard address is no address to type into a browser: name the machine instead.
    return socket.gethostname() if host in ("0.0.0.0", "::", "") else host


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
