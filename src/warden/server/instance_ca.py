"""The data directory's CA as RDS's ``CertificateAuthority``: it issues each DB volume's
server certificate, so clients verify PostgreSQL with the same ``tls/ca.pem`` bundle the
AWS profile uses. The CA certificate is read once (it never changes while the server
runs); the CA key is read from disk for each issue (a rare event) and never handed to the
engine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from warden.core.redacted import Redacted
from warden.engines.base import TlsMaterial
from warden.engines.postgres import certs

from .tls import TlsPaths


class DataDirCa:
    def __init__(self, data_dir: Path) -> None:
        self._paths = TlsPaths.in_dir(data_dir)
        self._ca_pem: bytes | None = None

    def ca_pem(self) -> bytes:
        if self._ca_pem is None:
            self._ca_pem = self._paths.ca_cert.read_bytes()
        return self._ca_pem

    def issue(self, common_name: str, names: Sequence[str], now: datetime) -> TlsMaterial:
        key = Redacted(self._paths.ca_key.read_bytes())
        return certs.issue(self.ca_pem(), key, common_name, names, now)
