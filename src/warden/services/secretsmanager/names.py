"""Secret names, ARNs and the ways a request may name a secret (pure).

A secret's ARN is ``arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX``: the name plus a
hyphen and six random letters or digits, so a deleted and re-created secret of the same name
has a different ARN. ``SecretId`` is a name, the full ARN, or a *partial* ARN (the full one
without the suffix); ``parse_secret_id`` says which, and never raises.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from .errors import INVALID_NAME, ValidationException, too_long

NAME_MAX = 512
SUFFIX_LEN = 6
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_MANAGED_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]+")  # services name theirs rds!cluster-…
_SUFFIX_ALPHABET = string.ascii_letters + string.digits
_UNBIASED = 256 - 256 % len(_SUFFIX_ALPHABET)  # reject bytes above this: no modulo bias


def check_name(name: str, *, managed: bool = False) -> None:
    """CreateSecret's name rules: 1-512 characters, ASCII letters, digits and ``/_+=.@-``
    (``!`` too for names a service gives the secrets it manages)."""
    if len(name) > NAME_MAX:
        raise too_long("name", NAME_MAX, name)
    if not (_MANAGED_NAME if managed else _NAME).fullmatch(name):
        raise ValidationException(message=INVALID_NAME)


def suffix_from(random_bytes: bytes) -> str:
    """Six suffix characters from random bytes (give at least 12; unusable bytes are skipped)."""
    chars = [_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in random_bytes if b < _UNBIASED]
    if len(chars) < SUFFIX_LEN:
        raise ValueError("not enough random bytes for a secret ARN suffix")
    return "".join(chars[:SUFFIX_LEN])


def secret_arn(partition: str, region: str, account_id: str, name: str, suffix: str) -> str:
    return f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{name}-{suffix}"


def placeholder_arn(region: str, account_id: str, name: str) -> str:
    """The ARN authorization uses for a secret that does not exist (yet): the suffix is
    unknown, so ``??????`` stands in for it and policies naming ``NAME-*`` or ``NAME-??????``
    match, as they do in AWS for CreateSecret."""
    return secret_arn("aws", region, account_id, name, "?" * SUFFIX_LEN)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """How a request named a secret: ``arn`` when it looks like a full ARN of this account
    and region, and the ``name`` a partial ARN or plain name stands for."""

    raw: str
    arn: str | None
    name: str | None  # None: an ARN of another account/region/service (never found)


def parse_secret_id(secret_id: str, region: str, account_id: str) -> SecretRef:
    if not secret_id.startswith("arn:"):
        return SecretRef(secret_id, None, secret_id)
    parts = secret_id.split(":", 6)
    if (
        len(parts) != 7
        or parts[2] != "secretsmanager"
        or parts[3] != region
        or parts[4] != account_id
        or parts[5] != "secret"
        or not parts[6]
    ):
        return SecretRef(secret_id, None, None)
    # The resource may be NAME-XXXXXX (full) or NAME (partial): try both in that order.
    return SecretRef(secret_id, secret_id, parts[6])


def authz_arn(ref: SecretRef, region: str, account_id: str) -> str:
    """The resource ARN for a secret that could not be resolved."""
    if ref.arn is not None:
        return ref.arn
    return placeholder_arn(region, account_id, ref.name if ref.name is not None else ref.raw)
