"""Engine parameters: the catalog of the running PostgreSQL version, and validation.

The catalog is ``pg_settings`` of the engine version (exported once with the template):
name, type, allowed values or range, unit and context. Context ``postmaster`` makes a
parameter static (RDS ``pending-reboot`` until a restart); every other settable context is
dynamic (applied on reload). ``rds.force_ssl`` is the engine's own parameter: it rewrites
``pg_hba.conf`` instead of reaching ``postgresql.conf``.

Invariants: a value is accepted only if the catalog says PostgreSQL would accept it
(type, range after unit conversion, enum member); parameters through which a user could
run programs or load code as the server's OS user (``*_command``, ``*_library`` …),
move files, or switch off what warden relies on (TLS, SCRAM, connection logging,
listen address, port, WAL for snapshots) are not modifiable, and a setting that would
silence or reword the login events warden analyses (``log_min_messages`` above ``log``,
``log_error_verbosity``, ``lc_messages``) is refused.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..base import FORCE_SSL, ApplyType, DataType, ParameterInfo
from ..errors import ParameterProblem

ENGINE_OWNED = frozenset(
    {
        "listen_addresses", "port", "ssl", "password_encryption", "logging_collector",
        "log_destination", "log_connections", "log_disconnections", "log_timezone",
        "log_file_mode", "log_filename", "log_rotation_age", "log_rotation_size",
        "log_truncate_on_rotation", "cluster_name", "dynamic_library_path", "jit_provider",
        "event_source", "allow_alter_system", "allow_system_table_mods", "zero_damaged_pages",
        "ignore_checksum_failure", "ignore_invalid_pages", "ignore_system_indexes",
        "wal_level", "max_wal_senders", "fsync", "full_page_writes", "data_sync_retry",
        "primary_conninfo", "primary_slot_name", "hot_standby", "recovery_target",
        "krb_server_keyfile", "huge_pages", "log_error_verbosity", "lc_messages",
    }
)  # fmt: skip
# Settings a user may change, but not to these values: above ``log`` PostgreSQL stops
# logging the connections (LOG) and authentication failures (FATAL) warden's login
# analysis reads.
_WITHHELD_CHOICES = {"log_min_messages": frozenset({"fatal", "panic"})}
_OWNED_PREFIXES = ("ssl_", "unix_socket_", "syslog_", "recovery_", "restore_", "archive_")
_OWNED_SUFFIXES = ("_command", "_library", "_libraries", "_file", "_directory", "_keyfile")

_BOOL_WORDS = {"on", "off", "true", "false", "yes", "no", "1", "0"}
_MEMORY = {"B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}
_TIME = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
MAX_STRING = 4096

FORCE_SSL_INFO = ParameterInfo(
    name=FORCE_SSL,
    default="0",
    data_type=DataType.BOOLEAN,
    apply_type=ApplyType.DYNAMIC,
    modifiable=True,
    description="Force SSL connections.",
    allowed_values="0,1",
)


def engine_owned(name: str) -> bool:
    return (
        name in ENGINE_OWNED or name.startswith(_OWNED_PREFIXES) or name.endswith(_OWNED_SUFFIXES)
    )


def _data_type(vartype: str) -> DataType:
    return {
        "bool": DataType.BOOLEAN,
        "integer": DataType.INTEGER,
        "real": DataType.FLOAT,
        "enum": DataType.STRING,
    }.get(vartype, DataType.STRING)


def _info(row: dict[str, str]) -> ParameterInfo:
    withheld = _WITHHELD_CHOICES.get(row["name"], frozenset())
    choices = tuple(
        c for c in (json.loads(row["enumvals"]) if row["enumvals"] else ()) if c not in withheld
    )
    lo = float(row["min_val"]) if row["min_val"] else None
    hi = float(row["max_val"]) if row["max_val"] else None
    data_type = _data_type(row["vartype"])
    if data_type is DataType.BOOLEAN:
        allowed = "0,1"
    elif choices:
        allowed = ",".join(choices)
    elif lo is not None and hi is not None:
        allowed = f"{row['min_val']}-{row['max_val']}"
    else:
        allowed = ""
    context = row["context"]
    return ParameterInfo(
        name=row["name"],
        default=row["setting"],
        data_type=data_type,
        apply_type=ApplyType.STATIC if context == "postmaster" else ApplyType.DYNAMIC,
        modifiable=context != "internal" and not engine_owned(row["name"]),
        description=row["short_desc"],
        unit=row["unit"],
        allowed_values=allowed,
        choices=choices,
        minimum=lo,
        maximum=hi,
    )


@dataclass(frozen=True, slots=True)
class Catalog:
    parameters: tuple[ParameterInfo, ...]

    @classmethod
    def load(cls, csv_path: Path) -> Catalog:
        with open(csv_path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        infos = [_info(r) for r in rows]
        return cls(tuple(sorted([*infos, FORCE_SSL_INFO], key=lambda p: p.name)))

    def get(self, name: str) -> ParameterInfo | None:
        for info in self.parameters:
            if info.name == name:
                return info
        return None

    def problems(self, values: Mapping[str, str]) -> tuple[ParameterProblem, ...]:
        by_name = {p.name: p for p in self.parameters}
        found = []
        for name, value in sorted(values.items()):
            info = by_name.get(name)
            if info is None:
                found.append(ParameterProblem(name, "is not a parameter of this engine"))
                continue
            reason = reason_invalid(info, value)
            if reason:
                found.append(ParameterProblem(name, reason))
        return tuple(found)


def _in_base_units(info: ParameterInfo, number: float, suffix: str) -> float | None:
    """``number suffix`` in the parameter's own unit (None: the suffix does not fit)."""
    if not suffix:
        return number
    unit = info.unit
    scale = re.match(r"^(\d*)(\D+)$", unit)
    if scale is None:
        return None
    factor, base = int(scale.group(1) or 1), scale.group(2)
    for table in (_MEMORY, _TIME):
        if base in table and suffix in table:
            return number * table[suffix] / (table[base] * factor)
    return None


def reason_invalid(info: ParameterInfo, value: str) -> str:
    """Why ``value`` cannot be set for ``info`` ("" when it can)."""
    if not info.modifiable:
        return "is not modifiable"
    if any(ch in value for ch in "\n\r\0"):
        return "must be a single line"
    if info.data_type is DataType.BOOLEAN:
        return "" if value.strip().lower() in _BOOL_WORDS else "must be 0 or 1"
    if info.choices:
        wanted = {c.lower() for c in info.choices}
        return "" if value.strip().lower() in wanted else f"must be one of {info.allowed_values}"
    if info.data_type in {DataType.INTEGER, DataType.FLOAT}:
        return _numeric_reason(info, value)
    return "" if len(value) <= MAX_STRING else f"must be at most {MAX_STRING} characters"


def _numeric_reason(info: ParameterInfo, value: str) -> str:
    parsed = _NUMBER.match(value)
    if parsed is None:
        return "must be a number"
    number, suffix = float(parsed.group(1)), parsed.group(2)
    if info.data_type is DataType.INTEGER and "." in parsed.group(1):
        return "must be an integer"
    base = _in_base_units(info, number, suffix)
    if base is None:
        return f"unit {suffix!r} does not fit this parameter (unit {info.unit or 'none'})"
    lo, hi = info.minimum, info.maximum
    if (lo is not None and base < lo) or (hi is not None and base > hi):
        return f"must be between {_text(lo)} and {_text(hi)}"
    return ""


def _text(number: float | None) -> str:
    if number is None:
        return "unbounded"
    return str(int(number)) if number == int(number) else str(number)
