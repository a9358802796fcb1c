"""Checks KMS makes on request members beyond what the protocol layer checks (it checks
only ``required`` and ``min``): maxima, enums, tag rules, and the members warden does not
support. Each failure is the AWS error code KMS answers for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import (
    DryRunOperationException,
    InvalidKeyUsageException,
    LimitExceededException,
    TagException,
    UnsupportedOperationException,
    ValidationException,
    bound_message,
    enum_message,
)
from .model import MAX_TAGS, SYMMETRIC_DEFAULT, Tags

MAX_PLAINTEXT = 4096
_ALGORITHMS = ("SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE")
DRY_RUN_MESSAGE = "The request would have succeeded, but the DryRun option is set."


def limit(params: Mapping[str, Any], maximum: int) -> None:
    value = params.get("Limit")
    if isinstance(value, int) and value > maximum:
        raise ValidationException(
            message=bound_message("limit", value, "less than or equal to", maximum)
        )


def encryption_context(
    params: Mapping[str, Any], member: str = "EncryptionContext"
) -> dict[str, str]:
    raw = params.get(member) or {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ValidationException(message=f"{member} must be a map of strings to strings.")
    return dict(raw)


def algorithm(params: Mapping[str, Any], member: str = "EncryptionAlgorithm") -> str:
    """The (symmetric) encryption algorithm a request names; the asymmetric ones do not fit
    a symmetric key (InvalidKeyUsageException), unknown ones are a ValidationException."""
    value = params.get(member)
    if value is None or value == SYMMETRIC_DEFAULT:
        return SYMMETRIC_DEFAULT
    if value in _ALGORITHMS:
        raise InvalidKeyUsageException(
            message=f"The encryption algorithm {value} is not compatible with the KMS key spec "
            f"{SYMMETRIC_DEFAULT}."
        )
    member_name = member[:1].lower() + member[1:]
    raise ValidationException(message=enum_message(member_name, value, _ALGORITHMS))


def plaintext(params: Mapping[str, Any]) -> bytes:
    value = params.get("Plaintext")
    if not isinstance(value, bytes | bytearray):
        raise ValidationException(message="Plaintext must be binary data.")
    if len(value) > MAX_PLAINTEXT:
        raise ValidationException(
            message="1 validation error detected: Value at 'plaintext' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_PLAINTEXT}"
        )
    return bytes(value)


def blob(params: Mapping[str, Any], member: str = "CiphertextBlob") -> bytes:
    value = params.get(member)
    if not isinstance(value, bytes | bytearray):
        raise ValidationException(message=f"{member} must be binary data.")
    return bytes(value)


def no_recipient(params: Mapping[str, Any]) -> None:
    if params.get("Recipient") is not None:
        raise UnsupportedOperationException(
            message="warden does not support attested (Recipient) requests."
        )


def dry_run(params: Mapping[str, Any]) -> None:
    """Called once everything else has been checked: a dry run stops here."""
    if params.get("DryRun") is True:
        raise DryRunOperationException(message=DRY_RUN_MESSAGE)


def tags(raw: Any) -> Tags:
    """KMS ``[{TagKey, TagValue}]`` as pairs, after AWS's tag rules."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in raw or ():
        key, value = item.get("TagKey"), item.get("TagValue", "")
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValidationException(message="Tags must have a TagKey and a TagValue.")
        if len(key) > 128 or len(value) > 256:
            raise ValidationException(
                message="1 validation error detected: tag keys must have length less than or "
                "equal to 128 and tag values less than or equal to 256"
            )
        if key.lower().startswith("aws:"):
            raise TagException(message="Tag keys beginning with aws: are reserved.")
        if key in seen:
            raise TagException(message=f"Duplicate tag key {key}.")
        seen.add(key)
        out.append((key, value))
    return tuple(out)


def merged_tags(existing: Tags, new: Tags) -> Tags:
    """``existing`` with ``new`` applied (values replaced in place, new keys appended)."""
    updates = dict(new)
    out = [(k, updates.pop(k, v)) for k, v in existing]
    out.extend((k, v) for k, v in new if k in updates)
    if len(out) > MAX_TAGS:
        raise LimitExceededException(
            message=f"The request would exceed the limit of {MAX_TAGS} tags on a KMS key."
        )
    return tuple(out)
