"""Checks of STS request members that AWS enforces server-side, answered as STS answers:
``ValidationError`` worded "1 validation error detected: Value … at 'roleSessionName'
failed to satisfy constraint: …" (the protocol layer checks only ``required``/``min``).

Also the session-policy size rules: the inline policy and the managed policy ARNs
together may hold 2,048 plaintext characters, and policies plus session tags are
"packed" against a separate limit whose use is reported as ``PackedPolicySize`` (a
percentage). warden packs by compressing the canonical JSON of both, so its
percentages differ from AWS's own binary packing but grow the same way.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warden.services.validation import member_name, validation_message

from .errors import InvalidParameterValue, PackedPolicyTooLarge, ValidationError

NAME = re.compile(r"[\w+=,.@-]*")
EXTERNAL_ID = re.compile(r"[\w+=,.@:\/-]*")
SERIAL = re.compile(r"[\w+=/:,.@-]*")
TOKEN_CODE = re.compile(r"[\d]*")
DOCUMENT = re.compile(r"[\u0009\u000A\u000D\u0020-\u00FF]+")
ARN = re.compile(
    r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]+"
)
TAG_KEY_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+"
TAG_VALUE_PATTERN = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*"
_TAG_SYMBOLS = frozenset("_.:/=+-@")

PLAINTEXT_LIMIT = 2048  # inline session policy + managed policy ARNs, characters
PACKED_LIMIT = 1536  # bytes of packed policies and tags (warden's packing)
MAX_POLICY_ARNS = 10
MAX_TAGS = 50


def fail(member: str, value: object, constraint: str, *, echo: bool = True) -> ValidationError:
    return ValidationError(message=validation_message(member, value, constraint, echo=echo))


_member = member_name


def text(
    params: Mapping[str, Any],
    name: str,
    *,
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
    echo: bool = True,
) -> str | None:
    """The string member ``name`` if present, checked against the model's max and pattern."""
    value = params.get(name)
    if value is None:
        return None
    value = str(value)
    if max_len is not None and len(value) > max_len:
        constraint = f"Member must have length less than or equal to {max_len}"
        raise fail(_member(name), value, constraint, echo=echo)
    if pattern is not None and not pattern.fullmatch(value):
        constraint = f"Member must satisfy regular expression pattern: {pattern.pattern}"
        raise fail(_member(name), value, constraint, echo=echo)
    return value


def duration(params: Mapping[str, Any], *, default: int, maximum: int) -> int:
    value = params.get("DurationSeconds", default)
    if not isinstance(value, int):
        raise ValidationError(message="DurationSeconds must be an integer")
    if value < 900:
        raise fail("durationSeconds", value, "Member must have value greater than or equal to 900")
    if value > maximum:
        raise fail(
            "durationSeconds", value, f"Member must have value less than or equal to {maximum}"
        )
    return value


def mfa(params: Mapping[str, Any]) -> tuple[str, str] | None:
    """(SerialNumber, TokenCode), both or neither."""
    serial = text(params, "SerialNumber", max_len=256, pattern=SERIAL)
    code = text(params, "TokenCode", max_len=6, pattern=TOKEN_CODE, echo=False)
    if serial is None and code is None:
        return None
    if serial is None or code is None:
        raise ValidationError(message="SerialNumber and TokenCode must be specified together")
    return serial, code


def _tag_chars_ok(value: str) -> bool:
    return all(unicodedata.category(c)[0] in "LZN" or c in _TAG_SYMBOLS for c in value)


@dataclass(frozen=True, slots=True)
class SessionTags:
    tags: tuple[tuple[str, str], ...]  # (key, value) in request order
    transitive: frozenset[str]  # lower-cased keys

    def stored(self) -> list[dict[str, Any]]:
        return [
            {"Key": k, "Value": v, "Transitive": k.lower() in self.transitive} for k, v in self.tags
        ]


def session_tags(params: Mapping[str, Any]) -> SessionTags:
    raw = params.get("Tags") or []
    if not isinstance(raw, Sequence) or len(raw) > MAX_TAGS:
        raise fail("tags", "[...]", f"Member must have length less than or equal to {MAX_TAGS}")
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, tag in enumerate(raw, 1):
        key = str(tag.get("Key", "")) if isinstance(tag, Mapping) else ""
        value = str(tag.get("Value", "")) if isinstance(tag, Mapping) else ""
        if not 1 <= len(key) <= 128:
            raise fail(
                f"tags.{i}.member.key", key, "Member must have length less than or equal to 128"
            )
        if not _tag_chars_ok(key):
            raise fail(
                f"tags.{i}.member.key",
                key,
                f"Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}",
            )
        if len(value) > 256:
            raise fail(
                f"tags.{i}.member.value", value, "Member must have length less than or equal to 256"
            )
        if not _tag_chars_ok(value):
            raise fail(
                f"tags.{i}.member.value",
                value,
                f"Member must satisfy regular expression pattern: {TAG_VALUE_PATTERN}",
            )
        if key.lower() in seen:
            raise InvalidParameterValue(
                message="Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
        out.append((key, value))
    transitive = params.get("TransitiveTagKeys") or []
    if not isinstance(transitive, Sequence) or len(transitive) > MAX_TAGS:
        raise fail(
            "transitiveTagKeys",
            "[...]",
            f"Member must have length less than or equal to {MAX_TAGS}",
        )
    lowered = frozenset(str(k).lower() for k in transitive)
    if not lowered <= seen:
        raise InvalidParameterValue(
            message="The specified transitive tag key must be included in the requested tags."
        )
    return SessionTags(tuple(out), lowered)


def policy_arns(params: Mapping[str, Any]) -> list[str]:
    raw = params.get("PolicyArns") or []
    if not isinstance(raw, Sequence) or len(raw) > MAX_POLICY_ARNS:
        raise fail(
            "policyArns",
            "[...]",
            f"Member must have length less than or equal to {MAX_POLICY_ARNS}",
        )
    out: list[str] = []
    for i, item in enumerate(raw, 1):
        arn = str(item.get("arn", "")) if isinstance(item, Mapping) else ""
        member = f"policyArns.{i}.member.arn"
        if len(arn) < 20:
            raise fail(member, arn, "Member must have length greater than or equal to 20")
        if len(arn) > 2048:
            raise fail(member, arn, "Member must have length less than or equal to 2048")
        if not ARN.fullmatch(arn):
            raise fail(
                member, arn, f"Member must satisfy regular expression pattern: {ARN.pattern}"
            )
        out.append(arn)
    return out


def check_plaintext(policy: str | None, arns: Sequence[str]) -> None:
    size = len(policy or "") + sum(len(a) for a in arns)
    if size > PLAINTEXT_LIMIT:
        raise PackedPolicyTooLarge(
            message=f"The plaintext of the session policies ({size} characters) exceeds the "
            f"limit of {PLAINTEXT_LIMIT}."
        )


def packed_percent(
    documents: Sequence[Mapping[str, Any]], arns: Sequence[str], tags: SessionTags
) -> int:
    """How full the packed session policies and tags are, in percent; PackedPolicyTooLarge
    beyond 100."""
    canonical = json.dumps(
        {"p": list(documents), "a": list(arns), "t": list(tags.tags), "x": sorted(tags.transitive)},
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    percent = math.ceil(100 * len(zlib.compress(canonical, 9)) / PACKED_LIMIT)
    if percent > 100:
        raise PackedPolicyTooLarge(
            message=f"Packed size of consumed session policies and tags exceeds 100% of allowed "
            f"value ({percent}%)."
        )
    return percent
