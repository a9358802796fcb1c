"""STS AssumeRole: a role session, granted by the role's trust policy.

Authorization has two sides, as in AWS. The caller's identity policies must allow
``sts:AssumeRole`` on the role ARN: the request pipeline decides that before this
handler runs (the operation's authz entry names the role ARN). The role's trust policy
must allow the caller: decided here with ``warden.policy.evaluate`` as a resource policy
that is required to allow (``resource_policy_required``), the caller's global condition
keys coming from IAM through ``ports.CallerKeys`` plus the call's own keys
(``sts:ExternalId``, ``sts:RoleSessionName``, ``sts:SourceIdentity``, session tags).
Passing session tags also needs ``sts:TagSession``, and a source identity
``sts:SetSourceIdentity``, in the trust policy.

A role that does not exist answers the same AccessDenied as a trust policy that
refuses (AWS does not reveal which roles exist). Root may not assume roles. A session
assumed by another role session (role chaining) lasts at most one hour and inherits the
caller's transitive session tags.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping

from warden.core.ids import IdFactory
from warden.core.principal import Principal, PrincipalType
from warden.policy import (
    CompiledPolicy,
    ContextValue,
    PolicyError,
    PolicyKind,
    PolicyType,
    RequestContext,
    check,
    evaluate,
)
from warden.services.context import CallContext
from warden.services.ports import CallerKeys, ManagedDocuments, MfaCodes
from warden.store.db import Store
from warden.store.keyring import KeyRing
from warden.store.schema import iam_roles, sts_credentials

from . import session_inputs as inp
from .credentials import Session, issue
from .errors import AccessDenied, InvalidParameterValue, MalformedPolicyDocument, ValidationError

MFA_FAILED = "MultiFactorAuthentication failed with invalid MFA one time pass code."
CHAINED_MAX = 3600
DEFAULT_DURATION = 3600
_MODEL_MAX = 43_200

# The identity side was decided by the pipeline before the handler ran (it allowed, or we
# would not be here). It stands in for the caller's identity policies so that evaluate()
# applies AWS's same-account rules to the trust policy: a trust statement naming the
# account delegates to the identity side, one naming the caller grants directly.
_IDENTITY_DECIDED = CompiledPolicy.compile(
    "pipeline#identity",
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                "Resource": "*",
            }
        ],
    },
    policy_type=PolicyType.IDENTITY,
)


@dataclass(frozen=True, slots=True)
class _Request:
    role_arn: str
    session_name: str
    duration: int | None
    policy: str | None
    policy_arns: list[str]
    tags: inp.SessionTags
    external_id: str | None
    source_identity: str | None
    mfa: tuple[str, str] | None


def _parse(params: Mapping[str, Any]) -> _Request:
    role_arn = inp.text(params, "RoleArn", max_len=2048, pattern=inp.ARN)
    session_name = inp.text(params, "RoleSessionName", max_len=64, pattern=inp.NAME)
    if role_arn is None or session_name is None:
        raise ValidationError(message="RoleArn and RoleSessionName are required")
    duration = (
        inp.duration(params, default=0, maximum=_MODEL_MAX) if "DurationSeconds" in params else None
    )
    source_identity = inp.text(params, "SourceIdentity", max_len=256, pattern=inp.NAME)
    if source_identity is not None and source_identity.lower().startswith("aws:"):
        raise ValidationError(
            message="SourceIdentity cannot begin with 'aws:': the prefix is reserved for AWS."
        )
    return _Request(
        role_arn=role_arn,
        session_name=session_name,
        duration=duration,
        policy=inp.text(params, "Policy", pattern=inp.DOCUMENT, echo=False),
        policy_arns=inp.policy_arns(params),
        tags=inp.session_tags(params),
        external_id=inp.text(params, "ExternalId", max_len=1224, pattern=inp.EXTERNAL_ID),
        source_identity=source_identity,
        mfa=inp.mfa(params),
    )


class AssumeRole:
    def __init__(
        self,
        store: Store,
        ring: KeyRing,
        ids: IdFactory,
        *,
        mfa: MfaCodes | None,
        caller_keys: CallerKeys,
        managed: ManagedDocuments,
    ) -> None:
        self._store = store
        self._ring = ring
        self._ids = ids
        self._mfa = mfa
        self._caller_keys = caller_keys
        self._managed = managed

    def __call__(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        caller = ctx.principal
        req = _parse(params)
        if caller.type is PrincipalType.ROOT:
            raise AccessDenied(message="Roles may not be assumed by root accounts.")
        mfa_time = caller.mfa_auth_time if caller.mfa_authenticated else None
        if req.mfa is not None:
            serial, code = req.mfa
            if self._mfa is None or not self._mfa.verify(caller, serial, code, ctx.now):
                raise AccessDenied(message=MFA_FAILED)
            mfa_time = ctx.now
        role = self._role(ctx, req.role_arn)
        self._check_trust(ctx, req, role, mfa_fresh=req.mfa is not None)
        duration = self._duration(req, role, chained=caller.type is PrincipalType.ASSUMED_ROLE)
        documents = self._session_documents(ctx, req)
        packed = None
        if req.policy is not None or req.policy_arns or req.tags.tags:
            packed = inp.packed_percent(documents, req.policy_arns, req.tags)
        assumed_arn = (
            f"arn:aws:sts::{role['account_id']}:assumed-role/{role['name']}/{req.session_name}"
        )
        with self._store.begin() as conn:
            tags = self._tags(conn, caller, req.tags)
            credentials = issue(
                conn,
                self._ring,
                self._ids,
                Session(
                    account_id=role["account_id"],
                    principal_arn=assumed_arn,
                    principal_type=PrincipalType.ASSUMED_ROLE.value,
                    source_user_id=caller.user_id,
                    issued_at=ctx.now,
                    duration_seconds=duration,
                    role_id=role["role_id"],
                    session_name=req.session_name,
                    mfa_auth_time=mfa_time,
                    session_policy=json.dumps(documents) if documents else None,
                    tags=tags,
                ),
            )
            conn.execute(
                iam_roles.update()
                .where(iam_roles.c.role_id == role["role_id"])
                .values(last_used_at=ctx.now, last_used_region=ctx.region)
            )
        out: dict[str, Any] = {
            "Credentials": credentials,
            "AssumedRoleUser": {
                "AssumedRoleId": f"{role['role_id']}:{req.session_name}",
                "Arn": assumed_arn,
            },
        }
        if packed is not None:
            out["PackedPolicySize"] = packed
        if req.source_identity is not None:
            out["SourceIdentity"] = req.source_identity
        return out

    # -- steps -----------------------------------------------------------------------

    def _role(self, ctx: CallContext, role_arn: str) -> RowMapping:
        with self._store.read() as conn:
            role = (
                conn.execute(
                    sa.select(iam_roles).where(
                        iam_roles.c.arn == role_arn, iam_roles.c.account_id == ctx.account_id
                    )
                )
                .mappings()
                .first()
            )
        if role is None:
            raise _denied(ctx.principal, "sts:AssumeRole", role_arn)
        return role

    def _check_trust(
        self, ctx: CallContext, req: _Request, role: RowMapping, *, mfa_fresh: bool
    ) -> None:
        caller = ctx.principal
        try:
            trust = CompiledPolicy.compile(
                f"{role['arn']}#trust", role["assume_role_policy"], policy_type=PolicyType.RESOURCE
            )
        except PolicyError:
            raise _denied(caller, "sts:AssumeRole", role["arn"]) from None
        keys = self._context_keys(ctx, req, mfa_fresh=mfa_fresh)
        actions = ["sts:AssumeRole"]
        if req.tags.tags:
            actions.append("sts:TagSession")
        if req.source_identity is not None:
            actions.append("sts:SetSourceIdentity")
        for action in actions:
            request = RequestContext(
                action=action,
                resources=(role["arn"],),
                principal_arn=caller.policy_arn,
                principal_account=caller.account_id,
                keys=keys,
                caller_arn=caller.arn,
            )
            decision = evaluate(
                request,
                identity=(_IDENTITY_DECIDED,),
                resource=(trust,),
                resource_account=role["account_id"],
                resource_policy_required=True,
            )
            if not decision.allowed:
                raise _denied(caller, action, role["arn"])

    def _context_keys(
        self, ctx: CallContext, req: _Request, *, mfa_fresh: bool
    ) -> dict[str, ContextValue]:
        keys = dict(self._caller_keys.keys(ctx))
        if mfa_fresh:
            keys["aws:MultiFactorAuthPresent"] = True
            keys["aws:MultiFactorAuthAge"] = 0
        keys["sts:RoleSessionName"] = req.session_name
        if req.external_id is not None:
            keys["sts:ExternalId"] = req.external_id
        if req.source_identity is not None:
            keys["sts:SourceIdentity"] = req.source_identity
        for key, value in req.tags.tags:
            keys[f"aws:RequestTag/{key}"] = value
        if req.tags.tags:
            keys["aws:TagKeys"] = [k for k, _ in req.tags.tags]
        if req.tags.transitive:
            keys["sts:TransitiveTagKeys"] = [
                k for k, _ in req.tags.tags if k.lower() in req.tags.transitive
            ]
        return keys

    @staticmethod
    def _duration(req: _Request, role: RowMapping, *, chained: bool) -> int:
        if req.duration is None:
            return DEFAULT_DURATION  # AWS's default; MaxSessionDuration is never below it
        if chained and req.duration > CHAINED_MAX:
            raise ValidationError(
                message="The requested DurationSeconds exceeds the 1 hour session limit for "
                "roles assumed by role chaining."
            )
        if req.duration > role["max_session_duration"]:
            raise ValidationError(
                message="The requested DurationSeconds exceeds the MaxSessionDuration set for "
                "this role."
            )
        return req.duration

    def _session_documents(self, ctx: CallContext, req: _Request) -> list[Any]:
        """The session policies as documents: the inline one, then each managed one."""
        inp.check_plaintext(req.policy, req.policy_arns)
        texts: list[str] = []
        if req.policy is not None:
            texts.append(req.policy)
        for arn in req.policy_arns:
            found = self._managed.document(ctx.account_id, arn)
            if found is None:
                raise InvalidParameterValue(
                    message=f"Policy {arn} does not exist or is not attachable."
                )
            texts.append(found)
        documents: list[Any] = []
        for text in texts:
            try:
                check(text, PolicyKind.SESSION)
            except PolicyError as exc:
                raise MalformedPolicyDocument(message=exc.reason) from None
            documents.append(json.loads(text))
        return documents

    def _tags(
        self, conn: sa.Connection, caller: Principal, tags: inp.SessionTags
    ) -> list[dict[str, Any]]:
        """The new session's tags: the caller's transitive ones (role chaining), then these."""
        inherited: list[dict[str, Any]] = []
        if caller.type is PrincipalType.ASSUMED_ROLE:
            raw = conn.execute(
                sa.select(sts_credentials.c.tags).where(
                    sts_credentials.c.access_key_id == caller.access_key_id
                )
            ).scalar()
            inherited = [
                dict(t) for t in raw or [] if isinstance(t, Mapping) and t.get("Transitive")
            ]
        fixed = {str(t["Key"]).lower() for t in inherited}
        for key, _ in tags.tags:
            if key.lower() in fixed:
                raise InvalidParameterValue(
                    message=f"Tag key {key} is a transitive tag of the calling session and "
                    "cannot be set again."
                )
        return inherited + tags.stored()


def _denied(caller: Principal, action: str, role_arn: str) -> AccessDenied:
    return AccessDenied(
        message=f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}"
    )
