"""How credentials are kept in the store, shared by IAM (which reads them to verify
signatures) and STS (which issues temporary ones): an access key's secret is sealed by
the key ring with the key id as associated data, so a ciphertext copied onto another
key's row does not open; of a session token only its SHA-256 digest is kept."""

from __future__ import annotations

import hashlib


def access_key_aad(access_key_id: str) -> bytes:
    return b"warden:access-key:" + access_key_id.encode()


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
