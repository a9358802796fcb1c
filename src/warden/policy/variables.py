"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``,
``${*}``, ``${?}``, ``${$}``.

A text with variables is parsed once into a ``Template`` and rendered per request.
Key names are case-insensitive (the lookup lowers them). Only single-valued keys
resolve; a missing or multivalued key takes the default if one is given, otherwise
the whole text is *unresolved* (``None``): it matches nothing in ``Resource`` and is
null in a condition. ``${*}``/``${?}``/``${$}`` are literal characters, and a
substituted value is always literal text, never a glob. Documents older than
2012-10-17 have no variables: callers do not parse templates for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .wildcard import Tokens, literal_tokens, tokens

Lookup = Callable[[str], "str | None"]  # key -> its single value, or None

_SPECIAL = {"*": "*", "?": "?", "$": "$"}
_DEFAULT = re.compile(r"\s*'(.*)'\s*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Variable:
    key: str
    default: str | None


Part = str | Variable  # plain text, or a variable


@dataclass(frozen=True, slots=True)
class Template:
    parts: tuple[Part, ...]

    @property
    def has_variables(self) -> bool:
        return any(isinstance(p, Variable) for p in self.parts)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(
            p.key for p in self.parts if isinstance(p, Variable) and p.key and p.key not in _SPECIAL
        )

    def render_text(self, lookup: Lookup) -> str | None:
        out: list[str] = []
        for part in self.parts:
            value = part if isinstance(part, str) else _resolve(part, lookup)
            if value is None:
                return None
            out.append(value)
        return "".join(out)

    def render_tokens(self, lookup: Lookup) -> Tokens | None:
        """Glob tokens: wildcards in the policy text stay wildcards, values are literal."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.extend(tokens(part))
                continue
            value = _resolve(part, lookup)
            if value is None:
                return None
            out.extend(literal_tokens(value))
        return tuple(out)

    def values(self, lookup: Lookup) -> tuple[str, ...] | None:
        """The text each variable stands for, in order; ``None`` if one is unresolved.
        With ``tokens_with`` it renders the same tokens as ``render_tokens``."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, Variable):
                value = _resolve(part, lookup)
                if value is None:
                    return None
                out.append(value)
        return tuple(out)

    def tokens_with(self, values: tuple[str, ...]) -> Tokens:
        out: list[str] = []
        substituted = iter(values)
        for part in self.parts:
            if isinstance(part, str):
                out.extend(tokens(part))
            else:
                out.extend(literal_tokens(next(substituted)))
        return tuple(out)


def _resolve(var: Variable, lookup: Lookup) -> str | None:
    if var.key in _SPECIAL:
        return _SPECIAL[var.key]
    value = lookup(var.key) if var.key else None
    return var.default if value is None else value


def parse_template(text: str) -> Template:
    parts: list[Part] = []
    pos = 0
    while True:
        start = text.find("${", pos)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            break
        if start > pos:
            parts.append(text[pos:start])
        parts.append(_variable(text[start + 2 : end]))
        pos = end + 1
    if pos < len(text):
        parts.append(text[pos:])
    return Template(tuple(parts))


def _variable(inner: str) -> Variable:
    if inner in _SPECIAL:
        return Variable(inner, None)
    key, comma, rest = inner.partition(",")
    if not comma:
        return Variable(key.strip(), None)
    default = _DEFAULT.fullmatch(rest)
    if default is None:
        return Variable("", None)  # malformed: never resolves
    return Variable(key.strip(), default.group(1))
