"""Helpers for the IAM/STS black-box tests: users with keys and policies, MFA codes."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from harness import Warden

from warden.core import totp


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_user(warden: Warden, name: str, *statements: dict[str, Any]) -> tuple[str, str]:
    """A user with an inline policy of ``statements`` (if any) and an access key."""
    iam: Any = warden.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(
            UserName=name,
            PolicyName="inline",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def allow(action: str | list[str], resource: str = "*", **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def fresh_counter() -> int:
    """The current TOTP step, waiting out the last seconds of a step so that codes
    computed now are still current when the server checks them."""
    now = time.time()
    if now % totp.STEP_SECONDS > totp.STEP_SECONDS - 4:
        time.sleep(totp.STEP_SECONDS - now % totp.STEP_SECONDS + 0.1)
    return totp.counter_at(time.time())


def code(seed: bytes, counter: int) -> str:
    return totp.hotp(seed, counter)


def enable_device(warden: Warden, user: str) -> tuple[str, bytes, int]:
    """A virtual MFA device enabled for ``user``: (serial, seed, last accepted step).
    The enabling pair ends one step before now, so steps ``now`` and ``now + 1`` remain
    usable for two more codes."""
    iam: Any = warden.client("iam")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=unique(user))["VirtualMFADevice"]
    seed = totp.seed_from_base32(device["Base32StringSeed"].decode())
    now = fresh_counter()
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=code(seed, now - 2),
        AuthenticationCode2=code(seed, now - 1),
    )
    return device["SerialNumber"], seed, now - 1
