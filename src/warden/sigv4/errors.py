"""Why a request failed authentication, as a closed set, and the one exception that carries it.

The package never decides the wire error code: the server maps an ``AuthFailure`` to the code of
the protocol being answered (``InvalidClientTokenId`` for query services,
``UnrecognizedClientException`` for JSON ones, and so on). ``message`` is AWS's own text where
it is known, because SDK users paste it into search engines.
"""

from __future__ import annotations

import enum


class AuthFailure(enum.Enum):
    MISSING = "missing"  # no Authorization header and no presign query parameters
    INCOMPLETE = "incomplete"  # malformed header or presign parameters
    UNKNOWN_KEY = "unknown_key"  # raised by the caller: the access key id is unknown
    BAD_SIGNATURE = "bad_signature"
    EXPIRED_REQUEST = "expired_request"  # clock skew beyond the limit, or a presign past expiry
    EXPIRED_TOKEN = "expired_token"  # noqa: S105 - raised by the caller: temporary credentials expired
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - raised by the caller: session token mismatch


class SigV4Error(Exception):
    """Authentication failed; ``kind`` says how, ``message`` is the text for the client."""

    def __init__(self, kind: AuthFailure, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __repr__(self) -> str:
        return f"SigV4Error({self.kind.name}, {self.message!r})"
