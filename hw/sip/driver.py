"""The thin socket driver under a sans-I/O ``UserAgent``: UDP and TCP on one port.

Contract. ``SipEndpoint(agent_factory, host, port, tcp=True)`` binds a UDP socket (port 0:
the system picks a free one; ``address`` tells which) and, with ``tcp``, a listening TCP
socket on the same port, and builds the agent with the bound address. ``poll(timeout)``
waits at most ``timeout`` seconds, and never past the agent's next deadline, for any socket;
reads every datagram waiting and every byte on every connection that has some (no Python
thread, nothing blocks), hands each message to the agent, sends what it returns, then fires
the agent's due timers. ``send(outgoing)`` sends what a call into the agent returned
(``answer``, ``invite``...). The caller's loop calls ``poll``; the sockets are ``fileno``s it
may select on.

The sockets wait in a ``selectors`` selector (epoll on Linux), not ``select()``: the process
holds two RTP sockets per call, so with a thousand calls the signalling sockets' descriptors
are past ``select()``'s limit of 1,024; and a poll costs what is ready, not what is open.

TCP (RFC 3261 §18): incoming connections are accepted and kept (at most 256, 8 from one
address; one quiet for ``tcp_idle`` seconds is closed); their bytes go through a
``StreamFramer`` and a connection whose framing is lost is closed. A message for a TCP
address with no connection opens one (non-blocking connect); one that fails to connect is
reported to the agent (``transport_failed``) so its transactions end. Responses go back on
the connection the request came by (the agent addresses them to the source).

Send and receive errors on UDP (an ICMP port unreachable shows up as one on Linux) are
counted in ``errors`` and otherwise ignored: UDP promises nothing, the transactions
retransmit.
"""

import errno
import selectors
import socket
import time

from branchline.hw.sip.errors import ParseError
from branchline.hw.sip.framing import StreamFramer

_PICKS = 8  # free-port picks before giving up (the UDP port found taken for TCP each time)

MAX_DATAGRAM = 65535
MAX_CONNECTIONS = 256
MAX_PER_SOURCE = 8  # one scanner must not take every connection a phone may need
IDLE_CHECK_S = 1.0  # how often quiet connections are looked for
_UDP, _LISTENER = "udp", "listener"  # selector data of the two sockets that are not a _Connection


class _Connection:
    def __init__(self, sock, peer, now, connecting=False):
        self.sock = sock
        self.peer = peer
        self.last = now
        self.framer = StreamFramer()
        self.pending = bytearray()
        self.connecting = connecting


class SipEndpoint:
    def __init__(self, agent_factory, host="127.0.0.1", port=0, tcp=True,
                 clock=time.monotonic, tcp_idle=900.0):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._family = family
        self._connections = {}  # peer (host, port) -> _Connection
        self._sock = self._listener = None
        # With port 0 the system picks a free UDP port, which a TCP socket may hold already
        # (the two spaces are separate): then pick again rather than fail.
        for attempt in range(_PICKS if port == 0 else 1):
            try:
                self._bind(family, host, port, tcp)
                break
            except OSError as exc:
                self._close_sockets()
                if exc.errno != errno.EADDRINUSE or attempt == _PICKS - 1 or port != 0:
                    raise
        self._selector = selectors.DefaultSelector()
        self._sock.setblocking(False)
        self._selector.register(self._sock, selectors.EVENT_READ, _UDP)
        if self._listener is not None:
            self._selector.register(self._listener, selectors.EVENT_READ, _LISTENER)
        self.agent = agent_factory(*self.address)
        self.agent.tcp = tcp
        self._clock = clock
        self.tcp_idle = tcp_idle
        self._idle_check = clock() + IDLE_CHECK_S
        self.errors = 0
        self.datagrams_in = 0
        self.stream_messages_in = 0

    def _bind(self, family, host, port, tcp) -> None:
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self.address = self._sock.getsockname()[:2]
        if tcp:
            self._listener = socket.socket(family, socket.SOCK_STREAM)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(self.address)
            self._listener.listen(64)
            self._listener.setblocking(False)

    @property
    def connections(self):
        """The peers of the open TCP connections."""
        return sorted(self._connections)

    def fileno(self):
        return self._sock.fileno()

    def close(self):
        for conn in list(self._connections.values()):
            conn.sock.close()
        self._connections.clear()
        self._close_sockets()
        self._selector.close()

    def _close_sockets(self):
        for sock in (self._listener, self._sock):
            if sock is not None:
                sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def poll(self, timeout):
        if timeout > 0:
            deadline = self.agent.deadline
            if deadline is not None:
                timeout = max(0.0, min(timeout, deadline - self._clock()))
        ready = self._selector.select(timeout)
        for key, mask in ready:
            conn = key.data
            if conn is _UDP:
                self._drain()
            elif conn is _LISTENER:
                self._accept()
            else:
                if mask & selectors.EVENT_WRITE and self._live(conn):
                    self._flush(conn)
                if mask & selectors.EVENT_READ and self._live(conn):
                    self._read(conn)
        now = self._clock()
        if now >= self._idle_check:
            self._idle_check = now + IDLE_CHECK_S
            for conn in list(self._connections.values()):
                if now - conn.last > self.tcp_idle:
                    self._drop(conn)
        self.send(self.agent.tick(now))

    def send(self, outgoing):
        for out in outgoing:
            if out.transport == "udp":
                try:
                    self._sock.sendto(out.data, out.address)
                except OSError:
                    self.errors += 1
            else:
                conn = self._connections.get(tuple(out.address)) or self._connect(out.address)
                if conn is not None:
                    conn.pending += out.data
                    self._flush(conn)

    def _drain(self):
        while True:
            try:
                data, source = self._sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                self.errors += 1
                continue
            self.datagrams_in += 1
            self.send(self.agent.receive(data, source[:2], self._clock()))

    def _accept(self):
        while True:
            try:
                sock, peer = self._listener.accept()
            except BlockingIOError:
                return
            except OSError:
                self.errors += 1
                return
            same = sum(1 for p in self._connections if p[0] == peer[0])
            if len(self._connections) >= MAX_CONNECTIONS or same >= MAX_PER_SOURCE:
                self.errors += 1
                sock.close()
                continue
            sock.setblocking(False)
            peer = tuple(peer[:2])
            conn = self._connections[peer] = _Connection(sock, peer, self._clock())
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _connect(self, address):
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        sock.setblocking(False)
        code = sock.connect_ex(tuple(address))
        if code not in (0, errno.EINPROGRESS):
            sock.close()
            self.send(self.agent.transport_failed(address, self._clock()))
            return None
        conn = _Connection(sock, tuple(address), self._clock(), connecting=True)
        self._connections[conn.peer] = conn
        self._selector.register(sock, selectors.EVENT_WRITE, conn)
        return conn

    def _flush(self, conn):
        if conn.connecting:
            if sock_error := conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                if sock_error == errno.EINPROGRESS:
                    return
                self._drop(conn, failed=True)
                return
            conn.connecting = False
        try:
            sent = conn.sock.send(conn.pending)
        except BlockingIOError:
            sent = None
        except OSError:
            self._drop(conn, failed=True)
            return
        if sent is not None:
            del conn.pending[:sent]
            conn.last = self._clock()
        # Wait for room to write only while something is left to send.
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.pending else 0)
        if self._selector.get_key(conn.sock).events != events:
            self._selector.modify(conn.sock, events, conn)

    def _read(self, conn):
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        conn.last = self._clock()
        try:
            messages = conn.framer.feed(data)
        except ParseError:
            self._drop(conn)
            return
        for message in messages:
            self.stream_messages_in += 1
            self.send(self.agent.receive(message, conn.peer, self._clock(), transport="tcp"))

    def _live(self, conn):
        """Not dropped by an earlier event of this poll."""
        return self._connections.get(conn.peer) is conn

    def _drop(self, conn, failed=False):
        self._connections.pop(conn.peer, None)
        self._selector.unregister(conn.sock)
        conn.sock.close()
        if failed:
            self.send(self.agent.transport_failed(conn.peer, self._clock()))
