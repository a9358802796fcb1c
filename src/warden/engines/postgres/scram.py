"""SCRAM-SHA-256 password verifiers in PostgreSQL's format, computed client-side.

PostgreSQL stores ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64
fields; RFC 5802 with SHA-256 per RFC 7677). When ``ALTER ROLE … PASSWORD`` receives a
string already in that format it stores it as is, so warden sends verifiers and the
plaintext password never reaches the server, its logs or ``pg_stat_statements``.

Invariants: the password is normalised exactly as PostgreSQL and libpq do
(``pg_saslprep``: pure ASCII unchanged; otherwise RFC 4013 SASLprep, and the raw UTF-8
bytes when SASLprep prohibits the string), so a verifier made here accepts the same logins
as one the server would make. Verification compares keys with ``hmac.compare_digest``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import stringprep
import unicodedata
from dataclasses import dataclass

PREFIX = "SCRAM-SHA-256"
DEFAULT_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)
SALT_BYTES = 16  # PostgreSQL's SCRAM_DEFAULT_SALT_LEN

_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
    stringprep.in_table_a1,
)


class VerifierFormatError(ValueError):
    """A string that is not a SCRAM-SHA-256 verifier in PostgreSQL's format."""


@dataclass(frozen=True, slots=True)
class Verifier:
    """A parsed verifier. ``str(v)`` is the text PostgreSQL stores in ``rolpassword``."""

    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes

    def __str__(self) -> str:
        b64 = _b64
        return (
            f"{PREFIX}${self.iterations}:{b64(self.salt)}"
            f"${b64(self.stored_key)}:{b64(self.server_key)}"
        )

    @classmethod
    def parse(cls, text: str) -> Verifier:
        try:
            prefix, params, keys = text.split("$")
            iterations_text, salt_text = params.split(":")
            stored_text, server_text = keys.split(":")
            iterations = int(iterations_text)
            salt = base64.b64decode(salt_text, validate=True)
            stored = base64.b64decode(stored_text, validate=True)
            server = base64.b64decode(server_text, validate=True)
        except (ValueError, binascii.Error) as exc:
            raise VerifierFormatError("not a SCRAM-SHA-256 verifier") from exc
        if prefix != PREFIX or iterations < 1 or len(stored) != 32 or len(server) != 32:
            raise VerifierFormatError("not a SCRAM-SHA-256 verifier")
        return cls(iterations, salt, stored, server)

    def matches(self, password: str) -> bool:
        """Whether ``password`` is the one this verifier was made from."""
        salted = salted_password(password, self.salt, self.iterations)
        return hmac.compare_digest(stored_key(salted), self.stored_key) and hmac.compare_digest(
            server_key(salted), self.server_key
        )


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def saslprep(password: str) -> bytes:
    """The bytes PostgreSQL feeds to PBKDF2 for ``password`` (see the module docstring)."""
    raw = password.encode("utf-8")
    if password.isascii():
        return raw
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch
        for ch in password
        if not stringprep.in_table_b1(ch)
    )
    normal = unicodedata.normalize("NFKC", mapped)
    if any(check(ch) for ch in normal for check in _PROHIBITED):
        return raw
    if any(stringprep.in_table_d1(ch) for ch in normal) and (
        any(stringprep.in_table_d2(ch) for ch in normal)
        or not stringprep.in_table_d1(normal[0])
        or not stringprep.in_table_d1(normal[-1])
    ):
        return raw
    return normal.encode("utf-8")


def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", saslprep(password), salt, iterations)


def client_key(salted: bytes) -> bytes:
    return _hmac(salted, b"Client Key")


def stored_key(salted: bytes) -> bytes:
    return hashlib.sha256(client_key(salted)).digest()


def server_key(salted: bytes) -> bytes:
    return _hmac(salted, b"Server Key")


def make_verifier(
    password: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
) -> Verifier:
    """A fresh verifier for ``password`` (random 16-byte salt unless one is given)."""
    if iterations < 1:
        raise ValueError("iterations must be positive")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    salted = salted_password(password, salt, iterations)
    return Verifier(iterations, salt, stored_key(salted), server_key(salted))


def is_verifier(text: str) -> bool:
    try:
        Verifier.parse(text)
    except VerifierFormatError:
        return False
    return True
