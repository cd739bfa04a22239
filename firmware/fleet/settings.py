"""How this branch reaches the centre: ``DATA/fleet/centre.json`` (0600) and the centre's CA.

    settings = FleetSettings.load(data)         # None: this branch ships to no centre
    settings.conninfo()                         # libpq connection string, TLS verified
    FleetSettings(...).save(data, ca_pem)        # `branchline fleet join` writes it

The file holds the branch's own login (issued by ``branchline central branch add``), so it is
written atomically with mode 0600 and never printed: ``repr`` hides the password. The
centre's certificate authority is kept beside it; the connection verifies the centre's
certificate and name (``sslmode=verify-full``). Without a CA file only a centre on this
machine's loopback is accepted (development, tests), never one across the network.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from branchline.config.data_dir import DataDir

__all__ = ["FleetSettings", "FleetSettingsError"]

_FIELDS = ("host", "port", "database", "role", "password")


class FleetSettingsError(ValueError):
    """The fleet settings are missing a value or unsafe; the message says what to do."""


@dataclass(frozen=True, slots=True)
class FleetSettings:
    host: str
    port: int
    database: str
    role: str
    password: str
    ca_file: Path | None = None

    def __repr__(self) -> str:
        return (f"FleetSettings(host={self.host!r}, port={self.port}, database="
                f"{self.database!r}, role={self.role!r}, password=<hidden>)")

    def __post_init__(self) -> None:
        for name in _FIELDS:
            if not getattr(self, name):
                raise FleetSettingsError(f"fleet settings: {name} is empty; run 'branchline "
                                         "fleet join' again with the centre's details")
        if not 0 < int(self.port) < 65536:
            raise FleetSettingsError(f"fleet settings: port {self.port} is not 1-65535")
        if self.ca_file is None and not _loopback(self.host):
            raise FleetSettingsError(
                f"fleet settings: the centre {self.host} is not on this machine and no CA "
                "certificate is given; pass the centre's CA (--ca FILE) so the link is TLS "
                "with the centre's certificate verified")

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo  # only a branch with a centre needs it

        tls = ({"sslmode": "verify-full", "sslrootcert": str(self.ca_file)} if self.ca_file
               else {"sslmode": "disable"})
        return make_conninfo(host=self.host, port=self.port, dbname=self.database,
                             user=self.role, password=self.password, connect_timeout=10,
                             application_name="branchline-shipper", **tls)

    @classmethod
    def load(cls, data: DataDir) -> FleetSettings | None:
        path = data.fleet_settings
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text())
            values = {name: raw[name] for name in _FIELDS}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise FleetSettingsError(
                f"fleet settings {path}: unreadable ({exc}); run 'branchline fleet join' "
                "again, or remove the file to stop shipping") from None
        ca = data.fleet_ca if data.fleet_ca.exists() else None
        return cls(**values, ca_file=ca)

    def save(self, data: DataDir, ca_pem: bytes | None) -> None:
        data.fleet.mkdir(parents=True, exist_ok=True, mode=0o700)
        if ca_pem is not None:
            _write_private(data.fleet_ca, ca_pem)
        elif data.fleet_ca.exists():
            data.fleet_ca.unlink()
        body = {name: getattr(self, name) for name in _FIELDS}
        _write_private(data.fleet_settings, json.dumps(body, indent=1).encode())


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _write_private(path: Path, content: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
