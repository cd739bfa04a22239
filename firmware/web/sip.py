"""The web service's SIP view and SIP passwords (``RuntimeLink.sip_status`` / ``sip_password``).

The loop publishes the SIP board's registrations with every snapshot (``publish``, loop
thread): trunks with their registration state, reason, registrar, expiry and next attempt;
phone accounts with each live binding's address, user agent, last seen and expiry, times as
UTC epoch seconds. The web threads read that published value and the SIP secrets file
(``config/sip_secrets.py``) for whether each account has a password; never the password.

``set_password(account, password, who)`` stores a typed password (refused when weak or used
by another account, with ``config/passwords.py``'s reason) or, with ``password`` None,
generates one and returns it: the only time it is shown. Audited as "SIP password set" or
"SIP password generated" with the account, never the secret. A phone's new password holds at
its next REGISTER; a trunk's within a second, when the loop sees the secrets file changed
(firmware/sip_board.py ``TrunkPasswords``: the trunk registers again with it).
"""

from __future__ import annotations

from branchline.config.sip_secrets import SipSecrets, WeakSecret
from branchline.config.web.link import NotFound, Refused
from branchline.firmware.sip_board import sip_of

__all__ = ["WebSip"]


class WebSip:
    def __init__(self, app, audit):
        self.app = app
        self._audit = audit
        self._secrets = SipSecrets(app.data.sip_secrets)
        self._published: dict | None = None

    def publish(self) -> None:
        """Take the SIP board's registrations (loop thread)."""
        sip = sip_of(self.app.board)
        if sip is None:
            return
        status = sip.status()
        monotonic, epoch = status["clock"], self.app.wall_epoch(self.app.clock.now())

        def wall(at):  # the SIP board's times are on its monotonic clock
            return None if at is None else round(epoch + at - monotonic, 3)

        self._published = {
            "trunks": [{"name": t.name, "registers": t.register,
                        "address": None if t.address is None else f"{t.address[0]}:"
                                                                  f"{t.address[1]}",
                        **_registration(status["trunks"].get(t.name), wall)}
                       for t in sip.trunks],
            "phones": [{"station": p.station, "extension": p.user,
                        "bindings": [{"address": f"{b.source[0]}:{b.source[1]}",
                                      "transport": b.transport, "user_agent": b.user_agent,
                                      "last_seen": wall(b.last_seen),
                                      "expires": wall(b.expires_at)}
                                     for b in status["phones"].get(p.station, [])]}
                       for p in sip.phones],
        }

    def status(self) -> dict | None:
        published = self._published
        if published is None:
            return None
        accounts = set(self._secrets.accounts())
        return {
            "trunks": [{**t, "password_set": f"trunk:{t['name']}" in accounts}
                       for t in published["trunks"]],
            "phones": [{**p, "password_set": f"phone:{p['station']}" in accounts}
                       for p in published["phones"]],
        }

    def set_password(self, account: str, password: str | None, who: str) -> str | None:
        status = self.status()
        known = set() if status is None else \
            {f"trunk:{t['name']}" for t in status["trunks"]} | \
            {f"phone:{p['station']}" for p in status["phones"]}
        if account not in known:
            raise NotFound(f"SIP account {account!r}: no such account in the configuration "
                           f"in force; accounts are {', '.join(sorted(known)) or 'none'}")
        if password is None:
            shown_once = self._secrets.generate(account)
            self._audit(who, f"SIP password generated for {account}", "")
            return shown_once
        try:
            self._secrets.set(account, password, site_words=[self.app.config.document.site.name])
        except WeakSecret as exc:
            raise Refused(f"SIP password for {account} refused: {exc}",
                          code="weak_password") from None
        self._audit(who, f"SIP password set for {account}", "")
        return None


def _registration(status, wall) -> dict:
    if status is None:
        return {"state": "none", "reason": "", "registrar": None, "expires": None,
                "next_attempt": None}
    return {"state": status.state, "reason": status.reason,
            "registrar": f"{status.registrar[0]}:{status.registrar[1]}",
            "expires": wall(status.expires_at), "next_attempt": wall(status.next_attempt)}
