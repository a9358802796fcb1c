"""KMS aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

Invariants:
- An alias name is ``alias/`` + ``[a-zA-Z0-9/_-]+``, unique per account and region, and
  points at exactly one customer managed key that is not pending deletion.
- ``alias/aws/`` is reserved for AWS-managed keys: nobody creates, moves or deletes those
  (NotAuthorizedException). ListAliases also shows the predefined ``alias/aws/…`` names whose
  key has not been created yet, without a TargetKeyId, as AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError

from warden.services.context import CallContext
from warden.store.schema import KmsKeyState

from . import repository, requests
from .authz import KeyAccess, KmsAuthz, key_keys, require
from .errors import (
    AlreadyExistsException,
    InvalidAliasNameException,
    KMSInvalidStateException,
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
)
from .keys import MANAGED, Keys, not_found
from .lifecycle import customer_managed
from .model import ALIAS_NAME, ALIAS_PREFIX, AWS_ALIAS_PREFIX, Key, KeyRef, RefKind, alias_arn

PREFIX_MESSAGE = (
    'Alias must start with the prefix "alias/". Please see '
    "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
)
RESERVED_MESSAGE = "Aliases that begin with alias/aws/ are reserved for AWS managed keys."


def alias_name(params: Mapping[str, Any]) -> str:
    """The request's AliasName after AWS's naming rules (not the reservation)."""
    name = params.get("AliasName")
    if not isinstance(name, str) or not name.startswith(ALIAS_PREFIX):
        raise ValidationException(message=PREFIX_MESSAGE)
    if len(name) > 256 or not ALIAS_NAME.fullmatch(name.replace(":", "")):
        raise ValidationException(
            message=f"1 validation error detected: Value '{name}' at 'aliasName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9:/_-]+$"
        )
    if ":" in name:
        raise InvalidAliasNameException(message=f"{name} contains invalid characters for an alias")
    return name


def not_reserved(name: str) -> None:
    if name.startswith(AWS_ALIAS_PREFIX):
        raise NotAuthorizedException(message=RESERVED_MESSAGE)


class Aliases:
    def __init__(self, keys: Keys, authz: KmsAuthz, access: KeyAccess | None) -> None:
        self._keys = keys
        self._authz = authz
        self._access = access

    def _target(self, ctx: CallContext, params: Mapping[str, Any]) -> Key:
        """The key an alias is to point at: a live customer managed key, named by id or ARN."""
        ref = self._keys.ref(params["TargetKeyId"], ctx.account_id, ctx.region)
        if ref.kind is RefKind.ALIAS:
            raise ValidationException(message="Aliases must refer to keys. Not aliases")
        key = self._keys.get(ref)
        customer_managed(key, "associating an alias")
        if key.state is KmsKeyState.PENDING_DELETION:
            raise KMSInvalidStateException(message=f"{key.arn} is pending deletion.")
        return key

    def create_alias(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = alias_name(params)
        not_reserved(name)
        key = self._target(ctx, params)
        try:
            with self._keys.store.begin() as conn:
                if repository.alias_named(conn, ctx.account_id, ctx.region, name) is not None:
                    raise _exists(ctx, name)
                repository.insert_alias(conn, ctx.account_id, ctx.region, name, key.key_id, ctx.now)
        except IntegrityError:
            raise _exists(ctx, name) from None
        return {}

    def update_alias(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = alias_name(params)
        not_reserved(name)
        with self._keys.store.read() as conn:
            alias = repository.alias_named(conn, ctx.account_id, ctx.region, name)
        if alias is None:
            raise not_found(KeyRef(RefKind.ALIAS, ctx.account_id, ctx.region, name))
        target = self._authz.target(ctx.account_id, ctx.region, params["TargetKeyId"])
        keys = key_keys(target.key, target.alias, target.aliases)
        require(self._access, ctx, "kms:UpdateAlias", target, keys)
        key = self._target(ctx, params)
        with self._keys.store.begin() as conn:
            repository.retarget_alias(conn, ctx.account_id, ctx.region, name, key.key_id, ctx.now)
        return {}

    def delete_alias(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        name = alias_name(params)
        not_reserved(name)
        with self._keys.store.begin() as conn:
            if repository.alias_named(conn, ctx.account_id, ctx.region, name) is None:
                raise not_found(KeyRef(RefKind.ALIAS, ctx.account_id, ctx.region, name))
            repository.delete_alias(conn, ctx.account_id, ctx.region, name)
        return {}

    def list_aliases(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        requests.limit(params, 1000)
        key_id: str | None = None
        if params.get("KeyId"):
            ref = self._keys.ref(params["KeyId"], ctx.account_id, ctx.region)
            if ref.kind is RefKind.ALIAS:
                raise NotFoundException(message=f"Invalid keyId {params['KeyId']}")
            key_id = self._keys.get(ref).key_id
        with self._keys.store.read() as conn:
            found = repository.aliases(conn, ctx.account_id, ctx.region, ctx.now, key_id)
        entries = {a.name: a.entry() for a in found}
        if key_id is None:
            for name in MANAGED:
                arn = alias_arn(ctx.account_id, ctx.region, name)
                entries.setdefault(name, {"AliasName": name, "AliasArn": arn})
        page, more = ctx.page([entries[n] for n in sorted(entries)])
        return {"Aliases": page, **more}


def _exists(ctx: CallContext, name: str) -> AlreadyExistsException:
    arn = alias_arn(ctx.account_id, ctx.region, name)
    return AlreadyExistsException(message=f"An alias with the name {arn} already exists")
