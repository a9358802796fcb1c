"""Write-time checks: would IAM store this document? Reasons are worded as AWS words them.

``problems`` lists every problem found (first one is what IAM would answer);
``check`` raises the first as ``PolicyError`` and returns the parsed document.
Size quotas count non-whitespace characters and answer ``LimitExceeded``; the
aggregate inline quota per user/group/role is the caller's sum, checked with
``inline_quota_error``. Session-policy size (STS ``PackedPolicyTooLarge``) is STS's.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping

from .conditions import parse_operator
from .conditions.operators import Family
from .conditions.values import date
from .document import (
    VERSION_2012,
    PolicyDocument,
    Statement,
    parse_document,
    statement_dicts,
)
from .errors import LEGACY_PARSING, PolicyError, PolicyErrorCode


class PolicyKind(enum.Enum):
    MANAGED = "managed"  # CreatePolicy / CreatePolicyVersion; also permissions boundaries
    INLINE_USER = "user"
    INLINE_GROUP = "group"
    INLINE_ROLE = "role"
    TRUST = "trust"  # a role's AssumeRolePolicyDocument
    RESOURCE = "resource"  # secret and key policies
    SESSION = "session"  # AssumeRole / GetFederationToken Policy


SIZE_LIMITS = {
    PolicyKind.MANAGED: 6144,
    PolicyKind.INLINE_USER: 2048,
    PolicyKind.INLINE_GROUP: 5120,
    PolicyKind.INLINE_ROLE: 10240,
    PolicyKind.TRUST: 2048,
}
_IDENTITY = frozenset(
    {
        PolicyKind.MANAGED,
        PolicyKind.INLINE_USER,
        PolicyKind.INLINE_GROUP,
        PolicyKind.INLINE_ROLE,
        PolicyKind.SESSION,
    }
)
_PARTITIONS = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR = re.compile(r"[a-zA-Z0-9\-.*?]+")
_ACCOUNT = re.compile(r"\d{12}")

VENDOR_PREFIX = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."
NOT_2012 = "Policy document must be version 2012-10-17 or greater."
NO_PRINCIPAL_ALLOWED = "Policy document should not specify a principal."
NEEDS_ACTIONS = "Policy statement must contain actions."
NEEDS_RESOURCES = "Policy statement must contain resources."
SID_UNIQUE = "Statement IDs (SID) in a single policy must be unique."
SID_CHARS = (
    "Statement IDs (SID) must be alpha-numeric. "
    "Check that your input satisfies the regular expression [0-9A-Za-z]*"
)


def policy_size(document: str | Mapping[str, object]) -> int:
    """Characters IAM counts against size quotas: everything but whitespace."""
    text = document if isinstance(document, str) else json.dumps(document)
    return sum(1 for c in text if not c.isspace())


def inline_quota_error(kind: PolicyKind, entity_name: str, total_size: int) -> PolicyError | None:
    """The LimitExceeded for an entity whose inline policies add up to ``total_size``."""
    limit = SIZE_LIMITS.get(kind)
    if limit is None or total_size <= limit:
        return None
    if kind is PolicyKind.MANAGED:
        reason = f"Cannot exceed quota for PolicySize: {limit}"
    elif kind is PolicyKind.TRUST:
        reason = f"Cannot exceed quota for ACLSizePerRole: {limit}"
    else:
        reason = f"Maximum policy size of {limit} bytes exceeded for {kind.value} {entity_name}"
    return PolicyError(reason, code=PolicyErrorCode.LIMIT_EXCEEDED)


def check(
    document: str | Mapping[str, object], kind: PolicyKind, *, entity_name: str = ""
) -> PolicyDocument:
    """Parse and validate; raise the first problem as ``PolicyError``."""
    found = problems(document, kind, entity_name=entity_name)
    if found:
        raise found[0]
    return parse_document(document)


def problems(
    document: str | Mapping[str, object], kind: PolicyKind, *, entity_name: str = ""
) -> list[PolicyError]:
    """Every reason IAM would refuse ``document`` as a policy of ``kind`` (empty: valid)."""
    try:
        size = inline_quota_error(kind, entity_name, policy_size(document))
        parsed = parse_document(document)
    except PolicyError as exc:
        return [exc]
    except (TypeError, ValueError):  # a mapping json cannot encode
        return [PolicyError("Syntax errors in policy.")]
    found = [size] if size else []
    reasons: list[str] = []
    if kind is PolicyKind.MANAGED and parsed.version != VERSION_2012:
        reasons.append(NOT_2012)
    raw = statement_dicts(document)
    sids: set[str] = set()
    for stmt, elements in zip(parsed.statements, raw, strict=False):
        reasons += _statement(stmt, elements, kind)
        if stmt.sid and stmt.sid in sids and SID_UNIQUE not in reasons:
            reasons.append(SID_UNIQUE)
        if stmt.sid:
            sids.add(stmt.sid)
    found += [PolicyError(r) for r in dict.fromkeys(reasons)]
    return found


def _statement(stmt: Statement, elements: Mapping[str, object], kind: PolicyKind) -> list[str]:
    reasons = _principal_rules(stmt, elements, kind)
    if kind in _IDENTITY and stmt.sid and not _SID.fullmatch(stmt.sid):
        reasons.append(SID_CHARS)
    if stmt.action is None or not stmt.action.patterns:
        reasons.append(NEEDS_ACTIONS)
    else:
        reasons += [r for p in stmt.action.patterns if (r := _action_problem(p))]
    if kind in _IDENTITY and (stmt.resource is None or not stmt.resource.patterns):
        reasons.append(NEEDS_RESOURCES)
    if stmt.resource is not None and kind is not PolicyKind.TRUST:
        reasons += [r for p in stmt.resource.patterns if (r := _resource_problem(p))]
    reasons += _condition_problems(stmt)
    return reasons


def _principal_rules(
    stmt: Statement, elements: Mapping[str, object], kind: PolicyKind
) -> list[str]:
    has_principal = "Principal" in elements or "NotPrincipal" in elements
    if kind in _IDENTITY:
        return [NO_PRINCIPAL_ALLOWED] if has_principal else []
    reasons: list[str] = []
    if kind is PolicyKind.TRUST:
        reasons += [
            f"Has prohibited field {f}"
            for f in ("NotPrincipal", "Resource", "NotResource")
            if f in elements
        ]
    if not has_principal:
        reasons.append("Missing required field Principal")
    principal = stmt.principal
    for value in principal.aws if principal else ():
        if value != "*" and not _ACCOUNT.fullmatch(value) and not value.startswith("arn:"):
            reasons.append(f'Invalid principal in policy: "AWS":"{value}"')
    return reasons


def _action_problem(action: str) -> str | None:
    if action == "*":
        return None
    parts = action.split(":")
    if len(parts) == 1:
        return VENDOR_PREFIX
    if len(parts) > 2:
        return ONE_COLON
    if not _VENDOR.fullmatch(parts[0]):
        return f"Vendor {parts[0]} is not valid"
    return None


def _resource_problem(resource: str) -> str | None:
    if resource == "*":
        return None
    parts = resource.split(":", 5)
    if len(parts) < 2:
        return f'Resource {resource} must be in ARN format or "*".'
    partition = parts[1]
    if partition not in _PARTITIONS and "*" not in partition and "?" not in partition:
        return f'Partition "{partition}" is not valid for resource "{resource}".'
    if len(parts) < 3 or not parts[2] or "*" in parts[2] or "?" in parts[2]:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    if parts[2] == "iam" and len(parts) > 3 and parts[3] not in ("", "*"):
        return f"IAM resource {resource} cannot contain region information."
    return None


def _condition_problems(stmt: Statement) -> list[str]:
    reasons: list[str] = []
    for clause in stmt.conditions:
        op = parse_operator(clause.operator)
        if op is None:
            reasons.append(f"Invalid Condition type : {clause.operator}")
            continue
        if ":" not in clause.key:
            reasons.append(VENDOR_PREFIX)
        if op.spec.family is Family.DATE and any(date(v) is None for v in clause.values):
            reasons.append(LEGACY_PARSING)
    return reasons
