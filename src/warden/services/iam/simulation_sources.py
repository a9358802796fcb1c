"""The policies a simulation evaluates, named as IAM's simulator names them.

Each ``Source`` is one compiled policy with the ``SourcePolicyId`` and
``SourcePolicyType`` the simulator reports for its statements: inline policies by
name (type ``user``/``group``/``role``), managed policies by name (``aws-managed`` /
``user-managed``), request documents as ``PolicyInputList.N`` /
``PermissionsBoundaryPolicyInputList.N`` and ``ResourcePolicy`` (type ``none`` /
``resource``). Compiled policies get an internal id (their index) because two sources
may share a reported id (an inline policy of a user and one of its group).

``principal_sources`` reads what SimulatePrincipalPolicy includes: for a user its inline
and attached policies and those of its groups, and its permissions boundary; for a group
or a role its own. ``PolicyExclusionList`` entries are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.policy import CompiledPolicy, PolicyError, PolicyType
from warden.store.db import Store
from warden.store.schema import (
    iam_attachments,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
    iam_managed_policies,
    iam_policy_versions,
    iam_roles,
    iam_users,
)

from .errors import InvalidInput, NoSuchEntity
from .managed_policies import aws_managed

_ENTITY_ARN = re.compile(r"arn:aws:iam::(\d{12}):(user|group|role)(/.*)?/([\w+=,.@-]+)")
_TABLES = {"user": iam_users, "group": iam_groups, "role": iam_roles}
_ID_COLUMNS = {"user": "user_id", "group": "group_id", "role": "role_id"}
_WORDS = {"user": "user", "group": "group", "role": "role"}


@dataclass(frozen=True, slots=True)
class Source:
    policy: CompiledPolicy
    source_id: str
    source_type: str  # PolicySourceType: user group role aws-managed user-managed resource none
    # What PolicyExclusionList entries can name it by: ("type", …), ("arn", …), ("inline", …).
    exclusion_keys: frozenset[tuple[str, ...]] = frozenset()

    def excluded_by(self, exclusions: frozenset[tuple[str, ...]]) -> bool:
        return not self.exclusion_keys.isdisjoint(exclusions)


@dataclass(frozen=True, slots=True)
class Entity:
    kind: str  # user | group | role
    arn: str
    entity_id: str
    name: str
    account_id: str
    boundary_arn: str | None


class SourceBuilder:
    """Numbers the compiled policies of one simulation (their internal ids)."""

    def __init__(self) -> None:
        self._next = 0

    def add(
        self,
        text: str,
        source_id: str,
        source_type: str,
        policy_type: PolicyType,
        exclusion_keys: frozenset[tuple[str, ...]] = frozenset(),
    ) -> Source:
        try:
            compiled = CompiledPolicy.compile(str(self._next), text, policy_type=policy_type)
        except PolicyError as exc:
            raise InvalidInput(message=f"{source_id}: {exc.reason}") from None
        self._next += 1
        return Source(compiled, source_id, source_type, exclusion_keys)

    def inputs(self, texts: Sequence[str], member: str, policy_type: PolicyType) -> list[Source]:
        return [
            self.add(text, f"{member}.{i}", "none", policy_type) for i, text in enumerate(texts, 1)
        ]


def find_entity(conn: sa.Connection, account: str, arn: str) -> Entity:
    match = _ENTITY_ARN.fullmatch(arn)
    if match is None:
        raise InvalidInput(message=f"Invalid ARN: {arn}")
    kind, name = match.group(2), match.group(4)
    table = _TABLES[kind]
    row = (
        conn.execute(sa.select(table).where(table.c.arn == arn, table.c.account_id == account))
        .mappings()
        .first()
    )
    if row is None or match.group(1) != account:
        raise NoSuchEntity(message=f"The {_WORDS[kind]} with name {name} cannot be found.")
    boundary = row["permissions_boundary_arn"] if kind != "group" else None
    return Entity(kind, arn, row[_ID_COLUMNS[kind]], row["name"], account, boundary)


def principal_sources(
    conn: sa.Connection, builder: SourceBuilder, entity: Entity
) -> tuple[list[Source], list[Source]]:
    """(identity sources, boundary sources) of the entity, as stored."""
    owners: list[tuple[str, str, str]] = [(entity.kind, entity.entity_id, entity.name)]
    if entity.kind == "user":
        groups = conn.execute(
            sa.select(iam_groups.c.group_id, iam_groups.c.name)
            .join(iam_group_members, iam_group_members.c.group_id == iam_groups.c.group_id)
            .where(iam_group_members.c.user_id == entity.entity_id)
            .order_by(iam_groups.c.name_lower)
        ).all()
        owners += [("group", g.group_id, g.name) for g in groups]
    identity: list[Source] = []
    for kind, owner_id, owner_name in owners:
        for name, document in conn.execute(
            sa.select(iam_inline_policies.c.policy_name, iam_inline_policies.c.document)
            .where(
                iam_inline_policies.c.principal_type == kind,
                iam_inline_policies.c.principal_id == owner_id,
            )
            .order_by(iam_inline_policies.c.policy_name)
        ):
            keys = frozenset({("type", "inline"), ("inline", name, kind, owner_name.lower())})
            identity.append(builder.add(document, name, kind, PolicyType.IDENTITY, keys))
        for arn in conn.execute(
            sa.select(iam_attachments.c.policy_arn)
            .where(
                iam_attachments.c.principal_type == kind,
                iam_attachments.c.principal_id == owner_id,
            )
            .order_by(iam_attachments.c.policy_arn)
        ).scalars():
            found = _managed(conn, builder, arn, PolicyType.IDENTITY)
            if found is not None:
                identity.append(found)
    boundary: list[Source] = []
    if entity.boundary_arn:
        found = _managed(conn, builder, entity.boundary_arn, PolicyType.BOUNDARY)
        if found is not None:
            boundary.append(found)
    return identity, boundary


def _managed(
    conn: sa.Connection, builder: SourceBuilder, arn: str, policy_type: PolicyType
) -> Source | None:
    shipped = aws_managed().get(arn)
    boundary = policy_type is PolicyType.BOUNDARY
    if shipped is not None:
        keys = _managed_keys(arn, "aws-managed", boundary)
        return builder.add(shipped.document, shipped.name, "aws-managed", policy_type, keys)
    row: RowMapping | None = (
        conn.execute(
            sa.select(iam_managed_policies.c.name, iam_policy_versions.c.document)
            .join(
                iam_policy_versions,
                iam_policy_versions.c.policy_arn == iam_managed_policies.c.arn,
            )
            .where(
                iam_managed_policies.c.arn == arn,
                iam_policy_versions.c.version_id == iam_managed_policies.c.default_version_id,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    keys = _managed_keys(arn, "user-managed", boundary)
    return builder.add(row["document"], row["name"], "user-managed", policy_type, keys)


def _managed_keys(arn: str, kind: str, boundary: bool) -> frozenset[tuple[str, ...]]:
    return frozenset({("arn", arn), ("type", "permission-boundary" if boundary else kind)})


def exclusions(params: Mapping[str, Any]) -> frozenset[tuple[str, ...]]:
    """``PolicyExclusionList``: each entry names a policy type, a managed policy ARN or an
    inline policy (a union: one of the three), matched against ``Source.exclusion_keys``."""
    out: set[tuple[str, ...]] = set()
    for item in params.get("PolicyExclusionList") or []:
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("PolicyType"), str):
            out.add(("type", item["PolicyType"]))
        if isinstance(item.get("PolicyArn"), str):
            out.add(("arn", item["PolicyArn"]))
        inline = item.get("InlinePolicyIdentifier")
        if isinstance(inline, Mapping):
            out.add(
                (
                    "inline",
                    str(inline.get("PolicyName", "")),
                    str(inline.get("AttachmentType", "")),
                    str(inline.get("AttachmentName", "")).lower(),
                )
            )
    return frozenset(out)


def load_principal(
    store: Store, account: str, arn: str, builder: SourceBuilder
) -> tuple[Entity, list[Source], list[Source]]:
    with store.read() as conn:
        entity = find_entity(conn, account, arn)
        identity, boundary = principal_sources(conn, builder, entity)
    return entity, identity, boundary
