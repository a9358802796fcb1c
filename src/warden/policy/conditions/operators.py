"""The closed table of IAM condition operators and how an operator name decomposes.

``ForAnyValue:StringLikeIfExists`` is qualifier ``FOR_ANY_VALUE``, base ``StringLike``,
``if_exists``. Names are matched exactly (IAM's spelling); an unknown name parses to
``None`` and the condition is malformed. ``Null`` takes neither a qualifier nor
``IfExists``. A *negated* operator (``StringNotEquals``, ``NotIpAddress``, …) is true for
a request value that matches none of the policy values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Family(enum.Enum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "IpAddress"
    ARN = "Arn"
    NULL = "Null"


class Test(enum.Enum):
    """The positive comparison a base operator performs."""

    EQ = "eq"
    IEQ = "ieq"
    LIKE = "like"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    IN_NETWORK = "in"
    EXISTS = "null"


class Qualifier(enum.Enum):
    NONE = ""
    FOR_ALL_VALUES = "ForAllValues:"
    FOR_ANY_VALUE = "ForAnyValue:"


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str
    family: Family
    test: Test
    negated: bool = False


@dataclass(frozen=True, slots=True)
class ParsedOperator:
    spec: OperatorSpec
    qualifier: Qualifier
    if_exists: bool


def _ops() -> dict[str, OperatorSpec]:
    s, n, d = Family.STRING, Family.NUMERIC, Family.DATE
    specs = [
        OperatorSpec("StringEquals", s, Test.EQ),
        OperatorSpec("StringNotEquals", s, Test.EQ, True),
        OperatorSpec("StringEqualsIgnoreCase", s, Test.IEQ),
        OperatorSpec("StringNotEqualsIgnoreCase", s, Test.IEQ, True),
        OperatorSpec("StringLike", s, Test.LIKE),
        OperatorSpec("StringNotLike", s, Test.LIKE, True),
        OperatorSpec("Bool", Family.BOOL, Test.EQ),
        OperatorSpec("BinaryEquals", Family.BINARY, Test.EQ),
        OperatorSpec("IpAddress", Family.IP, Test.IN_NETWORK),
        OperatorSpec("NotIpAddress", Family.IP, Test.IN_NETWORK, True),
        OperatorSpec("ArnEquals", Family.ARN, Test.LIKE),
        OperatorSpec("ArnLike", Family.ARN, Test.LIKE),
        OperatorSpec("ArnNotEquals", Family.ARN, Test.LIKE, True),
        OperatorSpec("ArnNotLike", Family.ARN, Test.LIKE, True),
        OperatorSpec("Null", Family.NULL, Test.EXISTS),
    ]
    for family in (n, d):
        prefix = family.value
        specs += [
            OperatorSpec(f"{prefix}Equals", family, Test.EQ),
            OperatorSpec(f"{prefix}NotEquals", family, Test.EQ, True),
            OperatorSpec(f"{prefix}LessThan", family, Test.LT),
            OperatorSpec(f"{prefix}LessThanEquals", family, Test.LE),
            OperatorSpec(f"{prefix}GreaterThan", family, Test.GT),
            OperatorSpec(f"{prefix}GreaterThanEquals", family, Test.GE),
        ]
    return {spec.name: spec for spec in specs}


OPERATORS: dict[str, OperatorSpec] = _ops()


def parse_operator(name: str) -> ParsedOperator | None:
    qualifier = Qualifier.NONE
    for q in (Qualifier.FOR_ALL_VALUES, Qualifier.FOR_ANY_VALUE):
        if name.startswith(q.value):
            qualifier, name = q, name[len(q.value) :]
            break
    if_exists = name.endswith("IfExists")
    spec = OPERATORS.get(name[: -len("IfExists")] if if_exists else name)
    if spec is None:
        return None
    if spec.family is Family.NULL and (if_exists or qualifier is not Qualifier.NONE):
        return None
    return ParsedOperator(spec, qualifier, if_exists)
