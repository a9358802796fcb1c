"""The 15-minute rule and presigned expiry, checked after the signature as AWS does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sigv4_signing import SECRET, WHEN, sign

from warden.sigv4 import AuthFailure, SigV4Error, check_time

HEADER_SIGNED = sign("POST", "https://iam.amazonaws.com/", body=b"Action=ListUsers")
PRESIGNED = sign(
    "GET", "https://sts.amazonaws.com/?Action=GetCallerIdentity", service="sts", presign_expires=300
)


def _kind(
    *, offset: timedelta, presigned: bool = False, secret: str = SECRET
) -> AuthFailure | None:
    wire = PRESIGNED if presigned else HEADER_SIGNED
    try:
        wire.verify(now=WHEN + offset, secret=secret)
    except SigV4Error as error:
        return error.kind
    return None


@pytest.mark.parametrize("minutes", [-14, -1, 0, 1, 14, 15])
def test_within_fifteen_minutes_is_accepted(minutes: int) -> None:
    assert _kind(offset=timedelta(minutes=minutes)) is None


@pytest.mark.parametrize("minutes", [-16, 16, 60 * 24])
def test_beyond_fifteen_minutes_is_expired(minutes: int) -> None:
    assert _kind(offset=timedelta(minutes=minutes)) is AuthFailure.EXPIRED_REQUEST


def test_stale_message_is_aws_wording() -> None:
    with pytest.raises(SigV4Error) as caught:
        HEADER_SIGNED.verify(now=WHEN + timedelta(minutes=16))
    assert caught.value.message == (
        "Signature expired: 20261128T010930Z is now earlier than 20261128T011030Z "
        "(20261128T012530Z - 15 min.)"
    )


def test_future_message_is_aws_wording() -> None:
    with pytest.raises(SigV4Error) as caught:
        HEADER_SIGNED.verify(now=WHEN - timedelta(minutes=16, microseconds=1))
    assert caught.value.message == (
        "Signature not yet current: 20261128T010930Z is still later than 20261128T010829Z "
        "(20261128T005329Z + 15 min.)"
    )


def test_signature_is_checked_before_time() -> None:
    assert _kind(offset=timedelta(hours=5), secret="wrong") is AuthFailure.BAD_SIGNATURE
    assert _kind(offset=timedelta(hours=5), presigned=True, secret="wrong") is (
        AuthFailure.BAD_SIGNATURE
    )


def test_presign_valid_until_expiry_even_beyond_skew() -> None:
    assert _kind(offset=timedelta(seconds=300), presigned=True) is None
    long_lived = sign("GET", "https://sts.amazonaws.com/", service="sts", presign_expires=7200)
    long_lived.verify(now=WHEN + timedelta(minutes=100))


def test_presign_past_expiry_is_expired() -> None:
    assert _kind(offset=timedelta(seconds=301), presigned=True) is AuthFailure.EXPIRED_REQUEST
    with pytest.raises(SigV4Error) as caught:
        PRESIGNED.verify(now=WHEN + timedelta(days=1))
    assert caught.value.message == "Request has expired"


def test_presign_from_the_future_is_not_yet_current() -> None:
    assert _kind(offset=timedelta(minutes=-14), presigned=True) is None
    assert _kind(offset=timedelta(minutes=-16), presigned=True) is AuthFailure.EXPIRED_REQUEST


def test_presign_without_expires_gets_the_skew_window() -> None:
    info = PRESIGNED.extract()
    assert info is not None
    bare = replace(info, expires_seconds=None)
    check_time(bare, now=WHEN + timedelta(minutes=14))
    with pytest.raises(SigV4Error) as caught:
        check_time(bare, now=WHEN + timedelta(minutes=16))
    assert caught.value.kind is AuthFailure.EXPIRED_REQUEST


def test_naive_now_is_taken_as_utc() -> None:
    HEADER_SIGNED.verify(now=WHEN.replace(tzinfo=None))


def test_custom_skew() -> None:
    info = HEADER_SIGNED.extract()
    assert info is not None
    with pytest.raises(SigV4Error) as caught:
        check_time(info, now=WHEN + timedelta(minutes=6), max_skew=timedelta(minutes=5))
    assert caught.value.message.endswith("- 5 min.)")
