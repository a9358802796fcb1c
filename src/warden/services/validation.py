"""AWS's wording for input that breaks a model constraint, shared by the services that
answer it the same way (IAM, STS: "1 validation error detected: Value 'x' at 'member'
failed to satisfy constraint: …", with the member name in lowerCamel)."""

from __future__ import annotations


def member_name(name: str) -> str:
    """The member as AWS names it in messages: ``RoleSessionName`` → ``roleSessionName``."""
    return name[:1].lower() + name[1:]


def validation_message(member: str, value: object, constraint: str, *, echo: bool = True) -> str:
    """``echo=False`` for values that must not be repeated back (secrets, huge documents)."""
    shown = f"Value '{value}' at" if echo else "Value at"
    return (
        f"1 validation error detected: {shown} '{member}' failed to satisfy "
        f"constraint: {constraint}"
    )
