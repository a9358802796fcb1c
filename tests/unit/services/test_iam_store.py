"""IAM handlers over a real store, on SQLite and on PostgreSQL: quotas hold under
concurrent writers, name races end in EntityAlreadyExists, counters match the rows,
and a refused write leaves nothing behind."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from warden.core.arn import root_arn
from warden.core.clock import FixedClock
from warden.core.errors import AwsError
from warden.core.ids import RandomIds
from warden.core.principal import Principal, PrincipalType
from warden.services.context import CallContext, ServiceHandlers
from warden.services.iam import handlers
from warden.services.iam.bootstrap import create_account
from warden.store import schema
from warden.store.db import Store
from warden.store.keyring import KeyRing

ACCOUNT = "123456789012"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)


def _all(items: Sequence[Any], *, default_page: int = 100) -> tuple[list[Any], dict[str, Any]]:
    return list(items), {}


CTX = CallContext(
    request_id="req",
    account_id=ACCOUNT,
    region="us-east-1",
    service="iam",
    operation="test",
    principal=Principal(
        arn=root_arn(ACCOUNT),
        type=PrincipalType.ROOT,
        account_id=ACCOUNT,
        user_id=ACCOUNT,
        access_key_id="",
        name="",
    ),
    source_ip="127.0.0.1",
    user_agent="pytest",
    secure=True,
    now=T0,
    page=_all,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warden.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    with Store.open(url) as opened:
        yield opened


@pytest.fixture
def iam(store: Store, tmp_path: Path) -> Callable[[str, Mapping[str, Any]], Mapping[str, Any]]:
    ring = KeyRing.create(tmp_path)
    clock = FixedClock(T0)
    create_account(store, ring, clock, RandomIds(), account_id=ACCOUNT, admin_user="admin")
    service: ServiceHandlers = handlers.build(store, ring, clock, RandomIds())

    def call(op: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return service.handlers[op](CTX, params)

    return call


def _race(n: int, fn: Callable[[int], object]) -> list[str]:
    """Run ``fn(i)`` for i < n at once; the error code of each call ('' for success)."""

    def one(i: int) -> str:
        try:
            fn(i)
        except AwsError as exc:
            return exc.wire_name
        return ""

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_access_keys_stop_at_two(iam: Any, store: Store) -> None:
    iam("CreateUser", {"UserName": "racer"})
    outcomes = _race(6, lambda _: iam("CreateAccessKey", {"UserName": "racer"}))
    assert sorted(outcomes) == ["", ""] + ["LimitExceededException"] * 4
    with store.read() as conn:
        keys = conn.execute(sa.select(sa.func.count()).select_from(schema.access_keys)).scalar()
    assert keys == 3  # the two new ones and the admin's


def test_concurrent_policy_versions_stop_at_five(iam: Any, store: Store) -> None:
    arn = iam("CreatePolicy", {"PolicyName": "P", "PolicyDocument": DOC})["Policy"]["Arn"]
    outcomes = _race(
        6, lambda _: iam("CreatePolicyVersion", {"PolicyArn": arn, "PolicyDocument": DOC})
    )
    assert sorted(outcomes) == [""] * 4 + ["LimitExceededException"] * 2
    versions = iam("ListPolicyVersions", {"PolicyArn": arn})["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v1", "v2", "v3", "v4", "v5"]


def test_racing_creates_of_one_name_leave_one_user(iam: Any, store: Store) -> None:
    outcomes = _race(4, lambda i: iam("CreateUser", {"UserName": "Twin" if i % 2 else "twin"}))
    assert sorted(outcomes) == [""] + ["EntityAlreadyExistsException"] * 3
    with store.read() as conn:
        names = conn.execute(
            sa.select(schema.iam_users.c.name).where(schema.iam_users.c.name_lower == "twin")
        ).all()
    assert len(names) == 1


def test_counters_follow_attachments_and_boundaries(iam: Any, store: Store) -> None:
    arn = iam("CreatePolicy", {"PolicyName": "Counted", "PolicyDocument": DOC})["Policy"]["Arn"]
    iam("CreateUser", {"UserName": "u1", "PermissionsBoundary": arn})
    iam("CreateGroup", {"GroupName": "g1"})
    iam("AttachGroupPolicy", {"GroupName": "g1", "PolicyArn": arn})
    iam("AttachUserPolicy", {"UserName": "u1", "PolicyArn": arn})
    policy = iam("GetPolicy", {"PolicyArn": arn})["Policy"]
    assert (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"]) == (2, 1)
    with pytest.raises(AwsError) as err:
        iam("DeletePolicy", {"PolicyArn": arn})
    assert err.value.wire_name == "DeleteConflictException"
    iam("DetachUserPolicy", {"UserName": "u1", "PolicyArn": arn})
    iam("DetachGroupPolicy", {"GroupName": "g1", "PolicyArn": arn})
    with pytest.raises(AwsError):  # still the user's permissions boundary
        iam("DeletePolicy", {"PolicyArn": arn})
    iam("DeleteUser", {"UserName": "u1"})  # a boundary does not block deleting its user
    policy = iam("GetPolicy", {"PolicyArn": arn})["Policy"]
    assert (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"]) == (0, 0)
    iam("DeletePolicy", {"PolicyArn": arn})
    with store.read() as conn:
        left = conn.execute(
            sa.select(sa.func.count())
            .select_from(schema.iam_policy_versions)
            .where(schema.iam_policy_versions.c.policy_arn == arn)
        ).scalar()
    assert left == 0


def test_user_with_an_mfa_device_cannot_be_deleted(iam: Any, store: Store) -> None:
    user_id = iam("CreateUser", {"UserName": "mfa-user"})["User"]["UserId"]
    with store.begin() as conn:
        conn.execute(
            schema.iam_mfa_devices.insert().values(
                serial_number=f"arn:aws:iam::{ACCOUNT}:mfa/mfa-user",
                account_id=ACCOUNT,
                user_id=user_id,
                seed_ciphertext=b"sealed",
                enabled_at=T0,
                created_at=T0,
            )
        )
    with pytest.raises(AwsError) as err:
        iam("DeleteUser", {"UserName": "mfa-user"})
    assert err.value.wire_name == "DeleteConflictException"
    assert "MFA" in err.value.message
    assert iam("GetUser", {"UserName": "mfa-user"})["User"]["UserId"] == user_id


def test_refused_role_leaves_no_row_and_no_counter_change(iam: Any, store: Store) -> None:
    arn = iam("CreatePolicy", {"PolicyName": "B", "PolicyDocument": DOC})["Policy"]["Arn"]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    iam("CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": trust})
    with pytest.raises(AwsError) as err:  # same name, other case, with a boundary
        iam(
            "CreateRole",
            {"RoleName": "R", "AssumeRolePolicyDocument": trust, "PermissionsBoundary": arn},
        )
    assert err.value.wire_name == "EntityAlreadyExistsException"
    assert iam("GetPolicy", {"PolicyArn": arn})["Policy"]["PermissionsBoundaryUsageCount"] == 0
    with store.read() as conn:
        roles = conn.execute(sa.select(sa.func.count()).select_from(schema.iam_roles)).scalar()
    assert roles == 1
