"""Test helper: sign requests with botocore's real signer and hand back the wire parts.

Only tests import botocore's signer; ``warden.sigv4`` must agree with it byte for byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from warden.sigv4 import SignatureInfo, SigningKeys, extract, verify

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDH+/token=="
WHEN = datetime(2026, 11, 28, 1, 9, 30, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Wire:
    """A request as the server receives it: raw path and query, lower-case header list, body."""

    method: str
    raw_path: str
    query_string: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def replace(self, **changes: object) -> Wire:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def header(self, name: str) -> str:
        return ",".join(value for key, value in self.headers if key == name)

    def with_header(self, name: str, value: str) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k != name)
        return self.replace(headers=(*kept, (name, value)))

    def extract(self) -> SignatureInfo | None:
        return extract(self.method, self.raw_path, self.query_string, self.headers)

    def verify(
        self,
        *,
        secret: str = SECRET,
        now: datetime | None = None,
        keys: SigningKeys | None = None,
        info: SignatureInfo | None = None,
    ) -> SignatureInfo:
        info = info if info is not None else self.extract()
        if info is None:
            raise AssertionError("request carries no signature")
        verify(
            info,
            method=self.method,
            raw_path=self.raw_path,
            query_string=self.query_string,
            headers=self.headers,
            body=self.body,
            secret_access_key=secret,
            now=now if now is not None else info.request_time,
            keys=keys,
        )
        return info


class _UnsignedSigV4Auth(SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


class _UnsignedSigV4QueryAuth(SigV4QueryAuth):
    def payload(self, request: AWSRequest) -> str:
        return "UNSIGNED-PAYLOAD"


def _host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def sign(
    method: str,
    url: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes | dict[str, str] = b"",
    service: str = "iam",
    region: str = "us-east-1",
    token: str | None = None,
    when: datetime = WHEN,
    presign_expires: int | None = None,
    secret: str = SECRET,
    payload: str = "body",
) -> Wire:
    """Sign with botocore (header form, or presigned when ``presign_expires`` is given).

    A dict body is form data, as botocore's query serializer hands it to the signer.
    ``payload``: "body" (hash the body), "unsigned" (sign UNSIGNED-PAYLOAD with no header, as
    S3 presigned URLs do) or "unsigned-header" (botocore's payload-signing-disabled mode, which
    also sends ``X-Amz-Content-SHA256: UNSIGNED-PAYLOAD``).
    """
    credentials = Credentials(AKID, secret, token)
    signer: SigV4Auth
    if presign_expires is None:
        signer_class = _UnsignedSigV4Auth if payload == "unsigned" else SigV4Auth
        signer = signer_class(credentials, service, region)
    else:
        query_class = _UnsignedSigV4QueryAuth if payload == "unsigned" else SigV4QueryAuth
        signer = query_class(credentials, service, region, expires=presign_expires)
    request = AWSRequest(method=method, url=url, data=body)
    if payload == "unsigned-header":
        request.context["payload_signing_enabled"] = False
    for name, value in headers:
        request.headers[name] = value  # appends: duplicates are kept, as on a real wire
    frozen = when.astimezone(UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=frozen):
        signer.add_auth(request)
    parts = urlsplit(request.url)
    wire_headers = [(name.lower(), value) for name, value in request.headers.items()]
    if not any(name == "host" for name, _ in wire_headers):
        wire_headers.insert(0, ("host", _host(request.url)))
    sent = request.prepare().body
    return Wire(
        method=method,
        raw_path=parts.path,
        query_string=parts.query,
        headers=tuple(wire_headers),
        body=sent.encode() if isinstance(sent, str) else (sent or b""),
    )
