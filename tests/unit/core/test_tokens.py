from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warden.core.tokens import TokenSealer, context_of

KEY = b"k" * 32


def test_round_trip_and_binding() -> None:
    s = TokenSealer(KEY)
    ctx = context_of("LookupEvents", "acct", [1])
    tok = s.seal("42", ctx)
    assert s.open(tok, ctx) == "42"
    assert s.open(tok, context_of("LookupEvents", "acct", [2])) is None
    assert TokenSealer(b"x" * 32).open(tok, ctx) is None


def test_tampered_payload_is_refused() -> None:
    s = TokenSealer(KEY)
    ctx = context_of("op")
    body, mac = s.seal("10", ctx).split(".")
    forged = TokenSealer(b"y" * 32).seal("99", ctx).split(".")[0]
    assert s.open(f"{forged}.{mac}", ctx) is None
    assert s.open(f"{body}.{mac[:-2]}", ctx) is None


@given(st.text(max_size=300))
def test_open_never_raises(text: str) -> None:
    # Nothing this sealer did not mint opens, and nothing raises.
    assert TokenSealer(KEY).open(text, b"") is None
