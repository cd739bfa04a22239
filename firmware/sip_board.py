"""The SIP board the document's ``sip`` section describes, beside the configured board.

``with_sip(board, data_dir, document)`` returns ``board`` alone when the document has no
``sip`` section, else a ``CompositeBoard`` of ``board`` and a ``SipBoard`` (hw/sip/board.py)
whose ports follow the board's, as ``Document.ports()`` numbers them. What the SIP board is
given:

* its channels (``sip1..sipN``) and, from ``lines``, the dialled number of each channel that
  has a line (a call for that number takes one of them; a channel without a line takes any);
* trunks: the addresses calls are taken from, where callbacks go, the registration (the
  password is ``trunk:<name>`` in the SIP secrets file; a trunk that registers without one is
  logged and left unregistered), the DTMF mode;
* phone accounts: station and extension, and the digest algorithms they are challenged with;
  ``password_for(extension)`` reads the phone's password from the secrets file when a phone
  authenticates, so a password set while running is used at once;
* the toll-fraud rule (``OutboundRule``): a call only to the number of a callback the
  appliance is making now, a transfer only to the document's ``transfer_targets``.
  ``bind_outbound(app)`` gives it the Appliance once it exists; until then nothing is allowed.

If the listen port is taken, the SIP board listens on a free port of the same address and
the log says so (``make run`` on a machine that already runs a SIP phone).
"""

from __future__ import annotations

import errno
import logging
import secrets

from branchline.config.data_dir import DataDir
from branchline.config.document.sip import host_port
from branchline.config.sip_secrets import SipSecrets
from branchline.hw.composite import CompositeBoard

__all__ = ["OutboundRule", "bind_outbound", "console_lines", "sip_of", "with_sip"]

log = logging.getLogger("branchline.sip")


class OutboundRule:
    """``allow(number, purpose)`` for the SIP board's ``OutboundPolicy``."""

    def __init__(self, transfer_targets=()):
        self.app = None
        self.transfer_targets = frozenset(transfer_targets)

    def __call__(self, number: str, purpose: str) -> bool:
        if purpose == "transfer":
            return number in self.transfer_targets
        dialer = getattr(self.app, "dialer", None)
        return purpose == "call" and dialer is not None and any(
            attempt.number == number for attempt in dialer.by_call.values())


def with_sip(board, data_dir, document):
    """``board``, or ``board`` and the document's SIP board in one (see the docstring)."""
    sip = document.sip
    if sip is None:
        return board
    from branchline.hw.sip.board import SipBoard, SipPhone, SipTrunk
    from branchline.hw.sip.digest import DigestClient

    store = SipSecrets(DataDir.of(data_dir).sip_secrets)
    trunks = []
    for name, spec in sip.trunks.items():
        password = store.password(f"trunk:{name}")
        credentials = None
        if password and spec.user:
            credentials = DigestClient(spec.auth_user or spec.user, password)
        elif spec.registers:
            log.warning("SIP trunk %s: no password set (trunk:%s in the SIP secrets); it "
                        "does not register", name, name)
        trunks.append(SipTrunk(name, frozenset(spec.sources),
                               host_port(spec.address) if spec.address else None,
                               spec.user, credentials,
                               spec.registers and credentials is not None, spec.dtmf,
                               tuple(spec.codecs)))
    stations = {phone.extension: station for station, phone in sip.phones.items()}
    phones = [SipPhone(station, phone.extension) for station, phone in sip.phones.items()]

    def password_for(extension):
        station = stations.get(extension)
        return None if station is None else store.password(f"phone:{station}")

    numbers = {c: line.number for c in range(sip.channels)
               if (line := document.lines.get(f"sip{c + 1}")) is not None}
    rule = OutboundRule(sip.transfer_targets)
    host, port = host_port(sip.listen, lowest=0)
    options = dict(password_for=password_for, secret=secrets.token_bytes(32),
                   realm=document.site.name, numbers=numbers, allow=rule,
                   rtp_ports=sip.rtp_ports, digest_algorithms=tuple(sip.phone_digest))
    try:
        sip_board = SipBoard(sip.channels, trunks, phones, host=host, port=port, **options)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        sip_board = SipBoard(sip.channels, trunks, phones, host=host, port=0, **options)
        log.warning("SIP: %s:%d is in use; listening on %s:%d instead", host, port,
                    *sip_board.address)
    return CompositeBoard([board, sip_board])


def sip_of(board):
    """The SIP board inside ``board`` (itself or a part of a CompositeBoard), or None."""
    from branchline.hw.sip.board import SipBoard

    for part in getattr(board, "boards", (board,)):
        if isinstance(part, SipBoard):
            return part
    return None


def bind_outbound(app) -> None:
    """Let the SIP board's outbound rule see the appliance's callbacks."""
    sip = sip_of(app.board)
    if sip is not None:
        sip.policy.allow.app = app


def console_lines(board) -> list[str]:
    """What ``branchline run`` prints about SIP: where it listens, and a baresip command on
    this machine that calls it (-n 127.0.0.1 keeps baresip's Via and SDP on loopback)."""
    sip = sip_of(board)
    if sip is None:
        return []
    host, port = sip.address
    number = next(iter(sip.numbers.values()), "100")
    return [f"SIP: {host}:{port} (UDP and TCP)",
            "call it by SIP: mkdir -p /tmp/caller && echo '<sip:13800138000@127.0.0.1>;"
            "regint=0' > /tmp/caller/accounts && baresip -n 127.0.0.1 -f /tmp/caller "
            f"-e '/dial sip:{number}@{host}:{port}'"]
