"""What every handler receives besides its input: the call's context, as a value.

Handlers are ``(CallContext, params) -> output``; params and output are plain
dicts keyed by the service model's member names. Built by the server after the
call is authenticated and authorized; never mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from warden.core.principal import Principal


class Pager(Protocol):
    def __call__(
        self, items: Sequence[Any], *, default_page: int = 100
    ) -> tuple[list[Any], dict[str, Any]]:
        """One page of ``items`` and the output members (Marker/NextToken/...) to merge."""
        ...


@dataclass(frozen=True, slots=True)
class CallContext:
    request_id: str
    account_id: str
    region: str
    service: str
    operation: str
    principal: Principal
    source_ip: str
    user_agent: str
    secure: bool
    now: datetime
    page: Pager


Handler = Callable[[CallContext, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Scope:
    """What an authz entry may use to name resources: where the call lands."""

    account_id: str
    region: str
    principal_arn: str


ResourceFn = Callable[[Scope, Mapping[str, Any]], Sequence[str]]


def no_resource(scope: Scope, params: Mapping[str, Any]) -> Sequence[str]:
    """Actions that AWS authorizes against ``*`` (no resource-level permissions)."""
    return ("*",)


@dataclass(frozen=True, slots=True)
class AuthzEntry:
    """How one operation is authorized, after the AWS Service Authorization Reference."""

    action: str  # "iam:GetUser"
    resources: ResourceFn = no_resource
    read_only: bool = False
    # Operations any authenticated principal may call whatever its policies
    # (sts:GetCallerIdentity: AWS allows it even under an explicit deny).
    always_allowed: bool = False


@dataclass(frozen=True, slots=True)
class ServiceHandlers:
    """One service's implemented operations: the handler and the authz entry of each."""

    name: str
    handlers: Mapping[str, Handler]
    authz: Mapping[str, AuthzEntry]
