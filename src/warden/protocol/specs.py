"""The served services: their botocore models, loaded once, and the indexes that find them.

Models come from botocore's own data directory only (never ``~/.aws/models``, which
would let a user file change the wire contract), through botocore's loader, which
decompresses ``service-2.json.gz`` and merges the ``sdk-extras``. A ``ServiceSpec``
is built once at start-up and never changes; ``model`` (a botocore ``ServiceModel``)
is for code inside ``protocol/`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import botocore
from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader
from botocore.model import ServiceModel

from warden.protocol.routing import RestRouter
from warden.protocol.shapes import ShapePlans, is_unsigned

SERVED: tuple[str, ...] = (
    "rds",
    "ec2",
    "iam",
    "sts",
    "secretsmanager",
    "kms",
    "cloudtrail",
    "securityhub",
    "guardduty",
)
PROTOCOLS = frozenset({"query", "ec2", "json", "rest-json"})
# Services whose data is not regional: the scope region of a request is ignored.
_GLOBAL = frozenset({"iam"})
BOTOCORE_VERSION: str = botocore.__version__


@dataclass(frozen=True, slots=True, eq=False)
class ServiceSpec:
    name: str  # botocore service name
    protocol: str  # query | ec2 | json | rest-json
    signing_name: str
    endpoint_prefix: str
    target_prefix: str | None  # json protocol X-Amz-Target prefix
    api_version: str
    xml_namespace: str | None
    global_: bool
    event_source: str  # "rds.amazonaws.com", as CloudTrail names the service
    model: Any  # botocore ServiceModel: protocol/ only
    operation_names: frozenset[str]
    unsigned_operations: frozenset[str]
    plans: ShapePlans
    paginators: Mapping[str, Mapping[str, Any]]
    router: RestRouter | None  # rest-json only


def _build(loader: Loader, name: str) -> ServiceSpec:
    description = loader.load_service_model(name, "service-2")
    model = ServiceModel(description, service_name=name)
    meta = model.metadata
    protocol = meta["protocol"]
    if protocol not in PROTOCOLS:
        raise ValueError(f"{name}: protocol {protocol!r} is not supported")
    try:
        pages = loader.load_service_model(name, "paginators-1", model.api_version)
        paginators: Mapping[str, Any] = pages.get("pagination", {})
    except DataNotFoundError:
        paginators = {}
    plans = ShapePlans(model, description.get("shapes", {}))
    names = frozenset(model.operation_names)
    unsigned = frozenset(op for op in names if is_unsigned(model.operation_model(op)))
    router = RestRouter(model) if protocol == "rest-json" else None
    endpoint_prefix = meta["endpointPrefix"]
    return ServiceSpec(
        name=name,
        protocol=protocol,
        signing_name=meta.get("signingName") or endpoint_prefix,
        endpoint_prefix=endpoint_prefix,
        target_prefix=meta.get("targetPrefix"),
        api_version=meta["apiVersion"],
        xml_namespace=meta.get("xmlNamespace"),
        global_=name in _GLOBAL,
        event_source=f"{endpoint_prefix}.amazonaws.com",
        model=model,
        operation_names=names,
        unsigned_operations=unsigned,
        plans=plans,
        paginators=MappingProxyType(dict(paginators)),
        router=router,
    )


class Registry:
    """The served specs and the indexes that identify a request's service."""

    def __init__(self, specs: Iterable[ServiceSpec]) -> None:
        self._specs = {s.name: s for s in specs}
        # rds's signing name is shared with neptune and docdb, which are not served,
        # so "rds" means rds; two served services sharing one would be ambiguous.
        self._by_signing = {s.signing_name: s for s in self._specs.values()}
        if len(self._by_signing) != len(self._specs):
            raise ValueError("two served services share a signing name")
        self._by_target = {s.target_prefix: s for s in self._specs.values() if s.target_prefix}
        self._unsigned = {op: s for s in self._specs.values() for op in s.unsigned_operations}
        self._by_version = {
            s.api_version: s for s in self._specs.values() if s.protocol in ("query", "ec2")
        }

    @classmethod
    def load(cls, services: Iterable[str] = SERVED) -> Registry:
        loader = Loader(
            extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False
        )
        return cls(_build(loader, name) for name in services)

    def spec(self, service: str) -> ServiceSpec:
        return self._specs[service]

    def services(self) -> tuple[ServiceSpec, ...]:
        return tuple(self._specs.values())

    def by_signing_name(self, signing_name: str) -> ServiceSpec | None:
        return self._by_signing.get(signing_name)

    def by_target_prefix(self, prefix: str) -> ServiceSpec | None:
        return self._by_target.get(prefix)

    def by_unsigned_operation(self, operation: str) -> ServiceSpec | None:
        return self._unsigned.get(operation)

    def by_query_version(self, version: str) -> ServiceSpec | None:
        """The query/ec2 service whose API version this is (``Version`` form field)."""
        return self._by_version.get(version)
