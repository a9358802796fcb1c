"""The ciphertext blob KMS hands out, and the encryption context bound into it.

Format, version 1 (all integers big-endian)::

    b"WKMS" | 0x01 | key id (16-byte UUID) | material version (u32) | nonce (12) | ct || tag (16)

The first 25 bytes are the header. The AES-256-GCM associated data is the header, a zero
byte, and the encryption context as canonical JSON (keys sorted, no whitespace, UTF-8), so
a blob decrypts only with its own key, version and exactly the same context; any change to
any byte, or a different context, fails authentication. The key id is in clear so Decrypt
needs no KeyId, as in AWS.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from warden.core.ids import uuid_text

MAGIC = b"WKMS"
FORMAT_VERSION = 1
_HEAD = struct.Struct(">4sB16sI")
HEADER_BYTES = _HEAD.size
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_BLOB = HEADER_BYTES + NONCE_BYTES + TAG_BYTES


@dataclass(frozen=True, slots=True)
class Blob:
    key_id: str
    version: int
    nonce: bytes
    ciphertext: bytes  # ct || tag

    @property
    def header(self) -> bytes:
        return header(self.key_id, self.version)

    def encode(self) -> bytes:
        return self.header + self.nonce + self.ciphertext


def header(key_id: str, version: int) -> bytes:
    return _HEAD.pack(MAGIC, FORMAT_VERSION, uuid.UUID(key_id).bytes, version)


def parse(data: bytes) -> Blob | None:
    """The blob's parts, or None when ``data`` is not a blob of this format."""
    if len(data) < MIN_BLOB:
        return None
    magic, fmt, raw_id, version = _HEAD.unpack_from(data)
    if magic != MAGIC or fmt != FORMAT_VERSION or version < 1:
        return None
    nonce = data[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
    return Blob(uuid_text(raw_id), version, nonce, data[HEADER_BYTES + NONCE_BYTES :])


def canonical_context(context: Mapping[str, str]) -> bytes:
    return json.dumps(
        dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8", "surrogatepass")


def aad(key_id: str, version: int, context: Mapping[str, str]) -> bytes:
    return header(key_id, version) + b"\x00" + canonical_context(context)
