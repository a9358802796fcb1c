"""GetRandomPassword: a password from the ``secrets`` module (CSPRNG), never stored.

Default alphabet: upper- and lower-case letters, digits and the 32 ASCII punctuation
characters; ``IncludeSpace`` adds the space. ``RequireEachIncludedType`` (default true) puts
at least one character of every included type in the password, at a random position.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any

from warden.services.context import CallContext

from .errors import InvalidParameterException, out_of_range, too_long

DEFAULT_LENGTH = 32
MAX_LENGTH = 4096
PUNCTUATION = string.punctuation  # ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~


def character_types(params: Mapping[str, Any]) -> list[str]:
    """The included character types, each minus ``ExcludeCharacters`` (empty ones dropped)."""
    excluded = set(params.get("ExcludeCharacters") or "")
    types = [
        ("ExcludeUppercase", string.ascii_uppercase),
        ("ExcludeLowercase", string.ascii_lowercase),
        ("ExcludeNumbers", string.digits),
        ("ExcludePunctuation", PUNCTUATION),
    ]
    chosen = [chars for flag, chars in types if not params.get(flag)]
    if params.get("IncludeSpace"):
        chosen.append(" ")
    kept = ["".join(c for c in chars if c not in excluded) for chars in chosen]
    return [chars for chars in kept if chars]


def random_password(params: Mapping[str, Any]) -> str:
    length = params.get("PasswordLength")
    length = DEFAULT_LENGTH if length is None else int(length)
    if length > MAX_LENGTH:
        raise out_of_range("passwordLength", length, "less than or equal to", MAX_LENGTH)
    exclude = params.get("ExcludeCharacters")
    if exclude is not None and len(exclude) > MAX_LENGTH:
        raise too_long("excludeCharacters", MAX_LENGTH, exclude)
    types = character_types(params)
    if not types:
        raise InvalidParameterException(
            message="The password can't be generated: every character type is excluded."
        )
    require_each = params.get("RequireEachIncludedType")
    required = types if require_each is None or require_each else []
    if len(required) > length:
        raise InvalidParameterException(
            message="Password length is too short based on the required types."
        )
    alphabet = "".join(types)
    chars = [secrets.choice(t) for t in required]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    # Fisher-Yates with the CSPRNG, so the required characters land anywhere.
    for i in range(len(chars) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def get_random_password(ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"RandomPassword": random_password(params)}
