"""Reading and writing security groups and their rules: SQL over one Connection.

The caller owns the transaction. The default group of a region is created on first use
(``ensure_default``) by whichever request needs it first; the unique (account, region, VPC,
name) constraint makes a concurrent second creation fail, and the caller reads again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError

from warden.core.ids import IdFactory
from warden.store.db import Store
from warden.store.schema import ec2_security_groups as groups_t
from warden.store.schema import ec2_sg_rules as rules_t

from .model import (
    ALL,
    DEFAULT_DESCRIPTION,
    DEFAULT_GROUP,
    LOOPBACK,
    Rule,
    RuleKey,
    SecurityGroup,
    default_vpc_id,
)


def new_group_id(ids: IdFactory) -> str:
    return "sg-" + ids.token_bytes(9).hex()[:17]


def new_rule_id(ids: IdFactory) -> str:
    return "sgr-" + ids.token_bytes(9).hex()[:17]


def _scope(account_id: str, region: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (groups_t.c.account_id == account_id, groups_t.c.region == region)


def get(conn: Connection, account_id: str, region: str, group_id: str) -> SecurityGroup | None:
    query = sa.select(groups_t).where(groups_t.c.group_id == group_id, *_scope(account_id, region))
    row = conn.execute(query).mappings().first()
    return None if row is None else _group(row)


def by_name(
    conn: Connection, account_id: str, region: str, vpc_id: str, name: str
) -> SecurityGroup | None:
    query = sa.select(groups_t).where(
        groups_t.c.vpc_id == vpc_id, groups_t.c.name == name, *_scope(account_id, region)
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _group(row)


def list_groups(conn: Connection, account_id: str, region: str) -> list[SecurityGroup]:
    query = sa.select(groups_t).where(*_scope(account_id, region)).order_by(groups_t.c.group_id)
    return [_group(row) for row in conn.execute(query).mappings()]


def insert(conn: Connection, group: SecurityGroup) -> None:
    conn.execute(
        sa.insert(groups_t).values(
            group_id=group.group_id,
            account_id=group.account_id,
            region=group.region,
            vpc_id=group.vpc_id,
            name=group.name,
            description=group.description,
            is_default=group.is_default,
            tags=[{"Key": k, "Value": v} for k, v in group.tags],
            created_at=group.created_at,
        )
    )


def delete(conn: Connection, group_id: str) -> None:
    conn.execute(sa.delete(groups_t).where(groups_t.c.group_id == group_id))


def rules(conn: Connection, group_ids: Sequence[str]) -> list[Rule]:
    if not group_ids:
        return []
    query = (
        sa.select(rules_t)
        .where(rules_t.c.group_id.in_(list(group_ids)))
        .order_by(rules_t.c.group_id, rules_t.c.created_at, rules_t.c.rule_id)
    )
    return [_rule(row) for row in conn.execute(query).mappings()]


def insert_rules(conn: Connection, new: Iterable[Rule], now: datetime) -> None:
    values = [
        {
            "rule_id": r.rule_id,
            "group_id": r.group_id,
            "protocol": r.key.protocol,
            "from_port": r.key.from_port,
            "to_port": r.key.to_port,
            "cidr": r.key.cidr,
            "description": r.description,
            "created_at": now,
        }
        for r in new
    ]
    if values:
        conn.execute(sa.insert(rules_t), values)


def delete_rules(conn: Connection, rule_ids: Iterable[str]) -> None:
    wanted = list(rule_ids)
    if wanted:
        conn.execute(sa.delete(rules_t).where(rules_t.c.rule_id.in_(wanted)))


def default_group(
    store: Store, ids: IdFactory, account_id: str, region: str, now: datetime
) -> SecurityGroup:
    """The region's default group, created (admitting only 127.0.0.1/32) when missing."""
    vpc = default_vpc_id(account_id, region)
    with store.read() as conn:
        found = by_name(conn, account_id, region, vpc, DEFAULT_GROUP)
    if found is not None:
        return found
    group = SecurityGroup(
        new_group_id(ids), account_id, region, vpc, DEFAULT_GROUP, DEFAULT_DESCRIPTION,
        True, (), now,
    )  # fmt: skip
    loopback = Rule(new_rule_id(ids), group.group_id, RuleKey(ALL, -1, -1, LOOPBACK))
    try:
        with store.begin() as conn:
            existing = by_name(conn, account_id, region, vpc, DEFAULT_GROUP)
            if existing is not None:
                return existing
            insert(conn, group)
            insert_rules(conn, [loopback], now)
    except IntegrityError:
        pass  # created concurrently (PostgreSQL store): read the winner's
    else:
        return group
    with store.read() as conn:
        winner = by_name(conn, account_id, region, vpc, DEFAULT_GROUP)
    if winner is None:  # pragma: no cover - the constraint said it exists
        raise RuntimeError("the default security group vanished")
    return winner


def _group(row: RowMapping) -> SecurityGroup:
    tags: Any = row["tags"] or []
    return SecurityGroup(
        group_id=row["group_id"],
        account_id=row["account_id"],
        region=row["region"],
        vpc_id=row["vpc_id"],
        name=row["name"],
        description=row["description"],
        is_default=bool(row["is_default"]),
        tags=tuple((t["Key"], t["Value"]) for t in tags),
        created_at=row["created_at"],
    )


def _rule(row: RowMapping) -> Rule:
    key = RuleKey(row["protocol"], row["from_port"], row["to_port"], row["cidr"])
    return Rule(row["rule_id"], row["group_id"], key, row["description"])
