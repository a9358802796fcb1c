"""STS: who am I (GetCallerIdentity), temporary credentials (GetSessionToken), role
sessions (AssumeRole, see ``assume_role.py``).

Temporary credentials (``credentials.py``) carry the caller's identity and expire after
``DurationSeconds``; the caller's own permissions apply to GetSessionToken's, the role's
to AssumeRole's. With ``SerialNumber``/``TokenCode`` the code is checked against the
caller's enabled MFA device (IAM's, through ``ports.MfaCodes``) and the session records
the MFA time, which makes ``aws:MultiFactorAuthPresent``/``Age`` true on its calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warden.core.clock import Clock
from warden.core.ids import IdFactory
from warden.core.principal import PrincipalType
from warden.services.context import AuthzEntry, CallContext, Handler, Scope, ServiceHandlers
from warden.services.ports import CallerKeys, ManagedDocuments, MfaCodes
from warden.store.db import Store
from warden.store.keyring import KeyRing

from . import session_inputs as inp
from .assume_role import MFA_FAILED, AssumeRole
from .credentials import Session, issue
from .errors import AccessDenied

_USER_MAX = 129_600
_ROOT_MAX = 3_600


@dataclass(frozen=True, slots=True)
class StsPorts:
    """What STS needs from IAM, wired by the server. Without them, MFA codes are refused
    and AssumeRole is not served."""

    mfa: MfaCodes
    caller_keys: CallerKeys
    managed: ManagedDocuments


class Sts:
    def __init__(
        self, store: Store, ring: KeyRing, clock: Clock, ids: IdFactory, mfa: MfaCodes | None
    ) -> None:
        self._store = store
        self._ring = ring
        self._clock = clock
        self._ids = ids
        self._mfa = mfa

    def get_caller_identity(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        p = ctx.principal
        return {"UserId": p.user_id, "Account": p.account_id, "Arn": p.arn}

    def get_session_token(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        p = ctx.principal
        if p.temporary:
            raise AccessDenied(message="Cannot call GetSessionToken with session credentials")
        if p.type not in (PrincipalType.IAM_USER, PrincipalType.ROOT):
            raise AccessDenied(message="Only IAM users and the root user can call GetSessionToken")
        is_root = p.type is PrincipalType.ROOT
        seconds = inp.duration(params, default=_ROOT_MAX if is_root else 43_200, maximum=_USER_MAX)
        if is_root:
            # AWS: the root user's sessions are capped at one hour, silently.
            seconds = min(seconds, _ROOT_MAX)
        mfa = inp.mfa(params)
        if mfa is not None:
            serial, code = mfa
            if self._mfa is None or not self._mfa.verify(p, serial, code, ctx.now):
                raise AccessDenied(message=MFA_FAILED)
        session = Session(
            account_id=p.account_id,
            principal_arn=p.arn,
            principal_type=p.type.value,
            source_user_id=p.user_id,
            issued_at=ctx.now,
            duration_seconds=seconds,
            mfa_auth_time=ctx.now if mfa is not None else None,
        )
        with self._store.begin() as conn:
            credentials = issue(conn, self._ring, self._ids, session)
        return {"Credentials": credentials}


def _role_arn(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
    arn = params.get("RoleArn")
    return (str(arn),) if arn else ("*",)


def _assume_role_keys(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
    """The service keys an identity policy may test on sts:AssumeRole (SAR)."""
    keys: dict[str, Any] = {}
    if isinstance(params.get("RoleSessionName"), str):
        keys["sts:RoleSessionName"] = params["RoleSessionName"]
    if isinstance(params.get("SourceIdentity"), str):
        keys["sts:SourceIdentity"] = params["SourceIdentity"]
    transitive = params.get("TransitiveTagKeys")
    if isinstance(transitive, list) and transitive:
        keys["sts:TransitiveTagKeys"] = [str(k) for k in transitive]
    return keys


def build(
    store: Store, ring: KeyRing, clock: Clock, ids: IdFactory, ports: StsPorts | None = None
) -> ServiceHandlers:
    sts = Sts(store, ring, clock, ids, ports.mfa if ports else None)
    handlers: dict[str, Handler] = {
        "GetCallerIdentity": sts.get_caller_identity,
        "GetSessionToken": sts.get_session_token,
    }
    authz = {
        "GetCallerIdentity": AuthzEntry(
            "sts:GetCallerIdentity", read_only=True, always_allowed=True
        ),
        "GetSessionToken": AuthzEntry("sts:GetSessionToken", read_only=True),
    }
    if ports is not None:
        handlers["AssumeRole"] = AssumeRole(
            store,
            ring,
            ids,
            mfa=ports.mfa,
            caller_keys=ports.caller_keys,
            managed=ports.managed,
        )
        authz["AssumeRole"] = AuthzEntry(
            "sts:AssumeRole", _role_arn, read_only=True, conditions=_assume_role_keys
        )
    return ServiceHandlers(name="sts", handlers=handlers, authz=authz)
