"""IAM input checks: names, paths, tags, policy ARNs, documents, password rules."""

from __future__ import annotations

import json

import pytest

from warden.core.errors import AwsError
from warden.policy import PolicyKind
from warden.services.iam import inputs
from warden.services.iam.password_policy import check_password


def _code(exc: pytest.ExceptionInfo[AwsError]) -> str:
    return exc.value.wire_name


@pytest.mark.parametrize("name", ["a", "A_b+c=d,e.f@g-h", "x" * 64])
def test_valid_user_names(name: str) -> None:
    assert inputs.name({"UserName": name}, "UserName", 64) == name


@pytest.mark.parametrize("name", ["x" * 65, "with space", "slash/", "star*", "colon:", "ÄÖ"])
def test_invalid_user_names_are_validation_errors(name: str) -> None:
    with pytest.raises(AwsError) as err:
        inputs.name({"UserName": name}, "UserName", 64)
    assert _code(err) == "ValidationError"
    assert "'userName'" in err.value.message


@pytest.mark.parametrize(
    ("path", "ok"),
    [("/", True), ("/a/b/", True), ("/a", False), ("a/", False), ("//", False), ("/a b/", False)],
)
def test_paths(path: str, ok: bool) -> None:
    if ok:
        assert inputs.path({"Path": path}) == path
    else:
        with pytest.raises(AwsError):
            inputs.path({"Path": path})


def test_policy_paths_are_stricter() -> None:
    assert inputs.path({"Path": "/a.b/c/"}, policy=True) == "/a.b/c/"
    with pytest.raises(AwsError):
        inputs.path({"Path": "/a!b/"}, policy=True)


@pytest.mark.parametrize(
    ("arn", "account", "path", "name"),
    [
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", "aws", "/", "ReadOnlyAccess"),
        ("arn:aws:iam::123456789012:policy/a/b/P", "123456789012", "/a/b/", "P"),
    ],
)
def test_policy_arns_parse(arn: str, account: str, path: str, name: str) -> None:
    parsed = inputs.parse_policy_arn(arn)
    assert (parsed.account, parsed.path, parsed.name) == (account, path, name)
    assert parsed.aws_managed is (account == "aws")


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/R",
        "arn:aws:iam::12345:policy/P",
        "arn:aws:iam:us-east-1:123456789012:policy/P",
        "arn:aws:iam::123456789012:policy/",
        "not-an-arn-at-all-really",
    ],
)
def test_bad_policy_arns_are_invalid_input(arn: str) -> None:
    with pytest.raises(AwsError) as err:
        inputs.parse_policy_arn(arn)
    assert _code(err) == "InvalidInputException"


def test_tags_are_checked() -> None:
    ok = inputs.tags({"Tags": [{"Key": "Cost Center", "Value": "é 1:2/3=+-@_."}]})
    assert ok == [{"Key": "Cost Center", "Value": "é 1:2/3=+-@_."}]
    for bad, code in [
        ([{"Key": "", "Value": "v"}], "ValidationError"),
        ([{"Key": "k" * 129, "Value": "v"}], "ValidationError"),
        ([{"Key": "k", "Value": "v" * 257}], "ValidationError"),
        ([{"Key": "k!", "Value": "v"}], "ValidationError"),
        ([{"Key": "AWS:x", "Value": "v"}], "InvalidInputException"),
        ([{"Key": "k", "Value": "1"}, {"Key": "K", "Value": "2"}], "InvalidInputException"),
        ([{"Key": f"k{i}", "Value": ""} for i in range(51)], "ValidationError"),
    ]:
        with pytest.raises(AwsError) as err:
            inputs.tags({"Tags": bad})
        assert _code(err) == code, bad


def test_tag_merge_is_case_insensitive_and_bounded() -> None:
    merged = inputs.merge_tags([{"Key": "Env", "Value": "a"}], [{"Key": "env", "Value": "b"}])
    assert merged == [{"Key": "env", "Value": "b"}]
    assert inputs.remove_tags(merged, ["ENV"]) == []
    full = [{"Key": f"k{i}", "Value": ""} for i in range(50)]
    with pytest.raises(AwsError) as err:
        inputs.merge_tags(full, [{"Key": "one-more", "Value": ""}])
    assert _code(err) == "LimitExceededException"


def test_documents_are_validated_for_their_kind() -> None:
    identity = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    )
    assert inputs.document({"PolicyDocument": identity}, PolicyKind.MANAGED) == identity
    with pytest.raises(AwsError) as err:  # an identity policy is no trust policy
        inputs.document({"PolicyDocument": identity}, PolicyKind.TRUST)
    assert _code(err) == "MalformedPolicyDocumentException"
    with pytest.raises(AwsError) as err:  # characters outside the model's pattern
        inputs.document({"PolicyDocument": identity.replace("*", "\u2603")}, PolicyKind.MANAGED)
    assert _code(err) == "ValidationError"
    assert "\u2603" not in err.value.message
    with pytest.raises(AwsError) as err:
        inputs.document({}, PolicyKind.MANAGED)
    assert _code(err) == "ValidationError"


@pytest.mark.parametrize(
    ("password", "policy", "ok"),
    [
        ("Abcdefg1", None, True),  # default: 8+ and three classes
        ("abcdefg1", None, False),
        ("Abc1!", None, False),
        ("abcdef", {"MinimumPasswordLength": 6}, True),
        ("abcde", {"MinimumPasswordLength": 6}, False),
        ("abcdef1", {"MinimumPasswordLength": 6, "RequireSymbols": True}, False),
        ("abcdef1!", {"MinimumPasswordLength": 6, "RequireSymbols": True}, True),
        ("ABCDEF", {"MinimumPasswordLength": 6, "RequireLowercaseCharacters": True}, False),
        ("abcdef", {"MinimumPasswordLength": 6, "RequireUppercaseCharacters": True}, False),
        ("abcdef", {"MinimumPasswordLength": 6, "RequireNumbers": True}, False),
    ],
)
def test_password_rules(password: str, policy: dict[str, object] | None, ok: bool) -> None:
    if ok:
        check_password(password, policy)
        return
    with pytest.raises(AwsError) as err:
        check_password(password, policy)
    assert _code(err) == "PasswordPolicyViolationException"
    assert password not in err.value.message
