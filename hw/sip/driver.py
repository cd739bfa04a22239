"""The thin UDP driver: one non-blocking socket under a sans-I/O ``UserAgent``.

Contract. ``UdpEndpoint(agent_factory, host, port)`` binds the socket (port 0: the system
picks a free one; ``address`` tells which) and builds the agent with the bound address.
``poll(timeout)`` waits at most ``timeout`` seconds, and never past the agent's next
deadline, for datagrams; reads every datagram waiting (no Python thread, nothing blocks),
hands each to the agent, sends what it returns, then fires the agent's due timers. The
caller's loop calls it; ``fileno()`` lets that loop select on the socket with others.
Send and receive errors (an ICMP port unreachable shows up as one on Linux) are counted in
``errors`` and otherwise ignored: UDP promises nothing, the transactions retransmit.
"""

import select
import socket
import time

MAX_DATAGRAM = 65535


class UdpEndpoint:
    def __init__(self, agent_factory, host="127.0.0.1", port=0, clock=time.monotonic):
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                   socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()
            raise
        self._sock.setblocking(False)
        self.address = self._sock.getsockname()[:2]
        self.agent = agent_factory(*self.address)
        self._clock = clock
        self.errors = 0
        self.datagrams_in = 0

    def fileno(self):
        return self._sock.fileno()

    def close(self):
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def poll(self, timeout):
        now = self._clock()
        deadline = self.agent.deadline
        if deadline is not None:
            timeout = max(0.0, min(timeout, deadline - now))
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if readable:
            self._drain()
        self._send(self.agent.tick(self._clock()))

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
            self._send(self.agent.receive(data, source[:2], self._clock()))

    def _send(self, outgoing):
        for out in outgoing:
            try:
                self._sock.sendto(out.data, out.address)
            except OSError:
                self.errors += 1
