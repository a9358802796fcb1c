"""IAM users, groups and membership through boto3 and the aws CLI, as the admin user."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden

ACCOUNT = "123456789012"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


@pytest.fixture
def iam(warden: Warden) -> Any:
    return warden.client("iam")


def test_user_lifecycle_create_get_rename_move_delete(iam: Any) -> None:
    name = _name("alice")
    made = iam.create_user(UserName=name, Path="/eng/", Tags=[{"Key": "team", "Value": "db"}])
    user = made["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/eng/{name}"
    assert user["UserId"].startswith("AIDA") and user["Path"] == "/eng/"
    assert user["Tags"] == [{"Key": "team", "Value": "db"}]
    got = iam.get_user(UserName=name.upper())["User"]  # names are case-insensitive
    assert got["UserName"] == name and got["UserId"] == user["UserId"]
    listed = iam.list_users(PathPrefix="/eng/")["Users"]
    assert name in {u["UserName"] for u in listed}
    assert all(u["Path"].startswith("/eng/") for u in listed)

    new = _name("alice2")
    iam.update_user(UserName=name, NewUserName=new, NewPath="/ops/")
    moved = iam.get_user(UserName=new)["User"]
    assert moved["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/ops/{new}"
    assert moved["UserId"] == user["UserId"]
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName=name)
    assert _code(err) == "NoSuchEntity"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    iam.delete_user(UserName=new)
    with pytest.raises(ClientError) as err:
        iam.delete_user(UserName=new)
    assert _code(err) == "NoSuchEntity"


def test_user_names_are_unique_ignoring_case(iam: Any) -> None:
    name = _name("Bob")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as err:
        iam.create_user(UserName=name.lower())
    assert _code(err) == "EntityAlreadyExists"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    other = _name("carol")
    iam.create_user(UserName=other)
    with pytest.raises(ClientError) as err:
        iam.update_user(UserName=other, NewUserName=name.upper())
    assert _code(err) == "EntityAlreadyExists"
    iam.delete_user(UserName=name)
    iam.delete_user(UserName=other)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"UserName": "has space"}, "ValidationError"),
        ({"UserName": "x" * 65}, "ValidationError"),
        ({"UserName": "bad/slash"}, "ValidationError"),
        ({"UserName": "ok-name", "Path": "no-slashes"}, "ValidationError"),
        ({"UserName": "ok-name", "Path": "/" + "a" * 511 + "/"}, "ValidationError"),
        ({"UserName": "ok-name", "Tags": [{"Key": "aws:x", "Value": "v"}]}, "InvalidInput"),
        ({"UserName": "ok-name", "Tags": [{"Key": "bad{key}", "Value": "v"}]}, "ValidationError"),
        (
            {
                "UserName": "ok-name",
                "Tags": [{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}],
            },
            "InvalidInput",
        ),
        (
            {"UserName": "ok-name", "PermissionsBoundary": "arn:aws:iam::aws:nope/x/y"},
            "InvalidInput",
        ),
        (
            {"UserName": "ok-name", "PermissionsBoundary": "arn:aws:iam::aws:policy/NoSuchPolicy"},
            "NoSuchEntity",
        ),
    ],
)
def test_create_user_bad_input_writes_nothing(iam: Any, kwargs: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as err:
        iam.create_user(**kwargs)
    assert _code(err) == code
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 404)
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName="ok-name")
    assert _code(err) == "NoSuchEntity"


def test_user_tags_merge_case_insensitively_and_untag(iam: Any) -> None:
    name = _name("tagged")
    iam.create_user(UserName=name, Tags=[{"Key": "Env", "Value": "dev"}])
    iam.tag_user(UserName=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "a", "Value": ""}])
    tags = iam.list_user_tags(UserName=name)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", ""), ("env", "prod")]
    iam.untag_user(UserName=name, TagKeys=["ENV"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "a", "Value": ""}]
    with pytest.raises(ClientError) as err:
        iam.tag_user(
            UserName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]
        )  # 50 new + 1 existing
    assert _code(err) == "LimitExceeded"
    assert len(iam.list_user_tags(UserName=name)["Tags"]) == 1
    iam.delete_user(UserName=name)


def test_user_permissions_boundary_put_get_delete(iam: Any) -> None:
    name = _name("bounded")
    iam.create_user(UserName=name, PermissionsBoundary=READ_ONLY)
    boundary = iam.get_user(UserName=name)["User"]["PermissionsBoundary"]
    assert boundary == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": READ_ONLY,
    }
    used = iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["PermissionsBoundaryUsageCount"]
    assert used >= 1
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=READ_ONLY)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    with pytest.raises(ClientError) as err:
        iam.put_user_permissions_boundary(
            UserName=name, PermissionsBoundary="arn:aws:iam::aws:policy/DoesNotExist"
        )
    assert _code(err) == "NoSuchEntity"
    iam.delete_user(UserName=name)


def test_groups_membership_and_delete_conflicts(iam: Any) -> None:
    group, user = _name("devs"), _name("dave")
    made = iam.create_group(GroupName=group, Path="/teams/")["Group"]
    assert made["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/teams/{group}"
    assert made["GroupId"].startswith("AGPA")
    with pytest.raises(ClientError) as err:
        iam.create_group(GroupName=group.upper())
    assert _code(err) == "EntityAlreadyExists"
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)  # again: no error, no duplicate
    got = iam.get_group(GroupName=group)
    assert [u["UserName"] for u in got["Users"]] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]

    with pytest.raises(ClientError) as err:
        iam.delete_group(GroupName=group)
    assert _code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        iam.delete_user(UserName=user)
    assert _code(err) == "DeleteConflict"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    # nothing was half-deleted
    assert iam.get_group(GroupName=group)["Users"][0]["UserName"] == user

    renamed = _name("devs2")
    iam.update_group(GroupName=group, NewGroupName=renamed, NewPath="/x/")
    assert iam.get_group(GroupName=renamed)["Group"]["Arn"].endswith(f":group/x/{renamed}")
    iam.remove_user_from_group(GroupName=renamed, UserName=user)
    with pytest.raises(ClientError) as err:
        iam.remove_user_from_group(GroupName=renamed, UserName=user)
    assert _code(err) == "NoSuchEntity"
    iam.delete_group(GroupName=renamed)
    iam.delete_user(UserName=user)


def test_group_with_policies_cannot_be_deleted(iam: Any) -> None:
    group = _name("pol-group")
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    with pytest.raises(ClientError) as err:
        iam.delete_group(GroupName=group)
    assert _code(err) == "DeleteConflict"
    iam.detach_group_policy(GroupName=group, PolicyArn=READ_ONLY)
    iam.delete_group(GroupName=group)


def test_a_user_is_in_at_most_ten_groups(iam: Any) -> None:
    user = _name("joiner")
    iam.create_user(UserName=user)
    groups = [_name(f"g{i}") for i in range(11)]
    for g in groups:
        iam.create_group(GroupName=g)
    for g in groups[:10]:
        iam.add_user_to_group(GroupName=g, UserName=user)
    with pytest.raises(ClientError) as err:
        iam.add_user_to_group(GroupName=groups[10], UserName=user)
    assert _code(err) == "LimitExceeded"
    assert len(iam.list_groups_for_user(UserName=user)["Groups"]) == 10
    assert iam.get_group(GroupName=groups[10])["Users"] == []
    for g in groups[:10]:
        iam.remove_user_from_group(GroupName=g, UserName=user)
    for g in groups:
        iam.delete_group(GroupName=g)
    iam.delete_user(UserName=user)


def test_list_users_pages_with_marker(iam: Any) -> None:
    prefix = f"/page-{uuid.uuid4().hex[:6]}/"
    names = sorted(_name("p") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=prefix)
    first = iam.list_users(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["Users"]) == 2
    pages = iam.get_paginator("list_users").paginate(
        PathPrefix=prefix, PaginationConfig={"PageSize": 2}
    )
    seen = [u["UserName"] for page in pages for u in page["Users"]]
    assert seen == names
    for n in names:
        iam.delete_user(UserName=n)


def test_cli_creates_lists_and_deletes_a_user_and_group(warden: Warden) -> None:
    user, group = _name("cli-user"), _name("cli-group")
    made = warden.aws("iam", "create-user", "--user-name", user, "--output", "json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["User"]["UserName"] == user
    assert warden.aws("iam", "create-group", "--group-name", group).returncode == 0
    added = warden.aws("iam", "add-user-to-group", "--group-name", group, "--user-name", user)
    assert added.returncode == 0, added.stderr
    conflict = warden.aws("iam", "delete-user", "--user-name", user)
    assert conflict.returncode != 0 and "DeleteConflict" in conflict.stderr
    listed = warden.aws("iam", "list-users", "--output", "json")
    assert user in {u["UserName"] for u in json.loads(listed.stdout)["Users"]}
    for args in (
        ("remove-user-from-group", "--group-name", group, "--user-name", user),
        ("delete-group", "--group-name", group),
        ("delete-user", "--user-name", user),
    ):
        done = warden.aws("iam", *args)
        assert done.returncode == 0, done.stderr
