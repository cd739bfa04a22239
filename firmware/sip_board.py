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

A trunk's password changed while running (``branchline sip password trunk:<name>`` from a
shell, or the page's SIP section) is taken without a restart: ``TrunkPasswords.of(data,
board, document)`` is asked once a second by the appliance whether the secrets file changed
(one ``stat``); when it did, each trunk whose password differs gets its new credentials, and
a trunk that registers registers again with them at once (logged, never the password).
"""

from __future__ import annotations

import errno
import logging
import secrets

from branchline.config.data_dir import DataDir
from branchline.config.document.sip import host_port
from branchline.config.sip_secrets import SipSecrets
from branchline.hw.composite import CompositeBoard

__all__ = ["OutboundRule", "TrunkPasswords", "bind_outbound", "console_lines", "sip_of",
           "with_sip"]

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


def _credentials(spec, password):
    from branchline.hw.sip.digest import DigestClient

    if not password or not spec.user:
        return None
    return DigestClient(spec.auth_user or spec.user, password)


class TrunkPasswords:
    """The SIP secrets file watched for the trunks' passwords (see the module docstring)."""

    def __init__(self, path, sip_board, trunks):
        self.path = path
        self.sip_board = sip_board
        self.trunks = dict(trunks)  # name -> the document's SipTrunk spec
        self._store = SipSecrets(path)
        self._seen = self._signature()
        self._passwords = self._read()

    @classmethod
    def of(cls, data_dir, board, document):
        """The watcher for ``board``'s SIP board, or None when there is none."""
        sip_board = sip_of(board)
        if sip_board is None or document.sip is None:
            return None
        names = {t.name for t in sip_board.trunks}
        trunks = {n: spec for n, spec in document.sip.trunks.items() if n in names}
        return cls(DataDir.of(data_dir).sip_secrets, sip_board, trunks)

    def check(self) -> list[str]:
        """Apply the passwords that changed since the last look; the trunks it changed."""
        signature = self._signature()
        if signature == self._seen:
            return []
        self._seen = signature
        passwords = self._read()
        changed = [n for n in self.trunks if passwords.get(n) != self._passwords.get(n)]
        self._passwords = passwords
        for name in changed:
            spec = self.trunks[name]
            credentials = _credentials(spec, passwords.get(name))
            self.sip_board.set_trunk_credentials(name, credentials, spec.registers)
            log.info("SIP trunk %s: new password taken%s", name,
                     "; registering again" if spec.registers and credentials else "")
        return changed

    def _signature(self):
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _read(self):
        return {n: self._store.password(f"trunk:{n}") for n in self.trunks}


def with_sip(board, data_dir, document):
    """``board``, or ``board`` and the document's SIP board in one (see the docstring)."""
    sip = document.sip
    if sip is None:
        return board
    from branchline.hw.sip.board import SipBoard, SipPhone, SipTrunk

    store = SipSecrets(DataDir.of(data_dir).sip_secrets)
    trunks = []
    for name, spec in sip.trunks.items():
        credentials = _credentials(spec, store.password(f"trunk:{name}"))
        if credentials is None and spec.registers:
            log.warning("SIP trunk %s: no password set (trunk:%s in the SIP secrets); it "
                        "does not register", name, name)
        trunks.append(SipTrunk(name, frozenset(spec.sources),
                               host_port(spec.address) if spec.address else None,
                               spec.user, credentials,
                               spec.registers and credentials is not None, spec.dtmf,
                               tuple(spec.codecs), spec.transfer))
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
