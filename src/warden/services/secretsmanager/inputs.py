"""Request members checked the way Secrets Manager checks them (the protocol layer only checks
``required`` and ``min``): maxima as ``ValidationException``, semantic rules as the modelled
exceptions. Sensitive values never appear in a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .envelope import SecretValue
from .errors import (
    BOTH_VALUES,
    NEED_TOKEN,
    InvalidParameterException,
    InvalidRequestException,
    out_of_range,
    too_long,
)

MAX_VALUE_BYTES = 65_536
MAX_TAGS = 50
_RESERVED_TAG_PREFIX = "aws:"


def secret_value(params: Mapping[str, Any]) -> SecretValue | None:
    """SecretString or SecretBinary (not both), at most 64 KiB; None when neither is given."""
    text = params.get("SecretString")
    blob = params.get("SecretBinary")
    if text is not None and blob is not None:
        raise InvalidParameterException(message=BOTH_VALUES)
    if text is not None:
        value = SecretValue.of_string(text)
        if len(value.data.reveal()) > MAX_VALUE_BYTES:
            raise too_long("secretString", MAX_VALUE_BYTES)
        return value
    if blob is not None:
        if len(blob) > MAX_VALUE_BYTES:
            raise too_long("secretBinary", MAX_VALUE_BYTES)
        return SecretValue.of_binary(blob)
    return None


def client_token(params: Mapping[str, Any], *, required: bool, rotate: bool = False) -> str | None:
    """``ClientRequestToken``: SDKs always send one; raw callers must when a version is made."""
    token = params.get("ClientRequestToken")
    if token is None:
        if required:
            error = InvalidParameterException if rotate else InvalidRequestException
            raise error(message=NEED_TOKEN)
        return None
    if len(token) > 64:
        raise too_long("clientRequestToken", 64, token)
    return str(token)


def required_token(params: Mapping[str, Any], *, rotate: bool = False) -> str:
    token = client_token(params, required=True, rotate=rotate)
    if token is None:  # client_token raises first; this keeps the type honest
        raise InvalidRequestException(message=NEED_TOKEN)
    return token


def bounded(params: Mapping[str, Any], member: str, limit: int) -> str | None:
    value = params.get(member)
    if value is not None and len(value) > limit:
        raise too_long(member[:1].lower() + member[1:], limit, value)
    return None if value is None else str(value)


def max_results(params: Mapping[str, Any], limit: int) -> int | None:
    value = params.get("MaxResults")
    if value is not None and value > limit:
        raise out_of_range("maxResults", value, "less than or equal to", limit)
    return None if value is None else int(value)


def version_stages(params: Mapping[str, Any]) -> list[str] | None:
    stages = params.get("VersionStages")
    if stages is None:
        return None
    if len(stages) > 20:
        raise too_long("versionStages", 20)
    for stage in stages:
        if len(stage) > 256:
            raise too_long("versionStages.member", 256, stage)
    return [str(s) for s in stages]


def tags(raw: Sequence[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    """``[{Key, Value}]``: keys 1-128 characters, values up to 256, ``aws:`` reserved."""
    out: dict[str, str] = {}
    for tag in raw or ():
        key, value = tag.get("Key"), tag.get("Value", "")
        if not key:
            raise InvalidParameterException(message="You must specify a Key for every tag.")
        if len(key) > 128:
            raise too_long("tags.member.key", 128, key)
        if value is not None and len(value) > 256:
            raise too_long("tags.member.value", 256, value)
        if key.lower().startswith(_RESERVED_TAG_PREFIX):
            raise InvalidParameterException(
                message=f"Invalid tag key {key}: tag keys that start with aws: are reserved "
                "for AWS use."
            )
        out[key] = value or ""
    return list(out.items())


def merged_tags(
    existing: Sequence[tuple[str, str]], added: Sequence[tuple[str, str]]
) -> tuple[tuple[str, str], ...]:
    merged = dict(existing)
    merged.update(added)
    if len(merged) > MAX_TAGS:
        raise InvalidParameterException(
            message=f"A secret can have at most {MAX_TAGS} tags; this request would exceed it."
        )
    return tuple(merged.items())


def flag(params: Mapping[str, Any], member: str, default: bool) -> bool:
    value = params.get(member)
    return default if value is None else bool(value)
