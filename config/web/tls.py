"""A self-signed TLS certificate for the web page, made on first run when asked (``--tls``).

    cert_path, key_path = ensure_certificate(data_dir)

Files: ``data_dir/web/tls/cert.pem`` and ``key.pem`` (the key readable by its owner only).
An existing pair is reused as long as it is readable and valid for at least
``RENEW_BEFORE`` more days; otherwise a new one is made. The certificate: EC P-256 key,
valid ``VALID_DAYS``, subject and SAN the machine's host name, ``localhost``, 127.0.0.1 and
::1 (and any ``names`` given: the branch's address for the appliance). Browsers will warn
once (self-signed): docs/web.md tells the admin how to check the fingerprint, which
``fingerprint(cert_path)`` gives.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from branchline.config.data_dir import DataDir

__all__ = ["RENEW_BEFORE", "VALID_DAYS", "ensure_certificate", "fingerprint"]

# Apple's TLS requirements (iOS 13 / macOS 10.15) refuse any server certificate, self-signed
# included, valid longer than 825 days, or without the SAN and serverAuth usage set here.
VALID_DAYS = 825
RENEW_BEFORE = 30


def ensure_certificate(data_dir: Path, *, names: Iterable[str] = (),
                       now: datetime.datetime | None = None) -> tuple[Path, Path]:
    """The certificate and key paths, made (or renewed) if needed."""
    folder = DataDir.of(data_dir).tls
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    now = now or datetime.datetime.now(datetime.UTC)
    if _still_good(cert_path, key_path, now):
        return cert_path, key_path
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    hosts = list(dict.fromkeys([socket.gethostname(), "localhost", *names]))
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    alt: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts if not _is_ip(h)]
    alt += [x509.IPAddress(ipaddress.ip_address(h)) for h in hosts if _is_ip(h)]
    alt += [x509.IPAddress(a) for a in addresses]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64]),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Branchline appliance")])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_bytes = key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    _write(key_path, key_bytes, 0o600)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert_path, key_path


def fingerprint(cert_path: Path) -> str:
    """The certificate's SHA-256 fingerprint as browsers show it (AB:CD:...)."""
    cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def _still_good(cert_path: Path, key_path: Path, now: datetime.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return False
    same_key = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == \
        key.public_key().public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    return same_key and cert.not_valid_after_utc - now > datetime.timedelta(days=RENEW_BEFORE)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomically, with ``mode`` from the start (a key is never briefly world-readable)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
