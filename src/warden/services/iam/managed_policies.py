"""The AWS managed policies warden serves at ``arn:aws:iam::aws:policy/<path><name>``.

Owns the read-only catalogue of AWS managed policies: their metadata (path, default version,
description, creation and last-update times) and the JSON document of their default version,
loaded once from the package data in ``managed/`` (pure stdlib, no network).

Invariants: the catalogue is immutable and keyed by ARN; every ARN is
``arn:aws:iam::aws:policy`` + path + name; every document is compact JSON of a policy in
language version 2012-10-17 carrying AWS's content unchanged (statements, values and list
order as AWS publishes them; only whitespace and key order may differ from AWS's rendering);
dates are timezone-aware UTC. A malformed data file is a packaging bug and raises
``ManagedPolicyDataError`` rather than serving a partial catalogue.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any

AWS_POLICY_ARN_PREFIX = "arn:aws:iam::aws:policy"
POLICY_LANGUAGE_VERSION = "2012-10-17"
_DATA_PACKAGE = f"{__package__}.managed"


class ManagedPolicyDataError(Exception):
    """A packaged managed-policy file is missing a field or is inconsistent."""


@dataclass(frozen=True)
class ManagedPolicy:
    """One AWS managed policy as ``GetPolicy`` and ``GetPolicyVersion`` describe it."""

    name: str
    arn: str
    path: str
    default_version_id: str
    description: str
    create_date: datetime
    update_date: datetime
    document: str  # compact JSON of the default version's policy document


@functools.cache
def aws_managed() -> Mapping[str, ManagedPolicy]:
    """Every shipped AWS managed policy, keyed by ARN; read from package data on first use."""
    policies: dict[str, ManagedPolicy] = {}
    entries = sorted(resources.files(_DATA_PACKAGE).iterdir(), key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_file() and entry.name.endswith(".json"):
            policy = _load(entry)
            if policy.arn in policies:
                raise ManagedPolicyDataError(f"{entry.name}: duplicate ARN {policy.arn}")
            policies[policy.arn] = policy
    return MappingProxyType(policies)


def _load(entry: Traversable) -> ManagedPolicy:
    try:
        raw = json.loads(entry.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ManagedPolicyDataError(f"{entry.name}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ManagedPolicyDataError(f"{entry.name}: top level must be an object")
    name = _text(raw, "PolicyName", entry.name)
    path = _text(raw, "Path", entry.name)
    arn = _text(raw, "Arn", entry.name)
    if entry.name != f"{name}.json":
        raise ManagedPolicyDataError(f"{entry.name}: file name does not match {name}")
    if not (path.startswith("/") and path.endswith("/")):
        raise ManagedPolicyDataError(f"{entry.name}: path {path!r} must start and end with /")
    if arn != f"{AWS_POLICY_ARN_PREFIX}{path}{name}":
        raise ManagedPolicyDataError(f"{entry.name}: ARN {arn} does not match path and name")
    document = raw.get("Document")
    if not isinstance(document, dict) or document.get("Version") != POLICY_LANGUAGE_VERSION:
        raise ManagedPolicyDataError(f"{entry.name}: Document must be a 2012-10-17 policy")
    return ManagedPolicy(
        name=name,
        arn=arn,
        path=path,
        default_version_id=_text(raw, "DefaultVersionId", entry.name),
        description=_text(raw, "Description", entry.name),
        create_date=_date(raw, "CreateDate", entry.name),
        update_date=_date(raw, "UpdateDate", entry.name),
        # Compact separators drop only the data file's indentation, never any of AWS's content.
        document=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
    )


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ManagedPolicyDataError(f"{where}: {key} must be a non-empty string")
    return value


def _date(raw: dict[str, Any], key: str, where: str) -> datetime:
    text = _text(raw, key, where)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ManagedPolicyDataError(f"{where}: {key} {text!r} is not an ISO 8601 time") from exc
    if parsed.utcoffset() is None:
        raise ManagedPolicyDataError(f"{where}: {key} {text!r} has no UTC offset")
    return parsed.astimezone(UTC)
