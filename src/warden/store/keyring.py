"""The key ring: the symmetric keys warden keeps in its data directory.

One JSON file, mode 0600, owned by the server's user. ``open`` refuses a file that
group or others can read (fail closed: a leaked ring leaks every secret). The ring
holds named 256-bit keys; ``seal``/``unseal`` are AES-256-GCM with a fresh 96-bit
nonce per call and caller-supplied associated data that binds each ciphertext to
the record it belongs to (a ciphertext copied onto another row does not decrypt).

Wire format of a sealed value: ``b"W1" + key-id-length(1) + key-id + nonce(12) + ct||tag``.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_MAGIC = b"W1"
FILE_NAME = "keyring.json"
INTERNAL = "warden/internal"  # seals control-plane secrets (access keys, session secrets)
PAGINATION = "warden/pagination"  # HMAC key for pagination tokens


class KeyRingError(Exception):
    """The ring cannot be used: missing, unsafe permissions, or corrupt."""


class UnsealError(Exception):
    """A ciphertext failed authentication (wrong key, wrong associated data, or tampered)."""


@dataclass(frozen=True, slots=True)
class _Key:
    key_id: str
    material: bytes


class KeyRing:
    def __init__(self, path: Path, keys: dict[str, bytes]) -> None:
        self._path = path
        self._keys = {k: _Key(k, v) for k, v in keys.items()}
        self._lock = threading.Lock()

    @classmethod
    def create(cls, data_dir: Path) -> KeyRing:
        path = data_dir / FILE_NAME
        if path.exists():
            raise KeyRingError(f"{path} already exists")
        keys = {INTERNAL: secrets.token_bytes(32), PAGINATION: secrets.token_bytes(32)}
        ring = cls(path, keys)
        ring._write()
        return ring

    @classmethod
    def open(cls, data_dir: Path) -> KeyRing:
        path = data_dir / FILE_NAME
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise KeyRingError(f"no key ring at {path}") from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyRingError(
                f"{path} is accessible by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
                "refusing to start: chmod 600 it"
            )
        try:
            doc = json.loads(path.read_text())
            keys = {name: base64.b64decode(v, validate=True) for name, v in doc["keys"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyRingError(f"{path} is corrupt") from exc
        if any(len(v) != 32 for v in keys.values()) or INTERNAL not in keys:
            raise KeyRingError(f"{path} is corrupt")
        return cls(path, keys)

    def _write(self) -> None:
        doc = {
            "version": 1,
            "keys": {k.key_id: base64.b64encode(k.material).decode() for k in self._keys.values()},
        }
        tmp = self._path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path)

    def key(self, key_id: str) -> bytes:
        """Raw key material, for HMAC keys. Raises KeyRingError when absent."""
        try:
            return self._keys[key_id].material
        except KeyError as exc:
            raise KeyRingError(f"no key {key_id!r} in the ring") from exc

    def ensure(self, key_id: str) -> None:
        """Add a fresh random key under ``key_id`` if the ring lacks it (persisted at once)."""
        with self._lock:
            if key_id not in self._keys:
                self._keys[key_id] = _Key(key_id, secrets.token_bytes(32))
                self._write()

    def seal(self, plaintext: bytes, *, aad: bytes, key_id: str = INTERNAL) -> bytes:
        material = self.key(key_id)
        nonce = secrets.token_bytes(12)
        kid = key_id.encode()
        return (
            _MAGIC
            + bytes([len(kid)])
            + kid
            + nonce
            + AESGCM(material).encrypt(nonce, plaintext, aad)
        )

    def unseal(self, sealed: bytes, *, aad: bytes) -> bytes:
        if len(sealed) < 3 or sealed[:2] != _MAGIC:
            raise UnsealError("not a sealed value")
        n = sealed[2]
        kid = sealed[3 : 3 + n].decode(errors="replace")
        rest = sealed[3 + n :]
        if len(rest) < 12 + 16 or kid not in self._keys:
            raise UnsealError("not a sealed value")
        try:
            return AESGCM(self._keys[kid].material).decrypt(rest[:12], rest[12:], aad)
        except InvalidTag as exc:
            raise UnsealError("ciphertext failed authentication") from exc
