"""Keys and certificates the emulator makes at first start and reuses afterwards.

- `credentials.json`: a service-account key in Voximplant's own format (`account_id`,
  `account_email`, `key_id`, `private_key`), so the official clients work unchanged.
- `ca.pem` (+ `ca-key.pem`): a local CA; `server.pem`/`server-key.pem`: the certificate it signs
  for HTTPS and SIP over TLS, valid for 127.0.0.1, ::1 and localhost.
- `voxsim.lock`: locked while an emulator runs on the folder (it names that emulator's pid).
Nothing here is committed to a repository: it is all generated into the state folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

CERT_DAYS = 3650


@dataclass(frozen=True)
class StateFiles:
    folder: Path
    db: str
    credentials: Path
    ca: Path
    ca_key: Path
    cert: Path
    cert_key: Path
    lock: Path

    @classmethod
    def in_folder(cls, folder: Path, *, in_memory: bool = False) -> StateFiles:
        return cls(folder=folder, db=":memory:" if in_memory else str(folder / "voxsim.db"),
                   credentials=folder / "credentials.json", ca=folder / "ca.pem",
                   ca_key=folder / "ca-key.pem", cert=folder / "server.pem",
                   cert_key=folder / "server-key.pem", lock=folder / "voxsim.lock")


def _write_private(path: Path, data: bytes) -> None:
    """Secrets are readable by their owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def new_service_account(account_id: int, account_email: str) -> dict[str, object]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    return {"account_email": account_email, "account_id": account_id, "key_id": str(uuid.uuid4()),
            "private_key": pem}


def public_key_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_credentials(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"account_id", "key_id", "private_key"} <= data.keys():
        return None
    return data


def write_credentials(path: Path, credentials: dict[str, object]) -> None:
    _write_private(path, json.dumps(credentials, indent=2).encode())


def ensure_tls(files: StateFiles) -> None:
    """Create the CA and the server certificate unless both exist."""
    if files.ca.exists() and files.cert.exists() and files.cert_key.exists():
        return
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "voxsim local CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + dt.timedelta(days=CERT_DAYS))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=CERT_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH, x509.OID_CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    _write_private(files.ca_key, ca_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    _write_private(files.cert_key, key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    files.ca.write_bytes(ca.public_bytes(pem))
    files.cert.write_bytes(cert.public_bytes(pem))
