"""TOTP against the RFCs' own test vectors, and the matching rules IAM's MFA relies on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warden.core import totp

# RFC 4226 Appendix D and RFC 6238 Appendix B: the 20-byte ASCII seed "1234567890" * 2.
SEED = b"12345678901234567890"

HOTP_VECTORS = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]

# RFC 6238 Appendix B (SHA-1, 8 digits): (Unix time, T as hex, code).
TOTP_VECTORS = [
    (59, 0x1, "94287082"),
    (1111111109, 0x23523EC, "07081804"),
    (1111111111, 0x23523ED, "14050471"),
    (1234567890, 0x273EF07, "89005924"),
    (2000000000, 0x3F940AA, "69279037"),
    (20000000000, 0x27BC86AA, "65353130"),
]


@pytest.mark.parametrize("counter", range(10))
def test_hotp_rfc4226_vectors(counter: int) -> None:
    assert totp.hotp(SEED, counter) == HOTP_VECTORS[counter]


@pytest.mark.parametrize(("unix", "step", "code"), TOTP_VECTORS)
def test_totp_rfc6238_sha1_vectors(unix: int, step: int, code: str) -> None:
    assert totp.counter_at(unix) == step
    assert totp.totp(SEED, unix, digits=8) == code
    # IAM's devices show six digits: the low six of the same truncation.
    assert totp.totp(SEED, unix) == code[-6:]
    when = datetime.fromtimestamp(unix, UTC)
    assert totp.totp(SEED, when, digits=8) == code


def test_rfc6238_sha256_and_sha512_seeds() -> None:
    # RFC 6238 Appendix B uses 32- and 64-byte seeds for the other digests.
    sha256_seed = b"12345678901234567890123456789012"
    sha512_seed = b"1234567890123456789012345678901234567890123456789012345678901234"
    assert totp.totp(sha256_seed, 59, 8, "sha256") == "46119246"
    assert totp.totp(sha512_seed, 59, 8, "sha512") == "90693936"
    assert totp.totp(sha256_seed, 1111111109, 8, "sha256") == "68084774"


def test_match_accepts_one_step_either_side_and_reports_the_counter() -> None:
    now = totp.counter_at(1111111111)
    for offset in (-1, 0, 1):
        assert totp.match(SEED, totp.hotp(SEED, now + offset), now) == now + offset
    assert totp.match(SEED, totp.hotp(SEED, now + 2), now) is None
    assert totp.match(SEED, totp.hotp(SEED, now - 2), now) is None


def test_match_refuses_replays_and_malformed_codes() -> None:
    now = 1000
    code = totp.hotp(SEED, now)
    assert totp.match(SEED, code, now, after=now) is None  # already accepted once
    assert totp.match(SEED, code, now, after=now - 1) == now
    assert totp.match(SEED, "12345", now) is None
    assert totp.match(SEED, "abcdef", now) is None
    assert totp.match(SEED, code + "0", now) is None


def test_match_consecutive_needs_two_codes_in_order() -> None:
    now = 5000
    first, second = totp.hotp(SEED, now - 1), totp.hotp(SEED, now)
    assert totp.match_consecutive(SEED, first, second, now) == now
    assert totp.match_consecutive(SEED, second, first, now) is None
    assert totp.match_consecutive(SEED, first, first, now) is None
    # The pair may end one step either side of now.
    assert totp.match_consecutive(SEED, totp.hotp(SEED, now), totp.hotp(SEED, now + 1), now) == (
        now + 1
    )
    # Neither code may be at or below the last accepted counter.
    assert totp.match_consecutive(SEED, first, second, now, after=now - 1) is None
    assert totp.match_consecutive(SEED, first, second, now, after=now - 2) == now


def test_base32_round_trip_and_otpauth_uri() -> None:
    secret = bytes(range(40))
    text = totp.base32_seed(secret)
    assert len(text) == 64 and "=" not in text
    assert totp.seed_from_base32(text) == secret
    uri = totp.otpauth_uri(secret, account="alice@123456789012", issuer="Amazon Web Services")
    assert uri.startswith("otpauth://totp/Amazon%20Web%20Services:alice@123456789012?secret=")
    assert f"secret={text}" in uri and uri.endswith("issuer=Amazon%20Web%20Services")
