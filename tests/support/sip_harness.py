"""Harnesses for the SIP user agent: two agents wired on a virtual network, and real peers.

``Net(a, b)`` delivers what each agent sends to the agent at that address, on a virtual
clock: ``net.send(outgoing, sender)`` queues, ``net.run(until)`` delivers and advances the
clock from deadline to deadline (never past ``until``). ``drop`` is a predicate on a
message's bytes for losing it, ``mangle`` rewrites them in flight. Nothing leaves the process.

``run_peer(cmd, endpoint, board)`` runs a real peer (SIPp, sipsak) as a subprocess bounded by
PEER_LIMIT, polling our endpoint and letting ``board(endpoint, now)`` act on the agent's
events meanwhile (answer, hang up...), until the peer exits.
"""

import shutil
import socket
import subprocess
import time
from collections import deque
from contextlib import ExitStack, suppress

import pytest

from branchline.hw.sip import ParseError, parse_message

PEER_LIMIT = 60.0  # a bound on a hung peer, not a speed check


class Net:
    def __init__(self, *agents, drop=None, mangle=None):
        self.agents = {(a.host, a.port): a for a in agents}
        self.now = 0.0
        self.queue = deque()
        self.log = []  # (time, sender, message) of everything delivered that parses
        self.drop = drop or (lambda data: False)
        self.mangle = mangle or (lambda data: data)

    def send(self, outgoing, sender):
        for out in outgoing:
            self.queue.append(((sender.host, sender.port), out))

    def run(self, until):
        while True:
            while self.queue:
                source, out = self.queue.popleft()
                target = self.agents.get(tuple(out.address))
                if target is None or self.drop(out.data):
                    continue
                data = self.mangle(out.data)
                with suppress(ParseError):
                    self.log.append((self.now, source, parse_message(data)))
                self.send(target.receive(data, source, self.now, out.transport), target)
            deadlines = [a.deadline for a in self.agents.values() if a.deadline is not None]
            nxt = min(deadlines, default=None)
            if nxt is None or nxt > until:
                self.now = max(self.now, until)
                return
            self.now = max(self.now, nxt)
            for agent in self.agents.values():
                self.send(agent.tick(self.now), agent)

    def methods(self, sender=None):
        """What was delivered, as request methods and response statuses, in order."""
        return [getattr(m, "method", None) or m.status for _, s, m in self.log
                if sender is None or s == (sender.host, sender.port)]


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_sip_port():
    """A port free for UDP and TCP, with the next one free for TCP too: a peer that listens
    on UDP, TCP and TLS (baresip: TLS on port + 1). A UDP pick alone may be a TCP port in
    TIME_WAIT from the tests' own HTTP connections, which the peer then cannot bind."""
    for _ in range(50):
        port = free_port()
        if port >= 65535:
            continue
        with ExitStack() as held:
            try:
                for number, kind in ((port, socket.SOCK_DGRAM), (port, socket.SOCK_STREAM),
                                     (port + 1, socket.SOCK_STREAM)):
                    s = held.enter_context(socket.socket(socket.AF_INET, kind))
                    s.bind(("127.0.0.1", number))
            except OSError:
                continue
        return port
    raise RuntimeError("no port free for UDP and TCP on 127.0.0.1 in 50 picks")


def run_peer(cmd, endpoint, cwd, board=None, limit=PEER_LIMIT):
    tool = shutil.which(cmd[0])
    if tool is None:
        pytest.fail(f"{cmd[0]} is missing: run scripts/install-system-deps")
    peer = subprocess.Popen([tool, *cmd[1:]], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    end = time.monotonic() + limit
    try:
        while peer.poll() is None and time.monotonic() < end:
            endpoint.poll(0.05)
            if board is not None:
                board(endpoint, time.monotonic())
        if peer.poll() is not None:
            # What the peer sent just before it exited (SIPp's 200 to our BYE) is in our
            # sockets already; on a loaded machine it can exit before our last poll took it.
            endpoint.poll(0)
            if board is not None:
                board(endpoint, time.monotonic())
    finally:
        if peer.poll() is None:
            peer.kill()
        output = peer.communicate(timeout=10)[0].decode(errors="replace")
    assert time.monotonic() < end, f"{cmd[0]} did not finish:\n{output[-3000:]}"
    return peer.returncode, output


class Board:
    """The SIP board reduced to a policy for interop tests: ring every incoming call, answer
    it ``answer_after`` seconds later (None: never), hang up a call it placed once answered
    when ``hangup_answered``; every event the agent raised is kept in ``seen``."""

    def __init__(self, ring=True, answer_after=0.0, hangup_answered=False):
        self.ring, self.answer_after, self.hangup_answered = ring, answer_after, hangup_answered
        self.seen = []
        self._answer_at = {}

    def __call__(self, endpoint, now):
        ua = endpoint.agent
        while ua.events:
            event = ua.events.popleft()
            self.seen.append(event)
            kind = type(event).__name__
            if kind == "IncomingCall":
                if self.ring:
                    endpoint.send(ua.ring(event.call_id, now))
                if self.answer_after is not None:
                    self._answer_at[event.call_id] = now + self.answer_after
            elif kind == "CallAnswered" and self.hangup_answered and \
                    ua.calls[event.call_id].role == "uac":
                endpoint.send(ua.hangup(event.call_id, now))
        for call_id, when in list(self._answer_at.items()):
            state = ua.calls[call_id].state
            if state not in ("incoming", "early"):
                del self._answer_at[call_id]
            elif now >= when:
                del self._answer_at[call_id]
                endpoint.send(ua.answer(call_id, now))

    def of(self, kind):
        return [e for e in self.seen if type(e).__name__ == kind]
