"""IAM's ``*``/``?`` globs compiled once into matchers that run in linear-ish time.

Rules (IAM User Guide, "Action", "Resource", condition operators):

* Actions: ``service:Action`` matched case-insensitively over the whole string.
* Resources: case-sensitive. Within the first five colon-separated ARN segments
  (``arn:partition:service:region:account``) ``?`` is one non-colon character and
  ``*`` stays inside its segment, except that a ``*`` ending a segment (followed by
  ``:`` or the end of the pattern) may extend across colons. In the resource part
  (after the fifth colon) ``*`` and ``?`` span anything, ``/`` and ``:`` included.
* ``StringLike``: case-sensitive, whole string, ``*`` any run, ``?`` one character.
* ``ArnLike``: both sides must have six colon-separated parts, matched part by part.

Patterns are token lists so policy variables can contribute *literal* text
(``${*}`` is a literal asterisk; a substituted user name never acts as a glob).

INVARIANT (no catastrophic backtracking): a pattern with several ``*`` never becomes
a naive backtracking regex. When every star matches any character, each star but the
last is an atomic lazy group (committing to the leftmost occurrence of what follows is
always safe then); a pattern mixing star classes runs as a bit-parallel NFA.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

STAR = "\x00*"  # token: a wildcard, distinct from a literal '*' character
QMARK = "\x00?"

Tokens = tuple[str, ...]  # each item: STAR, QMARK, or one literal character


class _Kind(enum.Enum):
    LIT = 0
    ONE = 1
    MANY = 2


Item = tuple[_Kind, str, bool]  # (kind, literal char, spans colons)
Matcher = Callable[[str], object]  # truthy when the whole text matches


def tokens(pattern: str) -> Tokens:
    """Tokens of a glob with no variables: every ``*``/``?`` is a wildcard."""
    return tuple(STAR if c == "*" else QMARK if c == "?" else c for c in pattern)


def literal_tokens(text: str) -> Tokens:
    return tuple(text)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


class Glob:
    """A compiled glob. ``matches(text)`` is truthy when the whole text matches (it is
    the compiled matcher itself, to keep the hot path free of an extra call)."""

    __slots__ = ("matches",)

    matches: Matcher

    def __init__(self, items: tuple[Item, ...], ignore_case: bool) -> None:
        merged = _merge_stars(items)
        stars = [it for it in merged if it[0] is _Kind.MANY]
        if len(stars) <= 1:
            self.matches = _regex(merged, ignore_case, atomic=False)
        elif all(colons for _, _, colons in stars):
            self.matches = _regex(merged, ignore_case, atomic=True)
        else:
            self.matches = _Nfa(merged).matches


def _merge_stars(items: tuple[Item, ...]) -> tuple[Item, ...]:
    out: list[Item] = []
    for item in items:
        if item[0] is _Kind.MANY and out and out[-1][0] is _Kind.MANY:
            out[-1] = (_Kind.MANY, "", out[-1][2] or item[2])
        else:
            out.append(item)
    return tuple(out)


def _piece(item: Item) -> str:
    kind, char, colons = item
    if kind is _Kind.LIT:
        return re.escape(char)
    if kind is _Kind.ONE:
        return "." if colons else "[^:]"
    return ".*" if colons else "[^:]*"


def _regex(items: tuple[Item, ...], ignore_case: bool, atomic: bool) -> Matcher:
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    if not atomic:
        return re.compile("".join(_piece(i) for i in items), flags).fullmatch
    chunks: list[list[Item]] = [[]]
    for item in items:
        if item[0] is _Kind.MANY:
            chunks.append([])
        else:
            chunks[-1].append(item)
    head = "".join(_piece(i) for i in chunks[0])
    middle = "".join("(?>.*?" + "".join(_piece(i) for i in c) + ")" for c in chunks[1:-1])
    tail = ".*" + "".join(_piece(i) for i in chunks[-1])
    return re.compile(head + middle + tail, flags).fullmatch


class _Nfa:
    """Bit-parallel NFA (shift-and with self-loops): state j = j fixed tokens consumed."""

    __slots__ = ("accept", "literal", "loop_any", "loop_nocolon", "one_any", "one_nocolon")

    def __init__(self, items: tuple[Item, ...]) -> None:
        self.literal: dict[str, int] = {}  # char -> states whose next token is that char
        self.one_any = self.one_nocolon = self.loop_any = self.loop_nocolon = 0
        state = 0
        for kind, char, colons in items:
            bit = 1 << state
            if kind is _Kind.MANY:
                if colons:
                    self.loop_any |= bit
                else:
                    self.loop_nocolon |= bit
                continue
            if kind is _Kind.LIT:
                self.literal[char] = self.literal.get(char, 0) | bit
            elif colons:
                self.one_any |= bit
            else:
                self.one_nocolon |= bit
            state += 1
        self.accept = 1 << state

    def matches(self, text: str) -> bool:
        active = 1
        for char in text:
            advance = self.literal.get(char, 0) | self.one_any
            loop = self.loop_any
            if char != ":":
                advance |= self.one_nocolon
                loop |= self.loop_nocolon
            active = ((active & advance) << 1) | (active & loop)
            if not active:
                return False
        return bool(active & self.accept)


def _plain_items(toks: Tokens) -> tuple[Item, ...]:
    return tuple(
        (_Kind.MANY, "", True)
        if t == STAR
        else (_Kind.ONE, "", True)
        if t == QMARK
        else (_Kind.LIT, t, True)
        for t in toks
    )


@lru_cache(maxsize=8192)
def action_glob(pattern: str) -> Glob:
    return Glob(_plain_items(tokens(pattern)), ignore_case=True)


@lru_cache(maxsize=8192)
def string_like_glob(toks: Tokens) -> Glob:
    return Glob(_plain_items(toks), ignore_case=False)


@lru_cache(maxsize=8192)
def resource_glob(toks: Tokens) -> Glob:
    items: list[Item] = []
    segment = 0
    for i, t in enumerate(toks):
        if t == ":":
            segment += 1
            items.append((_Kind.LIT, ":", True))
        elif t not in (STAR, QMARK):
            items.append((_Kind.LIT, t, True))
        elif segment >= 5:
            items.append((_Kind.MANY if t == STAR else _Kind.ONE, "", True))
        elif t == STAR:
            ends_segment = i + 1 == len(toks) or toks[i + 1] == ":"
            items.append((_Kind.MANY, "", ends_segment))
        else:
            items.append((_Kind.ONE, "", False))
    return Glob(tuple(items), ignore_case=False)


@dataclass(frozen=True, slots=True)
class ArnGlob:
    """``ArnLike``: six parts, each matched on its own; only the last may hold colons."""

    parts: tuple[Glob, ...] | None  # None: the pattern does not have six parts

    def matches(self, text: str) -> bool:
        if self.parts is None:
            return False
        values = text.split(":", 5)
        return len(values) == 6 and all(
            g.matches(v) for g, v in zip(self.parts, values, strict=True)
        )


@lru_cache(maxsize=8192)
def arn_like_glob(toks: Tokens) -> ArnGlob:
    parts: list[list[str]] = [[]]
    for t in toks:
        if t == ":" and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append(t)
    if len(parts) != 6:
        return ArnGlob(None)
    return ArnGlob(tuple(string_like_glob(tuple(p)) for p in parts))
