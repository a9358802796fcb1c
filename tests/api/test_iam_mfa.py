"""Virtual MFA devices through boto3 and the CLI, and MFA-protected policies through STS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Warden
from principals import allow, code, enable_device, fresh_counter, make_user, unique

from warden.core import totp

ACCOUNT = "123456789012"


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_create_virtual_device_returns_the_seed_once_and_lists_it(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    name = unique("dev")
    device = iam.create_virtual_mfa_device(
        VirtualMFADeviceName=name, Path="/team/", Tags=[{"Key": "k", "Value": "v"}]
    )["VirtualMFADevice"]
    assert device["SerialNumber"] == f"arn:aws:iam::{ACCOUNT}:mfa/team/{name}"
    seed = device["Base32StringSeed"].decode()
    assert len(seed) == 64 and len(totp.seed_from_base32(seed)) == 40
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    listed = [d for d in unassigned if d["SerialNumber"] == device["SerialNumber"]]
    assert listed and "Base32StringSeed" not in listed[0] and "User" not in listed[0]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert device["SerialNumber"] not in {d["SerialNumber"] for d in assigned}
    with pytest.raises(ClientError) as err:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name.upper(), Path="/team/")
    assert _error(err) == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as err:
        iam.create_virtual_mfa_device(VirtualMFADeviceName="bad name!")
    assert _error(err) == ("ValidationError", 400)
    with pytest.raises(ClientError) as err:
        iam.list_virtual_mfa_devices(AssignmentStatus="Sometimes")
    assert _error(err)[0] == "ValidationError"


def test_cli_writes_the_seed_file(warden: Warden, tmp_path: Path) -> None:
    out = tmp_path / "seed.txt"
    result = warden.aws(
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        unique("cli"),
        "--outfile",
        str(out),
        "--bootstrap-method",
        "Base32StringSeed",
    )
    assert result.returncode == 0, result.stderr
    assert len(totp.seed_from_base32(out.read_text().strip())) == 40


def test_enable_lifecycle_and_error_codes(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    user = unique("mfa-user")
    make_user(warden, user)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    serial = device["SerialNumber"]
    seed = totp.seed_from_base32(device["Base32StringSeed"].decode())
    now = fresh_counter()

    def enable(first: str, second: str, name: str = user, sn: str = serial) -> None:
        iam.enable_mfa_device(
            UserName=name, SerialNumber=sn, AuthenticationCode1=first, AuthenticationCode2=second
        )

    bad = [
        (("000000", "000000"), ("InvalidAuthenticationCode", 403)),
        ((code(seed, now), code(seed, now - 1)), ("InvalidAuthenticationCode", 403)),  # order
        ((code(seed, now - 6), code(seed, now - 5)), ("InvalidAuthenticationCode", 403)),  # old
    ]
    for (first, second), expected in bad:
        with pytest.raises(ClientError) as err:
            enable(first, second)
        assert _error(err) == expected
    with pytest.raises(ClientError) as err:
        enable(code(seed, now - 1), code(seed, now), name=unique("nobody"))
    assert _error(err) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as err:
        enable(code(seed, now - 1), code(seed, now), sn=serial + "x")
    assert _error(err) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as err:
        enable("12345a", "123456")
    assert _error(err)[0] == "ValidationError"

    # The pair may end a step before now (people are slow); it leaves now and now + 1 usable.
    enable(code(seed, now - 2), code(seed, now - 1))
    devices = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in devices] == [(user, serial)]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = [d for d in assigned if d["SerialNumber"] == serial]
    assert mine[0]["User"]["UserName"] == user and "EnableDate" in mine[0]
    with pytest.raises(ClientError) as err:  # already assigned
        enable(code(seed, now), code(seed, now + 1))
    assert _error(err) == ("EntityAlreadyExists", 409)

    # Resync: the codes already accepted are refused; fresh consecutive ones are not.
    with pytest.raises(ClientError) as err:
        iam.resync_mfa_device(
            UserName=user,
            SerialNumber=serial,
            AuthenticationCode1=code(seed, now - 2),
            AuthenticationCode2=code(seed, now - 1),
        )
    assert _error(err) == ("InvalidAuthenticationCode", 403)
    iam.resync_mfa_device(
        UserName=user,
        SerialNumber=serial,
        AuthenticationCode1=code(seed, now),
        AuthenticationCode2=code(seed, now + 1),
    )

    with pytest.raises(ClientError) as err:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert _error(err) == ("DeleteConflict", 409)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    with pytest.raises(ClientError) as err:
        iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert _error(err) == ("NoSuchEntity", 404)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as err:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert _error(err) == ("NoSuchEntity", 404)


def test_list_mfa_devices_of_the_caller_and_paging(warden: Warden) -> None:
    iam: Any = warden.client("iam")
    user = unique("lister")
    key, secret = make_user(warden, user, allow("iam:ListMFADevices"))
    serial, _, _ = enable_device(warden, user)
    own: Any = warden.raw_client("iam", key=key, secret=secret)
    assert [d["SerialNumber"] for d in own.list_mfa_devices()["MFADevices"]] == [serial]
    for _ in range(2):
        iam.create_virtual_mfa_device(VirtualMFADeviceName=unique("page"))
    first = iam.list_virtual_mfa_devices(MaxItems=1)
    assert len(first["VirtualMFADevices"]) == 1 and first["IsTruncated"]
    second = iam.list_virtual_mfa_devices(MaxItems=1, Marker=first["Marker"])
    assert second["VirtualMFADevices"] != first["VirtualMFADevices"]


def test_mfa_protected_policy_needs_an_mfa_session(warden: Warden) -> None:
    user = unique("protected")
    key, secret = make_user(
        warden,
        user,
        allow("sts:GetSessionToken"),
        allow(
            "iam:ListUsers",
            Bool={"aws:MultiFactorAuthPresent": "true"},
            NumericLessThan={"aws:MultiFactorAuthAge": "3600"},
        ),
    )
    serial, seed, last = enable_device(warden, user)
    plain: Any = warden.raw_client("iam", key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        plain.list_users()
    assert _error(err) == ("AccessDenied", 403)

    sts: Any = warden.raw_client("sts", key=key, secret=secret)
    no_mfa = sts.get_session_token(DurationSeconds=900)["Credentials"]
    without: Any = warden.raw_client(
        "iam",
        key=no_mfa["AccessKeyId"],
        secret=no_mfa["SecretAccessKey"],
        token=no_mfa["SessionToken"],
    )
    with pytest.raises(ClientError) as err:
        without.list_users()
    assert _error(err)[0] == "AccessDenied"

    token = code(seed, last + 1)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=token)["Credentials"]
    session: Any = warden.raw_client(
        "iam",
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    assert "Users" in session.list_users()

    with pytest.raises(ClientError) as err:  # the same code again: replay
        sts.get_session_token(SerialNumber=serial, TokenCode=token)
    assert _error(err) == ("AccessDenied", 403)
    assert "MultiFactorAuthentication failed" in str(err.value)
    with pytest.raises(ClientError) as err:  # a device that is not the caller's
        sts.get_session_token(SerialNumber=serial + "x", TokenCode=code(seed, last + 2))
    assert _error(err)[0] == "AccessDenied"
    with pytest.raises(ClientError) as err:
        sts.get_session_token(SerialNumber=serial)
    assert _error(err)[0] == "ValidationError"


def test_explicit_deny_without_mfa_blocks_long_term_keys(warden: Warden) -> None:
    """The AWS-documented pattern: deny everything unless MFA is present (BoolIfExists)."""
    user = unique("denied")
    deny = {
        "Effect": "Deny",
        "NotAction": ["sts:GetSessionToken", "iam:ListMFADevices"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    key, secret = make_user(warden, user, allow(["iam:ListUsers", "sts:GetSessionToken"]), deny)
    serial, seed, last = enable_device(warden, user)
    plain: Any = warden.raw_client("iam", key=key, secret=secret)
    with pytest.raises(ClientError) as err:
        plain.list_users()
    assert "explicit deny" in str(err.value)
    sts: Any = warden.raw_client("sts", key=key, secret=secret)
    creds = sts.get_session_token(SerialNumber=serial, TokenCode=code(seed, last + 1))[
        "Credentials"
    ]
    session: Any = warden.raw_client(
        "iam",
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    )
    assert "Users" in session.list_users()


def test_mfa_operations_are_authorized(warden: Warden) -> None:
    user = unique("noperm")
    key, secret = make_user(warden, user, allow("iam:ListVirtualMFADevices"))
    client: Any = warden.raw_client("iam", key=key, secret=secret)
    client.list_virtual_mfa_devices()
    with pytest.raises(ClientError) as err:
        client.create_virtual_mfa_device(VirtualMFADeviceName=unique("x"))
    assert _error(err) == ("AccessDenied", 403)
    assert json.dumps("iam:CreateVirtualMFADevice")[1:-1] in str(err.value)
