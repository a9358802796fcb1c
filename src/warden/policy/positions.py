"""Where each statement sits in a policy's JSON text (for simulation results).

Positions are 1-based line and column; a statement spans from its opening ``{`` to
its closing ``}`` inclusive. Computed only on demand and memoised; any text the scanner
cannot follow yields no positions rather than an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


@dataclass(frozen=True, slots=True)
class Position:
    line: int
    column: int


Span = tuple[Position, Position]


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _offsets(text: str) -> list[tuple[int, int]]:
    i = _skip(text, 0)
    if text[i] != "{":
        return []
    i = _skip(text, i + 1)
    spans: list[tuple[int, int]] = []
    while text[i] != "}":
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        i = _skip(text, i + 1)  # the ':'
        if key == "Statement" and text[i] == "[":
            spans, i = _elements(text, i + 1)
        else:
            start = i
            _, i = _DECODER.raw_decode(text, i)
            if key == "Statement":
                spans = [(start, i - 1)]
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
    return spans


def _elements(text: str, i: int) -> tuple[list[tuple[int, int]], int]:
    spans: list[tuple[int, int]] = []
    i = _skip(text, i)
    while text[i] != "]":
        start = i
        _, i = _DECODER.raw_decode(text, i)
        spans.append((start, i - 1))
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
    return spans, i + 1


def _position(text: str, offset: int) -> Position:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Position(line, column)


@lru_cache(maxsize=256)
def statement_spans(text: str) -> tuple[Span, ...]:
    try:
        offsets = _offsets(text)
    except (ValueError, IndexError, RecursionError):
        return ()
    return tuple((_position(text, a), _position(text, b)) for a, b in offsets)
