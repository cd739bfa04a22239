"""SIP peers for tests of the whole appliance, all on 127.0.0.1.

``Peer`` is our own SIP endpoint and RTP engine as the far end of a call: a caller, a phone,
or a carrier that answers the appliance's calls (``answer=True``). ``step()`` polls it once:
its agent's events go to ``seen``, what it hears to ``heard`` (one block per step), and it
sends silence. Nothing here sleeps; the test's loop steps it.
"""

from __future__ import annotations

import numpy as np

from branchline.hw.ports import BLOCK_SAMPLES
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import IncomingCall
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.rtp import RtpEngine

LOOPBACK = "127.0.0.1"


class Peer:
    def __init__(self, trusted=(LOOPBACK,), answer=False):
        self.ep = SipEndpoint(lambda h, p: UserAgent(
            h, p, trusted=set(trusted), outbound=OutboundPolicy(lambda n, p: True)), LOOPBACK)
        self.ua = self.ep.agent
        self.answer = answer
        self.rtp = RtpEngine(1)
        self.media = self.rtp.open(0, host=LOOPBACK)
        self.seen = []
        self.heard = []

    @property
    def address(self) -> tuple[str, int]:
        return self.ep.address

    def step(self, now: float) -> None:
        self.ep.poll(0)
        while self.ua.events:
            event = self.ua.events.popleft()
            self.seen.append(event)
            if self.answer and isinstance(event, IncomingCall):
                self.ep.send(self.ua.answer(event.call_id, now, media_address=self.media))
        self.rtp.receive()
        block = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
        self.rtp.read(block)
        self.heard.append(block[0].copy())
        self.rtp.write(np.zeros((1, BLOCK_SAMPLES), dtype=np.int16))

    def of(self, kind):
        return [e for e in self.seen if isinstance(e, kind)]

    def close(self) -> None:
        self.rtp.close(0)
        self.ep.close()
