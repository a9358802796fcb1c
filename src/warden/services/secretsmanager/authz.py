"""Authz entries for every Secrets Manager operation (Service Authorization Reference).

The resource is the secret's ARN, resolved from ``SecretId`` (a name or partial ARN names the
full ARN). For a secret that does not exist (CreateSecret, or a lookup that will fail) the
resource is ``NAME-??????``: policies written for ``NAME-*`` or ``NAME-??????`` match it.
Each entry also hands the authorizer the secret's resource policy (a Deny there refuses a
caller whose identity policy allows), its tags (``aws:ResourceTag/*``) and the condition keys
the SAR lists for the action. BatchGetSecretValue, GetRandomPassword and ListSecrets have no
resource type (``*``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from warden.core.clock import Clock
from warden.policy import ContextValue
from warden.services.context import AuthzEntry, RequestMemo, Scope
from warden.store.db import Store

from . import repository as repo
from .model import SecretRecord
from .names import authz_arn, parse_secret_id, placeholder_arn
from .reads import policies_of, secret_keys

Keys = Callable[[Mapping[str, Any]], dict[str, ContextValue]]
_P = "secretsmanager:"


def _present(params: Mapping[str, Any], pairs: Mapping[str, str]) -> dict[str, ContextValue]:
    """Condition keys taken straight from request members, when the request has them."""
    return {_P + key: params[member] for key, member in pairs.items() if member in params}


def _create_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    keys = _present(
        params,
        {
            "Name": "Name",
            "Description": "Description",
            "KmsKeyId": "KmsKeyId",
            "ForceOverwriteReplicaSecret": "ForceOverwriteReplicaSecret",
            "Type": "Type",
        },
    )
    if str(params.get("KmsKeyId", "")).startswith("arn:"):
        keys[_P + "KmsKeyArn"] = params["KmsKeyId"]
    regions = [r.get("Region") for r in params.get("AddReplicaRegions") or []]
    if regions:
        keys[_P + "AddReplicaRegions"] = [r for r in regions if isinstance(r, str)]
    return keys


def _rotate_keys(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    keys = _present(
        params,
        {
            "RotationLambdaARN": "RotationLambdaARN",
            "RotateImmediately": "RotateImmediately",
            "ExternalSecretRotationRoleArn": "ExternalSecretRotationRoleArn",
        },
    )
    keys[_P + "ModifyRotationRules"] = "RotationRules" in params
    return keys


_EXTRA: dict[str, Keys] = {
    "GetSecretValue": lambda p: _present(
        p, {"VersionId": "VersionId", "VersionStage": "VersionStage"}
    ),
    "UpdateSecret": lambda p: _present(
        p, {"Description": "Description", "KmsKeyId": "KmsKeyId", "Type": "Type"}
    ),
    "UpdateSecretVersionStage": lambda p: _present(p, {"VersionStage": "VersionStage"}),
    "DeleteSecret": lambda p: _present(
        p,
        {
            "RecoveryWindowInDays": "RecoveryWindowInDays",
            "ForceDeleteWithoutRecovery": "ForceDeleteWithoutRecovery",
        },
    ),
    "PutResourcePolicy": lambda p: _present(p, {"BlockPublicPolicy": "BlockPublicPolicy"}),
    "RotateSecret": _rotate_keys,
}

_ON_SECRET = {
    # operation: read-only (audit ReadOnly; the SAR's Read/List access levels)
    "CancelRotateSecret": False,
    "DeleteResourcePolicy": False,
    "DeleteSecret": False,
    "DescribeSecret": True,
    "GetResourcePolicy": True,
    "GetSecretValue": True,
    "ListSecretVersionIds": True,
    "PutResourcePolicy": False,
    "PutSecretValue": False,
    "RestoreSecret": False,
    "RotateSecret": False,
    "TagResource": False,
    "UntagResource": False,
    "UpdateSecret": False,
    "UpdateSecretVersionStage": False,
    "ValidateResourcePolicy": True,
}


class SecretLookup:
    """The secret a request names, read for the authorizer (before the handler runs)."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # The authorizer asks for the resource, its policy, its tags and its condition keys
        # of the same request in turn: one read serves them all.
        self._memo: RequestMemo[SecretRecord | None] = RequestMemo()

    def record(self, scope: Scope, params: Mapping[str, Any]) -> SecretRecord | None:
        return self._memo.get(params, "secret", lambda: self._read(scope, params))

    def _read(self, scope: Scope, params: Mapping[str, Any]) -> SecretRecord | None:
        secret_id = params.get("SecretId")
        if not isinstance(secret_id, str) or not secret_id:
            return None
        ref = parse_secret_id(secret_id, scope.region, scope.account_id)
        with self._store.read() as conn:
            return repo.find(conn, scope.account_id, scope.region, ref, self._clock.now())

    def resources(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
        secret_id = params.get("SecretId")
        if not isinstance(secret_id, str) or not secret_id:
            return ("*",)
        record = self.record(scope, params)
        if record is not None:
            return (record.arn,)
        return (
            authz_arn(
                parse_secret_id(secret_id, scope.region, scope.account_id),
                scope.region,
                scope.account_id,
            ),
        )

    def policies(self, scope: Scope, params: Mapping[str, Any]) -> Sequence[tuple[str, str]]:
        record = self.record(scope, params)
        return policies_of(record) if record is not None else ()

    def tags(self, scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
        record = self.record(scope, params)
        return record.tag_map() if record is not None else {}

    def keys(self, operation: str) -> Callable[[Scope, Mapping[str, Any]], Mapping[str, Any]]:
        extra = _EXTRA.get(operation)

        def conditions(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
            record = self.record(scope, params)
            keys: dict[str, ContextValue] = {}
            if record is not None:
                keys.update(secret_keys(record))
            elif isinstance(params.get("SecretId"), str):
                keys[_P + "SecretId"] = params["SecretId"]
            if extra is not None:
                keys.update(extra(params))
            return keys

        return conditions


def build_authz(lookup: SecretLookup) -> dict[str, AuthzEntry]:
    entries = {
        operation: AuthzEntry(
            _P + operation,
            lookup.resources,
            read_only=read_only,
            conditions=lookup.keys(operation),
            resource_policies=lookup.policies,
            resource_tags=lookup.tags,
        )
        for operation, read_only in _ON_SECRET.items()
    }
    entries["CreateSecret"] = AuthzEntry(
        _P + "CreateSecret",
        lambda scope, params: (
            placeholder_arn(scope.region, scope.account_id, str(params["Name"])),
        ),
        conditions=lambda scope, params: _create_keys(params),
    )
    for operation in ("BatchGetSecretValue", "GetRandomPassword", "ListSecrets"):
        entries[operation] = AuthzEntry(_P + operation, read_only=True)
    return entries
