"""Opaque continuation tokens that a client cannot forge or move between requests.

A token is ``base64url(payload) + "." + base64url(HMAC-SHA256(key, context || payload))``
where ``context`` names the operation and digests the request's other filters, so a
token minted for one listing does not continue another. ``open`` answers None for
anything it did not mint itself (constant-time MAC comparison).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def context_of(*parts: Any) -> bytes:
    """A stable digest of the request values a token is bound to."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()


class TokenSealer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("token key too short")
        self._key = key

    def seal(self, payload: str, context: bytes) -> str:
        raw = payload.encode()
        mac = hmac.new(self._key, context + raw, hashlib.sha256).digest()
        return f"{_b64(raw)}.{_b64(mac)}"

    def open(self, token: str, context: bytes) -> str | None:
        if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
            return None
        body, mac = token.split(".")
        try:
            raw = _unb64(body)
            given = _unb64(mac)
        except (ValueError, TypeError):
            return None
        expected = hmac.new(self._key, context + raw, hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            return None
        try:
            return raw.decode()
        except UnicodeDecodeError:
            return None
