"""Hostile input: extract() and verify() raise nothing but SigV4Error."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sigv4_signing import Wire, sign

from warden.sigv4 import SigningKeys, SigV4Error, extract, verify
from warden.sigv4.canonical import canonical_request

ANY_CHAR = st.characters(blacklist_categories=())  # includes lone surrogates
AUTH_FRAGMENTS = st.sampled_from(
    [
        "AWS4-HMAC-SHA256 ",
        "Credential=",
        "AKID/20261128/us-east-1/iam/aws4_request",
        "/",
        ", ",
        ",",
        " ",
        "SignedHeaders=",
        "host;x-amz-date",
        ";",
        "Signature=",
        "0" * 64,
        "=",
        "aws4_request",
        "20261128",
    ]
)
QUERY_FRAGMENTS = st.sampled_from(
    [
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=AKID%2F20261128%2Fus-east-1%2Fsts%2Faws4_request",
        "X-Amz-Date=20261128T010930Z",
        "X-Amz-Expires=",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Signature=00",
        "X-Amz-Security-Token=%FF%FE",
        "&",
        "=",
        "%",
        "%zz",
        "%2",
        "%E2%9C",
        "+",
    ]
)
DATES = st.sampled_from(
    ["20261128T010930Z", "Sat, 28 Nov 2026 01:09:30 GMT", "", "99999999T999999Z"]
)


def _mix(fragments: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(fragments | st.text(ANY_CHAR, max_size=8), max_size=14).map("".join)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, tuple[tuple[str, str], ...], bytes]:
    headers: list[tuple[str, str]] = [("host", draw(st.text(ANY_CHAR, max_size=10)))]
    if draw(st.booleans()):
        headers.append(("authorization", draw(_mix(AUTH_FRAGMENTS))))
    for name in ("x-amz-date", "date", "x-amz-content-sha256", "x-amz-security-token"):
        if draw(st.booleans()):
            headers.append((name, draw(DATES | st.text(ANY_CHAR, max_size=10))))
    path = draw(st.text(ANY_CHAR, max_size=12))
    return path, draw(_mix(QUERY_FRAGMENTS)), tuple(headers), draw(st.binary(max_size=16))


@settings(max_examples=600, deadline=None)
@given(st.text(ANY_CHAR, max_size=60), st.text(ANY_CHAR, max_size=60))
def test_extract_on_random_text(authorization: str, query: str) -> None:
    try:
        extract("GET", "/", query, (("host", "h"), ("authorization", authorization)))
        extract("GET", "/", query, (("host", "h"),))
    except SigV4Error:
        pass


KEYS = SigningKeys(maxsize=8)


@settings(max_examples=600, deadline=None)
@given(requests())
def test_extract_then_verify_on_structured_garbage(
    request: tuple[str, str, tuple[tuple[str, str], ...], bytes],
) -> None:
    path, query, headers, body = request
    try:
        info = extract("POST", path, query, headers)
        if info is None:
            return
        verify(
            info,
            method="POST",
            raw_path=path,
            query_string=query,
            headers=headers,
            body=body,
            secret_access_key="secret",
            now=datetime(2026, 11, 28, 1, 9, 30, tzinfo=UTC),
            keys=KEYS,
        )
    except SigV4Error:
        pass


SEEDS = [
    sign("POST", "https://iam.amazonaws.com/a/b", headers=[("X-C", "v")], body=b"Action=X"),
    sign("GET", "https://sts.amazonaws.com/p?Action=A&b=", service="sts", presign_expires=60),
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.sampled_from(["raw_path", "query_string", "header", "body"]),
    st.integers(min_value=0, max_value=400),
    st.text(ANY_CHAR, min_size=1, max_size=4),
)
@example(SEEDS[0], "raw_path", 0, "/")  # accepted: "//a/b" canonicalises to "/a/b"
@example(SEEDS[1], "query_string", 0, "&")  # accepted: the empty pair is ignored
@example(SEEDS[0], "header", 1, " ")  # a space in a signed header value: rejected or folded
def test_verify_on_mutated_signed_requests(seed: Wire, where: str, at: int, junk: str) -> None:
    """Random splices into a genuinely signed request: never a crash, never accepted."""
    if where == "header":
        index = at % len(seed.headers)
        name, value = seed.headers[index]
        spot = at % (len(value) + 1)
        headers = list(seed.headers)
        headers[index] = (name, value[:spot] + junk + value[spot:])
        mutated = seed.replace(headers=tuple(headers))
    elif where == "body":
        mutated = seed.replace(body=seed.body + junk.encode("utf-8", "surrogatepass"))
    else:
        text: str = getattr(seed, where)
        spot = at % (len(text) + 1)
        mutated = seed.replace(**{where: text[:spot] + junk + text[spot:]})
    try:
        mutated.verify()
    except SigV4Error:
        return
    # Accepted only if the splice left the canonical request unchanged ("//" collapses,
    # whitespace in header values folds, empty query pairs vanish...).
    assert _canonical(mutated) == _canonical(seed)


def _canonical(wire: Wire) -> str:
    info = SEEDS_INFO[wire.method]
    return canonical_request(
        method=wire.method,
        raw_path=wire.raw_path,
        query_string=wire.query_string,
        headers=wire.headers,
        signed_headers=info.signed_headers,
        payload_hash=hashlib.sha256(wire.body).hexdigest(),
        exclude_query="X-Amz-Signature" if info.presigned else None,
    )


SEEDS_INFO = {seed.method: seed.verify() for seed in SEEDS}
