"""How each KMS operation is authorized (Service Authorization Reference, "AWS KMS").

Every operation on a key is authorized against the key's ARN with the key's policy as a
resource policy that must allow (``resource_policy_required``): KMS's rule that IAM policies
count only when the key policy delegates to the account. Aliases resolve to their key's ARN;
an alias operation is authorized on the alias ARN and the key ARN. A key that does not
exist gets AWS's default (delegating) policy, so IAM decides and the handler answers
NotFoundException, as AWS does.

ReEncrypt needs ``kms:ReEncryptFrom`` on the source key (the pipeline's check) and
``kms:ReEncryptTo`` on the destination; UpdateAlias needs ``kms:UpdateAlias`` on the new
key too. Those second checks go through ``KeyAccess``, which the server wires to the same
authorizer; without one they deny (fail closed).

The four functions of an entry each need the key a request names; the last lookup is
remembered per thread for the same request (the very same params object), so one call does
one lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from warden.core.arn import Arn
from warden.policy import Decision, Deferred, Effect, PolicyType, denial_message
from warden.services.context import AuthzEntry, CallContext, RequestMemo, Scope

from . import blob as blobs
from . import repository
from .errors import AccessDeniedException
from .keypolicy import default_policy, managed_policy
from .keys import MANAGED, Keys
from .model import ORIGIN, Key, RefKind, alias_arn, key_arn, parse_ref

Policies = Sequence[tuple[str, str]]


class KeyAccess(Protocol):
    def __call__(
        self,
        ctx: CallContext,
        action: str,
        resource: str,
        *,
        resource_policies: Policies,
        condition_keys: Mapping[str, Any],
        resource_tags: Mapping[str, str],
    ) -> Decision:
        """The decision for ``action`` on ``resource``, its key policy required to allow."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """The key a request names, as authorization sees it."""

    arn: str
    key: Key | None
    alias: str | None  # the alias name the request used, if any
    policy: str
    aliases: tuple[str, ...] = ()


def key_keys(
    key: Key | None, alias: str | None, aliases: Sequence[str] | Deferred
) -> dict[str, Any]:
    """The ``kms:`` condition keys that describe the key itself."""
    out: dict[str, Any] = {}
    if key is not None:
        out.update(
            {
                "kms:KeySpec": key.key_spec,
                "kms:KeyUsage": key.key_usage,
                "kms:KeyOrigin": ORIGIN,
                "kms:MultiRegion": False,
                "kms:ResourceAliases": (
                    aliases if isinstance(aliases, Deferred) else list(aliases)
                ),
            }
        )
    if alias is not None:
        out["kms:RequestAlias"] = alias
    return out


def context_keys(context: Any) -> dict[str, Any]:
    if not isinstance(context, Mapping):
        return {}
    out: dict[str, Any] = {f"kms:EncryptionContext:{k}": v for k, v in context.items()}
    out["kms:EncryptionContextKeys"] = list(context)
    return out


def require(
    access: KeyAccess | None,
    ctx: CallContext,
    action: str,
    target: Target,
    keys: Mapping[str, Any],
) -> None:
    """A second authorization (ReEncryptTo, UpdateAlias on the new key); AccessDenied if not."""
    if access is None:
        decision = Decision(Effect.IMPLICIT_DENY, PolicyType.RESOURCE, (), target.arn)
    else:
        decision = access(
            ctx,
            action,
            target.arn,
            resource_policies=(("key-policy", target.policy),),
            condition_keys={"kms:CallerAccount": ctx.principal.account_id, **keys},
            resource_tags=target.key.tag_map if target.key else {},
        )
    if not decision.allowed:
        raise AccessDeniedException(
            message=denial_message(ctx.principal.arn, action, target.arn, decision)
        )


class KmsAuthz:
    def __init__(self, keys: Keys) -> None:
        self._keys = keys
        # The resource, its policy, tags and keys of one request: one read.
        self._memo: RequestMemo[Target] = RequestMemo()

    # -- resolving what a request names --------------------------------------------------

    def target(self, account_id: str, region: str, text: str) -> Target:
        ref = parse_ref(text, account_id, region)
        if ref is None:
            arn = key_arn(account_id, region, text)
            return Target(arn, None, None, default_policy(account_id))
        alias = ref.name if ref.kind is RefKind.ALIAS else None
        with self._keys.store.read() as conn:
            key = repository.find(conn, ref, self._keys.clock.now())
            names = tuple(repository.alias_names(conn, key.key_id)) if key else ()
        if key is not None:
            return Target(key.arn, key, alias, key.policy, names)
        spec = MANAGED.get(ref.name) if alias else None
        policy = (
            managed_policy(ref.account_id, ref.region, spec.service)
            if spec
            else default_policy(ref.account_id)
        )
        return Target(ref.arn, None, alias, policy)

    def _blob_target(self, scope: Scope, data: Any) -> Target:
        parsed = blobs.parse(bytes(data)) if isinstance(data, bytes | bytearray) else None
        if parsed is None:
            return Target("*", None, None, default_policy(scope.account_id))
        return self.target(scope.account_id, scope.region, parsed.key_id)

    def _resolve(self, scope: Scope, params: Mapping[str, Any], member: str) -> Target:
        return self._memo.get(params, member, lambda: self._read_target(scope, params, member))

    def _read_target(self, scope: Scope, params: Mapping[str, Any], member: str) -> Target:
        if member == "Blob":
            return self._blob_target(scope, params.get("CiphertextBlob"))
        if member == "AliasName":
            return self._alias_target(scope, params.get("AliasName"))
        return self.target(scope.account_id, scope.region, str(params.get(member, "")))

    def _alias_target(self, scope: Scope, name: Any) -> Target:
        with self._keys.store.read() as conn:
            alias = repository.alias_named(conn, scope.account_id, scope.region, str(name))
        if alias is None:
            # Unknown: IAM decides (default policy) and the handler answers NotFoundException.
            arn = alias_arn(scope.account_id, scope.region, str(name))
            return Target(arn, None, None, default_policy(scope.account_id))
        return self.target(scope.account_id, scope.region, alias.key_id)

    # -- the entry functions ---------------------------------------------------------------

    def entry(
        self,
        operation: str,
        member: str,
        *,
        action: str = "",
        read_only: bool = False,
        extra: Callable[[Scope, Mapping[str, Any]], Mapping[str, Any]] | None = None,
        alias_member: str | None = None,
    ) -> AuthzEntry:
        """The entry of an operation on the key that ``member`` names ("Blob": the key the
        ciphertext names, unless the request names one; "AliasName": the alias's key)."""

        def pick(params: Mapping[str, Any]) -> str:
            if member == "Blob":
                return "KeyId" if params.get("KeyId") else "Blob"
            if member == "ReEncryptSource":
                return "SourceKeyId" if params.get("SourceKeyId") else "Blob"
            return member

        def resources(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
            arn = self._resolve(scope, params, pick(params)).arn
            if alias_member is None:
                return (arn,)
            alias = str(params.get(alias_member, ""))
            return (alias_arn(scope.account_id, scope.region, alias), arn)

        def policies(scope: Scope, params: Mapping[str, Any]) -> Policies:
            target = self._resolve(scope, params, pick(params))
            return (("key-policy", target.policy),) if target.policy else ()

        def conditions(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, Any]:
            target = self._resolve(scope, params, pick(params))
            keys = {"kms:CallerAccount": _account_of(scope)}
            keys.update(key_keys(target.key, target.alias, target.aliases))
            if extra is not None:
                keys.update(extra(scope, params))
            return keys

        def tags(scope: Scope, params: Mapping[str, Any]) -> Mapping[str, str]:
            target = self._resolve(scope, params, pick(params))
            return target.key.tag_map if target.key else {}

        return AuthzEntry(
            action or f"kms:{operation}",
            resources=resources,
            read_only=read_only,
            conditions=conditions,
            resource_policies=policies,
            resource_tags=tags,
            resource_policy_required=True,
        )


def _account_of(scope: Scope) -> str:
    try:
        return Arn.parse(scope.principal_arn).account or scope.account_id
    except ValueError:
        return scope.account_id
