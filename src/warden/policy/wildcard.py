"""IAM's ``*``/``?`` globs compiled to regular expressions, once, and cached.

Rules (IAM User Guide, "Action", "Resource", condition operators):

* Actions: ``service:Action`` matched case-insensitively over the whole string.
* Resources: case-sensitive. Within the first five colon-separated ARN segments
  (``arn:partition:service:region:account``) ``?`` is one non-colon character and
  ``*`` stays inside its segment, except that a ``*`` ending a segment (followed by
  ``:`` or the end of the pattern) may extend across colons. In the resource part
  (after the fifth colon) ``*`` and ``?`` span anything, ``/`` and ``:`` included.
* ``StringLike``: case-sensitive, whole string, ``*`` any run, ``?`` one character.
* ``ArnLike``: both sides must have six colon-separated parts; each of the first
  five is matched within its segment, the resource part as above.

Patterns are token lists so policy variables can contribute *literal* text
(``${*}`` is a literal asterisk; a substituted user name never acts as a glob).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

STAR = "\x00*"  # token: a wildcard, distinct from a literal '*' character
QMARK = "\x00?"

Tokens = tuple[str, ...]  # each item: STAR, QMARK, or one literal character


def tokens(pattern: str) -> Tokens:
    """Tokens of a glob with no variables: every ``*``/``?`` is a wildcard."""
    return tuple(STAR if c == "*" else QMARK if c == "?" else c for c in pattern)


def literal_tokens(text: str) -> Tokens:
    return tuple(text)


@lru_cache(maxsize=8192)
def _compile(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags | re.DOTALL)


def _plain(toks: Iterable[str]) -> str:
    out = []
    for t in toks:
        out.append(".*" if t == STAR else "." if t == QMARK else re.escape(t))
    return "".join(out)


def action_regex(pattern: str) -> re.Pattern[str]:
    return _compile(_plain(tokens(pattern)), re.IGNORECASE)


def string_like_regex(toks: Tokens) -> re.Pattern[str]:
    return _compile(_plain(toks), 0)


def resource_regex(toks: Tokens) -> re.Pattern[str]:
    out: list[str] = []
    segment = 0
    for i, t in enumerate(toks):
        if t == ":":
            segment += 1
            out.append(":")
        elif segment >= 5:
            out.append(".*" if t == STAR else "." if t == QMARK else re.escape(t))
        elif t == STAR:
            ends_segment = i + 1 == len(toks) or toks[i + 1] == ":"
            out.append(".*" if ends_segment else "[^:]*")
        else:
            out.append("[^:]" if t == QMARK else re.escape(t))
    return _compile("".join(out), 0)


_NEVER = re.compile(r"(?!)")


def arn_like_regex(toks: Tokens) -> re.Pattern[str]:
    if toks.count(":") < 5:
        return _NEVER
    out: list[str] = []
    segment = 0
    for t in toks:
        if t == ":" and segment < 5:
            segment += 1
            out.append(":")
        elif segment >= 5:
            out.append(".*" if t == STAR else "." if t == QMARK else re.escape(t))
        else:
            out.append("[^:]*" if t == STAR else "[^:]" if t == QMARK else re.escape(t))
    return _compile("".join(out), 0)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern
