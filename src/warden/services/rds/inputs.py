"""Validation of request members, with RDS's rules and (where clients match on them) its
messages. Every function returns the normalised value or raises the RDS error."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from warden.core.arn import Arn
from warden.engines.base import ADMIN_ROLE, SUPERUSER_GROUP

from .errors import InvalidParameterCombination, InvalidParameterValue
from .model import AURORA_POSTGRESQL

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_RESERVED_USERS = frozenset({ADMIN_ROLE, SUPERUSER_GROUP, "rdsadmin", "public", "none"})
_RESERVED_DATABASES = frozenset({"template0", "template1", "rdsadmin"})
_PASSWORD_CHARS = frozenset(string.printable[:94]) - {"/", "@", '"'}
_CLOCK = r"([01]\d|2[0-3]):([0-5]\d)"
_BACKUP_WINDOW = re.compile(rf"^{_CLOCK}-{_CLOCK}$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = "(" + "|".join(_DAYS) + ")"
_MAINTENANCE_WINDOW = re.compile(rf"^{_DAY}:{_CLOCK}-{_DAY}:{_CLOCK}$")
_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
LOG_TYPES = {
    AURORA_POSTGRESQL: frozenset({"postgresql", "instance", "iam-db-auth-error"}),
    "postgres": frozenset({"postgresql", "upgrade", "iam-db-auth-error"}),
}
MAX_TAGS = 50


def identifier(value: Any, member: str) -> str:
    """An RDS identifier (1-63 letters, digits, hyphens; a letter first; no ``--``, no
    trailing hyphen), lower-cased as RDS stores it."""
    text = str(value).lower()
    if not _IDENTIFIER.match(text) or "--" in text or text.endswith("-"):
        raise InvalidParameterValue(
            message=f"The parameter {member} is not a valid identifier. Identifiers must "
            "begin with a letter; must contain only ASCII letters, digits, and hyphens; and "
            "must not end with a hyphen or contain two consecutive hyphens."
        )
    return text


def reference(value: Any, kind: str) -> str:
    """An identifier as a request names an existing resource: plain or as its ARN."""
    text = str(value)
    if text.startswith("arn:"):
        try:
            parsed = Arn.parse(text)
        except ValueError:
            parsed = None
        if parsed is None or parsed.service != "rds" or not parsed.resource.startswith(kind + ":"):
            raise InvalidParameterValue(message=f"Invalid resource name: {text}")
        return parsed.resource.split(":", 1)[1].lower()
    return text.lower()


def master_username(value: Any) -> str:
    if value is None or not str(value):
        raise InvalidParameterValue(
            message="The parameter MasterUsername must be provided and must not be blank."
        )
    text = str(value)
    if not _NAME.match(text):
        raise InvalidParameterValue(
            message="MasterUsername must begin with a letter and contain only alphanumeric "
            "characters and underscores (1 to 63)."
        )
    if text.lower() in _RESERVED_USERS or text.lower().startswith("pg_"):
        raise InvalidParameterValue(
            message=f"MasterUsername {text} cannot be used as it is a reserved word used by "
            "the engine"
        )
    return text


def master_password(value: Any, *, maximum: int) -> str:
    if value is None or not str(value):
        raise InvalidParameterValue(
            message="The parameter MasterUserPassword must be provided and must not be blank."
        )
    text = str(value)
    if len(text) < 8:
        raise InvalidParameterValue(
            message="The parameter MasterUserPassword is not a valid password because it is "
            "shorter than 8 characters."
        )
    if len(text) > maximum:
        raise InvalidParameterValue(
            message="The parameter MasterUserPassword is not a valid password because it is "
            f"longer than {maximum} characters."
        )
    if any(c not in _PASSWORD_CHARS for c in text):
        raise InvalidParameterValue(
            message="The parameter MasterUserPassword is not a valid password. Only printable "
            "ASCII characters besides '/', '@', '\"', ' ' may be used."
        )
    return text


def database_name(value: Any, member: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value)
    if not _NAME.match(text) or text.lower() in _RESERVED_DATABASES:
        raise InvalidParameterValue(
            message=f"The parameter {member} must begin with a letter and contain only "
            "alphanumeric characters and underscores (1 to 63), and must not be a reserved "
            "word."
        )
    return text


def port(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or not 1150 <= value <= 65535:
        raise InvalidParameterValue(
            message=f"Invalid port number {value}: the port must be from 1150 to 65535."
        )
    return value


def retention(value: Any, *, minimum: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or not minimum <= value <= 35:
        raise InvalidParameterValue(
            message=f"Invalid backup retention period: {value}. It must be from {minimum} to 35."
        )
    return value


def _minutes(hours: str, minutes: str, day: int = 0) -> int:
    return day * 1440 + int(hours) * 60 + int(minutes)


def backup_window(value: Any) -> str | None:
    if value is None:
        return None
    found = _BACKUP_WINDOW.match(str(value))
    if found is None:
        raise InvalidParameterValue(
            message="The parameter PreferredBackupWindow must be in the format hh24:mi-hh24:mi."
        )
    start, end = _minutes(found[1], found[2]), _minutes(found[3], found[4])
    if (end - start) % 1440 < 30:
        raise InvalidParameterValue(message="The backup window must be at least 30 minutes.")
    return str(value)


def maintenance_window(value: Any) -> str | None:
    if value is None:
        return None
    found = _MAINTENANCE_WINDOW.match(str(value).lower())
    if found is None:
        raise InvalidParameterValue(
            message="The parameter PreferredMaintenanceWindow must be in the format "
            "ddd:hh24:mi-ddd:hh24:mi."
        )
    start = _minutes(found[2], found[3], _DAYS.index(found[1]))
    end = _minutes(found[5], found[6], _DAYS.index(found[4]))
    if (end - start) % (7 * 1440) < 30:
        raise InvalidParameterValue(message="The maintenance window must be at least 30 minutes.")
    return str(value).lower()


def log_exports(value: Any, engine: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    wanted = tuple(dict.fromkeys(str(v) for v in value))
    bad = [v for v in wanted if v not in LOG_TYPES[engine]]
    if bad:
        raise InvalidParameterValue(
            message=f"You cannot use the log types '{', '.join(bad)}' with engine {engine}."
        )
    return wanted


def engine_version(value: Any, engine: str, running: str) -> str:
    """The version reported: the running PostgreSQL's. Another major version is refused."""
    if value is None or str(value) == "":
        return running
    text = str(value)
    if text.split(".")[0] != running.split(".")[0]:
        raise InvalidParameterCombination(
            message=f"Cannot find version {text} for {engine}; warden runs {running}."
        )
    return running


def instance_class(value: Any, engine: str) -> str:
    text = str(value or "")
    if _INSTANCE_CLASS.match(text) or (engine == AURORA_POSTGRESQL and text == "db.serverless"):
        return text
    raise InvalidParameterValue(message=f"Invalid DB Instance class: {text}")


def tags(value: Any) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for tag in value or []:
        key, val = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if not 1 <= len(key) <= 128 or key.lower().startswith(("aws:", "rds:")):
            raise InvalidParameterValue(
                message=f"Tag key '{key}' is not valid: 1 to 128 characters, not starting "
                "with aws: or rds:."
            )
        if len(val) > 256:
            raise InvalidParameterValue(message=f"The value of tag '{key}' exceeds 256 characters.")
        found[key] = val
    if len(found) > MAX_TAGS:
        raise InvalidParameterValue(message=f"A resource can have at most {MAX_TAGS} tags.")
    return tuple(found.items())


def max_records(params: Mapping[str, Any]) -> None:
    value = params.get("MaxRecords")
    if value is not None and not 20 <= value <= 100:
        raise InvalidParameterValue(
            message=f"Invalid value {value} for MaxRecords. Must be between 20 and 100"
        )


def filters(params: Mapping[str, Any], allowed: Sequence[str]) -> dict[str, set[str]]:
    """The request's Filters as name → accepted values; an unknown name is refused."""
    out: dict[str, set[str]] = {}
    for item in params.get("Filters") or []:
        name = str(item.get("Name", ""))
        if name not in allowed:
            raise InvalidParameterValue(message=f"Unrecognized filter name: {name}")
        out.setdefault(name, set()).update(str(v) for v in item.get("Values") or [])
    return out
