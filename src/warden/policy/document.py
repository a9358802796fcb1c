"""A policy document as frozen values: JSON text (or an already-decoded mapping) in,
``PolicyDocument`` out.

Owns the *shape* of the IAM policy grammar and nothing else: which elements exist,
their types, ``str | list`` normalisation, ``Statement`` as one object or a list.
Anything the grammar cannot carry raises ``PolicyError`` (AWS's "Syntax errors in
policy."). Semantic write-time rules (vendor prefixes, principals per policy kind,
sizes, operator names) live in ``validate.py``; evaluation lives elsewhere.

Invariants: every string list is a tuple; condition values are strings (JSON
``true``/numbers are rendered as IAM does: ``"true"``, ``"10"``); a parsed document
never holds ``None`` where the grammar requires a value.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import LEGACY_PARSING, SYNTAX_ERROR, PolicyError

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
_VERSIONS = (VERSION_2012, VERSION_2008)
_TOP_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")


class StatementEffect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class ListElement:
    """``Action``/``NotAction`` or ``Resource``/``NotResource``: patterns, maybe negated."""

    negated: bool
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrincipalElement:
    """``Principal``/``NotPrincipal``. ``wildcard`` is the bare ``"*"`` form."""

    negated: bool
    wildcard: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One ``operator: {key: values}`` pair; a block with several keys gives several."""

    operator: str
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    effect: StatementEffect
    action: ListElement | None
    resource: ListElement | None
    principal: PrincipalElement | None
    conditions: tuple[ConditionClause, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    version: str | None  # None: absent, which IAM reads as 2008-10-17
    id: str | None
    statements: tuple[Statement, ...]

    @property
    def supports_variables(self) -> bool:
        """Policy variables exist only in 2012-10-17; older documents read ``${…}`` literally."""
        return self.version == VERSION_2012


def load_json(document: str | Mapping[str, object]) -> Mapping[str, object]:
    """Decode JSON text into the top-level object, or accept an already-decoded mapping."""
    if isinstance(document, Mapping):
        return document
    try:
        decoded = json.loads(document)
    except (TypeError, ValueError, RecursionError) as exc:
        raise PolicyError(SYNTAX_ERROR) from exc
    if not isinstance(decoded, dict):
        raise PolicyError(SYNTAX_ERROR)
    return decoded


def parse_document(document: str | Mapping[str, object]) -> PolicyDocument:
    """Parse a policy document; raise ``PolicyError`` if the grammar cannot hold it."""
    top = load_json(document)
    if not all(isinstance(k, str) and k in _TOP_ELEMENTS for k in top):
        raise PolicyError(SYNTAX_ERROR)
    version = _optional_str(top, "Version")
    if version is not None and version not in _VERSIONS:
        raise PolicyError(SYNTAX_ERROR)
    raw = top.get("Statement")
    if isinstance(raw, Mapping):
        raws: list[object] = [raw]
    elif isinstance(raw, list) and raw:
        raws = list(raw)
    else:
        raise PolicyError(SYNTAX_ERROR)
    statements = tuple(_statement(i, r) for i, r in enumerate(raws))
    return PolicyDocument(version, _optional_str(top, "Id"), statements)


def statement_dicts(document: str | Mapping[str, object]) -> list[Mapping[str, object]]:
    """The raw statement objects, for write-time checks that need element presence."""
    raw = load_json(document).get("Statement")
    items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    return [s for s in items if isinstance(s, Mapping)]


def _optional_str(obj: Mapping[str, object], name: str) -> str | None:
    value = obj.get(name)
    if value is None and name not in obj:
        return None
    if not isinstance(value, str):
        raise PolicyError(SYNTAX_ERROR)
    return value


def _statement(index: int, raw: object) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError(SYNTAX_ERROR)
    if not all(isinstance(k, str) and k in _STATEMENT_ELEMENTS for k in raw):
        raise PolicyError(SYNTAX_ERROR)
    return Statement(
        index=index,
        sid=_optional_str(raw, "Sid"),
        effect=_effect(raw),
        action=_list_element(raw, "Action", "NotAction"),
        resource=_list_element(raw, "Resource", "NotResource"),
        principal=_principal(raw),
        conditions=_conditions(raw.get("Condition"), "Condition" in raw),
    )


def _effect(raw: Mapping[str, object]) -> StatementEffect:
    value = raw.get("Effect")
    if not isinstance(value, str):
        raise PolicyError(SYNTAX_ERROR)
    for effect in StatementEffect:
        if value == effect.value:
            return effect
        if value.lower() == effect.value.lower():
            raise PolicyError(LEGACY_PARSING)
    raise PolicyError(SYNTAX_ERROR)


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(SYNTAX_ERROR)


def _list_element(raw: Mapping[str, object], name: str, negated: str) -> ListElement | None:
    if name in raw and negated in raw:
        raise PolicyError(SYNTAX_ERROR)
    if name in raw:
        return ListElement(False, _strings(raw[name]))
    if negated in raw:
        return ListElement(True, _strings(raw[negated]))
    return None


def _principal(raw: Mapping[str, object]) -> PrincipalElement | None:
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(SYNTAX_ERROR)
    negated = "NotPrincipal" in raw
    if not negated and "Principal" not in raw:
        return None
    value = raw["NotPrincipal" if negated else "Principal"]
    if value == "*":
        return PrincipalElement(negated, wildcard=True)
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(SYNTAX_ERROR)
    if not all(k in _PRINCIPAL_KINDS for k in value):
        raise PolicyError(SYNTAX_ERROR)
    return PrincipalElement(
        negated,
        aws=_strings(value["AWS"]) if "AWS" in value else (),
        service=_strings(value["Service"]) if "Service" in value else (),
        federated=_strings(value["Federated"]) if "Federated" in value else (),
        canonical_user=_strings(value["CanonicalUser"]) if "CanonicalUser" in value else (),
    )


def _scalar(value: object) -> str:
    # bool before int: JSON true is a Python bool, which is also an int.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    raise PolicyError(SYNTAX_ERROR)


def _conditions(raw: object, present: bool) -> tuple[ConditionClause, ...]:
    if not present:
        return ()
    if not isinstance(raw, Mapping):
        raise PolicyError(SYNTAX_ERROR)
    clauses: list[ConditionClause] = []
    for operator, block in raw.items():
        if not isinstance(operator, str) or not isinstance(block, Mapping):
            raise PolicyError(SYNTAX_ERROR)
        for key, values in block.items():
            if not isinstance(key, str):
                raise PolicyError(SYNTAX_ERROR)
            items = values if isinstance(values, list) else [values]
            clauses.append(ConditionClause(operator, key, tuple(_scalar(v) for v in items)))
    return tuple(clauses)
