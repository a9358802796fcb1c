"""Building presigned query strings (RDS IAM auth tokens, RDS ``PreSignedUrl``, tests).

Invariant: for the same inputs and timestamp the result is byte-for-byte what botocore's
``SigV4QueryAuth`` produces for a non-S3 service: the caller's parameters first in their given
order, then the ``X-Amz-*`` parameters in botocore's order, ``X-Amz-Signature`` last; only
``host`` is signed and the payload is the empty body.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from warden.sigv4.canonical import (
    ALGORITHM,
    EMPTY_SHA256,
    SIGNATURE_PARAM,
    canonical_request,
    credential_scope,
    derive_signing_key,
    format_amz_date,
    signature,
    string_to_sign,
    uri_encode,
)
from warden.sigv4.extract import MAX_PRESIGN_EXPIRES


def presign(
    *,
    method: str,
    host: str,
    path: str,
    query: Mapping[str, str],
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    now: datetime,
    expires: int = 900,
    session_token: str | None = None,
) -> str:
    """The full query string, encoded, including the ``X-Amz-*`` parameters and signature.

    ``host`` is the value of the Host header the URL will be used with (with a non-default
    port); ``path`` is the URL path as it will appear on the wire.
    """
    if not 1 <= expires <= MAX_PRESIGN_EXPIRES:
        raise ValueError(f"expires must be between 1 and {MAX_PRESIGN_EXPIRES} seconds")
    clashing = [name for name in query if name.startswith("X-Amz-")]
    if clashing:
        raise ValueError(f"query must not contain presign parameters: {clashing}")
    amz_date = format_amz_date(now)
    scope = credential_scope(amz_date[:8], region, service)
    auth = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if session_token is not None:
        auth.append(("X-Amz-Security-Token", session_token))
    unsigned = "&".join(
        f"{uri_encode(name)}={uri_encode(value)}" for name, value in [*query.items(), *auth]
    )
    canonical = canonical_request(
        method=method,
        raw_path=path,
        query_string=unsigned,
        headers=(("host", host),),
        signed_headers=("host",),
        payload_hash=EMPTY_SHA256,
    )
    key = derive_signing_key(secret_access_key, amz_date[:8], region, service)
    to_sign = string_to_sign(amz_date=amz_date, scope=scope, canonical=canonical)
    return f"{unsigned}&{SIGNATURE_PARAM}={signature(key, to_sign)}"
