from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from warden.server import tls
from warden.services.iam.passwords import check_password, generate_password, hash_password


def test_password_hash_round_trip() -> None:
    pw = generate_password()
    stored = hash_password(pw)
    assert pw not in stored
    assert check_password(pw, stored)
    assert not check_password(pw + "x", stored)
    assert not check_password(pw, "garbage")


def test_tls_material_verifies_for_loopback(tmp_path: Path) -> None:
    paths = tls.create(tmp_path, "127.0.0.1", datetime.now(UTC))
    cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ctx = ssl.create_default_context(cafile=str(paths.ca_cert))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(paths.server_cert), str(paths.server_key))
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert (paths.ca_key.stat().st_mode & 0o777) == 0o600
