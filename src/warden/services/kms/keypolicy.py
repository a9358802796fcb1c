"""Key policies: AWS's default ones, write-time validation, and the lockout safety check.

Invariants:
- A key created without a policy gets AWS's default key policy, which allows the account
  (``arn:aws:iam::ACCOUNT:root``) ``kms:*``: that delegates to IAM policies.
- AWS-managed keys get AWS's policy for them: use only through the owning service
  (``kms:ViaService``) by principals of the account, and read-only metadata access for the
  account. No statement allows changing their policy, rotation or state.
- A policy is stored only after ``check_policy`` accepted it (a resource policy that names
  principals, within 32 KiB) and, unless the caller bypasses it, after ``allows_put_policy``
  showed the caller could still replace it (AWS's lockout safety check).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from warden.core.principal import Principal, PrincipalType
from warden.policy import (
    CompiledPolicy,
    PolicyError,
    PolicyKind,
    PolicyType,
    RequestContext,
    check,
    evaluate,
)

from .errors import LimitExceededException, MalformedPolicyDocumentException

MAX_POLICY_BYTES = 32_768
_ALLOW_ALL = CompiledPolicy.compile(
    "iam-allows",
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    policy_type=PolicyType.IDENTITY,
)
LOCKOUT_MESSAGE = "The new key policy will not allow you to update the key policy in the future."


def _render(doc: Mapping[str, object]) -> str:
    return json.dumps(doc, indent=2)


def default_policy(account_id: str) -> str:
    return _render(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
    )


def managed_policy(account_id: str, region: str, service: str) -> str:
    """The key policy AWS gives the AWS-managed key of ``service`` (``secretsmanager``)."""
    via = f"{service}.{region}.amazonaws.com"
    sid = (
        f"Allow access through {service} for all principals in the account that are "
        f"authorized to use {service}"
    )
    return _render(
        {
            "Version": "2012-10-17",
            "Id": f"auto-{service}-2",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:CallerAccount": account_id, "kms:ViaService": via}
                    },
                },
                {
                    "Sid": "Allow direct access to key metadata to the account",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"],
                    "Resource": "*",
                },
            ],
        }
    )


def check_policy(text: str) -> None:
    """Refuse a key policy AWS would refuse (MalformedPolicyDocument / LimitExceeded)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise LimitExceededException(
            message=f"Key policy exceeds the maximum size of {MAX_POLICY_BYTES} bytes."
        )
    try:
        check(text, PolicyKind.RESOURCE)
    except PolicyError as exc:
        raise MalformedPolicyDocumentException(message=str(exc)) from None


def allows_put_policy(text: str, principal: Principal, key_arn: str) -> bool:
    """Whether ``text`` lets the caller call PutKeyPolicy later: directly, or by delegating
    to the caller's account (IAM policies then decide, so they are assumed to allow)."""
    try:
        policy = CompiledPolicy.compile("new-key-policy", text, policy_type=PolicyType.RESOURCE)
    except (PolicyError, ValueError):
        return False
    ctx = RequestContext(
        action="kms:PutKeyPolicy",
        resources=(key_arn,),
        principal_arn=principal.policy_arn,
        principal_account=principal.account_id,
        keys={"kms:CallerAccount": principal.account_id},
        caller_arn=principal.arn,
    )
    decision = evaluate(
        ctx,
        identity=(_ALLOW_ALL,),
        resource=(policy,),
        is_root=principal.type is PrincipalType.ROOT,
        resource_account=principal.account_id,
        resource_policy_required=True,
    )
    return decision.allowed
