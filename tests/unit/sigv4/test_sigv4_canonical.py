"""Canonicalisation agrees with botocore's signer on arbitrary input (differential tests)."""

from __future__ import annotations

from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials
from botocore.utils import percent_encode_sequence
from botocore.utils import remove_dot_segments as botocore_remove_dot_segments
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.sigv4.canonical import (
    SigningKeys,
    canonical_headers,
    canonical_query,
    canonical_uri,
    derive_signing_key,
    remove_dot_segments,
)

SIGNER = SigV4Auth(Credentials("AKID", "secret"), "svc", "us-east-1")
PATH_CHARS = st.sampled_from(["/", ".", "..", "a", "%", "%2F", "~", " ", "é", "+", "?", "//"])
HEADER_NAMES = st.sampled_from(["host", "x-amz-date", "x-custom", "content-type", "x-dup"])


@settings(max_examples=300, deadline=None)
@given(st.lists(PATH_CHARS | st.text(max_size=4), max_size=12).map("".join))
def test_path_matches_botocore(path: str) -> None:
    assert remove_dot_segments(path) == botocore_remove_dot_segments(path)
    assert canonical_uri(path) == SIGNER._normalize_url_path(path)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), max_size=6))
def test_query_matches_botocore(pairs: list[tuple[str, str]]) -> None:
    encoded = percent_encode_sequence(pairs)
    expected = SIGNER._canonical_query_string_url(urlsplit(f"https://h/?{encoded}"))
    assert canonical_query(encoded) == expected
    if pairs:
        assert canonical_query(encoded) == SIGNER._canonical_query_string_params(pairs)


def test_query_normalises_what_botocore_would_send_canonically() -> None:
    assert canonical_query("b=%7e&a=%2f&a=%2F&c") == "a=%2F&a=%2F&b=~&c="
    assert canonical_query("X-Amz-Signature=abc&x=1", exclude="X-Amz-Signature") == "x=1"
    assert canonical_query("k=%FF%FE") == "k=%FF%FE"  # not UTF-8: the bytes are kept


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(HEADER_NAMES, st.text(max_size=12)), min_size=1, max_size=8))
def test_headers_match_botocore(headers: list[tuple[str, str]]) -> None:
    theirs = HTTPHeaders()
    for name, value in headers:
        theirs[name] = value
    names = sorted({name for name, _ in headers})
    assert canonical_headers(headers, names) == SIGNER.canonical_headers(theirs) + "\n"


def test_signing_key_matches_aws_documented_example() -> None:
    # The example from AWS's SigV4 documentation ("Examples of how to derive a signing key").
    key = derive_signing_key(
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"
    )
    assert key.hex() == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"


def test_signing_keys_cache_is_lru_and_bounded() -> None:
    keys = SigningKeys(maxsize=2)
    first = keys.get(
        access_key_id="A", secret_access_key="s", date="20260101", region="r", service="x"
    )
    keys.get(access_key_id="B", secret_access_key="s", date="20260101", region="r", service="x")
    again = keys.get(
        access_key_id="A", secret_access_key="s", date="20260101", region="r", service="x"
    )
    assert again is first  # served from the cache, and now most recently used
    keys.get(access_key_id="C", secret_access_key="s", date="20260101", region="r", service="x")
    assert len(keys) == 2
    rotated = keys.get(
        access_key_id="A", secret_access_key="t", date="20260101", region="r", service="x"
    )
    assert rotated != first
    assert first == derive_signing_key("s", "20260101", "r", "x")
