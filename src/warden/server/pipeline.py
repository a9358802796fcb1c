"""The request pipeline, as one visible ordered list of steps.

    route → parse → authenticate → authorize → handle → serialize → audit

Each step takes a typed value and returns the next (WireRequest → Routed →
ParsedCall → AuthenticatedCall → AuthorizedCall → output); a step that refuses
raises an ``AwsError``, which becomes the protocol's error response. Every call,
whatever step stopped it, leaves exactly one audit record. There is no default
principal: a call that is not signed by a known key never reaches a handler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warden.core.arn import resource_type_of
from warden.core.clock import Clock
from warden.core.errors import AwsError, InternalFailure
from warden.core.ids import IdFactory
from warden.core.principal import Principal
from warden.policy.decision import Decision, Effect, denial_message
from warden.protocol.dispatch import Wire
from warden.protocol.specs import ServiceSpec
from warden.protocol.wire import ParsedCall, WireRequest, WireResponse
from warden.services.context import (
    AuthzEntry,
    CallContext,
    Scope,
    ServiceHandlers,
    end_request,
    request_tags,
)
from warden.services.iam.authorizer import Authorizer, RequestFacts
from warden.services.iam.identity import CredentialProblem, Identities
from warden.sigv4 import SignatureInfo, SigningKeys, SigV4Error, extract, verify

from .audit import AuditRecord, AuditWriter

log = logging.getLogger("warden.pipeline")

GLOBAL_REGION = "us-east-1"  # where AWS records the calls to global services (IAM)
# The calls that may finish on the server's event loop: each only reads the store (no
# write, however rare: KMS and EC2 create an AWS-managed key or the default security group
# on first use; no engine call: the parameter catalog may build a template; no waiting:
# LookupEvents flushes the audit trail, DescribeSecret the LastAccessedDate updates that
# GetSecretValue hands to a background thread), so none can stall the loop;
# ``Store.begin`` refuses to run on the loop should one try.
_LOOP_SAFE = frozenset(
    {
        "sts:GetCallerIdentity",
        "rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:DescribeEvents",
        "rds:DescribeDBClusterSnapshots", "rds:ListTagsForResource",
        "secretsmanager:GetSecretValue", "secretsmanager:GetResourcePolicy",
    }
)  # fmt: skip
_IAM_READS = ("iam:Get", "iam:List")  # IAM's reads only read the store


@dataclass(frozen=True, slots=True)
class Routed:
    request: WireRequest
    spec: ServiceSpec
    signature: SignatureInfo


@dataclass(frozen=True, slots=True)
class AuthenticatedCall:
    call: ParsedCall
    principal: Principal
    region: str


@dataclass(frozen=True, slots=True)
class AuthorizedCall:
    authn: AuthenticatedCall
    entry: AuthzEntry
    resources: tuple[str, ...]
    decision: Decision


class ServiceUnavailable(AwsError):
    code = "ServiceUnavailable"
    status = 503
    sender_fault = False


class NotImplementedOperation(AwsError):
    """The model knows the operation; warden does not serve it (yet)."""

    code = "NotImplemented"
    status = 501
    sender_fault = False


@dataclass
class _Trace:
    """What the audit record needs, filled in as the steps get that far."""

    spec: ServiceSpec | None = None
    operation: str = ""
    principal: Principal | None = None
    access_key_id: str = ""
    region: str = ""
    params: dict[str, Any] | None = None
    resources: tuple[str, ...] = ()
    read_only: bool = False
    decision: str = "NotEvaluated"
    key_used: bool = False
    source_ip: str = ""
    secure: bool = False


@dataclass(slots=True)
class Started:
    """A call after ``Pipeline.start``: how far it got, and the error that stopped it."""

    request: WireRequest
    request_id: str
    trace: _Trace
    spec: ServiceSpec | None = None
    call: ParsedCall | None = None
    authn: AuthenticatedCall | None = None
    error: AwsError | None = None
    unaudited: bool = False


class Pipeline:
    def __init__(
        self,
        *,
        wire: Wire,
        identities: Identities,
        authorizer: Authorizer,
        services: Mapping[str, ServiceHandlers],
        audit: AuditWriter,
        clock: Clock,
        ids: IdFactory,
        account_id: str,
        default_region: str,
    ) -> None:
        self._wire = wire
        self._identities = identities
        self._authorizer = authorizer
        self._services = services
        self._audit = audit
        self._clock = clock
        self._ids = ids
        self._account_id = account_id
        self._default_region = default_region
        self._keys = SigningKeys()

    @property
    def services(self) -> Mapping[str, ServiceHandlers]:
        """The served services, as wired: what the authz coverage test inspects."""
        return self._services

    def handle(self, req: WireRequest) -> WireResponse:
        return self.finish(self.start(req))

    def start(self, req: WireRequest) -> Started:
        """The first steps (route, parse, authenticate): cheap, no writes, no waiting."""
        trace = _Trace(source_ip=req.source_ip, secure=req.secure)
        started = Started(req, self._ids.request_id(), trace)
        if not self._audit.healthy:
            # No call is served that cannot be audited (fail closed); nor can it be recorded.
            started.error = ServiceUnavailable(message="The audit trail is unavailable.")
            started.unaudited = True
            return started
        try:
            routed = self.route(req, started.trace)
            started.call = self.parse(routed, started.trace)
            started.authn = self.authenticate(routed, started.call, started.trace)
            started.spec = routed.spec
        except AwsError as exc:
            started.error = exc
        except Exception:
            log.exception("internal failure, request %s", started.request_id)
            started.error = InternalFailure(message="An internal error occurred.")
        return started

    def light(self, started: Started) -> bool:
        """Whether the rest of the call is a plain read (or an error to answer) that the
        server may finish on its event loop rather than hand to a worker thread: never
        while the audit queue is filling up (recording the call must not wait either)."""
        if not self._audit.has_room():
            return False
        call = started.call
        if started.error is not None or call is None:
            return True
        service = self._services.get(call.service)
        entry = service.authz.get(call.operation) if service else None
        if entry is None:
            return True  # refused as not implemented
        return entry.action in _LOOP_SAFE or entry.action.startswith(_IAM_READS)

    def finish(self, started: Started) -> WireResponse:
        """Authorize, handle, serialize; one audit record whatever happened."""
        try:
            return self._finish(started)
        finally:
            end_request()  # the authz lookups' memos let go of this call's params

    def _finish(self, started: Started) -> WireResponse:
        error, trace, request_id = started.error, started.trace, started.request_id
        if error is None and started.authn is not None and started.spec is not None:
            try:
                authz = self.authorize(started.authn, trace)
                output = self.invoke(authz, request_id, started.request)
                response = self._wire.serialize(
                    started.spec, started.authn.call.operation, output, request_id
                )
            except AwsError as exc:
                error = exc
            except Exception:
                log.exception("internal failure, request %s", request_id)
                error = InternalFailure(message="An internal error occurred.")
        if error is not None:
            response = self._wire.serialize_error(trace.spec, error, request_id)
        if not started.unaudited:
            self._record(started.request, trace, request_id, error)
        return response

    def reject(self, req: WireRequest, error: AwsError) -> WireResponse:
        """Answer (and audit) a request the edge refused before the pipeline, e.g. too large."""
        request_id = self._ids.request_id()
        trace = _Trace()
        try:
            info = extract(req.method, req.raw_path, req.query_string, req.headers)
        except SigV4Error:
            info = None
        trace.spec = self._identify(req, info.service if info else None)
        if info is not None:
            trace.access_key_id, trace.region = info.access_key_id, info.region
        response = self._wire.serialize_error(trace.spec, error, request_id)
        self._record(req, trace, request_id, error)
        return response

    # -- the steps, in order -------------------------------------------------

    def route(self, req: WireRequest, trace: _Trace) -> Routed:
        try:
            info = extract(req.method, req.raw_path, req.query_string, req.headers)
        except SigV4Error as exc:
            trace.spec = self._identify(req, None)
            raise self._wire.auth_error(trace.spec, exc.kind.value, exc.message) from None
        if info is None:
            trace.spec = self._identify(req, None)
            raise self._wire.auth_error(
                trace.spec, "missing", "Request is missing Authentication Token"
            )
        trace.spec = self._wire.identify(req, info.service)
        trace.access_key_id = info.access_key_id
        trace.region = GLOBAL_REGION if trace.spec and trace.spec.global_ else info.region
        return Routed(req, trace.spec, info)

    def parse(self, routed: Routed, trace: _Trace) -> ParsedCall:
        call = self._wire.parse(routed.spec, routed.request)
        trace.operation = call.operation
        trace.params = self._wire.redact(routed.spec, call.operation, call.params)
        return call

    def authenticate(self, routed: Routed, call: ParsedCall, trace: _Trace) -> AuthenticatedCall:
        info, spec, req = routed.signature, routed.spec, routed.request
        try:
            key = self._identities.resolve(info.access_key_id, info.security_token)
        except CredentialProblem as exc:
            raise self._wire.auth_error(spec, exc.kind, exc.message) from None
        if key is None:
            raise self._wire.auth_error(
                spec,
                "unknown_key",
                "The security token included in the request is invalid.",
            )
        try:
            verify(
                info,
                method=req.method,
                raw_path=req.raw_path,
                query_string=req.query_string,
                headers=req.headers,
                body=req.body,
                secret_access_key=key.secret.reveal(),
                now=self._clock.now(),
                keys=self._keys,
            )
        except SigV4Error as exc:
            raise self._wire.auth_error(spec, exc.kind.value, exc.message) from None
        region = GLOBAL_REGION if spec.global_ else info.region
        trace.principal, trace.region, trace.key_used = key.principal, region, True
        return AuthenticatedCall(call, key.principal, region)

    def authorize(self, authn: AuthenticatedCall, trace: _Trace) -> AuthorizedCall:
        call = authn.call
        service = self._services.get(call.service)
        entry = service.authz.get(call.operation) if service else None
        if service is None or entry is None or call.operation not in service.handlers:
            raise NotImplementedOperation(
                message=f"warden does not implement {call.service}:{call.operation}"
            )
        # The caller's policies before the resource's reads: a cache miss then reads them
        # before those begin the call's snapshot (a fresh read inside one needs a
        # connection of its own).
        policies = None if entry.always_allowed else self._authorizer.policies(authn.principal)
        resources = tuple(
            entry.resources(Scope(self._account_id, authn.region, authn.principal.arn), call.params)
        )
        trace.resources, trace.read_only = resources, entry.read_only
        if policies is None:
            decision = Decision(Effect.ALLOWED)
        else:
            decision = self._authorizer.decide(
                authn.principal,
                entry.action,
                resources,
                self._facts(authn, entry, trace),
                policies=policies,
            )
        trace.decision = decision.audit_name
        if not decision.allowed:
            resource = resources[0] if resources else "*"
            message = denial_message(authn.principal.arn, entry.action, resource, decision)
            raise self._wire.auth_error(self._wire_spec(call), "access_denied", message)
        return AuthorizedCall(authn, entry, resources, decision)

    def invoke(self, authz: AuthorizedCall, request_id: str, req: WireRequest) -> Mapping[str, Any]:
        authn = authz.authn
        call = authn.call
        spec = self._wire_spec(call)
        ctx = CallContext(
            request_id=request_id,
            account_id=self._account_id,
            region=authn.region,
            service=call.service,
            operation=call.operation,
            principal=authn.principal,
            source_ip=req.source_ip,
            user_agent=req.header("user-agent") or "",
            secure=req.secure,
            now=self._clock.now(),
            page=lambda items, default_page=100: self._wire.paginate(
                spec, call.operation, call.params, items, default_page=default_page
            ),
            resources=authz.resources,
        )
        output = self._services[call.service].handlers[call.operation](ctx, call.params)
        if call.service == "iam" and not authz.entry.read_only:
            # IAM changed: this node applies it at once (other nodes within the caches' 2 s).
            self._identities.clear()
            self._authorizer.invalidate()
        return output

    # -- helpers ---------------------------------------------------------------

    def _facts(self, authn: AuthenticatedCall, entry: AuthzEntry, trace: _Trace) -> RequestFacts:
        call = authn.call
        scope = Scope(self._account_id, authn.region, authn.principal.arn)
        return RequestFacts(
            source_ip=trace.source_ip,
            secure=trace.secure,
            now=self._clock.now(),
            region=authn.region,
            request_tags=request_tags(call.params),
            service_keys=entry.conditions(scope, call.params) if entry.conditions else {},
            resource_tags=entry.resource_tags(scope, call.params) if entry.resource_tags else {},
            resource_policies=(
                entry.resource_policies(scope, call.params) if entry.resource_policies else ()
            ),
            resource_policy_required=entry.resource_policy_required,
        )

    def _identify(self, req: WireRequest, scope_service: str | None) -> ServiceSpec | None:
        try:
            return self._wire.identify(req, scope_service)
        except AwsError:
            return None

    def _wire_spec(self, call: ParsedCall) -> ServiceSpec:
        return self._wire.registry.spec(call.service)

    def _record(
        self, req: WireRequest, trace: _Trace, request_id: str, error: AwsError | None
    ) -> None:
        principal = trace.principal
        spec = trace.spec
        now = self._clock.now()
        self._audit.record(
            AuditRecord(
                event_id=self._ids.event_id(now),
                event_time=now,
                request_id=request_id,
                account_id=self._account_id,
                region=trace.region or self._default_region,
                event_source=spec.event_source if spec else "",
                event_name=trace.operation,
                read_only=trace.read_only,
                principal_arn=principal.arn if principal else "",
                principal_type=principal.type.value if principal else "",
                user_name=principal.name if principal else "",
                access_key_id=trace.access_key_id,
                source_ip=req.source_ip,
                user_agent=(req.header("user-agent") or "")[:1024],
                resource_arns=trace.resources if trace.resources != ("*",) else (),
                resource_types=tuple(resource_type_of(a) for a in trace.resources if a != "*"),
                decision=trace.decision,
                error_code=_wire_code(error),
                error_message=error.message[:1024] if error else "",
                request_parameters=trace.params,
                key_used=trace.key_used,
            )
        )


def _wire_code(error: AwsError | None) -> str:
    return error.wire_name if error else ""
