"""Checks of IAM request members that AWS enforces server-side: names, paths, tags,
descriptions, policy ARNs and policy documents.

The protocol layer checks only ``required`` and ``min``; the maximum lengths and
patterns of the IAM model are checked here and answered as IAM answers them: a
``ValidationError`` worded like AWS's ("1 validation error detected: Value … at
'userName' failed to satisfy constraint: …"). Values that may be secret are not
echoed. Documents are validated by the policy package and refused with its reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warden.policy import PolicyError, PolicyKind, check
from warden.services.validation import member_name, validation_message

from .errors import InvalidInput, LimitExceeded, ValidationError, from_policy_error

NAME_PATTERN = r"[\w+=,.@-]+"
PATH_PATTERN = r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
POLICY_PATH_PATTERN = r"((/[A-Za-z0-9\.,\+@=_-]+)*)/"
PATH_PREFIX_PATTERN = r"\u002F[\u0021-\u007F]*"
VERSION_PATTERN = r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"
DOCUMENT_PATTERN = r"[\u0009\u000A\u000D\u0020-\u00FF]+"
DESCRIPTION_PATTERN = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*"
TAG_KEY_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
TAG_VALUE_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"

# Java regex semantics, as AWS checks them: \w is ASCII letters, digits and underscore.
_NAME = re.compile(NAME_PATTERN, re.ASCII)
_PATH = re.compile(PATH_PATTERN)
_POLICY_PATH = re.compile(POLICY_PATH_PATTERN)
_PATH_PREFIX = re.compile(PATH_PREFIX_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_DOCUMENT = re.compile(DOCUMENT_PATTERN)
_DESCRIPTION = re.compile(DESCRIPTION_PATTERN)
_TAG_SYMBOLS = frozenset("_.:/=+-@")
_POLICY_ARN = re.compile(r"arn:aws:iam::(\d{12}|aws):policy(/(?:[^/]+/)*)([\w+=,.@-]+)", re.ASCII)

MAX_TAGS = 50
MAX_DOCUMENT = 131_072


def _fail(member: str, value: object, constraint: str, *, echo: bool = True) -> ValidationError:
    return ValidationError(message=validation_message(member, value, constraint, echo=echo))


_member = member_name


def text(
    params: Mapping[str, Any],
    name: str,
    *,
    max_len: int,
    pattern: re.Pattern[str] | None = None,
    echo: bool = True,
) -> str | None:
    """The string member ``name`` if present, checked against the model's max and pattern."""
    value = params.get(name)
    if value is None:
        return None
    value = str(value)
    if len(value) > max_len:
        raise _fail(
            _member(name),
            value,
            f"Member must have length less than or equal to {max_len}",
            echo=echo,
        )
    if pattern is not None and not pattern.fullmatch(value):
        raise _fail(
            _member(name),
            value,
            f"Member must satisfy regular expression pattern: {pattern.pattern}",
            echo=echo,
        )
    return value


def required(params: Mapping[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None:
        raise ValidationError(message=f"The request must contain the parameter {name}")
    return value


def name(params: Mapping[str, Any], member: str, max_len: int) -> str:
    """A required entity or policy name: ``[\\w+=,.@-]+`` of at most ``max_len``."""
    value = text(params, member, max_len=max_len, pattern=_NAME)
    if value is None:
        raise ValidationError(message=f"The request must contain the parameter {member}")
    return value


def optional_name(params: Mapping[str, Any], member: str, max_len: int) -> str | None:
    return text(params, member, max_len=max_len, pattern=_NAME)


def path(params: Mapping[str, Any], member: str = "Path", *, policy: bool = False) -> str | None:
    return text(params, member, max_len=512, pattern=_POLICY_PATH if policy else _PATH)


def path_prefix(params: Mapping[str, Any], *, policy: bool = False) -> str:
    pattern = _POLICY_PATH if policy else _PATH_PREFIX
    return text(params, "PathPrefix", max_len=512, pattern=pattern) or "/"


def version_id(params: Mapping[str, Any]) -> str:
    value = text(params, "VersionId", max_len=128, pattern=_VERSION)
    if value is None:
        raise ValidationError(message="The request must contain the parameter VersionId")
    return value


def description(params: Mapping[str, Any], *, role: bool = False) -> str | None:
    return text(params, "Description", max_len=1000, pattern=_DESCRIPTION if role else None)


def document(
    params: Mapping[str, Any], kind: PolicyKind, *, member: str = "PolicyDocument", entity: str = ""
) -> str:
    """The policy document member, valid as a policy of ``kind`` (or the error IAM gives)."""
    value = text(params, member, max_len=MAX_DOCUMENT, pattern=_DOCUMENT, echo=False)
    if value is None:
        raise ValidationError(message=f"The request must contain the parameter {member}")
    try:
        check(value, kind, entity_name=entity)
    except PolicyError as exc:
        raise from_policy_error(exc) from None
    return value


@dataclass(frozen=True, slots=True)
class PolicyArn:
    arn: str
    account: str  # twelve digits, or "aws" for an AWS managed policy
    path: str
    name: str

    @property
    def aws_managed(self) -> bool:
        return self.account == "aws"


def policy_arn(params: Mapping[str, Any], member: str = "PolicyArn") -> PolicyArn:
    value = text(params, member, max_len=2048)
    if value is None:
        raise ValidationError(message=f"The request must contain the parameter {member}")
    return parse_policy_arn(value)


def parse_policy_arn(value: str) -> PolicyArn:
    found = _POLICY_ARN.fullmatch(value)
    if found is None:
        raise InvalidInput(message=f"ARN {value} is not valid.")
    return PolicyArn(value, found.group(1), found.group(2), found.group(3))


def _tag_chars_ok(value: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in _TAG_SYMBOLS for c in value)


def _tag_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 128:
        raise _fail("tags.member.key", key, "Member must have length less than or equal to 128")
    if not _tag_chars_ok(key):
        raise _fail(
            "tags.member.key",
            key,
            f"Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}",
        )
    if key.lower().startswith("aws:"):
        raise InvalidInput(message="User-defined tag keys can't start with 'aws:'.")
    return key


def tags(params: Mapping[str, Any], member: str = "Tags") -> list[dict[str, str]]:
    """The request's tags, checked: key/value syntax, no duplicate key ignoring case, ≤ 50."""
    raw = params.get(member) or []
    if not isinstance(raw, Sequence) or len(raw) > MAX_TAGS:
        raise _fail(
            _member(member), "...", f"Member must have length less than or equal to {MAX_TAGS}"
        )
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for tag in raw:
        key = _tag_key(tag.get("Key") if isinstance(tag, Mapping) else None)
        value = tag.get("Value", "") if isinstance(tag, Mapping) else ""
        if not isinstance(value, str) or len(value) > 256:
            raise _fail(
                "tags.member.value", value, "Member must have length less than or equal to 256"
            )
        if not _tag_chars_ok(value):
            raise _fail(
                "tags.member.value",
                value,
                f"Member must satisfy regular expression pattern: {TAG_VALUE_PATTERN}",
            )
        if key.lower() in seen:
            raise InvalidInput(
                message="Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
        out.append({"Key": key, "Value": value})
    return out


def tag_keys(params: Mapping[str, Any]) -> list[str]:
    raw = required(params, "TagKeys")
    if not isinstance(raw, Sequence) or len(raw) > MAX_TAGS:
        raise _fail("tagKeys", "...", f"Member must have length less than or equal to {MAX_TAGS}")
    return [str(k) for k in raw]


def merge_tags(
    existing: Sequence[Mapping[str, str]], new: Sequence[Mapping[str, str]]
) -> list[dict[str, str]]:
    """``existing`` with ``new`` applied; IAM tag keys are case-insensitive, the newest wins."""
    merged = {t["Key"].lower(): {"Key": t["Key"], "Value": t["Value"]} for t in existing}
    for t in new:
        merged[t["Key"].lower()] = {"Key": t["Key"], "Value": t["Value"]}
    if len(merged) > MAX_TAGS:
        raise LimitExceeded(
            message=f"The number of tags has reached the maximum limit of {MAX_TAGS}."
        )
    return list(merged.values())


def remove_tags(existing: Sequence[Mapping[str, str]], keys: Sequence[str]) -> list[dict[str, str]]:
    gone = {k.lower() for k in keys}
    return [dict(t) for t in existing if t["Key"].lower() not in gone]


def bounded_int(params: Mapping[str, Any], member: str, low: int, high: int) -> int | None:
    """The integer member ``member`` if present, within ``[low, high]``."""
    value = params.get(member)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    too_low = isinstance(value, int) and value < low
    bound = f"greater than or equal to {low}" if too_low else f"less than or equal to {high}"
    raise _fail(_member(member), value, f"Member must have value {bound}")


def max_session(params: Mapping[str, Any]) -> int | None:
    return bounded_int(params, "MaxSessionDuration", 3600, 43200)
