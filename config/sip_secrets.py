"""SIP passwords: one per account, in the data directory, never in the configuration document.

    secrets = SipSecrets(data.sip_secrets)
    shown_once = secrets.generate("phone:desk1")         # strong, returned this once
    secrets.set("trunk:carrier", typed, site_words=[...]) # WeakSecret if weak or reused
    secrets.password("phone:desk1")                       # the runtime's digest lookup

Accounts are ``trunk:<name>`` (the trunk's digest password at its registrar or peer) and
``phone:<station>`` (what the station's phone proves at our registrar). The file is JSON,
mode 0600, replaced atomically (temp file, fsync, rename, fsync of the directory) so a power
cut leaves the old file or the new one. Why here and not in the document: a configuration
version is history that is diffed, shown to viewers, exported and rolled back (a rollback
must never bring an old password back), and SIP digest needs the password itself (or a hash
that is as good as one to an attacker), so hashing it in the document protects nothing.
Nothing here logs a password; ``repr`` shows the account names only.

Passwords are checked by ``config/passwords.py`` (length and guessability, the site's own
words counted as known) and must differ from every other account's: one phone's password
must not open another's account. Generated ones are 20 characters from ``secrets``' URL-safe
alphabet (about 120 bits).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path

from branchline.config.passwords import WeakPassword, weak_password

__all__ = ["SipSecrets", "WeakSecret"]

_ACCOUNT = re.compile(r"^(trunk|phone):[a-z0-9][a-z0-9_.-]*$")


class WeakSecret(ValueError):
    """A password refused: ``problem`` says why in English and Chinese."""

    def __init__(self, problem: WeakPassword):
        super().__init__(str(problem))
        self.problem = problem


class SipSecrets:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"SipSecrets({str(self.path)!r}, accounts={sorted(self._read())})"

    def password(self, account: str) -> str | None:
        return self._read().get(account)

    def accounts(self) -> list[str]:
        return sorted(self._read())

    def generate(self, account: str) -> str:
        """A new strong password for ``account``, stored; show it to the admin once."""
        _check_account(account)
        password = secrets.token_urlsafe(15)
        self._write({**self._read(), account: password})
        return password

    def set(self, account: str, password: str, *, site_words: Iterable[str] = ()) -> None:
        _check_account(account)
        name = account.split(":", 1)[1]
        problem = weak_password(password, user=name, site_words=site_words)
        stored = self._read()
        if problem is None and any(p == password for a, p in stored.items() if a != account):
            problem = WeakPassword(
                "another SIP account has this password; give each account its own",
                "另一个 SIP 账号已使用此密码；请为每个账号设置不同的密码")
        if problem is not None:
            raise WeakSecret(problem)
        self._write({**stored, account: password})

    def remove(self, account: str) -> None:
        stored = self._read()
        if stored.pop(account, None) is not None:
            self._write(stored)

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _check_account(account: str) -> None:
    if not _ACCOUNT.match(account):
        raise ValueError(f"SIP account {account!r}: expected trunk:<name> or phone:<station>")
