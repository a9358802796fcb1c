"""SCRAM-SHA-256 verifiers: RFC 7677's vector, PostgreSQL's format, and the server's own
SASLprep (a verifier the server computed itself is reproduced byte for byte)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from engine_helpers import Running, connect
from psycopg import sql

from warden.engines.base import ADMIN_ROLE
from warden.engines.postgres.engine import PostgresEngine
from warden.engines.postgres.scram import (
    Verifier,
    VerifierFormatError,
    client_key,
    is_verifier,
    make_verifier,
    salted_password,
    saslprep,
)

# RFC 7677 section 3 (user "user", password "pencil").
CLIENT_FIRST_BARE = "n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_FIRST = (
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
CLIENT_FINAL_BARE = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
PROOF = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
SERVER_SIGNATURE = "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_rfc7677_vector() -> None:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = make_verifier("pencil", salt=salt, iterations=4096)
    auth = f"{CLIENT_FIRST_BARE},{SERVER_FIRST},{CLIENT_FINAL_BARE}".encode()
    signature = hmac.new(verifier.stored_key, auth, hashlib.sha256).digest()
    key = client_key(salted_password("pencil", salt, 4096))
    proof = bytes(a ^ b for a, b in zip(key, signature, strict=True))
    assert base64.b64encode(proof).decode() == PROOF
    server_sig = hmac.new(verifier.server_key, auth, hashlib.sha256).digest()
    assert base64.b64encode(server_sig).decode() == SERVER_SIGNATURE


def test_format_round_trips_and_matches_only_its_password() -> None:
    verifier = make_verifier("correct horse")
    text = str(verifier)
    assert text.startswith("SCRAM-SHA-256$4096:")
    assert Verifier.parse(text) == verifier
    assert verifier.matches("correct horse")
    assert not verifier.matches("correct horse ")
    assert "correct horse" not in text
    assert make_verifier("correct horse") != verifier  # a fresh salt each time


@pytest.mark.parametrize(
    "text",
    [
        "md5" + "0" * 32,
        "SCRAM-SHA-256$4096:c2FsdA==$short:short",
        "SCRAM-SHA-256$0:c2FsdA==$" + "A" * 44 + ":" + "A" * 44,
        "SCRAM-SHA-256$x:y$z",
        "plaintext",
    ],
)
def test_malformed_verifiers_are_refused(text: str) -> None:
    assert not is_verifier(text)
    with pytest.raises(VerifierFormatError):
        Verifier.parse(text)


def test_saslprep_rules() -> None:
    assert saslprep("I\u00adX") == b"IX"  # soft hyphen maps to nothing (B.1)
    assert saslprep("a\u00a0b") == b"a b"  # non-ASCII space maps to space (C.1.2)
    assert saslprep("\u2168") == b"IX"  # NFKC
    assert saslprep("a\x07b") == b"a\x07b"  # pure ASCII is never touched
    assert saslprep("\u00e9\x07") == "\u00e9\x07".encode()  # prohibited: raw bytes
    assert saslprep("\u0627\u0031") == "\u0627\u0031".encode()  # bidi rule broken: raw


PASSWORDS = [
    "plain-ascii-1",
    "pässwörd",
    "a\u00a0b\u00adc",
    "\u2168-fullwidth-\uff50\uff57",
    "\u00e9\x07",
]


def test_server_computed_verifiers_are_reproduced(running: Running, engine: PostgresEngine) -> None:
    """The server hashes each password itself (test-only plaintext); the module must
    derive the same keys from the same salt, including PostgreSQL's SASLprep."""
    spec = running.spec
    with connect(spec, ADMIN_ROLE, spec.admin_password.reveal()) as conn:
        for i, password in enumerate(PASSWORDS):
            role = sql.Identifier(f"scram_probe_{i}")
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(role, password))
            stored = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (f"scram_probe_{i}",)
            ).fetchone()
            assert stored is not None
            server = Verifier.parse(stored[0])
            mine = make_verifier(password, salt=server.salt, iterations=server.iterations)
            assert mine == server, password
