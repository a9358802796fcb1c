"""Checking a claimed signature against the request and the signer's secret.

Order, as AWS does it: the signature is checked first (so an unauthenticated caller learns
nothing about our clock), then the time: more than ``max_skew`` in the past or future for
header-signed requests, past ``X-Amz-Expires`` (or more than ``max_skew`` in the future) for
presigned ones. Invariants: signatures are compared with ``hmac.compare_digest``; the payload
hash is always bound to the body actually received (a declared ``x-amz-content-sha256`` must
equal it), and ``UNSIGNED-PAYLOAD`` is accepted only for presigned requests; nothing but
``SigV4Error`` is raised for any request content.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from warden.sigv4.canonical import (
    SIGNATURE_PARAM,
    UNSIGNED_PAYLOAD,
    SigningKeys,
    canonical_request,
    credential_scope,
    derive_signing_key,
    format_amz_date,
    signature,
    string_to_sign,
)
from warden.sigv4.errors import AuthFailure, SigV4Error
from warden.sigv4.extract import SignatureInfo, header_value

MAX_SKEW = timedelta(minutes=15)

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
CONTENT_SHA256_MISMATCH = (
    "The provided 'x-amz-content-sha256' header does not match what was computed."
)


def verify(
    info: SignatureInfo,
    *,
    method: str,
    raw_path: str,
    query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    secret_access_key: str,
    now: datetime,
    keys: SigningKeys | None = None,
    max_skew: timedelta = MAX_SKEW,
) -> None:
    """Return if the request is signed by ``secret_access_key`` and is current; else raise."""
    if keys is not None:
        key = keys.get(
            access_key_id=info.access_key_id,
            secret_access_key=secret_access_key,
            date=info.scope_date,
            region=info.region,
            service=info.service,
        )
    else:
        key = derive_signing_key(secret_access_key, info.scope_date, info.region, info.service)
    scope = credential_scope(info.scope_date, info.region, info.service)
    claimed = info.signature.encode("utf-8", "surrogatepass")
    for payload_hash in _payload_hashes(info, headers, body):
        canonical = canonical_request(
            method=method,
            raw_path=raw_path,
            query_string=query_string,
            headers=headers,
            signed_headers=info.signed_headers,
            payload_hash=payload_hash,
            exclude_query=SIGNATURE_PARAM if info.presigned else None,
        )
        to_sign = string_to_sign(amz_date=info.amz_date, scope=scope, canonical=canonical)
        if hmac.compare_digest(signature(key, to_sign).encode("ascii"), claimed):
            break
    else:
        raise SigV4Error(AuthFailure.BAD_SIGNATURE, SIGNATURE_MISMATCH)
    check_time(info, now=now, max_skew=max_skew)


def _payload_hashes(
    info: SignatureInfo, headers: Sequence[tuple[str, str]], body: bytes
) -> tuple[str, ...]:
    """The payload hashes the signer may have used, most likely first."""
    body_hash = hashlib.sha256(body).hexdigest()
    declared = header_value(headers, "x-amz-content-sha256")
    if declared is None:
        # A presigned URL does not know its body; S3-style signers say so with UNSIGNED-PAYLOAD.
        return (body_hash, UNSIGNED_PAYLOAD) if info.presigned else (body_hash,)
    if declared == body_hash:
        return (body_hash,)
    if declared == UNSIGNED_PAYLOAD and info.presigned:
        return (UNSIGNED_PAYLOAD,)
    raise SigV4Error(AuthFailure.BAD_SIGNATURE, CONTENT_SHA256_MISMATCH)


def check_time(info: SignatureInfo, *, now: datetime, max_skew: timedelta = MAX_SKEW) -> None:
    """Raise ``EXPIRED_REQUEST`` unless the request time is acceptable at ``now``."""
    current = now.astimezone(UTC) if now.tzinfo is not None else now.replace(tzinfo=UTC)
    stamp = info.request_time
    minutes = int(max_skew.total_seconds() // 60)
    if stamp > current + max_skew:
        raise SigV4Error(
            AuthFailure.EXPIRED_REQUEST,
            f"Signature not yet current: {format_amz_date(stamp)} is still later than "
            f"{format_amz_date(current + max_skew)} ({format_amz_date(current)} + {minutes} min.)",
        )
    if info.presigned and info.expires_seconds is not None:
        if current > stamp + timedelta(seconds=info.expires_seconds):
            raise SigV4Error(AuthFailure.EXPIRED_REQUEST, "Request has expired")
        return
    if stamp < current - max_skew:
        raise SigV4Error(
            AuthFailure.EXPIRED_REQUEST,
            f"Signature expired: {format_amz_date(stamp)} is now earlier than "
            f"{format_amz_date(current - max_skew)} ({format_amz_date(current)} - {minutes} min.)",
        )
