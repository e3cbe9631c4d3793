"""A throwaway certificate authority and a server certificate for 127.0.0.1, as PEM files.

For tests and demos of the worker against a TLS Kafka listener: the CA file is what a user passes as
``kafka.ssl_cafile``; the server file (unencrypted PKCS#8 key followed by its certificate) is a Kafka
``ssl.keystore.type=PEM`` keystore. Nothing here is meant for production keys.

Examples
--------
>>> import ssl, tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     material = make_test_pki(folder)
...     context = ssl.create_default_context(cafile=material.ca_file)
...     material.server_pem.read_text().count("BEGIN")
2
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["TestPki", "make_test_pki"]


@dataclass(frozen=True)
class TestPki:
    """Paths of the PEM files made by :func:`make_test_pki`."""

    __test__ = False  # not a pytest test class, despite the name

    ca_file: Path
    server_pem: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_test_pki(folder: Path | str, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> TestPki:
    """Create a CA and a server certificate for ``hosts`` (IPs or DNS names) in ``folder``, valid 2 days."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("spikewatch test CA"))
        .issuer_name(_name("spikewatch test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )  # Kafka's PEM keystore reads PKCS#8 only
    cert_pem = server_cert.public_bytes(pem)
    pki = TestPki(folder / "ca.pem", folder / "server.pem", folder / "server.crt", folder / "server.key")
    pki.ca_file.write_bytes(ca_cert.public_bytes(pem))
    pki.server_cert.write_bytes(cert_pem)
    pki.server_key.write_bytes(key_pem)
    pki.server_key.chmod(0o600)
    pki.server_pem.write_bytes(key_pem + cert_pem)
    pki.server_pem.chmod(0o600)
    return pki
