"""IAM's policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and
GetContextKeysFor{Principal,Custom}Policy, over ``warden.policy.simulate``.

Each (action, resource) pair is decided by the same engine as live requests, with the
same layers: identity policies (the principal's stored ones and/or ``PolicyInputList``),
the permissions boundary (the principal's, or ``PermissionsBoundaryPolicyInputList``
instead), and ``ResourcePolicy``. Like AWS's simulator, only the context keys the
request supplies (``ContextEntries``, converted by ``ContextKeyType``) are known: keys
the matching statements test but the request lacks come back as
``MissingContextValues``. Results are paged by Marker/MaxItems.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from warden.core.arn import Arn
from warden.policy import (
    ContextValue,
    MatchedStatement,
    PolicyType,
    RequestContext,
    SimulationResult,
    context_keys,
    simulate,
)
from warden.services.context import CallContext
from warden.store.db import Store

from .errors import InvalidInput
from .simulation_sources import (
    Source,
    SourceBuilder,
    exclusions,
    load_principal,
)

_LIST_SUFFIX = "List"


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


def _ip(text: str) -> str:
    ipaddress.ip_network(text, strict=False)
    return text


def _binary(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _date(text: str) -> datetime | int:
    if text.isdigit():
        return int(text)  # epoch seconds, as aws:EpochTime
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "numeric": _number,
    "boolean": _boolean,
    "ip": _ip,
    "binary": _binary,
    "date": _date,
}


def context_entries(params: Mapping[str, Any]) -> dict[str, ContextValue]:
    """``ContextEntries`` as context values; a ``…List`` type is a multivalued key."""
    out: dict[str, ContextValue] = {}
    for entry in params.get("ContextEntries") or []:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("ContextKeyName")
        kind = str(entry.get("ContextKeyType") or "string")
        if not isinstance(name, str) or not name:
            raise InvalidInput(message="ContextKeyName is required in every context entry.")
        scalar = kind.removesuffix(_LIST_SUFFIX)
        convert = _CONVERTERS.get(scalar)
        if convert is None:
            raise InvalidInput(message=f"Invalid ContextKeyType {kind} for {name}.")
        raw = [str(v) for v in entry.get("ContextKeyValues") or []]
        try:
            values = [convert(v) for v in raw]
        except (ValueError, binascii.Error):
            raise InvalidInput(
                message=f"Invalid value for context key {name} of type {kind}."
            ) from None
        if kind.endswith(_LIST_SUFFIX) or len(values) > 1:
            out[name] = values
        elif values:
            out[name] = values[0]
    return out


def _strings(params: Mapping[str, Any], member: str) -> list[str]:
    raw = params.get(member) or []
    return [str(v) for v in raw] if isinstance(raw, Sequence) else []


def _position(pos: Any) -> dict[str, int]:
    # IAM's simulator reports columns one past the 1-based column of the brace: the AWS
    # CLI's simulate-custom-policy example answers Column 38..167 for a statement whose
    # braces sit at columns 37 and 166 of the one-line policy.
    return {"Line": pos.line, "Column": pos.column + 1}


class Simulator:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- handlers ------------------------------------------------------------------

    def simulate_principal_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        builder = SourceBuilder()
        source_arn = str(params.get("PolicySourceArn", ""))
        entity, identity, boundary = load_principal(
            self._store, ctx.account_id, source_arn, builder
        )
        excluded = exclusions(params)
        identity = [s for s in identity if not s.excluded_by(excluded)]
        boundary = [s for s in boundary if not s.excluded_by(excluded)]
        identity += builder.inputs(
            _strings(params, "PolicyInputList"), "PolicyInputList", PolicyType.IDENTITY
        )
        given = _strings(params, "PermissionsBoundaryPolicyInputList")
        if given:
            boundary = builder.inputs(
                given, "PermissionsBoundaryPolicyInputList", PolicyType.BOUNDARY
            )
        default_caller = entity.arn if entity.kind == "user" else ""
        return self._run(ctx, params, builder, identity, boundary, default_caller)

    def simulate_custom_policy(self, ctx: CallContext, params: Mapping[str, Any]) -> dict[str, Any]:
        builder = SourceBuilder()
        identity = builder.inputs(
            _strings(params, "PolicyInputList"), "PolicyInputList", PolicyType.IDENTITY
        )
        boundary = builder.inputs(
            _strings(params, "PermissionsBoundaryPolicyInputList"),
            "PermissionsBoundaryPolicyInputList",
            PolicyType.BOUNDARY,
        )
        return self._run(ctx, params, builder, identity, boundary, "")

    def get_context_keys_for_custom_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        builder = SourceBuilder()
        sources = builder.inputs(
            _strings(params, "PolicyInputList"), "PolicyInputList", PolicyType.IDENTITY
        )
        return {"ContextKeyNames": list(context_keys(*(s.policy for s in sources)))}

    def get_context_keys_for_principal_policy(
        self, ctx: CallContext, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        builder = SourceBuilder()
        _, identity, boundary = load_principal(
            self._store, ctx.account_id, str(params.get("PolicySourceArn", "")), builder
        )
        extra = builder.inputs(
            _strings(params, "PolicyInputList"), "PolicyInputList", PolicyType.IDENTITY
        )
        sources = identity + boundary + extra
        return {"ContextKeyNames": list(context_keys(*(s.policy for s in sources)))}

    # -- the simulation ------------------------------------------------------------------

    def _run(
        self,
        ctx: CallContext,
        params: Mapping[str, Any],
        builder: SourceBuilder,
        identity: list[Source],
        boundary: list[Source],
        default_caller: str,
    ) -> dict[str, Any]:
        actions = _strings(params, "ActionNames")
        if not actions:
            raise InvalidInput(message="ActionNames must contain at least one action.")
        resources = _strings(params, "ResourceArns") or ["*"]
        resource: list[Source] = []
        if params.get("ResourcePolicy"):
            resource = [
                builder.add(
                    str(params["ResourcePolicy"]), "ResourcePolicy", "resource", PolicyType.RESOURCE
                )
            ]
        caller = str(params.get("CallerArn") or default_caller)
        if resource and not caller:
            raise InvalidInput(
                message="CallerArn must be specified when a resource policy is simulated for a "
                "principal that is not a user."
            )
        owner = _account_of(params.get("ResourceOwner")) or ctx.account_id
        request = RequestContext(
            action=actions[0],
            resources=("*",),
            principal_arn=caller,
            principal_account=_account_of(caller) or ctx.account_id,
            keys=context_entries(params),
            caller_arn=caller,
        )
        results = simulate(
            request,
            actions,
            resources,
            identity=[s.policy for s in identity],
            resource=[s.policy for s in resource],
            boundary=[s.policy for s in boundary] if boundary else None,
            resource_account=owner,
        )
        by_id = {s.policy.policy_id: s for s in (*identity, *boundary, *resource)}
        boundary_ids = {s.policy.policy_id for s in boundary}
        items = [_result(r, by_id, boundary_ids) for r in results]
        page, extra = ctx.page(items)
        return {"EvaluationResults": page, **extra}


def _account_of(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    if value.isdigit():
        return value
    try:
        return Arn.parse(value).account or None
    except ValueError:
        return None


def _statement(m: MatchedStatement, by_id: Mapping[str, Source]) -> dict[str, Any]:
    source = by_id.get(m.source_policy_id)
    out: dict[str, Any] = {
        "SourcePolicyId": source.source_id if source else m.source_policy_id,
        "SourcePolicyType": source.source_type if source else "none",
    }
    if m.start is not None and m.end is not None:
        out["StartPosition"] = _position(m.start)
        out["EndPosition"] = _position(m.end)
    return out


def _result(
    r: SimulationResult, by_id: Mapping[str, Source], boundary_ids: set[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EvalActionName": r.action,
        "EvalResourceName": r.resource,
        "EvalDecision": r.eval_decision,
        "MatchedStatements": [_statement(m, by_id) for m in r.matched_statements],
        "MissingContextValues": list(r.missing_context_values),
    }
    if boundary_ids:
        in_boundary = [m for m in r.matched_statements if m.source_policy_id in boundary_ids]
        allowed = any(m.effect == "Allow" for m in in_boundary) and not any(
            m.effect == "Deny" for m in in_boundary
        )
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
    return out
