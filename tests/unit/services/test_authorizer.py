"""The authorizer over a real store: the caller's policies, as stored, decide."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warden.core.clock import FixedClock
from warden.core.principal import Principal, PrincipalType
from warden.policy import Effect, PolicyType
from warden.services.iam.authorizer import Authorizer, RequestFacts
from warden.store.db import Store
from warden.store.schema import (
    accounts,
    iam_attachments,
    iam_group_members,
    iam_groups,
    iam_inline_policies,
    iam_managed_policies,
    iam_policy_versions,
    iam_users,
)

ACCOUNT = "123456789012"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.sqlite_in(tmp_path)
    with s.begin() as conn:
        conn.execute(
            accounts.insert().values(
                account_id=ACCOUNT, created_at=NOW, root_password_hash="x", root_user_id=ACCOUNT
            )
        )
    yield s
    s.close()


def _user(store: Store, name: str, *, tags: list[dict[str, str]] | None = None) -> Principal:
    uid = f"AIDA{name.upper():0<17}"[:21]
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    with store.begin() as conn:
        conn.execute(
            iam_users.insert().values(
                user_id=uid,
                account_id=ACCOUNT,
                name=name,
                name_lower=name.lower(),
                path="/",
                arn=arn,
                created_at=NOW,
                tags=tags or [],
            )
        )
    return Principal(arn, PrincipalType.IAM_USER, ACCOUNT, uid, "AKIATEST", name)


def _inline(store: Store, kind: str, owner: str, name: str, doc: dict[str, object]) -> None:
    with store.begin() as conn:
        conn.execute(
            iam_inline_policies.insert().values(
                account_id=ACCOUNT,
                principal_type=kind,
                principal_id=owner,
                policy_name=name,
                document=json.dumps(doc),
            )
        )


def _allow(action: str, resource: str = "*", **extra: object) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource, **extra}],
    }


def _deny(action: str, resource: str = "*") -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": action, "Resource": resource}],
    }


def _facts(**kw: object) -> RequestFacts:
    base: dict[str, object] = {
        "source_ip": "10.1.2.3",
        "secure": True,
        "now": NOW,
        "region": "us-east-1",
    }
    base.update(kw)
    return RequestFacts(**base)  # type: ignore[arg-type]


def test_no_policy_is_an_implicit_deny(store: Store) -> None:
    bob = _user(store, "bob")
    d = Authorizer(store, FixedClock(NOW)).decide(bob, "rds:DescribeDBClusters", ["*"], _facts())
    assert d.effect is Effect.IMPLICIT_DENY and d.policy_type is PolicyType.IDENTITY


def test_inline_allow_and_explicit_deny_through_a_group(store: Store) -> None:
    bob = _user(store, "bob")
    _inline(store, "user", bob.user_id, "rds", _allow("rds:Describe*"))
    with store.begin() as conn:
        conn.execute(
            iam_groups.insert().values(
                group_id="AGPAGROUP",
                account_id=ACCOUNT,
                name="g",
                name_lower="g",
                path="/",
                arn=f"arn:aws:iam::{ACCOUNT}:group/g",
                created_at=NOW,
            )
        )
        conn.execute(iam_group_members.insert().values(group_id="AGPAGROUP", user_id=bob.user_id))
    authz = Authorizer(store, FixedClock(NOW))
    assert authz.decide(bob, "rds:DescribeDBClusters", ["*"], _facts()).allowed
    assert not authz.decide(bob, "rds:DeleteDBCluster", ["*"], _facts()).allowed
    _inline(store, "group", "AGPAGROUP", "no-describe", _deny("rds:DescribeDBClusters"))
    fresh = Authorizer(store, FixedClock(NOW))  # a new cache: the change is visible
    d = fresh.decide(bob, "rds:DescribeDBClusters", ["*"], _facts())
    assert d.effect is Effect.EXPLICIT_DENY


def test_aws_managed_and_customer_managed_policies(store: Store) -> None:
    ann = _user(store, "ann")
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/secrets-read"
    with store.begin() as conn:
        conn.execute(
            iam_managed_policies.insert().values(
                policy_id="ANPAPOLICY",
                account_id=ACCOUNT,
                name="secrets-read",
                path="/",
                arn=policy_arn,
                default_version_id="v2",
                description="",
                created_at=NOW,
                updated_at=NOW,
                attachment_count=1,
                is_attachable=True,
                permissions_boundary_usage_count=0,
            )
        )
        for version, action in (
            ("v1", "secretsmanager:*"),
            ("v2", "secretsmanager:GetSecretValue"),
        ):
            conn.execute(
                iam_policy_versions.insert().values(
                    policy_arn=policy_arn,
                    version_id=version,
                    document=json.dumps(_allow(action)),
                    created_at=NOW,
                )
            )
        for arn in (policy_arn, "arn:aws:iam::aws:policy/IAMReadOnlyAccess"):
            conn.execute(
                iam_attachments.insert().values(
                    account_id=ACCOUNT,
                    principal_type="user",
                    principal_id=ann.user_id,
                    policy_arn=arn,
                )
            )
    authz = Authorizer(store, FixedClock(NOW))
    assert authz.decide(ann, "secretsmanager:GetSecretValue", ["*"], _facts()).allowed
    # Only the default version (v2) applies.
    assert not authz.decide(ann, "secretsmanager:DeleteSecret", ["*"], _facts()).allowed
    assert authz.decide(ann, "iam:ListUsers", ["*"], _facts()).allowed
    assert not authz.decide(ann, "iam:CreateUser", ["*"], _facts()).allowed


def test_global_condition_keys_reach_the_engine(store: Store) -> None:
    cy = _user(store, "cy", tags=[{"Key": "team", "Value": "db"}])
    _inline(
        store,
        "user",
        cy.user_id,
        "cond",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "rds:*",
                    "Resource": "*",
                    "Condition": {
                        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                        "Bool": {"aws:SecureTransport": "true"},
                        "StringEquals": {
                            "aws:PrincipalTag/team": "db",
                            "aws:username": "${aws:username}",
                            "aws:RequestedRegion": "us-east-1",
                        },
                    },
                },
                {
                    "Effect": "Deny",
                    "Action": "rds:CreateDBCluster",
                    "Resource": "*",
                    "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["forbidden"]}},
                },
            ],
        },
    )
    authz = Authorizer(store, FixedClock(NOW))
    assert authz.decide(cy, "rds:DescribeDBClusters", ["*"], _facts()).allowed
    assert not authz.decide(
        cy, "rds:DescribeDBClusters", ["*"], _facts(source_ip="192.0.2.1")
    ).allowed
    assert not authz.decide(cy, "rds:DescribeDBClusters", ["*"], _facts(secure=False)).allowed
    assert not authz.decide(cy, "rds:DescribeDBClusters", ["*"], _facts(region="eu-west-1")).allowed
    tagged = _facts(request_tags={"forbidden": "x"})
    assert authz.decide(cy, "rds:CreateDBCluster", ["*"], tagged).effect is Effect.EXPLICIT_DENY
    assert authz.decide(cy, "rds:CreateDBCluster", ["*"], _facts()).allowed


def test_permissions_boundary_limits_and_root(store: Store) -> None:
    dee = _user(store, "dee")
    _inline(store, "user", dee.user_id, "all", _allow("*"))
    with store.begin() as conn:
        conn.execute(
            iam_users.update()
            .where(iam_users.c.user_id == dee.user_id)
            .values(permissions_boundary_arn="arn:aws:iam::aws:policy/AmazonRDSReadOnlyAccess")
        )
    authz = Authorizer(store, FixedClock(NOW))
    assert authz.decide(dee, "rds:DescribeDBClusters", ["*"], _facts()).allowed
    d = authz.decide(dee, "iam:CreateUser", ["*"], _facts())
    assert d.effect is Effect.IMPLICIT_DENY and d.policy_type is PolicyType.BOUNDARY
    root = Principal(f"arn:aws:iam::{ACCOUNT}:root", PrincipalType.ROOT, ACCOUNT, ACCOUNT, "", "")
    assert authz.decide(root, "iam:CreateUser", ["*"], _facts()).allowed


def test_unreadable_stored_policy_fails_closed(store: Store) -> None:
    eve = _user(store, "eve")
    _inline(store, "user", eve.user_id, "ok", _allow("*"))
    with store.begin() as conn:
        conn.execute(
            iam_inline_policies.insert().values(
                account_id=ACCOUNT,
                principal_type="user",
                principal_id=eve.user_id,
                policy_name="broken",
                document="{not json",
            )
        )
    d = Authorizer(store, FixedClock(NOW)).decide(eve, "s3:GetObject", ["*"], _facts())
    assert not d.allowed


def test_role_session_policies_intersect_with_the_role(store: Store) -> None:
    from warden.store.schema import iam_roles

    role_arn = f"arn:aws:iam::{ACCOUNT}:role/ops"
    with store.begin() as conn:
        conn.execute(
            iam_roles.insert().values(
                role_id="AROAOPS",
                account_id=ACCOUNT,
                name="ops",
                name_lower="ops",
                path="/",
                arn=role_arn,
                assume_role_policy="{}",
                max_session_duration=3600,
                tags=[],
                created_at=NOW,
            )
        )
    _inline(store, "role", "AROAOPS", "rds", _allow("rds:*"))
    session_arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/s1"

    def session(policy: str | None) -> Principal:
        return Principal(
            session_arn,
            PrincipalType.ASSUMED_ROLE,
            ACCOUNT,
            "AROAOPS:s1",
            "ASIATEST",
            "s1",
            temporary=True,
            principal_arn=role_arn,
            role_id="AROAOPS",
            session_policy=policy,
        )

    authz = Authorizer(store, FixedClock(NOW))
    assert authz.decide(session(None), "rds:DeleteDBCluster", ["*"], _facts()).allowed
    assert not authz.decide(session(None), "iam:ListUsers", ["*"], _facts()).allowed
    narrowed = session(json.dumps([_allow("rds:Describe*")]))
    assert authz.decide(narrowed, "rds:DescribeDBClusters", ["*"], _facts()).allowed
    d = authz.decide(narrowed, "rds:DeleteDBCluster", ["*"], _facts())
    assert d.effect is Effect.IMPLICIT_DENY and d.policy_type is PolicyType.SESSION
    # A session policy cannot grant what the role does not have.
    wide = session(json.dumps(_allow("*")))
    assert not authz.decide(wide, "iam:ListUsers", ["*"], _facts()).allowed
    assert not authz.decide(session("{garbage"), "rds:DescribeDBClusters", ["*"], _facts()).allowed


def test_resource_policies_union_and_deny(store: Store) -> None:
    fay = _user(store, "fay")
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf"
    grant = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": fay.arn},
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": "*",
                }
            ],
        }
    )
    authz = Authorizer(store, FixedClock(NOW))
    action = "secretsmanager:GetSecretValue"
    assert not authz.decide(fay, action, [secret], _facts()).allowed
    # Same account: a resource policy naming the user is enough on its own.
    assert authz.decide(fay, action, [secret], _facts(resource_policies=[("s", grant)])).allowed
    _inline(store, "user", fay.user_id, "all", _allow("secretsmanager:*"))
    deny = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
            ],
        }
    )
    fresh = Authorizer(store, FixedClock(NOW))
    d = fresh.decide(fay, action, [secret], _facts(resource_policies=[("s", deny)]))
    assert d.effect is Effect.EXPLICIT_DENY and d.policy_type is PolicyType.RESOURCE
    d = fresh.decide(
        fay, action, [secret], _facts(resource_tags={"env": "prod"}, resource_policies=[])
    )
    assert d.allowed


def test_a_revocation_applies_at_once_to_a_call_reading_from_a_snapshot(store: Store) -> None:
    """A call's snapshot began before another thread revoked a permission; the policies the
    call loads after the invalidation are the store's as of now, and nothing older is cached."""
    auth = Authorizer(store, FixedClock(NOW))
    alice = _user(store, "alice")
    _inline(store, "user", alice.user_id, "p", _allow("s3:GetObject"))
    assert auth.decide(alice, "s3:GetObject", ["*"]).allowed
    auth.invalidate()  # the cached set gone: the next decision loads

    def revoke() -> None:
        with store.begin() as conn:
            conn.execute(iam_inline_policies.delete())
        auth.invalidate()

    with store.snapshot():
        with store.read() as conn:  # the call's first read: the snapshot begins
            conn.execute(iam_users.select()).all()
        worker = threading.Thread(target=revoke)
        worker.start()
        worker.join()
        assert auth.decide(alice, "s3:GetObject", ["*"]).effect is Effect.IMPLICIT_DENY
    assert auth.decide(alice, "s3:GetObject", ["*"]).effect is Effect.IMPLICIT_DENY
