"""What every handler receives besides its input: the call's context, as a value.

Handlers are ``(CallContext, params) -> output``; params and output are plain
dicts keyed by the service model's member names. Built by the server after the
call is authenticated and authorized; never mutated.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from warden.core.principal import Principal

T = TypeVar("T")


class RequestMemo(Generic[T]):
    """What an authz lookup read for the request being authorized, so that the resource, its
    tags and its condition keys of one request cost one read. Per thread; an entry holds the
    request's own params object (compared by identity, and kept alive by the entry, so no
    later request's params can take its id) and serves no other request. ``end_request``
    drops this thread's entries once the call is answered: params may carry a password."""

    def __init__(self) -> None:
        self._local = threading.local()
        with _MEMOS_LOCK:
            _MEMOS.add(self)

    def forget(self) -> None:
        """Drop this thread's entry."""
        self._local.last = None

    def get(self, params: Mapping[str, Any], key: Hashable, read: Callable[[], T]) -> T:
        last = getattr(self._local, "last", None)
        if last is None or last[0] is not params:
            last = self._local.last = (params, {})
        found: dict[Hashable, T] = last[1]
        if key not in found:
            found[key] = read()
        return found[key]


_MEMOS: weakref.WeakSet[RequestMemo[Any]] = weakref.WeakSet()
_MEMOS_LOCK = threading.Lock()


def end_request() -> None:
    """The call this thread was serving is answered: every memo forgets it."""
    with _MEMOS_LOCK:
        memos = list(_MEMOS)
    for memo in memos:
        memo.forget()


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
    # The resource ARNs the call was authorized on ("*": none in particular). A handler acts
    # on nothing else, so a name that came to mean another resource after the decision (a
    # secret deleted and re-created) is not served. Empty for calls warden makes itself.
    resources: tuple[str, ...] = ()

    def authorized_for(self, arn: str) -> bool:
        return not self.resources or "*" in self.resources or arn in self.resources


Handler = Callable[[CallContext, Mapping[str, Any]], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Scope:
    """What an authz entry may use to name resources: where the call lands."""

    account_id: str
    region: str
    principal_arn: str


ResourceFn = Callable[[Scope, Mapping[str, Any]], Sequence[str]]
# The service-specific condition keys of a call ("rds:DatabaseEngine": "aurora-postgresql").
ConditionFn = Callable[[Scope, Mapping[str, Any]], Mapping[str, Any]]
# The resource's own policy documents, as (policy id, JSON text) pairs (a secret's policy, a
# key policy), evaluated as resource-based policies.
ResourcePolicyFn = Callable[[Scope, Mapping[str, Any]], Sequence[tuple[str, str]]]
# The existing resource's tags, for aws:ResourceTag/* (and service aliases).
ResourceTagsFn = Callable[[Scope, Mapping[str, Any]], Mapping[str, str]]


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
    conditions: ConditionFn | None = None
    resource_policies: ResourcePolicyFn | None = None
    resource_tags: ResourceTagsFn | None = None
    # KMS key policies must allow the principal explicitly (IAM alone is not enough unless the
    # key policy delegates to the account); AWS's exception to the same-account union rule.
    resource_policy_required: bool = False


def request_tags(params: Mapping[str, Any]) -> dict[str, str]:
    """The tags a request carries (``aws:RequestTag/*``, ``aws:TagKeys``), in any of the
    shapes AWS models use: ``[{Key, Value}]``, KMS's ``[{TagKey, TagValue}]``, or a map."""
    raw = params.get("Tags", params.get("TagList"))
    out: dict[str, str] = {}
    if isinstance(raw, Mapping):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        for tag in raw:
            if not isinstance(tag, Mapping):
                continue
            key = tag.get("Key", tag.get("TagKey"))
            if isinstance(key, str):
                out[key] = str(tag.get("Value", tag.get("TagValue", "")))
    return out


@dataclass(frozen=True, slots=True)
class ServiceHandlers:
    """One service's implemented operations: the handler and the authz entry of each."""

    name: str
    handlers: Mapping[str, Handler]
    authz: Mapping[str, AuthzEntry]
