"""Server certificates for DB instances, issued by warden's CA.

The caller hands over the CA certificate and key (PEM, from the data directory) and the
names clients will use (the instance endpoint's DNS name and addresses); the result is
the ``TlsMaterial`` an ``InstanceSpec`` carries. The engine itself never holds the CA key:
it only writes the issued pair into the instance directory. Loopback names (localhost,
127.0.0.1, ::1) are always included because warden's own admin sessions use them with
``sslmode=verify-full``. Certificates carry SKI/AKI and key usages so strict verifiers
accept them, like the API server's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from warden.core.redacted import Redacted

from ..base import TlsMaterial

VALIDITY = timedelta(days=397)  # the public-CA maximum; reissued on restart when near expiry
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _subject_alt_names(names: Iterable[str]) -> x509.SubjectAlternativeName:
    dns: dict[str, x509.GeneralName] = {}
    ips: dict[str, x509.GeneralName] = {}
    for name in (*names, *_LOOPBACK):
        try:
            addr = ipaddress.ip_address(name)
        except ValueError:
            dns.setdefault(name.lower(), x509.DNSName(name.lower()))
        else:
            ips.setdefault(str(addr), x509.IPAddress(addr))
    return x509.SubjectAlternativeName([*dns.values(), *ips.values()])


def _usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=True,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    ca_cert_pem: bytes,
    ca_key_pem: Redacted[bytes],
    common_name: str,
    names: Iterable[str],
    now: datetime,
) -> TlsMaterial:
    """A fresh P-256 key and a server certificate for ``names`` signed by the CA."""
    ca_key = serialization.load_pem_private_key(ca_key_pem.reveal(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key must be an EC key")
    ca_cert = x509.load_pem_x509_certificate(ca_cert_pem)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(_subject_alt_names(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TlsMaterial(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=Redacted(key_pem),
        ca_pem=ca_cert_pem,
    )


def expires(material: TlsMaterial) -> datetime:
    return x509.load_pem_x509_certificate(material.cert_pem).not_valid_after_utc


def make_ca(common_name: str, now: datetime) -> tuple[bytes, Redacted[bytes]]:
    """A self-signed CA (certificate PEM, key PEM), for tests and stand-alone use."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), Redacted(key_pem)
